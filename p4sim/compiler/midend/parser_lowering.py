"""The V1Switch parser as BMv2 ``parse_states`` (extract/set/verify ops and
``select`` transitions with byte-padded values, masks and value sets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from p4sim.compiler import ast
from p4sim.compiler import types as t
from p4sim.compiler.midend.context import LoweringContext
from p4sim.compiler.midend.control_plane import CpMatchField, CpValueSet
from p4sim.compiler.midend.errors import LoweringError
from p4sim.compiler.midend.expressions import bit_width, op, repr_type
from p4sim.compiler.midend.instances import (
    SubParser,
    bind_constructor_arguments,
    constructor_values,
    instance_name,
)
from p4sim.compiler.midend.locations import ValueLoc
from p4sim.compiler.midend.resets import out_header_resets
from p4sim.compiler.midend.scope import Scope, control_plane_name
from p4sim.compiler.midend.statements import BodyLowering, arguments_alias
from p4sim.compiler.source_text import p4info_annotations

Json = Any

@dataclass(frozen=True)
class ValueSetRef:
    """A parser value_set, by its BMv2 ``parse_vsets`` name."""

    name: str


@dataclass
class _PendingState:
    """A BMv2 parse state still to be emitted.  ``transition`` is the P4 transition,
    or the JSON name of a state to continue with (after a split)."""

    name: str
    statements: list[ast.Node]
    transition: ast.Expression | str | None
    scope: Scope
    prefix: str            # JSON name prefix of the parser's states ("" at top level)
    accept_to: str | None  # where ``accept`` leads (a sub-parser's continuation)
    state_names: dict[str, str]  # the JSON names of this parser application's states


class ParserLowering:
    """Lowers the top-level parser; ``if`` statements split states on a 1-bit
    condition and sub-parsers are inlined with ``<instance>_<state>`` names (as p4c's
    parser-if removal and parser inlining do)."""

    def __init__(self, ctx: LoweringContext) -> None:
        self.ctx = ctx
        self._pending: list[_PendingState] = []
        self._state_names: set[str] = set()

    def lower(self, parser: ast.ParserDecl, scope: Scope) -> None:
        start = self._instantiate(parser, scope, "", None)
        if start != "start":
            raise LoweringError(parser, f"parser {parser.name} has no start state")
        while self._pending:
            self._lower_state(self._pending.pop(0))

    def _instantiate(self, parser: ast.ParserDecl, scope: Scope, prefix: str,
                     accept_to: str | None) -> str:
        """Declare the parser's locals and queue its states; returns its start state."""
        ctx = self.ctx
        initializers: list[ast.Node] = []
        for local in parser.locals:
            if isinstance(local, ast.VariableDecl):
                assert local.type_ref.type is not None
                scope.bind(local, ctx.storage.variable(local.name, local.type_ref.type))
                if local.init is not None:
                    target = ast.PathExpression(pos=local.pos, name=local.name, decl=local,
                                                type=local.type_ref.type)
                    initializers.append(ast.AssignStatement(pos=local.pos, lhs=target,
                                                            rhs=local.init))
            elif isinstance(local, ast.ValueSetDecl):
                self._value_set(local, scope)
            elif isinstance(local, ast.InstantiationDecl) and isinstance(
                    local.callee or getattr(local.type_ref, "decl", None), ast.ParserDecl):
                sub = local.callee or getattr(local.type_ref, "decl", None)
                assert isinstance(sub, ast.ParserDecl)
                scope.bind(local, ValueLoc(SubParser(local, sub), t.VOID))
            elif isinstance(local, ast.ConstDecl):
                continue
            else:
                raise LoweringError(local, f"{type(local).__name__} is not supported in parsers "
                                           "on this target")
        if all(state.name != "start" for state in parser.states):
            raise LoweringError(parser, f"parser {parser.name} has no start state")
        states = simplify_states(parser.states)
        names = self._application_names(prefix, [name for name, _, _ in states])
        for name, statements, transition in states:
            if name == "start":
                statements = initializers + statements
            self._pending.append(_PendingState(names[name], statements, transition,
                                               scope.child(), prefix, accept_to, names))
        return names["start"]

    def _application_names(self, prefix: str, states: list[str]) -> dict[str, str]:
        """JSON names for one application of a parser: ``<prefix><state>``, with ``_0``,
        ``_1``... appended when the same instance is applied again (p4c's inliner gives
        each inlined copy fresh names the same way)."""
        suffix, counter = "", 0
        while any(prefix + name + suffix in self._state_names for name in states):
            suffix, counter = f"_{counter}", counter + 1
        names = {name: prefix + name + suffix for name in states}
        self._state_names.update(names.values())
        return names

    def _lower_state(self, state: _PendingState) -> None:
        ctx = self.ctx
        body = BodyLowering(ctx, in_parser=True)
        statements = _flatten_blocks(state.statements)
        for index, s in enumerate(statements):
            rest = statements[index + 1:]
            if isinstance(s, ast.IfStatement):
                self._split_on_if(state, body, s, rest)
                return
            sub = self._sub_parser_call(s, state.scope)
            if sub is not None:
                self._split_on_sub_parser(state, body, sub, rest)
                return
            body.statement(s, state.scope)
        key, transitions = self._transition(state, body)
        self._emit(state.name, body.out, key, transitions)

    def _emit(self, name: str, ops: list[Json], key: list[Json],
              transitions: list[Json]) -> None:
        sections = self.ctx.sections
        sections.reserve_name(name)
        sections.parse_states.append({"name": name, "id": len(sections.parse_states),
                                      "parser_ops": ops, "transitions": transitions,
                                      "transition_key": key})

    def _continuation(self, state: _PendingState, suffix: str, rest: list[ast.Node],
                      transition: ast.Expression | str | None) -> str:
        name = self.ctx.sections.fresh_name(f"{state.name}_{suffix}")
        self._pending.append(_PendingState(name, rest, transition, state.scope, state.prefix,
                                           state.accept_to, state.state_names))
        return name

    def _split_on_if(self, state: _PendingState, body: BodyLowering, s: ast.IfStatement,
                     rest: list[ast.Node]) -> None:
        ctx = self.ctx
        join = self._continuation(state, "join", rest, state.transition)
        then_name = self._continuation(state, "true", [s.then], join)
        else_name = self._continuation(state, "false", [s.otherwise], join) \
            if s.otherwise is not None else join
        body.precompute_calls(s.cond, state.scope)
        flag = ctx.storage.scalar("tmp", t.BitsType(1))
        body.emit("set", [flag.json(), op("b2d", None, ctx.expr.condition(s.cond,
                                                                          state.scope))], s)
        self._emit(state.name, body.out, [flag.json()],
                   [{"type": "hexstr", "value": "0x01", "mask": None, "next_state": then_name},
                    _default(else_name)])

    def _sub_parser_call(self, s: ast.Node, scope: Scope) -> tuple[SubParser,
                                                                   ast.MethodCall] | None:
        if not isinstance(s, ast.MethodCallStatement) or \
                s.call.call_kind is not ast.CallKind.PARSER_APPLY:
            return None
        method = s.call.method
        assert isinstance(method, ast.Member)
        target = self.ctx.expr.location(method.expr, scope)
        if not (isinstance(target, ValueLoc) and isinstance(target.json_value, SubParser)):
            raise LoweringError(s, "only locally instantiated parsers can be applied")
        return target.json_value, s.call

    def _split_on_sub_parser(self, state: _PendingState, body: BodyLowering,
                             sub: tuple[SubParser, ast.MethodCall],
                             rest: list[ast.Node]) -> None:
        instance, call = sub
        inner = Scope(instance_name(instance, state.scope), state.scope)
        bind_constructor_arguments(self.ctx, instance.parser.constructor_params,
                                   constructor_values(instance.decl), inner,
                                   instance.scope or state.scope, call)
        args = call.ordered_args if call.ordered_args is not None else \
            [a.value for a in call.args]
        resets = out_header_resets(instance.parser.params, call)
        aliased = arguments_alias(self.ctx, instance.parser.params, args, state.scope)
        copy_out: list[ast.Node] = []
        for param, arg in zip(instance.parser.params, args, strict=False):
            if arg is None:
                continue
            constant = self.ctx.expr.constant(arg) if param.direction in ("", "in") else None
            if param.direction in ("out", "inout") and (aliased or isinstance(arg, ast.Slice)):
                # copy-in/copy-out through a temporary, as for controls: the copies back
                # start the state the sub-parser accepts to, left to right
                assert param.type_ref.type is not None
                temp = self.ctx.storage.variable(param.name, param.type_ref.type)
                holder = ast.PathExpression(pos=arg.pos, name=param.name,
                                            type=param.type_ref.type)
                holder.decl = holder
                state.scope.bind(holder, temp)
                inner.bind(param, temp)
                if param.direction == "inout":
                    body.statement(ast.AssignStatement(pos=arg.pos, lhs=holder, rhs=arg),
                                   state.scope)
                copy_out.append(ast.AssignStatement(pos=arg.pos, lhs=arg, rhs=holder))
            elif constant is not None:
                inner.bind(param, ValueLoc(constant, param.type_ref.type or t.INT_LITERAL))
            elif resets and param.direction in ("", "in") and \
                    not isinstance(repr_type(param.type_ref.type), t.ExternType):
                # read before the out arguments' headers are invalidated (p4c: a temporary)
                assert param.type_ref.type is not None
                copy = self.ctx.storage.variable(param.name, param.type_ref.type)
                body.assign_to(copy, arg, state.scope, call)
                inner.bind(param, copy)
            else:
                inner.bind(param, self.ctx.expr.location(arg, state.scope))
        for reset in resets:
            body.statement(reset, inner)
        after = self._continuation(state, "after", copy_out + rest, state.transition)
        prefix = f"{instance.decl.name}_" if not state.prefix else \
            f"{state.prefix}{instance.decl.name}_"
        start = self._instantiate(instance.parser, inner, prefix, after)
        self._emit(state.name, body.out, [], [_default(start)])

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
        scope.bind(decl, ValueLoc(ValueSetRef(name), t.VOID))

    def _transition(self, state: _PendingState,
                    body: BodyLowering) -> tuple[list[Json], list[Json]]:
        transition = state.transition
        scope = state.scope
        if transition is None:
            return [], [_default(None)]
        if isinstance(transition, ast.PathExpression):
            return [], [_default(self._next(transition, state))]
        if isinstance(transition, str):
            return [], [_default(transition)]
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
                       for entry in self._case(case, widths, state)]
        return key_json, transitions

    def _next(self, target: ast.PathExpression, state: _PendingState) -> str | None:
        if target.name == "accept":
            return state.accept_to
        if target.name == "reject":
            return None
        return state.state_names[target.name]

    def _case(self, case: ast.SelectCase, widths: list[int],
              state: _PendingState) -> list[Json]:
        """BMv2 transitions for one select case (a range becomes several masked values)."""
        keyset = case.keyset
        scope = state.scope
        next_state = self._next(case.state, state)
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


def _targets(transition: ast.Expression | None) -> list[str]:
    if isinstance(transition, ast.PathExpression):
        return [transition.name]
    if isinstance(transition, ast.SelectExpression):
        return [case.state.name for case in transition.cases]
    return []


def simplify_states(states: list[ast.ParserState]
                    ) -> list[tuple[str, list[ast.Node], ast.Expression | None]]:
    """p4c's SimplifyParsers: drop unreachable states and collapse chains, merging a
    state into its only predecessor when that predecessor goes there unconditionally
    (the merged state keeps the predecessor's name)."""
    merged = {s.name: (list(s.statements), s.transition) for s in states}
    order = [s.name for s in states]
    changed = True
    while changed:
        changed = False
        references: dict[str, int] = {}
        for name in order:
            for target in _targets(merged[name][1]):
                references[target] = references.get(target, 0) + 1
        for name in order:
            statements, transition = merged[name]
            if not isinstance(transition, ast.PathExpression):
                continue
            target = transition.name
            if target in ("accept", "reject", "start", name) or target not in merged or \
                    references.get(target, 0) != 1:
                continue
            target_statements, target_transition = merged.pop(target)
            merged[name] = (statements + target_statements, target_transition)
            order.remove(target)
            changed = True
            break
    reachable: set[str] = set()
    frontier = ["start"]
    while frontier:
        name = frontier.pop()
        if name in reachable or name not in merged:
            continue
        reachable.add(name)
        frontier.extend(_targets(merged[name][1]))
    return [(name, *merged[name]) for name in order if name in reachable]


def _flatten_blocks(statements: list[ast.Node]) -> list[ast.Node]:
    result: list[ast.Node] = []
    for s in statements:
        if isinstance(s, ast.BlockStatement):
            result.extend(_flatten_blocks(s.statements))
        else:
            result.append(s)
    return result


def _default(next_state: str | None) -> Json:
    return {"type": "default", "value": None, "mask": None, "next_state": next_state}

