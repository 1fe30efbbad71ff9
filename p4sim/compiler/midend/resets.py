"""Headers in ``out`` parameters start invalid, as p4c's inliners make them.

p4c initialises an ``out`` parameter as an uninitialised variable (an invalid header):
inlining a control or parser calls ``setInvalid()`` on every header of an ``out``
argument before the body (``DoResetHeaders::generateResets``); an action's or function's
``out`` parameter becomes a local that is never written unless the body writes it, and is
copied out (so a header in it comes out invalid).  p4sim binds ``out`` parameters to the
arguments' storage, so it invalidates the headers there before the body runs.
"""

from __future__ import annotations

from p4sim.compiler import ast
from p4sim.compiler import types as t
from p4sim.compiler.midend.expressions import repr_type


def out_header_resets(params: list[ast.Param], where: ast.Node) -> list[ast.Node]:
    """``p.h.setInvalid()`` for every header in the ``out`` parameters among ``params``,
    in parameter and field order (headers in structs, unions and stacks included)."""
    resets: list[ast.Node] = []
    for param in params:
        if param.direction == "out":
            ref = ast.PathExpression(pos=where.pos, name=param.name, decl=param,
                                     type=param.type_ref.type)
            _resets(ref, repr_type(param.type_ref.type), where, resets)
    return resets


def _resets(e: ast.Expression, ty: t.P4Type, where: ast.Node, out: list[ast.Node]) -> None:
    if isinstance(ty, t.HeaderType):
        method = ast.Member(pos=where.pos, expr=e, member="setInvalid", type=t.VOID)
        call = ast.MethodCall(pos=where.pos, method=method, type=t.VOID)
        call.call_kind = ast.CallKind.BUILTIN
        call.builtin = "setInvalid"
        call.ordered_args = []
        out.append(ast.MethodCallStatement(pos=where.pos, call=call))
    elif isinstance(ty, t.StructType | t.HeaderUnionType):
        for name, field_type in ty.fields:
            member = ast.Member(pos=where.pos, expr=e, member=name, type=field_type)
            _resets(member, repr_type(field_type), where, out)
    elif isinstance(ty, t.StackType):
        for k in range(ty.size):
            index = ast.IntLiteral(pos=where.pos, value=k, text=str(k), type=t.INT_LITERAL,
                                   const_value=k)
            element = ast.ArrayIndex(pos=where.pos, expr=e, index=index, type=ty.element)
            _resets(element, repr_type(ty.element), where, out)
