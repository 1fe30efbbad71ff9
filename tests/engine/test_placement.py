"""The engine refuses at load the node types simple_switch's loader refuses where they are
(behavioral-model P4Objects.cpp), with the object and BMv2's message (issue 14)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from engine_jsonkit import ProgramBuilder, eth_ipv4_program, ex, fld, hexv, local, param, prim

from p4sim.engine import ConfigError, Engine

LOOKAHEAD = {"type": "lookahead", "value": [0, 8]}
Edit = Callable[[ProgramBuilder], Any]


def _parse_op(b: ProgramBuilder, parser_op: dict[str, Any]) -> None:
    b.json["parsers"][0]["parse_states"][0]["parser_ops"].append(parser_op)


def _action(b: ProgramBuilder, *primitives: dict[str, Any]) -> None:
    b.action("bad", [("x", 8)], list(primitives))


def _set(source: dict[str, Any]) -> dict[str, Any]:
    return {"op": "set", "parameters": [fld("ipv4", "ttl"), source]}


CASES: list[tuple[str, Edit, str]] = [
    ("lookahead in a set expression",
     lambda b: _parse_op(b, _set({"type": "expression", "value": ex("+", LOOKAHEAD, hexv(1))})),
     "parse state 'start', parser op 'set': Invalid 'type' in expression: 'lookahead'"),
    ("lookahead as an extract_VL length",
     lambda b: _parse_op(b, {"op": "extract_VL", "parameters": [
         {"type": "regular", "value": "udp"}, {"type": "expression", "value": LOOKAHEAD}]}),
     "parser op 'extract_VL': Invalid 'type' in expression: 'lookahead'"),
    ("lookahead in a verify condition",
     lambda b: _parse_op(b, {"op": "verify", "parameters": [
         ex("==", LOOKAHEAD, hexv(4)), hexv(7)]}),
     "parser op 'verify': Invalid 'type' in expression: 'lookahead'"),
    ("lookahead as an advance amount",
     lambda b: _parse_op(b, {"op": "advance", "parameters": [LOOKAHEAD]}),
     "Parser 'advance' operation has unsupported parameter type 'lookahead'"),
    ("a bare stack_field set source",
     lambda b: _parse_op(b, _set({"type": "stack_field", "value": ["s", "f"]})),
     "Parser 'set' operation has unsupported source type 'stack_field'"),
    ("a computed transition key",
     lambda b: b.json["parsers"][0]["parse_states"][0]["transition_key"].__setitem__(
         0, ex("&", fld("ethernet", "etherType"), hexv(0xFF))),
     "parse state 'start': Invalid entry in parse state key"),
    ("runtime_data inside an expression",
     lambda b: _action(b, prim("assign", fld("ipv4", "ttl"), ex("+", param(0), hexv(1)))),
     "action 'bad', primitive 'assign' parameter 1: Invalid 'type' in expression: "
     "'runtime_data'"),
    ("an expression parameter that is not wrapped",
     lambda b: _action(b, {"op": "assign", "parameters": [
         fld("ipv4", "ttl"), ex("+", local(0), hexv(1))]}),
     "action 'bad', primitive 'assign' parameter 1: expected a typed object"),
    ("a runtime_data index past the action's parameters",
     lambda b: _action(b, prim("assign", fld("ipv4", "ttl"), param(1))),
     "trying to use parameter at offset 1 but action only has 1 parameter(s)"),
    ("a local index past the action's parameters",
     lambda b: _action(b, prim("assign", fld("ipv4", "ttl"), ex("+", local(3), hexv(1)))),
     "'local' 3 but the action has 1 parameter(s)"),
    ("local outside an action",
     lambda b: b.conditional("ingress", "c", ex("==", local(0), hexv(1)), None, None),
     "conditional 'c': 'local' (action data) outside an action"),
    ("runtime_data in a parser method call",
     lambda b: _parse_op(b, {"op": "primitive", "parameters": [
         prim("assign", fld("ipv4", "ttl"), param(0))]}),
     "but action only has 0 parameter(s)"),
    ("runtime_data as a calculation input",
     lambda b: b.calculation("h", "crc16", [param(0)]),
     "calculation 'h': Unsupported input type 'runtime_data'"),
    ("a parameter type BMv2 does not know",
     lambda b: _action(b, prim("assign", fld("ipv4", "ttl"), LOOKAHEAD)),
     "Parameter type 'lookahead' not supported"),
]


@pytest.mark.parametrize(("edit", "message"), [(c[1], c[2]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_misplaced_node_types_are_refused_at_load(edit: Edit, message: str) -> None:
    b = eth_ipv4_program()
    Engine(b.json)  # the program loads before the edit
    edit(b)
    with pytest.raises(ConfigError, match=re.escape(message)):
        Engine(b.json)
