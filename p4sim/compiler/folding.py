"""Constant folding with the P4_16 specification's semantics.

Values are Python ints (already reduced to the width and signedness of the
expression's type: wrap-around for ``+ - * << ~``, clamping for ``|+| |-|``),
bools, strings, ``ast.EnumValue`` and tuples for lists and structures.
"""

from __future__ import annotations

from typing import Any

from p4sim.compiler import ast
from p4sim.compiler import types as t


def wrap(value: int, typ: t.P4Type) -> int:
    """``value`` reduced to the range of ``typ`` (two's complement for int<W>)."""
    if isinstance(typ, t.SerEnumType):
        typ = typ.underlying
    if not isinstance(typ, t.BitsType):
        return value
    value &= (1 << typ.width) - 1 if typ.width > 0 else 0
    if typ.signed and typ.width > 0 and value >> (typ.width - 1):
        value -= 1 << typ.width
    return value


def _saturate(value: int, typ: t.BitsType) -> int:
    if typ.signed:
        low, high = -(1 << (typ.width - 1)), (1 << (typ.width - 1)) - 1
    else:
        low, high = 0, (1 << typ.width) - 1
    return max(low, min(high, value))


def fold(expr: ast.Expression) -> Any:
    """Recompute and return ``expr.const_value`` from its (checked) operands."""
    value = _fold(expr)
    expr.const_value = value
    return value


def _fold(e: ast.Expression) -> Any:  # noqa: C901 - one case per operator
    typ = e.type
    if isinstance(e, ast.IntLiteral):
        return wrap(e.value, typ) if isinstance(typ, t.BitsType) else e.value
    if isinstance(e, ast.BoolLiteral | ast.StringLiteral):
        return e.value
    if isinstance(e, ast.PathExpression | ast.Member):
        return e.const_value
    if isinstance(e, ast.UnaryOp):
        v = e.operand.const_value
        if v is None:
            return None
        if e.op == "!":
            return not v
        if e.op == "-":
            return wrap(-v, typ) if isinstance(typ, t.BitsType) else -v
        if e.op == "+":
            return v
        if e.op == "~" and isinstance(typ, t.BitsType):
            return wrap(~v, typ)
        return None
    if isinstance(e, ast.BinaryOp):
        return _fold_binary(e)
    if isinstance(e, ast.Ternary):
        c = e.cond.const_value
        if c is None:
            return None
        return e.then.const_value if c else e.otherwise.const_value
    if isinstance(e, ast.Slice):
        v, hi, lo = e.expr.const_value, e.hi.const_value, e.lo.const_value
        if isinstance(v, int) and not isinstance(v, bool) and isinstance(hi, int) and \
                isinstance(lo, int):
            return (v >> lo) & ((1 << (hi - lo + 1)) - 1)
        return None
    if isinstance(e, ast.Cast):
        if isinstance(e.expr.const_value, tuple) and typ is not None and isinstance(
                t.strip_newtype(typ), t.StructLikeType | t.TupleType):
            return e.expr.const_value  # (S){...}: the initializer, typed by the cast
        return _fold_cast(e.expr.const_value, e.expr.type, typ)
    if isinstance(e, ast.ListExpression):
        values = [x.const_value for x in e.elements]
        return tuple(values) if all(v is not None for v in values) else None
    if isinstance(e, ast.StructExpression):
        values = [f.value.const_value for f in e.fields]
        if all(v is not None for v in values):
            return tuple((f.name, f.value.const_value) for f in e.fields)
        return None
    return e.const_value


def _fold_cast(v: Any, src: t.P4Type | None, dst: t.P4Type | None) -> Any:
    if v is None or dst is None:
        return None
    dst = t.strip_newtype(dst)
    if isinstance(v, ast.EnumValue):
        if isinstance(dst, t.BitsType) and v.int_value is not None:
            return wrap(v.int_value, dst)
        return v if isinstance(dst, t.EnumType) else None
    if isinstance(dst, t.BoolType):
        return bool(v)
    if isinstance(dst, t.BitsType):
        return wrap(int(v), dst)
    if isinstance(dst, t.SerEnumType) and isinstance(v, int):
        value = wrap(v, dst.underlying)
        for name, member_value in dst.values:
            if member_value == value:
                return ast.EnumValue(dst.name, name, value)
        return None
    if isinstance(dst, t.IntLiteralType):
        return int(v)
    return None


# Shifts of untyped integers beyond this are refused (they would build huge numbers).
_MAX_LITERAL_SHIFT = 2048


def _fold_binary(e: ast.BinaryOp) -> Any:  # noqa: C901
    a, b = e.left.const_value, e.right.const_value
    if e.op == "&&":
        if a is False:
            return False
        return None if a is None or b is None else bool(a and b)
    if e.op == "||":
        if a is True:
            return True
        return None if a is None or b is None else bool(a or b)
    if a is None or b is None:
        return None
    typ = e.type
    op = e.op
    if op in ("==", "!="):
        return (a == b) == (op == "==")
    if isinstance(a, ast.EnumValue) or isinstance(b, ast.EnumValue):
        return None
    if op in ("<", ">", "<=", ">="):
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
    result: int
    if op == "+":
        result = a + b
    elif op == "-":
        result = a - b
    elif op == "*":
        result = a * b
    elif op in ("/", "%"):
        if b == 0:
            return None
        result = a // b if op == "/" else a % b
    elif op == "&":
        result = a & b
    elif op == "|":
        result = a | b
    elif op == "^":
        result = a ^ b
    elif op == "<<":
        if isinstance(typ, t.BitsType) and b >= typ.width:
            result = 0  # every bit shifted out (and no huge intermediate value)
        elif not isinstance(typ, t.BitsType) and b > _MAX_LITERAL_SHIFT:
            return None  # the checker reports it
        else:
            result = a << b
    elif op == ">>":
        result = a >> b
    elif op in ("|+|", "|-|"):
        assert isinstance(typ, t.BitsType)
        return _saturate(a + b if op == "|+|" else a - b, typ)
    elif op == "++":
        right = e.right.type
        if not isinstance(right, t.BitsType):
            return None
        result = (a << right.width) | (b & ((1 << right.width) - 1))
    else:
        return None
    return wrap(result, typ) if isinstance(typ, t.BitsType) else result
