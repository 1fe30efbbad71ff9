"""Controls: tables, actions, extern instances and the apply-block graph.

An apply block becomes BMv2 pipeline nodes: tables (``next_tables`` per
action, or ``__HIT__``/``__MISS__``), conditionals (``true_next``/
``false_next``) and synthesized single-action tables for runs of plain
statements, as p4c does.  Sub-control applications are inlined with
instance-prefixed names (``MyIngress.sub.t``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from p4sim.compiler import ast
from p4sim.compiler import types as t
from p4sim.compiler.midend.bmv2_sections import Pipeline
from p4sim.compiler.midend.context import LoweringContext, source_info
from p4sim.compiler.midend.errors import LoweringError
from p4sim.compiler.midend.expressions import repr_type
from p4sim.compiler.midend.instances import (
    ControlInstance,
    bind_constructor_arguments,
    constructor_values,
    instance_name,
)
from p4sim.compiler.midend.locations import ExternLoc, FieldLoc, ValueLoc
from p4sim.compiler.midend.resets import out_header_resets
from p4sim.compiler.midend.scope import Scope, control_plane_name
from p4sim.compiler.midend.statements import (
    BodyLowering,
    arguments_alias,
)
from p4sim.compiler.midend.tables import TableLowering

Json = Any
Setter = Callable[[str | None], None]


@dataclass
class Fragment:
    """A piece of control flow: its first node and the edges leaving it."""

    entry: str | None = None
    exits: list[Setter] = field(default_factory=list)
    terminated: bool = False  # ends in return/exit: nothing after it runs

    def then(self, other: Fragment) -> Fragment:
        if self.terminated:
            return self
        if self.entry is None:
            return other
        if other.entry is None:
            return Fragment(self.entry, self.exits + other.exits, other.terminated)
        for setter in self.exits:
            setter(other.entry)
        return Fragment(self.entry, other.exits, other.terminated)


def _table_apply(e: ast.Expression) -> ast.TableDecl | None:
    if isinstance(e, ast.MethodCall) and e.call_kind is ast.CallKind.TABLE_APPLY:
        assert isinstance(e.method, ast.Member) and isinstance(e.method.expr,
                                                               ast.PathExpression)
        decl = e.method.expr.decl
        if isinstance(decl, ast.TableDecl):
            return decl
        if isinstance(e.callee, ast.TableDecl):
            return e.callee
    return None


def _hit_test(e: ast.Expression) -> tuple[ast.TableDecl, bool] | None:
    """``t.apply().hit`` -> (t, True); ``.miss``/``!...hit`` -> (t, False)."""
    if isinstance(e, ast.UnaryOp) and e.op == "!":
        inner = _hit_test(e.operand)
        return (inner[0], not inner[1]) if inner else None
    if isinstance(e, ast.Member) and e.member in ("hit", "miss"):
        table = _table_apply(e.expr)
        if table is not None:
            return table, e.member == "hit"
    return None


def _hit_as_if(target: ast.Expression, value: ast.Expression, node: ast.Node) -> ast.Node:
    """``x = t.apply().hit`` as ``if (t.apply().hit) x = true; else x = false;``."""
    def assign(flag: bool) -> ast.AssignStatement:
        return ast.AssignStatement(pos=node.pos, lhs=target, rhs=ast.BoolLiteral(
            pos=node.pos, value=flag, type=t.BOOL))
    return ast.IfStatement(pos=node.pos, cond=value, then=assign(True), otherwise=assign(False))


def _referenced_declarations(node: ast.Node) -> set[int]:
    """Ids of the declarations named by path expressions below ``node``."""
    return {id(n.decl) for n in ast.walk(node)
            if isinstance(n, ast.PathExpression) and n.decl is not None}


def _has_calls(node: ast.Node) -> bool:
    return any(isinstance(n, ast.MethodCall) for n in ast.walk(node))


def _contains_table_apply(node: ast.Node) -> bool:
    return any(isinstance(n, ast.MethodCall) and n.call_kind in (
        ast.CallKind.TABLE_APPLY, ast.CallKind.CONTROL_APPLY) for n in ast.walk(node))


class ControlLowering:
    """Lowers one top-level control (and everything inlined into it) to a pipeline."""

    def __init__(self, ctx: LoweringContext, pipeline: Pipeline) -> None:
        self.ctx = ctx
        self.pipeline = pipeline
        self.tables = TableLowering(ctx, pipeline)
        self._returns: list[list[Setter]] = []

    # ------------------------------------------------------------ instances

    def instantiate(self, control: ast.ControlDecl, scope: Scope) -> Fragment:
        """Declare the control's locals in ``scope`` and lower its apply block."""
        initializers: list[ast.Node] = []
        referenced = _referenced_declarations(control)
        for local in control.locals:
            if isinstance(local, ast.VariableDecl) and id(local) not in referenced and (
                    local.init is None or not _has_calls(local.init)):
                continue  # p4c's mid end drops a local that nothing reads or writes
            if isinstance(local, ast.VariableDecl):
                assert local.type_ref.type is not None
                scope.bind(local, self.ctx.storage.variable(local.name, local.type_ref.type))
                if local.init is not None:
                    initializers.append(ast.AssignStatement(
                        pos=local.pos, lhs=ast.PathExpression(pos=local.pos, name=local.name,
                                                              decl=local,
                                                              type=local.type_ref.type),
                        rhs=local.init))
            elif isinstance(local, ast.InstantiationDecl):
                self._instance(local, scope)
            elif isinstance(local, ast.TableDecl):
                self.tables.declare(local, scope)
            elif isinstance(local, ast.ActionDecl | ast.ConstDecl | ast.FunctionDecl):
                continue
            else:
                raise LoweringError(local, f"{type(local).__name__} is not supported in "
                                           "controls on this target")
        self._returns.append([])
        body = self.sequence(initializers + list(control.body.statements), scope)
        returns = self._returns.pop()
        if body.entry is None:
            return Fragment()
        return Fragment(body.entry, body.exits + returns)

    def _instance(self, decl: ast.InstantiationDecl, scope: Scope) -> None:
        target = decl.callee
        if target is None and isinstance(decl.type_ref, ast.NamedTypeRef):
            target = decl.type_ref.decl
        if isinstance(target, ast.ControlDecl):
            scope.bind(decl, ValueLoc(ControlInstance(decl, target), t.VOID))
            return
        ty = decl.type
        if not isinstance(ty, t.ExternType):
            raise LoweringError(decl, f"{decl.name}: instances of this type are not supported "
                                      "in controls on this target")
        name = control_plane_name(decl, scope)
        scope.bind(decl, ExternLoc(name, ty, decl))
        self.tables.declare_extern(decl, name, ty, scope)

    # ------------------------------------------------------------ sequencing

    def sequence(self, statements: list[ast.Node], scope: Scope) -> Fragment:
        result = Fragment()
        run: list[ast.Node] = []
        for s in statements:
            if isinstance(s, ast.AssignStatement) and _hit_test(s.rhs) is not None:
                s = _hit_as_if(s.lhs, s.rhs, s)
            elif isinstance(s, ast.VariableDecl) and s.init is not None and \
                    _hit_test(s.init) is not None:
                assert s.type_ref.type is not None
                scope.bind(s, self.ctx.storage.variable(s.name, s.type_ref.type))
                s = _hit_as_if(ast.PathExpression(pos=s.pos, name=s.name, decl=s,
                                                  type=t.BOOL), s.init, s)
            if result.terminated:
                break
            if self._is_plain(s):
                run.append(s)
                continue
            if run:
                result = result.then(self._synthesize(run, scope))
                run = []
            if isinstance(s, ast.ReturnStatement):
                # The dangling edges so far leave the control: they join its continuation.
                self._returns[-1].extend(result.exits)
                return Fragment(result.entry, [], terminated=True)
            result = result.then(self.statement(s, scope))
        if run and not result.terminated:
            result = result.then(self._synthesize(run, scope))
        return result

    def _is_plain(self, s: ast.Node) -> bool:
        if isinstance(s, ast.AssignStatement | ast.VariableDecl | ast.ConstDecl |
                      ast.EmptyStatement):
            return not _contains_table_apply(s)
        if isinstance(s, ast.ForStatement):
            # a run-time loop (loops.py refuses those with applies or returns): in an action
            return True
        if isinstance(s, ast.MethodCallStatement):
            return s.call.call_kind not in (ast.CallKind.TABLE_APPLY,
                                            ast.CallKind.CONTROL_APPLY) and \
                not self._is_direct_action_call(s.call)
        return False

    def _is_direct_action_call(self, call: ast.MethodCall) -> bool:
        """A call of an action with constant arguments for its (directionless)
        parameters: p4c applies it through a hidden ``tbl_<action>`` table."""
        decl = call.callee
        if call.call_kind is not ast.CallKind.ACTION or not isinstance(decl, ast.ActionDecl):
            return False
        if any(p.direction for p in decl.params):
            return False
        args = call.ordered_args if call.ordered_args is not None else \
            [a.value for a in call.args]
        return all(a is not None and self.ctx.expr.constant(a) is not None for a in args)

    def statement(self, s: ast.Node, scope: Scope) -> Fragment:
        if isinstance(s, ast.MethodCallStatement):
            call = s.call
            table = _table_apply(call)
            if table is not None:
                # the key computation runs (and is numbered in p4c's CFG) first
                setup = self._key_setup(table, scope, s)
                return setup.then(self.tables.apply(table, scope, s))
            if call.call_kind is ast.CallKind.CONTROL_APPLY:
                return self._apply_control(call, scope)
            if self._is_direct_action_call(call):
                name, exits = self.tables.direct_action_call(call, scope, s)
                return Fragment(name, exits)
        if isinstance(s, ast.BlockStatement):
            return self.sequence(list(s.statements), scope.child())
        if isinstance(s, ast.IfStatement):
            return self._if(s, scope)
        if isinstance(s, ast.SwitchStatement):
            return self._switch(s, scope)
        if isinstance(s, ast.ExitStatement):
            # the exit primitive is followed by the copy-outs of the enclosing applied
            # controls (BodyLowering emits them, see LoweringContext.exit_copy_outs)
            fragment = self._synthesize([s], scope)
            for setter in fragment.exits:
                setter(None)
            return Fragment(fragment.entry, [], terminated=True)
        raise LoweringError(s, f"{type(s).__name__} is not supported in an apply block on "
                               "this target")

    def _synthesize(self, run: list[ast.Node], scope: Scope) -> Fragment:
        body = BodyLowering(self.ctx)
        primitives = body.action_body(run, scope)
        if not primitives:
            return Fragment()
        name, exits = self.tables.synthesized(primitives, run[0])
        return Fragment(name, exits)

    # ------------------------------------------------------------ branching

    def _reserve_conditional(self) -> Json:
        """A conditional numbered, listed and given its id now (p4c's preorder), to be
        completed by :meth:`_conditional` once its branches are lowered."""
        name, conditional_id = self.ctx.sections.new_conditional(self.ctx.sections.cfg_node())
        entry: Json = {"name": name, "id": conditional_id}
        self.pipeline.conditionals.append(entry)
        return entry

    def _conditional(self, cond: ast.Expression, scope: Scope, node: ast.Node,
                     reserved: Json | None = None) -> Json:
        entry = reserved if reserved is not None else self._reserve_conditional()
        entry.update({"source_info": source_info(node, _cond_text(cond)),
                      "expression": self.ctx.expr.condition(cond, scope),
                      "true_next": None, "false_next": None})
        return entry

    def _branch_target(self, fragment: Fragment, set_edge: Setter) -> list[Setter]:
        """Connect an edge to a branch; returns the branch's dangling exits."""
        if fragment.entry is not None:
            set_edge(fragment.entry)
            return fragment.exits
        if fragment.terminated:
            self._returns[-1].append(set_edge)
            return []
        return [set_edge]

    def _if(self, s: ast.IfStatement, scope: Scope) -> Fragment:
        # the condition's node is numbered before the branches' nodes (p4c's preorder)
        hit = _hit_test(s.cond)
        applied: tuple[str, Json, Fragment] | None = None
        reserved: Json | None = None
        if hit is not None:
            setup = self._key_setup(hit[0], scope, s)
            applied = (*self.tables.apply_for_hit_miss(hit[0], scope, s), setup)
        elif not _contains_table_apply(s.cond):
            reserved = self._reserve_conditional()
        then_fragment = self.statement_or_block(s.then, scope)
        else_fragment = self.statement_or_block(s.otherwise, scope) \
            if s.otherwise is not None else Fragment()
        if hit is not None and applied is not None:
            table, on_hit = hit
            hit_branch, miss_branch = (then_fragment, else_fragment) if on_hit else \
                (else_fragment, then_fragment)
            entry, table_json, setup = applied
            exits = self._branch_target(hit_branch, _dict_setter(table_json["next_tables"],
                                                                 "__HIT__"))
            exits += self._branch_target(miss_branch, _dict_setter(table_json["next_tables"],
                                                                   "__MISS__"))
            return setup.then(Fragment(
                entry, exits, terminated=then_fragment.terminated and else_fragment.terminated))
        if _contains_table_apply(s.cond):
            leaving: list[Setter] = []
            first = self._condition_graph(s.cond, scope, s, then_fragment, else_fragment,
                                          leaving)
            return Fragment(first, leaving,
                            terminated=then_fragment.terminated and else_fragment.terminated)
        conditional = self._conditional(s.cond, scope, s, reserved)
        exits = self._branch_target(then_fragment, _dict_setter(conditional, "true_next"))
        exits += self._branch_target(else_fragment, _dict_setter(conditional, "false_next"))
        return Fragment(conditional["name"], exits,
                        terminated=then_fragment.terminated and else_fragment.terminated)

    def _condition_graph(self, cond: ast.Expression, scope: Scope, node: ast.Node,
                         on_true: Fragment, on_false: Fragment, exits: list[Setter]) -> str:
        """Nodes evaluating ``cond`` with short-circuit ``&&``/``||``/``!``, where some
        operands apply tables (``t.apply().hit``); returns the first node's name."""
        if isinstance(cond, ast.UnaryOp) and cond.op == "!" and _hit_test(cond) is None:
            return self._condition_graph(cond.operand, scope, node, on_false, on_true, exits)
        if isinstance(cond, ast.BinaryOp) and cond.op in ("&&", "||"):
            right = Fragment(self._condition_graph(cond.right, scope, node, on_true, on_false,
                                                   exits))
            if cond.op == "&&":
                return self._condition_graph(cond.left, scope, node, right, on_false, exits)
            return self._condition_graph(cond.left, scope, node, on_true, right, exits)
        hit = _hit_test(cond)
        if hit is not None:
            table, on_hit = hit
            hit_branch, miss_branch = (on_true, on_false) if on_hit else (on_false, on_true)
            setup = self._key_setup(table, scope, node)
            entry, table_json = self.tables.apply_for_hit_miss(table, scope, node)
            exits += self._branch_target(hit_branch, _dict_setter(table_json["next_tables"],
                                                                  "__HIT__"))
            exits += self._branch_target(miss_branch, _dict_setter(table_json["next_tables"],
                                                                    "__MISS__"))
            applied = setup.then(Fragment(entry))
            assert applied.entry is not None
            return applied.entry
        if _contains_table_apply(cond):
            raise LoweringError(cond, "table application in this condition is not supported "
                                      "on this target")
        conditional = self._conditional(cond, scope, node)
        exits += self._branch_target(on_true, _dict_setter(conditional, "true_next"))
        exits += self._branch_target(on_false, _dict_setter(conditional, "false_next"))
        return str(conditional["name"])

    def statement_or_block(self, s: ast.Statement, scope: Scope) -> Fragment:
        if isinstance(s, ast.BlockStatement):
            return self.sequence(list(s.statements), scope.child())
        return self.sequence([s], scope.child())

    def _switch(self, s: ast.SwitchStatement, scope: Scope) -> Fragment:
        if not (isinstance(s.expr, ast.Member) and s.expr.member == "action_run"):
            return self._value_switch(s, scope)
        table = _table_apply(s.expr.expr)
        if table is None:
            raise LoweringError(s, "switch expression must be a table application")
        setup = self._key_setup(table, scope, s)
        entry, table_json = self.tables.apply_for_switch(table, scope, s)
        next_tables: dict[str, Any] = table_json["next_tables"]
        exits: list[Setter] = []
        pending: list[str] = []
        default_fragment: Fragment | None = None
        covered: set[str] = set()
        for case in s.cases:
            labels: list[str] = []
            if isinstance(case.label, ast.DefaultExpression):
                labels = []
            else:
                labels = [self.tables.action_json_name(case.label, scope)]
            pending.extend(labels)
            if case.body is None:
                continue
            fragment = self.sequence(list(case.body.statements), scope.child())
            if isinstance(case.label, ast.DefaultExpression):
                default_fragment = fragment
            for label in pending:
                covered.add(label)
                exits += self._branch_target(fragment, _dict_setter(next_tables, label))
            pending = []
        for action in list(next_tables):
            if action in covered:
                continue
            if default_fragment is not None:
                exits += self._branch_target(default_fragment, _dict_setter(next_tables,
                                                                            action))
            else:
                exits.append(_dict_setter(next_tables, action))
        exits.append(_dict_setter(table_json, "base_default_next"))
        return setup.then(Fragment(entry, exits))

    def _value_switch(self, s: ast.SwitchStatement, scope: Scope) -> Fragment:
        """``switch (e) { v1: ... }`` on a value: a chain of ``e == v`` conditionals
        (the switch expression is evaluated once, into a temporary)."""
        if _contains_table_apply(s.expr) or s.expr.type is None:
            raise LoweringError(s.expr, "unsupported switch expression on this target")
        temp = self.ctx.storage.scalar("switch", s.expr.type)
        selector = ast.PathExpression(pos=s.expr.pos, name=temp.field, type=s.expr.type)
        setup = self._synthesize([ast.AssignStatement(pos=s.pos, lhs=selector, rhs=s.expr)],
                                 _bound(scope, selector, temp))
        inner = _bound(scope, selector, temp)
        groups: list[tuple[list[ast.Expression], ast.BlockStatement | None]] = []
        labels: list[ast.Expression] = []
        for case in s.cases:
            labels.append(case.label)
            if case.body is not None:
                groups.append((labels, case.body))
                labels = []
        chain = Fragment()
        pending: list[Setter] = []  # false edges waiting for the next test
        exits: list[Setter] = []
        for group_labels, body in reversed(groups):
            body_fragment = self.sequence(list(body.statements) if body else [], scope.child())
            if any(isinstance(label, ast.DefaultExpression) for label in group_labels):
                chain, pending = body_fragment, []
                continue
            condition: ast.Expression = _equals(selector, group_labels[0])
            for label in group_labels[1:]:
                condition = ast.BinaryOp(pos=label.pos, op="||", left=condition,
                                         right=_equals(selector, label), type=t.BOOL)
            conditional = self._conditional(condition, inner, s)
            exits += self._branch_target(body_fragment, _dict_setter(conditional, "true_next"))
            if chain.entry is not None:
                _dict_setter(conditional, "false_next")(chain.entry)
                exits += chain.exits
            else:
                pending.append(_dict_setter(conditional, "false_next"))
            chain = Fragment(conditional["name"], [])
        if chain.entry is None:
            return setup
        return setup.then(Fragment(chain.entry, exits + pending))

    def _key_setup(self, table: ast.TableDecl, scope: Scope, node: ast.Node) -> Fragment:
        """The synthesized table computing ``table``'s non-field keys (or nothing)."""
        setup = self.tables.key_setup(table, scope, node)
        if setup is None:
            return Fragment()
        name, exits = setup
        return Fragment(name, exits)

    # ------------------------------------------------------------ sub-controls

    def _apply_control(self, call: ast.MethodCall, scope: Scope) -> Fragment:
        assert isinstance(call.method, ast.Member)
        target = call.method.expr
        direct = target.decl if isinstance(target, ast.PathExpression) else None
        if isinstance(target, ast.TypeNameExpression) and isinstance(call.callee,
                                                                     ast.ControlDecl):
            direct = call.callee
        if isinstance(direct, ast.ControlDecl):
            # ``Ctrl.apply(...)``: p4c (DirectCalls) instantiates the type in place as
            # ``@name("Ctrl") Ctrl() Ctrl_inst``, so control-plane names use ``Ctrl``
            instance = ControlInstance(ast.InstantiationDecl(
                pos=call.pos, name=self.ctx.sections.fresh_name(f"{direct.name}_inst"),
                annotations=[ast.Annotation(pos=call.pos, name="name", args=[
                    ast.StringLiteral(pos=call.pos, value=direct.name)])],
                type_ref=ast.NamedTypeRef(pos=call.pos, name=direct.name)), direct)
        else:
            instance_loc = self.ctx.expr.location(target, scope)
            if not (isinstance(instance_loc, ValueLoc) and
                    isinstance(instance_loc.json_value, ControlInstance)):
                raise LoweringError(call, "only locally instantiated controls can be applied")
            instance = instance_loc.json_value
        inner = Scope(instance_name(instance, scope), scope)
        bind_constructor_arguments(self.ctx, instance.control.constructor_params,
                                   constructor_values(instance.decl), inner,
                                   instance.scope or scope, call)
        args = call.ordered_args if call.ordered_args is not None else \
            [a.value for a in call.args]
        copy_in: list[ast.Node] = []
        # headers of out arguments are invalidated after the in-arguments are read: an
        # in-argument naming the same storage is copied in first (p4c: a temporary)
        resets = out_header_resets(instance.control.params, call)
        copy_out: list[ast.Node] = []
        aliased = arguments_alias(self.ctx, instance.control.params, args, scope)
        for param, arg in zip(instance.control.params, args, strict=False):
            if arg is None:
                continue
            constant = self.ctx.expr.constant(arg) if param.direction in ("", "in") else None
            by_reference = isinstance(repr_type(param.type_ref.type), t.ExternType) or \
                not aliased and not isinstance(arg, ast.Slice) and (
                    param.direction in ("out", "inout") or not resets and isinstance(
                        arg, ast.PathExpression | ast.Member | ast.ArrayIndex))
            if constant is not None:
                inner.bind(param, ValueLoc(constant, param.type_ref.type or t.INT_LITERAL))
            elif by_reference:
                inner.bind(param, self.ctx.expr.location(arg, scope))
            else:
                # an in-argument computed by an expression, a slice, or (when out/inout
                # arguments share storage with other arguments) any argument: a copy
                assert param.type_ref.type is not None
                temp = self.ctx.storage.variable(f"{param.name}", param.type_ref.type)
                holder = ast.PathExpression(pos=arg.pos, name=param.name,
                                            type=param.type_ref.type)
                holder.decl = holder
                inner.bind(holder, temp)
                inner.bind(param, temp)
                if param.direction != "out":
                    copy_in.append(ast.AssignStatement(pos=arg.pos, lhs=holder, rhs=arg))
                if param.direction in ("out", "inout"):
                    copy_out.append(ast.AssignStatement(pos=arg.pos, lhs=arg, rhs=holder))
        copy_in.extend(resets)
        if copy_out:
            self.ctx.exit_copy_outs.append((copy_out, inner))
        try:
            body = self.instantiate(instance.control, inner)
        finally:
            if copy_out:
                self.ctx.exit_copy_outs.pop()
        # the copies read and write the caller's scope; the holders are bound in ``inner``
        if copy_in:
            body = self._synthesize(copy_in, inner).then(body)
        if copy_out:
            body = body.then(self._synthesize(copy_out, inner))
        return body


def _bound(scope: Scope, name: ast.PathExpression, location: FieldLoc) -> Scope:
    inner = scope.child()
    name.decl = name
    inner.bind(name, location)
    return inner


def _equals(selector: ast.PathExpression, label: ast.Expression) -> ast.Expression:
    return ast.BinaryOp(pos=label.pos, op="==", left=selector, right=label, type=t.BOOL)


def _dict_setter(target: dict[str, Any], key: str) -> Setter:
    def set_value(value: str | None) -> None:
        target[key] = value
    return set_value


def _cond_text(cond: ast.Expression) -> str:
    from p4sim.compiler.source_text import expression_text
    return expression_text(cond)

