"""The V1Switch parser as BMv2 ``parse_states`` (extract/set/verify ops and
``select`` transitions with byte-padded values, masks and value sets)."""

from __future__ import annotations

from typing import Any

from p4sim.compiler import ast
from p4sim.compiler import types as t
from p4sim.compiler.midend.context import LoweringContext
from p4sim.compiler.midend.control_plane import CpMatchField, CpValueSet
from p4sim.compiler.midend.errors import LoweringError
from p4sim.compiler.midend.expressions import bit_width, repr_type
from p4sim.compiler.midend.locations import ValueLoc
from p4sim.compiler.midend.scope import Scope, control_plane_name
from p4sim.compiler.midend.source_text import p4info_annotations
from p4sim.compiler.midend.statements import BodyLowering

Json = Any

FINAL_STATES = ("accept", "reject")


class ValueSetRef:
    def __init__(self, name: str, width: int) -> None:
        self.name = name
        self.width = width


class ParserLowering:
    def __init__(self, ctx: LoweringContext) -> None:
        self.ctx = ctx

    def lower(self, parser: ast.ParserDecl, scope: Scope) -> None:
        ctx = self.ctx
        for local in parser.locals:
            if isinstance(local, ast.VariableDecl):
                assert local.type_ref.type is not None
                scope.bind(local, ctx.storage.variable(local.name, local.type_ref.type))
            elif isinstance(local, ast.ValueSetDecl):
                self._value_set(local, scope)
            elif isinstance(local, ast.ConstDecl):
                continue
            else:
                raise LoweringError(local, f"{type(local).__name__} is not supported in parsers "
                                           "on this target")
        initializers = [local for local in parser.locals
                        if isinstance(local, ast.VariableDecl) and local.init is not None]
        names = {s.name for s in parser.states}
        if "start" not in names:
            raise LoweringError(parser, f"parser {parser.name} has no start state")
        for state in parser.states:
            body = BodyLowering(ctx, in_parser=True)
            if state.name == "start":
                for local in initializers:
                    assert local.init is not None
                    body.assign_to(ctx.expr.location(
                        ast.PathExpression(pos=local.pos, name=local.name, decl=local), scope),
                        local.init, scope, local)
            state_scope = scope.child()
            body.statements(state.statements, state_scope)
            key, transitions = self._transition(state, state_scope, body)
            ctx.sections.parse_states.append({
                "name": state.name, "id": len(ctx.sections.parse_states),
                "parser_ops": body.out, "transitions": transitions, "transition_key": key})

    def _value_set(self, decl: ast.ValueSetDecl, scope: Scope) -> None:
        ctx = self.ctx
        name = control_plane_name(decl, scope)
        element = repr_type(decl.element_type.type)
        size = ctx.expr.const_int(decl.size)
        if size is None:
            raise LoweringError(decl, "value_set size must be a compile-time constant")
        matches: list[CpMatchField] = []
        if isinstance(element, t.StructType):
            width = 0
            for field_name, field_type in element.fields:
                field_width = bit_width(field_type)
                if field_width is None:
                    raise LoweringError(decl, "value_set struct fields must be bit<W>")
                width += field_width
                matches.append(CpMatchField(field_name, field_width, "exact"))
        else:
            width = bit_width(element) or 0
            matches.append(CpMatchField("", width, "exact"))
        ctx.sections.parse_vsets.append({"name": name, "id": len(ctx.sections.parse_vsets),
                                         "compressed_bitwidth": width, "max_size": size})
        ctx.cp.value_sets.append(CpValueSet(name, None, p4info_annotations(decl.annotations),
                                            None, size, matches))
        scope.bind(decl, ValueLoc(ValueSetRef(name, width), t.VOID))

    def _transition(self, state: ast.ParserState, scope: Scope,
                    body: BodyLowering) -> tuple[list[Json], list[Json]]:
        transition = state.transition
        if transition is None:
            return [], [_default(None)]
        if isinstance(transition, ast.PathExpression):
            return [], [_default(_next(transition))]
        if not isinstance(transition, ast.SelectExpression):
            raise LoweringError(transition, "unsupported transition")
        key_json: list[Json] = []
        widths: list[int] = []
        for key in transition.keys:
            width = bit_width(key.type)
            if width is None:
                raise LoweringError(key, "select keys must be bit<W>, bool or enum values")
            value = self.ctx.expr.value(key, scope)
            if value.get("type") not in ("field", "lookahead", "stack_field"):
                assert key.type is not None
                temp = self.ctx.storage.scalar("tmp", key.type)
                body.emit("set", [temp.json(), value], None)
                value = temp.json()
            key_json.append(value)
            widths.append(width)
        transitions = [entry for case in transition.cases
                       for entry in self._case(case, widths, scope)]
        return key_json, transitions

    def _case(self, case: ast.SelectCase, widths: list[int], scope: Scope) -> list[Json]:
        """BMv2 transitions for one select case (a range becomes several masked values)."""
        keyset = case.keyset
        next_state = _next(case.state)
        if isinstance(keyset, ast.DefaultExpression | ast.DontCare):
            return [_default(next_state)]
        if isinstance(keyset, ast.PathExpression) and isinstance(keyset.decl, ast.ValueSetDecl):
            ref = scope.lookup(keyset.decl)
            assert isinstance(ref, ValueLoc) and isinstance(ref.json_value, ValueSetRef)
            return [{"type": "parse_vset", "value": ref.json_value.name, "mask": None,
                     "next_state": next_state}]
        elements = list(keyset.elements) if isinstance(keyset, ast.ListExpression) and \
            len(widths) > 1 else [keyset]
        if len(elements) != len(widths):
            raise LoweringError(keyset, "keyset size does not match the select key")
        has_mask = False
        combinations: list[list[tuple[int, int, int]]] = [[]]
        for element, width in zip(elements, widths, strict=True):
            full = (1 << width) - 1
            options: list[tuple[int, int]]
            if isinstance(element, ast.DefaultExpression | ast.DontCare):
                options, has_mask = [(0, 0)], True
            elif isinstance(element, ast.MaskExpression):
                mask = self._const(element.mask) & full
                options, has_mask = [(self._const(element.value) & mask, mask)], True
            elif isinstance(element, ast.RangeExpression):
                low, high = self._const(element.low) & full, self._const(element.high) & full
                options, has_mask = range_to_masks(low, high, width), True
            else:
                options = [(self._const(element) & full, full)]
            combinations = [done + [(value, mask, width)] for done in combinations
                            for value, mask in options]
        return [{"type": "hexstr", "value": "0x" + _concat(combo, 0),
                 "mask": "0x" + _concat(combo, 1) if has_mask else None,
                 "next_state": next_state} for combo in combinations]

    def _const(self, e: ast.Expression) -> int:
        value = self.ctx.expr.const_int(e)
        if value is None:
            constant = self.ctx.expr.constant(e)
            if constant is not None and constant.get("type") == "hexstr":
                return int(constant["value"], 16)
            raise LoweringError(e, "select case values must be compile-time constants")
        return value


def range_to_masks(low: int, high: int, width: int) -> list[tuple[int, int]]:
    """The (value, mask) prefixes whose union is exactly ``low .. high``."""
    result: list[tuple[int, int]] = []
    full = (1 << width) - 1
    while low <= high:
        size = (low & -low) if low else 1 << width
        while size > high - low + 1:
            size >>= 1
        result.append((low, full ^ (size - 1)))
        low += size
    return result


def _concat(combo: list[tuple[int, int, int]], part: int) -> str:
    """Byte-padded hex digits of each key's value (part 0) or mask (part 1), in order."""
    return "".join(f"{item[part]:0{2 * ((item[2] + 7) // 8)}x}" for item in combo)


def _next(state: ast.PathExpression) -> str | None:
    return None if state.name in FINAL_STATES else state.name


def _default(next_state: str | None) -> Json:
    return {"type": "default", "value": None, "mask": None, "next_state": next_state}

