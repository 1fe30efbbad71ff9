"""v1model extern functions and methods as BMv2 simple_switch primitives.

The mapping follows p4c's simple_switch backend: e.g. ``hash`` becomes
``modify_field_with_hash_based_offset`` over a named calculation, ``digest``
a learn list plus ``generate_digest``, ``register.read`` ``register_read``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from p4sim.compiler import ast
from p4sim.compiler import types as t
from p4sim.compiler.midend.bmv2_sections import hex_json
from p4sim.compiler.midend.context import source_info
from p4sim.compiler.midend.control_plane import CpDigest
from p4sim.compiler.midend.errors import LoweringError
from p4sim.compiler.midend.expressions import bit_width, repr_type
from p4sim.compiler.midend.header_flattening import flat_fields
from p4sim.compiler.midend.locations import (
    DynamicHeaderLoc,
    ExternLoc,
    FieldLoc,
    HeaderLoc,
    Location,
    StackLoc,
    StructLoc,
)
from p4sim.compiler.midend.scope import Scope
from p4sim.compiler.source_text import expression_text

if TYPE_CHECKING:
    from p4sim.compiler.midend.statements import BodyLowering

Json = Any

STANDARD_METADATA = {"type": "header", "value": "standard_metadata"}


def _args(call: ast.MethodCall) -> list[ast.Expression | None]:
    if call.ordered_args is not None:
        return list(call.ordered_args)
    return [a.value for a in call.args]


def _required(call: ast.MethodCall, index: int) -> ast.Expression:
    args = _args(call)
    if index >= len(args) or args[index] is None:
        raise LoweringError(call, f"{expression_text(call)}: missing argument {index + 1}")
    value = args[index]
    assert value is not None
    return value


def enum_member(e: ast.Expression) -> str:
    value = e.const_value
    if isinstance(value, ast.EnumValue):
        return value.member
    if isinstance(e, ast.Member):
        return e.member
    raise LoweringError(e, "expected an enum constant")


def _field_target(body: BodyLowering, e: ast.Expression, scope: Scope) -> FieldLoc:
    loc = body.ctx.expr.location(e, scope)
    if not isinstance(loc, FieldLoc):
        raise LoweringError(e, f"{expression_text(e)}: expected a scalar field")
    return loc


def flatten_fields(loc: Location, node: ast.Node) -> list[Json]:
    """Field references of every scalar in a struct/header location, in order."""
    if isinstance(loc, FieldLoc):
        return [loc.json()]
    if isinstance(loc, HeaderLoc):
        return [{"type": "field", "value": [loc.name, leaf.name]}
                for leaf in flat_fields(loc.type)]
    if isinstance(loc, StructLoc):
        result: list[Json] = []
        for sub in loc.fields.values():
            result.extend(flatten_fields(sub, node))
        return result
    raise LoweringError(node, "expected fields")


def data_fields(body: BodyLowering, data: ast.Expression, scope: Scope,
                node: ast.Node) -> list[Json]:
    """Field list for hash/digest/log data: fields kept, other values copied to temps."""
    while isinstance(data, ast.Cast) and isinstance(data.expr, ast.ListExpression |
                                                    ast.StructExpression):
        data = data.expr
    if isinstance(data, ast.ListExpression | ast.StructExpression):
        elements = data.elements if isinstance(data, ast.ListExpression) else \
            _in_type_order(data)
        result: list[Json] = []
        for element in elements:
            result.extend(data_fields(body, element, scope, node))
        return result
    if isinstance(repr_type(data.type), t.StructLikeType):
        return flatten_fields(body.ctx.expr.location(data, scope), node)
    value = body.ctx.expr.value(data, scope)
    if value.get("type") == "field":
        return [value]
    assert data.type is not None
    temp = body.ctx.storage.scalar("tmp", data.type)
    body.emit("assign", [temp.json(), value], node)
    return [temp.json()]


def _in_type_order(data: ast.StructExpression) -> list[ast.Expression]:
    """The values of a ``{f = e, ...}`` expression in its struct type's field order."""
    by_name = {f.name: f.value for f in data.fields}
    struct = t.strip_newtype(data.type) if data.type is not None else None
    if isinstance(struct, t.StructLikeType) and set(by_name) == set(struct.field_names()):
        return [by_name[name] for name in struct.field_names()]
    return [f.value for f in data.fields]


def calculation_inputs(body: BodyLowering, data: ast.Expression, scope: Scope,
                       node: ast.Node) -> list[Json]:
    """Inputs of a calculation: fields, or constants with their bit width."""
    while isinstance(data, ast.Cast) and isinstance(data.expr, ast.ListExpression |
                                                    ast.StructExpression):
        data = data.expr
    if isinstance(data, ast.ListExpression | ast.StructExpression):
        elements = data.elements if isinstance(data, ast.ListExpression) else \
            _in_type_order(data)
        inputs: list[Json] = []
        for element in elements:
            inputs.extend(calculation_inputs(body, element, scope, node))
        return inputs
    if isinstance(repr_type(data.type), t.StructLikeType):
        return flatten_fields(body.ctx.expr.location(data, scope), node)
    constant = body.ctx.expr.constant(data)
    if constant is not None and constant.get("type") == "hexstr":
        width = bit_width(data.type)
        if width is None:
            raise LoweringError(data, "constants in hash data need a width")
        return [{"type": "hexstr", "value": constant["value"], "bitwidth": width}]
    value = body.ctx.expr.value(data, scope)
    if value.get("type") != "field":
        raise LoweringError(data, f"{expression_text(data)}: only fields and constants can be "
                                  "hashed on this target")
    return [value]


def extern_function(body: BodyLowering, call: ast.MethodCall, scope: Scope,
                    node: ast.Node) -> None:
    assert isinstance(call.callee, ast.Declaration)
    name = call.callee.name
    ctx = body.ctx
    expr = ctx.expr
    if name == "mark_to_drop":
        body.emit("mark_to_drop", [STANDARD_METADATA], node)
    elif name == "hash":
        result = _field_target(body, _required(call, 0), scope)
        algo = enum_member(_required(call, 1))
        inputs = calculation_inputs(body, _required(call, 3), scope, node)
        calc = ctx.sections.add_calculation("calc", algo, inputs,
                                            source_info(call, expression_text(call)))
        body.emit("modify_field_with_hash_based_offset",
                  [result.json(), expr.value(_required(call, 2), scope),
                   {"type": "calculation", "value": calc},
                   expr.value(_required(call, 4), scope)], node)
    elif name == "digest":
        _digest(body, call, scope, node)
    elif name in ("clone", "clone_preserving_field_list", "clone3"):
        if name == "clone3":
            raise LoweringError(call, "clone3 is deprecated and not supported; use "
                                      "clone_preserving_field_list")
        kind = enum_member(_required(call, 0))
        primitive = {"I2E": "clone_ingress_pkt_to_egress",
                     "E2E": "clone_egress_pkt_to_egress"}.get(kind)
        if primitive is None:
            raise LoweringError(call, f"unknown clone type {kind}")
        session = expr.value(_required(call, 1), scope)
        index = 0
        if name == "clone_preserving_field_list":
            index = _field_list(body, _required(call, 2))
        body.emit(primitive, [session, hex_json(index, 32)], node)
    elif name in ("resubmit", "recirculate"):
        raise LoweringError(call, f"{name} with a field list is deprecated and not supported; "
                                  f"use {name}_preserving_field_list")
    elif name in ("resubmit_preserving_field_list", "recirculate_preserving_field_list"):
        index = _field_list(body, _required(call, 0))
        body.emit(name.split("_", 1)[0], [hex_json(index, 32)], node)
    elif name == "truncate":
        body.emit("truncate", [expr.value(_required(call, 0), scope)], node)
    elif name == "random":
        result = _field_target(body, _required(call, 0), scope)
        body.emit("modify_field_rand_dist", [result.json(),
                                             expr.value(_required(call, 1), scope),
                                             expr.value(_required(call, 2), scope)], node)
    elif name == "log_msg":
        message = _required(call, 0)
        if not isinstance(message, ast.StringLiteral):
            raise LoweringError(message, "log_msg needs a string literal")
        values: list[Json] = []
        args = _args(call)
        if len(args) > 1 and args[1] is not None:
            data = args[1]
            elements = data.elements if isinstance(data, ast.ListExpression) else [data]
            values = [expr.value(e, scope) for e in elements]
        body.emit("log_msg", [{"type": "string", "value": message.value},
                              {"type": "parameters_vector", "value": values}], node)
    elif name in ("assert", "assume"):
        body.emit(name, [expr.condition(_required(call, 0), scope)], node)
    elif name == "verify":
        if not body.in_parser:
            raise LoweringError(call, "verify is only allowed in parsers")
        body.emit("verify", [expr.condition(_required(call, 0), scope),
                             expr.value(_required(call, 1), scope)], node)
    elif name in ("verify_checksum", "update_checksum", "verify_checksum_with_payload",
                  "update_checksum_with_payload"):
        raise LoweringError(call, f"{name} is only supported in the checksum controls of "
                                  "V1Switch")
    else:
        raise LoweringError(call, f"extern function {name} is not supported on this target")


def _field_list(body: BodyLowering, index_expr: ast.Expression) -> int:
    """BMv2 field list id for ``@field_list(index)`` fields.  Ids are numbered from 1
    in order of use: simple_switch treats id 0 as "nothing requested" (p4c does too)."""
    index = body.ctx.expr.const_int(index_expr)
    if index is None:
        raise LoweringError(index_expr, "field list index must be a compile-time constant")
    sections = body.ctx.sections
    name = f"field_list{index}"
    for field_list in sections.field_lists:
        if field_list["name"] == name:
            return int(field_list["id"])
    list_id = len(sections.field_lists) + 1
    sections.field_lists.append({"id": list_id, "name": name,
                                 "elements": body.ctx.field_lists.get(index, [])})
    return list_id


def _is_storage(e: ast.Expression) -> bool:
    return isinstance(e, ast.PathExpression | ast.Member | ast.ArrayIndex)


def _digest_values(data: ast.Expression) -> list[ast.Expression]:
    """The scalar values of a digest's list/struct expression, in field order."""
    while isinstance(data, ast.Cast):
        data = data.expr
    if isinstance(data, ast.ListExpression):
        return list(data.elements)
    if isinstance(data, ast.StructExpression):
        return _in_type_order(data)
    return [data]


def _digest(body: BodyLowering, call: ast.MethodCall, scope: Scope, node: ast.Node) -> None:
    ctx = body.ctx
    data = _required(call, 1)
    data_type = None
    if call.type_args_inferred:
        data_type = call.type_args_inferred.get("T")
    if data_type is None:
        data_type = data.type
    data_type = t.strip_newtype(data_type) if data_type is not None else None
    if not isinstance(data_type, t.StructType):
        raise LoweringError(data, "digest data must be a struct on this target")
    key = data_type.name
    learn_id = ctx.learn_lists.get(key)
    if _is_storage(data):
        # a variable: the learn list names its fields (values at the end of ingress)
        elements = data_fields(body, data, scope, node)
    else:
        # an expression: copied at the call into temporaries shared by the type's
        # learn list, so the digest reports the values of the call (as p4c does)
        values = [ctx.expr.value(e, scope) for e in _digest_values(data)]
        temps = ctx.digest_temps.get(key)
        if temps is None:
            temps = [ctx.storage.scalar("tmp", field_type) for _, field_type in
                     data_type.fields]
            ctx.digest_temps[key] = temps
        if len(values) != len(temps):
            raise LoweringError(data, f"digest data does not match {key}")
        for temp, value in zip(temps, values, strict=True):
            body.emit("assign", [temp.json(), value], node)
        elements = [temp.json() for temp in temps]
    if learn_id is None:
        learn_id = len(ctx.sections.learn_lists) + 1
        ctx.learn_lists[key] = learn_id
        # p4c writes learn lists without source_info
        ctx.sections.learn_lists.append({"id": learn_id, "name": key, "elements": elements})
        ctx.cp.digests.append(CpDigest(name=key, data_type=data_type))
    else:
        canonical = ctx.sections.learn_lists[learn_id - 1]["elements"]
        if canonical != elements:  # another call site: fill the same fields
            for target, value in zip(canonical, elements, strict=True):
                body.emit("assign", [target, value], node)
    receiver = ctx.expr.value(_required(call, 0), scope)
    # the learn list id is written unpadded ("0x1"), as in p4c's BMv2 JSON
    body.emit("generate_digest", [receiver, {"type": "hexstr", "value": f"0x{learn_id:x}"}],
              node)


def extern_method(body: BodyLowering, call: ast.MethodCall, instance: Location | None,
                  scope: Scope, node: ast.Node) -> None:
    assert isinstance(call.method, ast.Member)
    method = call.method.member
    expr = body.ctx.expr
    if instance is None:
        _packet_method(body, call, method, scope, node)
        return
    if not isinstance(instance, ExternLoc):
        raise LoweringError(call, f"{expression_text(call)}: not an extern instance")
    kind = instance.type.name
    if kind == "counter" and method == "count":
        body.emit("count", [{"type": "counter_array", "value": instance.name},
                            expr.value(_required(call, 0), scope)], node)
    elif kind == "direct_counter" and method == "count":
        return
    elif kind == "meter" and method == "execute_meter":
        result = _field_target(body, _required(call, 1), scope)
        body.emit("execute_meter", [{"type": "meter_array", "value": instance.name},
                                    expr.value(_required(call, 0), scope), result.json()],
                  node)
    elif kind == "direct_meter" and method == "read":
        result = _field_target(body, _required(call, 0), scope)
        meter = body.ctx.meter_objects.get(instance.name)
        if meter is None:
            raise LoweringError(call, f"direct meter {instance.name} is not attached to a table")
        meter["result_target"] = result.json()["value"]
    elif kind == "register" and method == "read":
        result = _field_target(body, _required(call, 0), scope)
        body.emit("register_read", [result.json(),
                                    {"type": "register_array", "value": instance.name},
                                    expr.value(_required(call, 1), scope)], node)
    elif kind == "register" and method == "write":
        body.emit("register_write", [{"type": "register_array", "value": instance.name},
                                     expr.value(_required(call, 0), scope),
                                     expr.value(_required(call, 1), scope)], node)
    else:
        raise LoweringError(call, f"{kind}.{method} is not supported on this target")


def _packet_method(body: BodyLowering, call: ast.MethodCall, method: str, scope: Scope,
                   node: ast.Node) -> None:
    if not body.in_parser:
        raise LoweringError(call, f"packet method {method} is not allowed here")
    expr = body.ctx.expr
    if method == "extract":
        target_expr = _required(call, 0)
        header = _extract_target(body, target_expr, scope)
        args = _args(call)
        if len(args) > 1 and args[1] is not None:
            body.emit("extract_VL", [header, expr.value(args[1], scope)], node)
        else:
            body.emit("extract", [header], node)
    elif method == "advance":
        body.emit("advance", [expr.value(_required(call, 0), scope)], node)
    else:
        raise LoweringError(call, f"packet_in.{method} is not supported as a statement")


def _extract_target(body: BodyLowering, e: ast.Expression, scope: Scope) -> Json:
    if isinstance(e, ast.Member) and e.member == "next":
        stack = body.ctx.expr.location(e.expr, scope)
        if isinstance(stack, StackLoc) and not stack.unions:
            return {"type": "stack", "value": stack.name}
    loc = body.ctx.expr.location(e, scope)
    if isinstance(loc, HeaderLoc):
        return {"type": "regular", "value": loc.name}
    if isinstance(loc, DynamicHeaderLoc):
        # BMv2's extract names its header (or the stack, for .next); p4c emits the
        # dereference expression where BMv2 expects that name
        raise LoweringError(e, f"{expression_text(e)}: extracting a header-stack element at "
                               "a run-time index is not supported on this target (use .next)")
    raise LoweringError(e, f"{expression_text(e)}: extract needs a header")
