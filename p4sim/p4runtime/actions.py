"""P4Runtime Action messages <-> engine ActionCall (ids and bytestrings <-> names and ints)."""

from __future__ import annotations

from collections.abc import Collection

from finsy.proto import p4r

from p4sim.engine import ActionCall
from p4sim.p4runtime import bytestrings
from p4sim.p4runtime.errors import invalid_argument
from p4sim.p4runtime.p4info_index import P4InfoIndex


def decode_action(
    index: P4InfoIndex, action: p4r.Action, allowed: Collection[int] | None, where: str
) -> ActionCall:
    """Validated ActionCall; ``allowed`` restricts the action ids (None: any action)."""
    spec = index.actions.get(action.action_id)
    if spec is None:
        raise invalid_argument(f"Unknown action id {action.action_id}")
    if allowed is not None and spec.id not in allowed:
        raise invalid_argument(f"Action '{spec.name}' is not allowed {where}")
    values: dict[int, int] = {}
    by_id = {p.id: p for p in spec.params}
    for param in action.params:
        param_spec = by_id.get(param.param_id)
        if param_spec is None:
            raise invalid_argument(
                f"Unknown param id {param.param_id} for action '{spec.name}'")
        if param.param_id in values:
            raise invalid_argument(
                f"Duplicate param id {param.param_id} for action '{spec.name}'")
        values[param.param_id] = bytestrings.decode(
            param.value, param_spec.bitwidth, f"param '{param_spec.name}' of '{spec.name}'")
    missing = [p.name for p in spec.params if p.id not in values]
    if missing:
        raise invalid_argument(
            f"Missing param(s) {', '.join(missing)} for action '{spec.name}'")
    return ActionCall(spec.name, tuple(values[p.id] for p in spec.params))


def encode_action(index: P4InfoIndex, call: ActionCall) -> p4r.Action:
    action_id = index.action_ids_by_name.get(call.action, 0)
    action = p4r.Action(action_id=action_id)
    spec = index.actions.get(action_id)
    if spec is not None:
        for param_spec, value in zip(spec.params, call.params, strict=False):
            action.params.add(param_id=param_spec.id, value=bytestrings.encode(value))
    return action
