"""Order of evaluation of function calls inside expressions, as p4c's ``SideEffectOrdering``.

The spec evaluates an expression left to right, arguments before the call, and the right
operand of ``&&``/``||`` (a branch of ``?:``) only when it is needed.  The midend expands
function calls into temporaries before the statement that holds them, which is the same
thing unless the order matters.  So a statement is rewritten (on the checked AST, after
loops are unrolled) when a function call in it

* is in the right operand of ``&&``/``||`` or in a branch of ``?:`` (short circuit),
* writes through an ``out``/``inout`` argument while something else in the statement is
  read (order), or
* is in the condition of an ``if``/``switch`` of a control's apply block (the
  condition of a pipeline node cannot call).

The rewrite is p4c's: each call becomes ``T tmp = f(...)`` before the statement, the
operands evaluated before a call are first copied into temporaries, ``a && b`` becomes
``bool tmp = a; if (tmp) { ...; tmp = b; }`` (``!tmp`` for ``||``) and ``c ? x : y``
an ``if`` assigning one temporary.
"""

from __future__ import annotations

from dataclasses import fields

from p4sim.compiler import ast
from p4sim.compiler import types as t
from p4sim.compiler.loops import clone_statement


def order_side_effects(program: ast.Program) -> None:
    """Rewrite, in place, the statements whose calls need an explicit order."""
    for node in list(ast.walk(program)):
        if isinstance(node, ast.ActionDecl | ast.FunctionDecl):
            _block(node.body, in_apply=False)
        elif isinstance(node, ast.ControlDecl):
            _block(node.body, in_apply=True)


# ------------------------------------------------------------------ analysis

def _is_call(e: ast.Node) -> bool:
    return isinstance(e, ast.MethodCall) and e.call_kind in (ast.CallKind.FUNCTION,
                                                             ast.CallKind.TABLE_APPLY)


def _is_table_apply(e: ast.Node) -> bool:
    return isinstance(e, ast.MethodCall) and e.call_kind is ast.CallKind.TABLE_APPLY


def _is_hit_test(e: ast.Node) -> bool:
    """``t.apply().hit``/``.miss``, possibly negated: what a pipeline node can test."""
    while isinstance(e, ast.UnaryOp) and e.op == "!":
        e = e.operand
    return isinstance(e, ast.Member) and e.member in ("hit", "miss") and \
        _is_table_apply(e.expr)


def _is_node_condition(e: ast.Expression) -> bool:
    """A condition the midend turns into pipeline nodes as it is: ``&&``/``||``/``!`` over
    hit tests and call-free expressions."""
    if _is_hit_test(e) or not _has_call(e):
        return True
    if isinstance(e, ast.UnaryOp) and e.op == "!":
        return _is_node_condition(e.operand)
    if isinstance(e, ast.BinaryOp) and e.op in ("&&", "||"):
        return _is_node_condition(e.left) and _is_node_condition(e.right)
    return False


def _has_call(e: ast.Node) -> bool:
    return any(_is_call(n) for n in ast.walk(e))


def _writes(call: ast.MethodCall) -> bool:
    if _is_table_apply(call):
        return True  # its actions may write anything
    callee = call.callee
    return isinstance(callee, ast.FunctionDecl) and any(
        p.direction in ("out", "inout") for p in callee.params)


def _short_circuited(e: ast.Node) -> bool:
    """A call that may not be evaluated: right of ``&&``/``||``, branch of ``?:``."""
    for n in ast.walk(e):
        if isinstance(n, ast.BinaryOp) and n.op in ("&&", "||") and _has_call(n.right):
            return True
        if isinstance(n, ast.Ternary) and (_has_call(n.then) or _has_call(n.otherwise)):
            return True
    return False


def _needs_order(e: ast.Expression, whole: ast.Node, in_condition: bool) -> bool:
    if not _has_call(e):
        return False
    if in_condition or _short_circuited(e) or any(_is_table_apply(n) for n in ast.walk(e)):
        return True
    writers = [n for n in ast.walk(e) if _is_call(n) and _writes(n)]  # type: ignore[arg-type]
    if not writers:
        return False
    if len(writers) > 1:
        return True
    inside = {id(n) for n in ast.walk(writers[0])}
    return any(isinstance(n, ast.PathExpression) and id(n) not in inside
               for n in ast.walk(whole))


# ------------------------------------------------------------------ statements

def _block(block: ast.BlockStatement, in_apply: bool) -> None:
    out: list[ast.Node] = []
    for s in block.statements:
        out.extend(_statement(s, in_apply))
    block.statements = out


def _single(statements: list[ast.Node], where: ast.Node) -> ast.Statement:
    if len(statements) == 1 and isinstance(statements[0], ast.Statement):
        return statements[0]
    return ast.BlockStatement(pos=where.pos, statements=statements)


def _statement(s: ast.Node, in_apply: bool) -> list[ast.Node]:  # noqa: C901
    """``s`` preceded by the statements computing its calls in order."""
    pre: list[ast.Node] = []
    if isinstance(s, ast.BlockStatement):
        _block(s, in_apply)
    elif isinstance(s, ast.IfStatement):
        s.then = _single(_statement(s.then, in_apply), s.then)
        if s.otherwise is not None:
            s.otherwise = _single(_statement(s.otherwise, in_apply), s.otherwise)
        if (not _is_node_condition(s.cond)) if in_apply else \
                _needs_order(s.cond, s.cond, False):
            s.cond = _hoist(s.cond, pre)
    elif isinstance(s, ast.SwitchStatement):
        for case in s.cases:
            if case.body is not None:
                _block(case.body, in_apply)
        action_run = isinstance(s.expr, ast.Member) and _is_table_apply(s.expr.expr)
        if not action_run and _needs_order(s.expr, s.expr, in_apply):
            s.expr = _hoist(s.expr, pre)
    elif isinstance(s, ast.ForStatement):  # a run-time loop: its body, in an action
        s.body = _single(_statement(s.body, in_apply), s.body)
    elif isinstance(s, ast.AssignStatement):
        if _has_call(s.lhs):  # an index computed by a call: the left side first
            s.lhs = _hoist(s.lhs, pre)
            if s.compound:  # ``a op= b``: ``a`` read through the same temporaries
                assert isinstance(s.rhs, ast.BinaryOp)
                s.rhs.left = clone_statement(s.lhs)
        if not _is_hit_test(s.rhs) and _needs_order(s.rhs, s, False):
            s.rhs = _hoist(s.rhs, pre)
    elif isinstance(s, ast.VariableDecl):
        if s.init is not None and not _is_hit_test(s.init) and \
                _needs_order(s.init, s.init, False):
            s.init = _hoist(s.init, pre)
    elif isinstance(s, ast.ReturnStatement):
        if s.value is not None and _needs_order(s.value, s.value, False):
            s.value = _hoist(s.value, pre)
    elif isinstance(s, ast.MethodCallStatement):
        call = s.call
        if any(_needs_order(a.value, call, False) for a in call.args) or (
                _is_call(call) and _writes(call) and any(_has_call(a.value) for a in call.args)):
            _hoist_arguments(call, pre)
    return [*pre, s]


# ------------------------------------------------------------------ expressions

def _temp(typ: t.P4Type | None, where: ast.Node, init: ast.Expression | None,
          pre: list[ast.Node]) -> ast.PathExpression:
    decl = ast.VariableDecl(pos=where.pos, name="tmp", type_ref=ast.TypeRef(pos=where.pos,
                                                                            type=typ),
                            init=init)
    pre.append(decl)
    return _ref(decl)


def _ref(decl: ast.VariableDecl) -> ast.PathExpression:
    return ast.PathExpression(pos=decl.pos, name=decl.name, decl=decl, type=decl.type_ref.type)


def _assign(target: ast.PathExpression, value: ast.Expression) -> ast.AssignStatement:
    lhs = ast.PathExpression(pos=target.pos, name=target.name, decl=target.decl,
                             type=target.type)
    return ast.AssignStatement(pos=value.pos, lhs=lhs, rhs=value)


def _materialize(e: ast.Expression, pre: list[ast.Node]) -> ast.Expression:
    """``e`` read now (into a temporary), before a later call may change it."""
    if e.const_value is not None or (isinstance(e, ast.PathExpression) and isinstance(
            e.decl, ast.VariableDecl) and type(e.decl.type_ref) is ast.TypeRef):
        return e  # a constant, or already one of this pass's temporaries
    if isinstance(e.type, t.StackType | t.ExternType) or e.type is None:
        return e
    return _temp(e.type, e, e, pre)


def _hoist(e: ast.Expression, pre: list[ast.Node]) -> ast.Expression:
    """``e`` with its calls computed into temporaries by statements appended to ``pre``."""
    if not _has_call(e):
        return e
    if isinstance(e, ast.Member) and _is_hit_test(e):
        return _temp(t.BOOL, e, e, pre)  # the midend makes it an if on __HIT__/__MISS__
    if isinstance(e, ast.MethodCall) and _is_call(e):
        _hoist_arguments(e, pre)
        return _temp(e.type, e, e, pre)
    if isinstance(e, ast.BinaryOp) and e.op in ("&&", "||") and _has_call(e.right):
        flag = _temp(t.BOOL, e, _hoist(e.left, pre), pre)
        inner: list[ast.Node] = []
        inner.append(_assign(flag, _hoist(e.right, inner)))
        cond: ast.Expression = flag if e.op == "&&" else ast.UnaryOp(
            pos=e.pos, op="!", operand=flag, type=t.BOOL)
        pre.append(ast.IfStatement(pos=e.pos, cond=cond,
                                   then=ast.BlockStatement(pos=e.pos, statements=inner)))
        return _ref(flag.decl)  # type: ignore[arg-type]
    if isinstance(e, ast.Ternary) and (_has_call(e.then) or _has_call(e.otherwise)):
        cond = _hoist(e.cond, pre)
        result = _temp(e.type, e, None, pre)
        branches: list[ast.BlockStatement] = []
        for branch in (e.then, e.otherwise):
            statements: list[ast.Node] = []
            statements.append(_assign(result, _hoist(branch, statements)))
            branches.append(ast.BlockStatement(pos=branch.pos, statements=statements))
        pre.append(ast.IfStatement(pos=e.pos, cond=cond, then=branches[0],
                                   otherwise=branches[1]))
        return _ref(result.decl)  # type: ignore[arg-type]
    operands = isinstance(e, ast.BinaryOp | ast.ListExpression | ast.StructExpression)
    children = [(f.name, getattr(e, f.name)) for f in fields(e)
                if not f.metadata.get("semantic") and isinstance(getattr(e, f.name),
                                                                 ast.Expression)]
    for index, (name, child) in enumerate(children):
        new = _hoist(child, pre)
        if operands and any(_has_call(c) for _, c in children[index + 1:]):
            new = _materialize(new, pre)
        setattr(e, name, new)
    if isinstance(e, ast.ListExpression):
        e.elements = _hoist_sequence(e.elements, pre)
    elif isinstance(e, ast.StructExpression):
        values = _hoist_sequence([f.value for f in e.fields], pre)
        for named, value in zip(e.fields, values, strict=True):
            named.value = value
    elif isinstance(e, ast.MethodCall):
        _hoist_arguments(e, pre)
    return e


def _hoist_sequence(items: list[ast.Expression], pre: list[ast.Node]) -> list[ast.Expression]:
    out: list[ast.Expression] = []
    for index, item in enumerate(items):
        new = _hoist(item, pre)
        if any(_has_call(later) for later in items[index + 1:]):
            new = _materialize(new, pre)
        out.append(new)
    return out


def _hoist_arguments(call: ast.MethodCall, pre: list[ast.Node]) -> None:
    """Arguments left to right as written; an ``in`` argument read before a later call
    is copied first; ``out``/``inout`` arguments stay the caller's storage."""
    directions = _directions(call)
    by_value = {}
    if directions is not None and call.ordered_args is not None:
        by_value = {id(arg): d for d, arg in zip(directions, call.ordered_args, strict=False)
                    if arg is not None}
    replaced: dict[int, ast.Expression] = {}
    new_args: list[ast.Argument] = []
    for index, arg in enumerate(call.args):
        direction = by_value.get(id(arg.value))
        value = arg.value
        if direction is None or direction in ("", "in"):
            value = _hoist(value, pre)
            if any(_has_call(later.value) for later in call.args[index + 1:]):
                value = _materialize(value, pre)
        replaced[id(arg.value)] = value
        new_args.append(ast.Argument(pos=arg.pos, value=value, name=arg.name))
    call.args = new_args
    if call.ordered_args is not None:
        call.ordered_args = [replaced.get(id(a), a) if a is not None else None
                             for a in call.ordered_args]


def _directions(call: ast.MethodCall) -> list[str] | None:
    """The directions of the called thing's parameters, in declaration order."""
    params = getattr(call.callee, "params", None)
    if isinstance(params, list):
        return [p.direction for p in params]
    if isinstance(call.method, ast.Member) and isinstance(
            call.method.expr.type, t.ControlType | t.ParserType):
        return [p.direction for p in call.method.expr.type.params]
    return None
