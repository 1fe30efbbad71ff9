"""Run-time header-stack indexes, as p4c's ``HSIndexContretizer`` (``HSIndexSimplifier``).

p4c's BMv2 mid end rewrites every statement of an apply block or action that uses a stack
element at a non-constant index ``s[i]`` into a chain over the constant indexes::

    hsiVar = i; if (hsiVar == 0) { <statement with s[0]> } else if (hsiVar == 1) ...

(for an ``if``, ``(hsiVar == k) && cond`` with the original ``else`` at the end).  An
element written out of range is not written; an assignment that reads one out of range
assigns an undefined value (``hsVar``, never written: zero or invalid on BMv2) to its
target; an ``if`` whose condition reads one runs its ``else``.  BMv2 itself would fail on
``dereference_header_stack``.  Parser states keep their run-time indexes, as in p4c.  p4c
inlines functions before this pass and p4sim only in its midend, so a function gets a
rewritten copy of its body for calls from controls (a ``return`` reading out of range
returns the undefined value); the midend also rewrites the computation of a table key
indexing a stack at run time (p4c's ``SimplifyKey`` moves such a key into a temporary
first).  Runs after ``sideeffects.py`` (calls in indexes are already temporaries).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields

from p4sim.compiler import ast
from p4sim.compiler import types as t
from p4sim.compiler.loops import clone_statement


def simplify_stack_indexes(program: ast.Program) -> None:
    """Rewrite, in place, the statements of apply blocks and actions that index stacks
    at run time; give each function that does a rewritten copy of its body
    (``control_body``) for calls from controls."""
    for node in list(ast.walk(program)):
        if isinstance(node, ast.ControlDecl | ast.ActionDecl):
            node.body.statements = _statements(node.body.statements)
        elif isinstance(node, ast.FunctionDecl) and any(
                _runtime_index(n) is not None for n in ast.walk(node.body)
                if isinstance(n, ast.Statement)):
            body = clone_statement(node.body)
            body.statements = _statements(body.statements)
            node.control_body = body


def expand_statement(s: ast.Statement) -> list[ast.Node]:
    """``s`` rewritten over the constant values of its run-time stack indexes."""
    return _statement(s)


def has_runtime_index(e: ast.Expression) -> bool:
    return _runtime_index(e) is not None


def _statements(statements: list[ast.Node]) -> list[ast.Node]:
    out: list[ast.Node] = []
    for s in statements:
        out.extend(_statement(s))
    return out


def _single(statements: list[ast.Node], where: ast.Node) -> ast.Statement:
    if len(statements) == 1 and isinstance(statements[0], ast.Statement):
        return statements[0]
    return ast.BlockStatement(pos=where.pos, statements=statements)


def _statement(s: ast.Node) -> list[ast.Node]:
    if isinstance(s, ast.BlockStatement):
        s.statements = _statements(s.statements)
        return [s]
    if isinstance(s, ast.IfStatement):
        s.then = _single(_statement(s.then), s.then)
        if s.otherwise is not None:
            s.otherwise = _single(_statement(s.otherwise), s.otherwise)
        return _expand(s, _runtime_index(s.cond))
    if isinstance(s, ast.SwitchStatement):
        for case in s.cases:
            if case.body is not None:
                case.body.statements = _statements(case.body.statements)
        return _expand(s, _runtime_index(s.expr))
    if isinstance(s, ast.VariableDecl) and s.init is not None and \
            _runtime_index(s.init) is not None:
        init, s.init = s.init, None
        target = ast.PathExpression(pos=s.pos, name=s.name, decl=s, type=s.type_ref.type)
        return [s, *_statement(ast.AssignStatement(pos=s.pos, lhs=target, rhs=init))]
    if isinstance(s, ast.AssignStatement):
        written = _runtime_index(s.lhs)
        if written is not None:
            return _expand(s, written)
        return _expand(s, _runtime_index(s.rhs), out_of_range_target=s.lhs)
    if isinstance(s, ast.MethodCallStatement):
        return _expand(s, _runtime_index(s))
    if isinstance(s, ast.ReturnStatement) and s.value is not None:
        # p4c inlines the function first: ``retval = value``, an assignment reading it
        return _expand(s, _runtime_index(s.value), out_of_range_target=s.value)
    return [s]  # exit, return, a run-time loop (which runs inside an action)


def _expand(s: ast.Statement, found: ast.ArrayIndex | None,
            out_of_range_target: ast.Expression | None = None) -> list[ast.Node]:
    """``s`` as a chain over the constant values of the run-time index ``found``; when
    ``s`` reads the element (``out_of_range_target``), an index out of range assigns an
    undefined value (a variable never written) to the target instead."""
    if found is None:
        return [s]
    stack_type = found.expr.type
    index_type = found.index.type
    assert isinstance(stack_type, t.StackType)
    pre: list[ast.Node] = []
    same = [n for n in _postorder(s) if isinstance(n, ast.ArrayIndex) and _same(n, found)]
    index = found.index
    if not isinstance(index, ast.PathExpression):
        temp = _variable("hsiVar", index_type, index)
        pre = [temp, ast.AssignStatement(pos=index.pos, lhs=_ref(temp), rhs=index)]
        index = _ref(temp)
    width = index_type.width if isinstance(index_type, t.BitsType) else None
    size = stack_type.size if width is None else min(stack_type.size, 1 << width)
    links: list[ast.IfStatement] = []
    for k in range(size):
        originals = [n.index for n in same]
        for n in same:
            n.index = _literal(k, index_type, n.index)
        copied = clone_statement(s)
        for n, original in zip(same, originals, strict=True):
            n.index = original
        test = _compare("==", index, k, index_type)
        if isinstance(copied, ast.IfStatement):
            copied.cond = ast.BinaryOp(pos=s.pos, op="&&", left=test, right=copied.cond,
                                       type=t.BOOL)
            copied.otherwise = None
            links.append(copied)
        else:
            links.append(ast.IfStatement(pos=s.pos, cond=test, then=copied))
    if out_of_range_target is not None and size == stack_type.size:
        undefined = _variable("hsVar", out_of_range_target.type, s)
        pre.insert(0, undefined)
        undefined_use: ast.Statement = ast.ReturnStatement(
            pos=s.pos, value=_ref(undefined)) if isinstance(s, ast.ReturnStatement) else \
            ast.AssignStatement(pos=s.pos, lhs=clone_statement(out_of_range_target),
                                rhs=_ref(undefined))
        links.append(ast.IfStatement(
            pos=s.pos, cond=_compare(">=", index, size - 1, index_type), then=undefined_use))
    for link, following in zip(links, links[1:], strict=False):
        link.otherwise = following
    if isinstance(s, ast.IfStatement):
        links[-1].otherwise = s.otherwise
    return [*pre, *_statement(links[0])]


def _runtime_index(node: ast.Node) -> ast.ArrayIndex | None:
    """The first stack element indexed at run time below ``node`` (p4c's post-order)."""
    for n in _postorder(node):
        if isinstance(n, ast.ArrayIndex) and isinstance(n.expr.type, t.StackType) and \
                n.index.const_value is None:
            return n
    return None


def _postorder(node: ast.Node) -> Iterator[ast.Node]:
    for f in fields(node):
        if f.metadata.get("semantic"):
            continue
        value = getattr(node, f.name)
        children = value if isinstance(value, list) else [value]
        for child in children:
            if isinstance(child, ast.Node) and not isinstance(child, ast.Statement):
                yield from _postorder(child)
    yield node


def _same(a: ast.Node, b: ast.Node) -> bool:
    """``a`` and ``b`` denote the same thing: same structure, names resolving to the same
    declarations (two temporaries may share a name)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, ast.PathExpression):
        assert isinstance(b, ast.PathExpression)
        return a.name == b.name and a.decl is b.decl
    if isinstance(a, ast.Expression) and a.const_value is not None:
        return isinstance(b, ast.Expression) and a.const_value == b.const_value
    for f in fields(a):
        if f.metadata.get("semantic") or f.name == "pos":
            continue
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y) or not all(_same_value(i, j) for i, j in zip(x, y, strict=True)):
                return False
        elif not _same_value(x, y):
            return False
    return True


def _same_value(x: object, y: object) -> bool:
    if isinstance(x, ast.Node) and isinstance(y, ast.Node):
        return _same(x, y)
    return x == y


def _variable(name: str, typ: t.P4Type | None, where: ast.Node) -> ast.VariableDecl:
    return ast.VariableDecl(pos=where.pos, name=name, type_ref=ast.TypeRef(pos=where.pos,
                                                                           type=typ))


def _compare(op: str, index: ast.Expression, k: int, typ: t.P4Type | None) -> ast.BinaryOp:
    return ast.BinaryOp(pos=index.pos, op=op, left=clone_statement(index),
                        right=_literal(k, typ, index), type=t.BOOL)


def _ref(decl: ast.VariableDecl) -> ast.PathExpression:
    return ast.PathExpression(pos=decl.pos, name=decl.name, decl=decl,
                              type=decl.type_ref.type)


def _literal(k: int, typ: t.P4Type | None, where: ast.Node) -> ast.IntLiteral:
    bits = typ if isinstance(typ, t.BitsType) else None
    return ast.IntLiteral(pos=where.pos, value=k, text=str(k),
                          width=bits.width if bits else None,
                          signed=bits.signed if bits else False,
                          type=typ if bits else t.INT_LITERAL, const_value=k)
