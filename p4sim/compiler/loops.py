"""Unrolling of ``for`` loops (P4_16 1.2.5) in the checked AST, as p4c's ``UnrollLoops``.

BMv2 has no loops, so p4c unrolls every loop whose iterations are known at compile time
and refuses the others.  Here too: a three-clause loop is unrolled when its condition
can be evaluated from the variables its initialisers set to constants, the updates
compute them from constants and the body does not write them; ``for (T x in lo .. hi)``
when ``lo`` and ``hi`` are constants.  ``for (T x in {a, b})`` and ``for (H h in stack)``
(one iteration per element, ``x`` a copy of it) are unrolled too.

Each iteration is a copy of the body in which reads of the loop variables are their
constant values (a stack index ``s[i]`` becomes constant, as after p4c's unrolling); the
initialisers and updates stay as statements, so the variables end with their final
values.  ``break``/``continue`` become boolean flags that guard the statements after
them (p4c's ``RemoveBreakContinue``).  The result is ordinary checked AST: the midend
never sees a loop.
"""

from __future__ import annotations

import copy
from dataclasses import fields
from typing import Any, TypeVar

from p4sim.compiler import ast
from p4sim.compiler import types as t
from p4sim.compiler.diagnostics import Diagnostic
from p4sim.compiler.folding import fold, wrap
from p4sim.compiler.source_text import expression_text

# p4c gives up on loops with more iterations than this (UnrollLoops::findLoopBounds)
MAX_ITERATIONS = 1000

_Env = dict[int, Any]  # id(VariableDecl) -> constant value
_N = TypeVar("_N", bound=ast.Node)


class _CannotUnroll(Exception):
    def __init__(self, node: ast.Node, message: str) -> None:
        super().__init__(message)
        self.node = node


def unroll_loops(program: ast.Program) -> list[Diagnostic]:
    """Replace every loop in ``program`` by its unrolled statements; return the errors."""
    diagnostics: list[Diagnostic] = []
    for node in list(ast.walk(program)):
        if isinstance(node, ast.ActionDecl | ast.FunctionDecl | ast.ControlDecl) and \
                any(isinstance(n, ast.ForStatement | ast.ForInStatement)
                    for n in ast.walk(node.body)):
            try:
                node.body = _statement(  # type: ignore[assignment]
                    node.body, in_apply=isinstance(node, ast.ControlDecl))
            except _CannotUnroll as e:
                pos = e.node.pos
                diagnostics.append(Diagnostic(pos.file, pos.line, pos.col,
                                              f"cannot unroll this loop: {e}"))
    return diagnostics


# ------------------------------------------------------------------ traversal

def _statement(s: ast.Node, in_apply: bool) -> ast.Node:
    """``s`` with the loops inside it unrolled, outermost first (as p4c's transform), so
    that an inner loop may start from the outer loop's variable.

    A three-clause loop that cannot be unrolled stays a loop, which the midend lowers to
    jumps inside an action (p4c's BMv2 backend does the same), unless it is in a
    control's apply block and applies a table or returns: the flow graph of a pipeline
    has no loops."""
    if isinstance(s, ast.BlockStatement):
        s.statements = [_statement(x, in_apply) for x in s.statements]
    elif isinstance(s, ast.IfStatement):
        s.then = _statement(s.then, in_apply)  # type: ignore[assignment]
        if s.otherwise is not None:
            s.otherwise = _statement(s.otherwise, in_apply)  # type: ignore[assignment]
    elif isinstance(s, ast.SwitchStatement):
        for case in s.cases:
            if case.body is not None:
                case.body = _statement(case.body, in_apply)  # type: ignore[assignment]
    elif isinstance(s, ast.ForStatement):
        try:
            unrolled = _unroll_for(s)
        except _CannotUnroll as e:
            if in_apply and _needs_pipeline(s):
                raise _CannotUnroll(e.node, f"{e}; a loop that applies a table or returns "
                                            "must be unrolled on this target") from None
            s.body = _statement(s.body, in_apply)  # type: ignore[assignment]
            return s
        return _statement(unrolled, in_apply)
    elif isinstance(s, ast.ForInStatement):
        return _statement(_unroll_for_in(s), in_apply)
    return s


def _needs_pipeline(loop: ast.Node) -> bool:
    return any(isinstance(n, ast.ReturnStatement) or (isinstance(n, ast.MethodCall) and
               n.call_kind in (ast.CallKind.TABLE_APPLY, ast.CallKind.CONTROL_APPLY))
               for n in ast.walk(loop))


# ------------------------------------------------------------------ cloning

def _clone(node: _N, env: _Env) -> _N:
    """A copy of the statement (or expression) ``node`` in which reads of the variables
    in ``env`` are constants; declarations inside it are new, and references follow."""
    new = _clone_any(node, env)
    assert isinstance(new, type(node))
    return new


def clone_statement(node: _N) -> _N:
    """A copy of ``node`` whose declarations are new (references inside follow them)."""
    return _clone(node, {})


def _clone_any(node: ast.Node, env: _Env) -> ast.Node:
    """:func:`_clone`; a reference to a variable of ``env`` becomes a literal."""
    memo: dict[int, ast.Node] = {}
    new = _copy(node, env, memo)
    for n in ast.walk(new):
        for f in fields(n):
            if not f.metadata.get("semantic"):
                continue
            value = getattr(n, f.name)
            if isinstance(value, ast.Node) and id(value) in memo:
                object.__setattr__(n, f.name, memo[id(value)])
            elif isinstance(value, list):
                object.__setattr__(n, f.name, [memo.get(id(v), v) for v in value])
    return new


def _copy(node: ast.Node, env: _Env, memo: dict[int, ast.Node],
          lvalue: bool = False) -> ast.Node:
    """``lvalue``: ``node`` is (part of) an assignment target, whose root stays a
    reference (its indexes are read)."""
    if isinstance(node, ast.PathExpression) and id(node.decl) in env and not lvalue:
        new: ast.Node = _literal(env[id(node.decl)], node.type, node)
        memo[id(node)] = new
        return new
    new = copy.copy(node)
    memo[id(node)] = new
    for f in fields(node):
        if f.metadata.get("semantic"):
            continue
        value = getattr(node, f.name)
        if isinstance(value, ast.Node):
            target = (isinstance(node, ast.AssignStatement) and f.name == "lhs") or (
                lvalue and f.name == "expr")
            object.__setattr__(new, f.name, _copy(value, env, memo, target))
        elif isinstance(value, list):
            object.__setattr__(new, f.name, [_copy(v, env, memo) if isinstance(v, ast.Node)
                                             else v for v in value])
    if isinstance(new, ast.Expression) and env and not lvalue:
        fold(new)  # operands may have become constants
    return new


def _literal(value: Any, typ: t.P4Type | None, where: ast.Node) -> ast.Expression:
    if isinstance(value, bool):
        return ast.BoolLiteral(pos=where.pos, value=value, type=typ, const_value=value)
    width = typ.width if isinstance(typ, t.BitsType) else None
    signed = typ.signed if isinstance(typ, t.BitsType) else False
    return ast.IntLiteral(pos=where.pos, value=value, width=width, signed=signed,
                          text=str(value), type=typ, const_value=value)


def _substitutable(decl: ast.VariableDecl) -> bool:
    return isinstance(decl.type_ref.type, t.BitsType | t.BoolType)


# ------------------------------------------------------------------ analysis

def _evaluate(e: ast.Expression, env: _Env) -> Any:
    """The value of ``e`` when the variables in ``env`` have their values, or None."""
    if any(isinstance(n, ast.MethodCall) for n in ast.walk(e)):
        return None
    value = _clone_any(e, env)
    assert isinstance(value, ast.Expression)
    return fold(value)


def _root(e: ast.Expression) -> ast.Node | None:
    while isinstance(e, ast.Member | ast.ArrayIndex | ast.Slice):
        e = e.expr
    return e.decl if isinstance(e, ast.PathExpression) else None


def _params(call: ast.MethodCall) -> list[ast.Param] | None:
    callee = call.callee
    if isinstance(callee, ast.InstantiationDecl):
        callee = callee.callee or getattr(callee.type_ref, "decl", None)
    params = getattr(callee, "params", None)
    return params if isinstance(params, list) else None


def _writes(node: ast.Node) -> list[tuple[ast.Node, ast.Node]]:
    """(written declaration, where) for every write below ``node``."""
    found: list[tuple[ast.Node, ast.Node]] = []
    for n in ast.walk(node):
        if isinstance(n, ast.AssignStatement):
            decl = _root(n.lhs)
            if decl is not None:
                found.append((decl, n))
        elif isinstance(n, ast.MethodCall):
            params = _params(n)
            args = n.ordered_args or []
            if params is None:
                # builtins write their receiver (setValid, push_front, ...)
                if isinstance(n.method, ast.Member) and n.builtin is not None:
                    decl = _root(n.method.expr)
                    if decl is not None:
                        found.append((decl, n))
                continue
            for param, arg in zip(params, args, strict=False):
                if arg is not None and param.direction in ("out", "inout"):
                    decl = _root(arg)
                    if decl is not None:
                        found.append((decl, arg))
    return found


def _check_not_written(body: ast.Node, loop_vars: dict[int, ast.VariableDecl]) -> None:
    for decl, where in _writes(body):
        if id(decl) in loop_vars:
            raise _CannotUnroll(where, f"loop variable {loop_vars[id(decl)].name} is "
                                       "modified in the loop body")


# ------------------------------------------------------------------ break / continue

class _Flags:
    """The flags replacing ``break``/``continue`` in one loop body (created on use)."""

    def __init__(self, where: ast.Node) -> None:
        self.where = where
        self.break_flag: ast.VariableDecl | None = None
        self.continue_flag: ast.VariableDecl | None = None

    def flag(self, kind: str) -> ast.VariableDecl:
        current = self.break_flag if kind == "break" else self.continue_flag
        if current is None:
            current = ast.VariableDecl(pos=self.where.pos, name=f"{kind}Flag",
                                       type_ref=ast.BaseTypeRef(pos=self.where.pos, kind="bool",
                                                                type=t.BOOL))
            if kind == "break":
                self.break_flag = current
            else:
                self.continue_flag = current
        return current

    def guard(self) -> ast.Expression:
        """``!breakFlag && !continueFlag`` (the flags created so far)."""
        terms = [_not(_ref(f)) for f in (self.break_flag, self.continue_flag) if f is not None]
        cond = terms[0]
        for term in terms[1:]:
            cond = ast.BinaryOp(pos=cond.pos, op="&&", left=cond, right=term, type=t.BOOL)
        return cond


def _ref(decl: ast.VariableDecl) -> ast.PathExpression:
    return ast.PathExpression(pos=decl.pos, name=decl.name, decl=decl, type=t.BOOL)


def _not(e: ast.Expression) -> ast.Expression:
    return ast.UnaryOp(pos=e.pos, op="!", operand=e, type=t.BOOL)


def _set(decl: ast.VariableDecl, value: bool, where: ast.Node) -> ast.AssignStatement:
    return ast.AssignStatement(pos=where.pos, lhs=_ref(decl),
                               rhs=ast.BoolLiteral(pos=where.pos, value=value, type=t.BOOL,
                                                   const_value=value))


def _jumps(node: ast.Node) -> bool:
    """Whether ``node`` has a break/continue of the loop being unrolled (not of a nested
    loop)."""
    if isinstance(node, ast.BreakStatement | ast.ContinueStatement):
        return True
    if isinstance(node, ast.ForStatement | ast.ForInStatement | ast.Expression):
        return False
    return any(_jumps(child) for child in node.children())


def _remove_jumps(s: ast.Node, flags: _Flags) -> ast.Node:
    """``s`` with break/continue replaced by flag assignments; a statement that follows
    one (in its sequence or an enclosing one) runs only while no flag is set."""
    if isinstance(s, ast.BreakStatement | ast.ContinueStatement):
        kind = "break" if isinstance(s, ast.BreakStatement) else "continue"
        return _set(flags.flag(kind), True, s)
    if not _jumps(s):  # also: nested loops keep their own jumps
        return s
    if isinstance(s, ast.BlockStatement):
        out: list[ast.Node] = []
        guarded = False
        for item in s.statements:
            if guarded and isinstance(item, ast.VariableDecl) and item.init is not None:
                # the declaration stays in scope; its initialiser runs under the guard
                init = item.init
                item.init = None
                out.append(item)
                item = ast.AssignStatement(pos=item.pos, lhs=ast.PathExpression(
                    pos=item.pos, name=item.name, decl=item, type=item.type_ref.type), rhs=init)
            if guarded and not isinstance(item, ast.VariableDecl | ast.ConstDecl):
                then = _remove_jumps(item, flags)
                assert isinstance(then, ast.Statement)
                item = ast.IfStatement(pos=item.pos, cond=flags.guard(), then=then)
            else:
                guarded |= _jumps(item)
                item = _remove_jumps(item, flags)
            out.append(item)
        s.statements = out
    elif isinstance(s, ast.IfStatement):
        s.then = _remove_jumps(s.then, flags)  # type: ignore[assignment]
        if s.otherwise is not None:
            s.otherwise = _remove_jumps(s.otherwise, flags)  # type: ignore[assignment]
    elif isinstance(s, ast.SwitchStatement):
        for case in s.cases:
            if case.body is not None:
                case.body = _remove_jumps(case.body, flags)  # type: ignore[assignment]
    return s


# ------------------------------------------------------------------ unrolling

def _iterations(envs: list[_Env], body: ast.Node, updates: list[ast.Node],
                prefix: list[ast.Node], assigns: list[ast.Node | None],
                where: ast.Node) -> ast.BlockStatement:
    """The unrolled block: ``prefix``, then per iteration its ``assigns`` entry, the body
    and the updates, each with that iteration's constants."""
    flags = _Flags(where)
    body = _remove_jumps(body, flags)
    result = ast.BlockStatement(pos=where.pos, statements=list(prefix))
    for flag in (flags.break_flag, flags.continue_flag):
        if flag is not None:
            result.statements.append(flag)
    if flags.break_flag is not None:
        result.statements.append(_set(flags.break_flag, False, where))
    block = result
    for env, assign in zip(envs, assigns, strict=True):
        if flags.continue_flag is not None:
            block.statements.append(_set(flags.continue_flag, False, where))
        if assign is not None:
            block.statements.append(assign)
        block.statements.append(_clone(body, env))
        if flags.break_flag is not None:
            inner = ast.BlockStatement(pos=where.pos)
            block.statements.append(ast.IfStatement(pos=where.pos,
                                                    cond=_not(_ref(flags.break_flag)),
                                                    then=inner))
            block = inner
        block.statements.extend(_clone(u, env) for u in updates)
    return result


def _unroll_for(loop: ast.ForStatement) -> ast.Node:
    env: _Env = {}
    loop_vars: dict[int, ast.VariableDecl] = {}
    for item in loop.init:
        target: ast.Node | None = None
        value: Any = None
        if isinstance(item, ast.VariableDecl):
            target = item
            value = _evaluate(item.init, env) if item.init is not None else None
        elif isinstance(item, ast.AssignStatement):
            target = _root(item.lhs) if isinstance(item.lhs, ast.PathExpression) else None
            value = _evaluate(item.rhs, env)
        if isinstance(target, ast.VariableDecl) and _substitutable(target):
            if value is None:
                env.pop(id(target), None)
                loop_vars.pop(id(target), None)
            else:
                env[id(target)] = value
                loop_vars[id(target)] = target
    for n in ast.walk(loop.cond):
        if isinstance(n, ast.PathExpression) and isinstance(n.decl, ast.VariableDecl | ast.Param) \
                and id(n.decl) not in env:
            raise _CannotUnroll(n, f"{expression_text(loop.cond)}: {n.name} is not a "
                                   "compile-time constant (loop variables must be set to "
                                   "constants in the loop's initialiser)")
    _check_not_written(loop.body, loop_vars)
    envs: list[_Env] = []
    while True:
        cond = _evaluate(loop.cond, env)
        if cond is None:
            raise _CannotUnroll(loop.cond, f"{expression_text(loop.cond)} cannot be evaluated "
                                           "at compile time")
        if not cond:
            break
        if len(envs) >= MAX_ITERATIONS:
            raise _CannotUnroll(loop, f"more than {MAX_ITERATIONS} iterations")
        envs.append(dict(env))
        for update in loop.updates:
            _update(update, env, loop_vars)
    return _iterations(envs, loop.body, list(loop.updates), list(loop.init),
                       [None] * len(envs), loop)


def _update(update: ast.Node, env: _Env, loop_vars: dict[int, ast.VariableDecl]) -> None:
    """Advance ``env`` by one update statement."""
    if isinstance(update, ast.AssignStatement) and isinstance(update.lhs, ast.PathExpression) \
            and id(update.lhs.decl) in loop_vars:
        value = _evaluate(update.rhs, env)
        if value is None:
            raise _CannotUnroll(update, f"{expression_text(update.rhs)} cannot be evaluated at "
                                        "compile time")
        env[id(update.lhs.decl)] = value
        return
    _check_not_written(update, loop_vars)


def _unroll_for_in(loop: ast.ForInStatement) -> ast.Node:
    var, collection = loop.var, loop.collection
    vtype = var.type_ref.type
    items: list[ast.Expression]
    if isinstance(collection, ast.RangeExpression):
        low, high = collection.low.const_value, collection.high.const_value
        for end, value in ((collection.low, low), (collection.high, high)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise _CannotUnroll(end, f"{expression_text(end)}: the bounds of a range must "
                                         "be compile-time constants")
        if high - low >= MAX_ITERATIONS:
            raise _CannotUnroll(loop, f"more than {MAX_ITERATIONS} iterations")
        items = [_literal(wrap(k, vtype) if vtype else k, vtype, collection)
                 for k in range(low, high + 1)]
    elif isinstance(collection, ast.ListExpression):
        items = list(collection.elements)
    else:
        stack = collection.type
        assert isinstance(stack, t.StackType)
        items = []
        for k in range(stack.size):
            index = ast.IntLiteral(pos=collection.pos, value=k, text=str(k),
                                   type=t.INT_LITERAL, const_value=k)
            element = ast.ArrayIndex(pos=collection.pos, expr=_clone(collection, {}),
                                     index=index, type=stack.element)
            items.append(element)
    written = any(decl is var for decl, _ in _writes(loop.body))
    envs: list[_Env] = []
    assigns: list[ast.Node | None] = []
    for item in items:
        constant = item.const_value
        if constant is not None and not written and _substitutable(var):
            envs.append({id(var): constant})
            assigns.append(None)
        else:
            envs.append({})
            assigns.append(ast.AssignStatement(
                pos=item.pos, lhs=ast.PathExpression(pos=var.pos, name=var.name, decl=var,
                                                     type=vtype),
                rhs=_clone(item, {})))
    return _iterations(envs, loop.body, [], [var], assigns, loop)
