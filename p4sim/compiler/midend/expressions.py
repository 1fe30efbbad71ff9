"""Lowering of P4 expressions to BMv2 type-value JSON objects.

BMv2 distinguishes data values from booleans: comparisons, ``and``/``or``/
``not`` and ``d2b`` yield booleans, everything else data; ``b2d``/``d2b``
convert.  Fixed-width arithmetic is made explicit with ``& mask`` (unsigned)
or ``two_comp_mod`` (signed), since BMv2 computes on unbounded integers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from p4sim.compiler import ast
from p4sim.compiler import types as t
from p4sim.compiler.midend.bmv2_sections import hex_json
from p4sim.compiler.midend.errors import LoweringError
from p4sim.compiler.midend.header_flattening import flat_fields
from p4sim.compiler.midend.locations import (
    DynamicHeaderLoc,
    ExternLoc,
    FieldLoc,
    HeaderLoc,
    Location,
    StackLoc,
    StructLoc,
    UnionLoc,
    ValueLoc,
)
from p4sim.compiler.midend.scope import Scope

Json = Any

VALID_FIELD = "$valid$"

_COMPARISONS = {"==": "==", "!=": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">="}
_WRAPPING = {"+", "-", "*", "<<"}


def op(name: str, left: Json, right: Json, **extra: Json) -> Json:
    value: dict[str, Json] = {"op": name, "left": left, "right": right}
    value.update(extra)
    return {"type": "expression", "value": value}


def repr_type(ty: t.P4Type | None) -> t.P4Type:
    """The representation type (``type`` wrappers and serializable enums unwrapped)."""
    if ty is None:
        return t.INT_LITERAL
    ty = t.strip_newtype(ty)
    if isinstance(ty, t.SerEnumType):
        return ty.underlying
    return ty


def bit_width(ty: t.P4Type | None) -> int | None:
    """Width of a scalar value as BMv2 stores it (bool: 1, error/enum: 32)."""
    rt = repr_type(ty)
    if isinstance(rt, t.BitsType):
        return rt.width
    if isinstance(rt, t.BoolType):
        return 1
    if isinstance(rt, t.ErrorType | t.EnumType):
        return 32
    return None


def is_signed(ty: t.P4Type | None) -> bool:
    rt = repr_type(ty)
    return isinstance(rt, t.BitsType) and rt.signed


def mask_to(value: Json, width: int) -> Json:
    return op("&", value, hex_json((1 << width) - 1, width))


def wrap_to(value: Json, ty: t.P4Type | None) -> Json:
    """Reduce an unbounded BMv2 result to the P4 type's range."""
    rt = repr_type(ty)
    if not isinstance(rt, t.BitsType):
        return value
    if rt.signed:
        return op("two_comp_mod", value, hex_json(rt.width, None))
    return mask_to(value, rt.width)


@dataclass
class Codes:
    """Numeric values of ``error`` and (non-serializable) enum members."""

    errors: dict[str, int] = field(default_factory=dict)
    enums: dict[str, dict[str, int]] = field(default_factory=dict)

    def value_of(self, value: ast.EnumValue, node: ast.Node) -> tuple[int, int]:
        """(value, width) of an enum-like constant."""
        if value.int_value is not None:
            enum_width = 32
            return value.int_value, enum_width
        if value.type_name == "error":
            if value.member not in self.errors:
                raise LoweringError(node, f"unknown error constant error.{value.member}")
            return self.errors[value.member], 32
        members = self.enums.get(value.type_name)
        if members is None or value.member not in members:
            raise LoweringError(node, f"{value.type_name}.{value.member}: cannot be used as a "
                                      "value on this target")
        return members[value.member], 32


class ExpressionLowering:
    """Lowers expressions in a given scope; ``constant_of`` resolves constant decls."""

    def __init__(self, codes: Codes) -> None:
        self.codes = codes
        # Values of calls already expanded into primitives (function calls), by node id.
        self.precomputed: dict[int, Json] = {}
        # The storage holding header/struct results of expanded calls, by node id.
        self.precomputed_storage: dict[int, Location] = {}

    # ------------------------------------------------------------ locations

    def location(self, e: ast.Expression, scope: Scope) -> Location:
        """The storage an lvalue (or a header/struct-valued expression) denotes."""
        if id(e) in self.precomputed_storage:
            return self.precomputed_storage[id(e)]
        if isinstance(e, ast.PathExpression):
            if e.decl is None:
                raise LoweringError(e, f"{e.name}: unresolved name")
            found = scope.lookup(e.decl)
            if found is None:
                raise LoweringError(e, f"{e.name}: cannot be used here on this target")
            return found
        if isinstance(e, ast.Member):
            base = self.location(e.expr, scope)
            return self.member_location(base, e)
        if isinstance(e, ast.ArrayIndex):
            base = self.location(e.expr, scope)
            if isinstance(base, StructLoc) and base.type.name == "tuple":
                position = self.const_int(e.index)
                if position is None or f"f{position}" not in base.fields:
                    raise LoweringError(e, "tuple index must be a constant within range")
                return base.fields[f"f{position}"]
            if not isinstance(base, StackLoc):
                raise LoweringError(e, "indexing is only supported on header stacks")
            index = self.const_int(e.index)
            if base.unions:
                if index is None or not 0 <= index < len(base.unions):
                    raise LoweringError(e, "a header union stack index must be a constant "
                                           "within range on this target")
                return base.unions[index]
            element = repr_type(base.type.element)
            if not isinstance(element, t.HeaderType):
                raise LoweringError(e, "only stacks of headers can be indexed on this target")
            if index is None:
                return DynamicHeaderLoc(base.name, op(
                    "dereference_header_stack", {"type": "header_stack", "value": base.name},
                    self.value(e.index, scope)), element)
            if not 0 <= index < len(base.element_names):
                raise LoweringError(e, f"header stack index {index} out of range")
            return HeaderLoc(base.element_names[index], element)
        raise LoweringError(e, "expression is not an lvalue supported on this target")

    def member_location(self, base: Location, e: ast.Member) -> Location:
        if isinstance(base, DynamicHeaderLoc | HeaderLoc):
            if base.type.field_type(e.member) is None:
                raise LoweringError(e, f"{base.type.name} has no field {e.member}")
            return header_member(base, (e.member, ))
        if isinstance(base, StructLoc):
            if e.member not in base.fields:
                raise LoweringError(e, f"{base.type.name} has no field {e.member}")
            return base.fields[e.member]
        if isinstance(base, UnionLoc):
            for name, member in base.members:
                if name == e.member:
                    return member
            raise LoweringError(e, f"{base.type.name} has no member {e.member}")
        if isinstance(base, StackLoc) and e.member in ("last", "next"):
            raise LoweringError(e, f"'{e.member}' of a header stack is only supported in "
                                   "parser extract calls")
        raise LoweringError(e, f"member '{e.member}' cannot be used here on this target")

    # ------------------------------------------------------------ constants

    @staticmethod
    def const_int(e: ast.Expression) -> int | None:
        value = e.const_value
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(e, ast.IntLiteral):
            return e.value
        return None

    def constant(self, e: ast.Expression) -> Json | None:
        value = e.const_value
        if value is None and isinstance(e, ast.IntLiteral):
            value = e.value
        if value is None and isinstance(e, ast.BoolLiteral):
            value = e.value
        if isinstance(value, bool):
            return op("b2d", None, {"type": "bool", "value": value})
        if isinstance(value, int):
            return hex_json(value, bit_width(e.type))
        if isinstance(value, ast.EnumValue):
            number, width = self.codes.value_of(value, e)
            ser = t.strip_newtype(e.type) if e.type is not None else None
            if isinstance(ser, t.SerEnumType):
                width = ser.underlying.width
            return hex_json(number, width)
        return None

    # ------------------------------------------------------------ values

    def value(self, e: ast.Expression, scope: Scope) -> Json:
        """A data-typed JSON value for ``e`` (booleans as 0/1)."""
        if id(e) in self.precomputed:
            return self.precomputed[id(e)]
        folded = self.constant(e)
        if folded is not None:
            return folded
        if isinstance(repr_type(e.type), t.BoolType) and not self._is_storage(e):
            return op("b2d", None, self.condition(e, scope))
        if isinstance(e, ast.PathExpression | ast.Member | ast.ArrayIndex):
            if isinstance(e, ast.Member) and e.member in ("lastIndex", "size"):
                base_loc = self.location(e.expr, scope)
                if isinstance(base_loc, StackLoc):
                    if e.member == "size":
                        return hex_json(base_loc.type.size, 32)
                    return op("last_stack_index", None,
                              {"type": "header_stack", "value": base_loc.name})
            if isinstance(e, ast.Member) and isinstance(e.expr, ast.Member) and \
                    e.expr.member == "last":
                stack = self.location(e.expr.expr, scope)
                if isinstance(stack, StackLoc):
                    return {"type": "stack_field", "value": [stack.name, e.member]}
            if isinstance(e, ast.Member) and _is_lookahead(e.expr):
                return self._lookahead_field(e)
            if isinstance(e, ast.PathExpression) and isinstance(e.decl, ast.ConstDecl):
                return self.value(e.decl.value, scope)
            loc = self.location(e, scope)
            if isinstance(loc, FieldLoc):
                return loc.json()
            if isinstance(loc, ValueLoc):
                return loc.json_value
            raise LoweringError(e, "a header, struct or extern cannot be used as a scalar value")
        if isinstance(e, ast.BinaryOp):
            return self._binary(e, scope)
        if isinstance(e, ast.UnaryOp):
            return self._unary(e, scope)
        if isinstance(e, ast.Cast):
            return self._cast(e, scope)
        if isinstance(e, ast.Slice):
            lo = self.const_int(e.lo)
            hi = self.const_int(e.hi)
            if lo is None or hi is None:
                raise LoweringError(e, "slice bounds must be compile-time constants")
            inner = self.value(e.expr, scope)
            shifted = op(">>", inner, hex_json(lo, None)) if lo else inner
            return mask_to(shifted, hi - lo + 1)
        if isinstance(e, ast.Ternary):
            return op("?", self.value(e.then, scope), self.value(e.otherwise, scope),
                      cond=self.condition(e.cond, scope))
        if isinstance(e, ast.MethodCall) and e.builtin == "isValid":
            return self._validity_field(e, scope)
        if isinstance(e, ast.MethodCall) and e.builtin in _SIZE_BUILTINS:
            return hex_json(_size_of(e), bit_width(e.type))
        if isinstance(e, ast.MethodCall) and isinstance(e.method, ast.Member) and \
                e.method.member == "lookahead":
            width = bit_width(e.type)
            if width is None:
                raise LoweringError(e, "lookahead of this type is not supported on this target")
            return {"type": "lookahead", "value": [0, width]}
        raise LoweringError(e, f"expression '{type(e).__name__}' is not supported here on "
                               "this target")

    def _lookahead_field(self, e: ast.Member) -> Json:
        """``lookahead<H>().f``: peek at the bits of ``f`` within ``H``."""
        header = repr_type(e.expr.type)
        if not isinstance(header, t.StructLikeType):
            raise LoweringError(e, "lookahead member access needs a header or struct type")
        offset = 0
        for name, field_type in header.fields:
            width = bit_width(field_type)
            if width is None:
                break
            if name == e.member:
                return {"type": "lookahead", "value": [offset, width]}
            offset += width
        raise LoweringError(e, f"cannot look ahead at {header.name}.{e.member}")

    def _is_storage(self, e: ast.Expression) -> bool:
        return isinstance(e, ast.PathExpression | ast.Member | ast.ArrayIndex)

    def _validity_field(self, call: ast.MethodCall, scope: Scope) -> Json:
        assert isinstance(call.method, ast.Member)
        loc = self.location(call.method.expr, scope)
        if isinstance(loc, HeaderLoc):
            return {"type": "field", "value": [loc.name, VALID_FIELD]}
        if isinstance(loc, DynamicHeaderLoc):
            return op("b2d", None, _dynamic_validity(loc))
        raise LoweringError(call, "isValid() as a value is only supported on headers")

    def _binary(self, e: ast.BinaryOp, scope: Scope) -> Json:
        if e.op in _COMPARISONS or e.op in ("&&", "||"):
            return op("b2d", None, self.condition(e, scope))
        left = self.value(e.left, scope)
        right = self.value(e.right, scope)
        width = bit_width(e.type)
        subtrahend = self.const_int(e.right) if e.op == "-" else None
        if subtrahend == 0:
            return left
        if subtrahend is not None and width is not None and not is_signed(e.type):
            # p4c's StrengthReduction writes `a - c` as `a + (-c)` (on bit<W>: 2^W - c),
            # as its BMv2 JSON shows (`(ttl + 0xff) & 0xff` for `ttl - 1`)
            return wrap_to(op("+", left, hex_json(-subtrahend % (1 << width), width)),
                           e.type)
        if e.op in _WRAPPING:
            return wrap_to(op(e.op, left, right), e.type)
        if e.op in ("&", "|", "^", ">>"):
            return op(e.op, left, right)
        if e.op in ("/", "%"):
            return self._power_of_two_division(e, left, right, width)
        if e.op in ("|+|", "|-|"):
            if width is None:
                raise LoweringError(e, "saturating arithmetic needs a fixed-width type")
            cast = "sat_cast" if is_signed(e.type) else "usat_cast"
            return op(cast, op(e.op[1], left, right), hex_json(width, None))
        if e.op == "++":
            right_width = bit_width(e.right.type)
            if right_width is None or width is None:
                raise LoweringError(e, "concatenation needs fixed-width operands")
            return mask_to(op("|", op("<<", left, hex_json(right_width, None)),
                              mask_to(right, right_width)), width)
        raise LoweringError(e, f"operator '{e.op}' is not supported on this target")

    def _power_of_two_division(self, e: ast.BinaryOp, left: Json, right: Json,
                               width: int | None) -> Json:
        """`x / 2^k` as `x >> k` and `x % 2^k` as `x & (2^k - 1)`, as p4c's StrengthReduction
        rewrites them (the front end refuses any other run-time division)."""
        divisor = self.const_int(e.right)
        if divisor is None or divisor <= 0 or divisor & (divisor - 1):
            return op(e.op, left, right)
        exponent = divisor.bit_length() - 1
        if e.op == "/":
            return left if exponent == 0 else op(">>", left, hex_json(exponent, None))
        if exponent == 0:
            return hex_json(0, width)
        return op("&", left, hex_json(divisor - 1, width))

    def _unary(self, e: ast.UnaryOp, scope: Scope) -> Json:
        if e.op == "!":
            return op("b2d", None, self.condition(e, scope))
        inner = self.value(e.operand, scope)
        if e.op == "+":
            return inner
        if e.op == "~":
            return wrap_to(op("~", None, inner), e.type)
        if e.op == "-":
            return wrap_to(op("-", hex_json(0, bit_width(e.type)), inner), e.type)
        raise LoweringError(e, f"unary operator '{e.op}' is not supported on this target")

    def _cast(self, e: ast.Cast, scope: Scope) -> Json:
        target = repr_type(e.type)
        source = repr_type(e.expr.type)
        if isinstance(target, t.BoolType):
            return op("b2d", None, self.condition(e, scope))
        inner = self.value(e.expr, scope)
        if isinstance(target, t.BitsType):
            source_width = bit_width(source)
            if target.signed:
                if isinstance(source, t.BitsType) and source.signed and \
                        source.width <= target.width:
                    return inner
                return op("two_comp_mod", inner, hex_json(target.width, None))
            if isinstance(source, t.BitsType) and not source.signed and \
                    source_width is not None and source_width <= target.width:
                return inner
            if isinstance(source, t.BoolType):
                return inner
            return mask_to(inner, target.width)
        return inner

    # ------------------------------------------------------------ conditions

    def condition(self, e: ast.Expression, scope: Scope) -> Json:
        """A boolean-typed JSON expression for a P4 ``bool`` expression."""
        value = e.const_value if e.const_value is not None else (
            e.value if isinstance(e, ast.BoolLiteral) else None)
        if isinstance(value, bool):
            return {"type": "bool", "value": value}
        if isinstance(e, ast.BinaryOp):
            if e.op in ("&&", "||"):
                return op("and" if e.op == "&&" else "or", self.condition(e.left, scope),
                          self.condition(e.right, scope))
            if e.op in _COMPARISONS:
                if isinstance(repr_type(e.left.type), t.StructLikeType | t.StackType):
                    return self._aggregate_equality(e, scope)
                return op(_COMPARISONS[e.op], self.value(e.left, scope),
                          self.value(e.right, scope))
        if isinstance(e, ast.UnaryOp) and e.op == "!":
            return op("not", None, self.condition(e.operand, scope))
        if isinstance(e, ast.MethodCall) and e.builtin == "isValid":
            assert isinstance(e.method, ast.Member)
            loc = self.location(e.method.expr, scope)
            if isinstance(loc, UnionLoc):
                return op("valid_union", None, {"type": "header_union", "value": loc.name})
            if isinstance(loc, DynamicHeaderLoc):
                return _dynamic_validity(loc)
            return op("d2b", None, self._validity_field(e, scope))
        if isinstance(e, ast.Ternary):
            return op("?", self.condition(e.then, scope), self.condition(e.otherwise, scope),
                      cond=self.condition(e.cond, scope))
        if isinstance(e, ast.Cast) and isinstance(repr_type(e.type), t.BoolType):
            return op("d2b", None, self.value(e.expr, scope))
        return op("d2b", None, self.value(e, scope))

    def _aggregate_equality(self, e: ast.BinaryOp, scope: Scope) -> Json:
        result = _equality(self.location(e.left, scope), self.location(e.right, scope), e)
        return op("not", None, result) if e.op == "!=" else result


_SIZE_BUILTINS = ("minSizeInBits", "minSizeInBytes", "maxSizeInBits", "maxSizeInBytes")


def _size_of(call: ast.MethodCall) -> int:
    """``h.minSizeInBits()`` and friends, from the header/struct type."""
    assert isinstance(call.method, ast.Member) and call.builtin is not None
    target = repr_type(call.method.expr.type)
    if not isinstance(target, t.StructLikeType):
        raise LoweringError(call, f"{call.builtin} needs a header or struct")
    leaves = [leaf.type for leaf in flat_fields(target)]
    fixed = sum(w for ft in leaves if (w := bit_width(ft)) is not None)
    varbits = sum(rt.max_width for ft in leaves
                  if isinstance(rt := repr_type(ft), t.VarbitType))
    bits = fixed + (varbits if call.builtin.startswith("max") else 0)
    return bits // 8 if call.builtin.endswith("Bytes") else bits


def _is_lookahead(e: ast.Expression) -> bool:
    return isinstance(e, ast.MethodCall) and isinstance(e.method, ast.Member) and \
        e.method.member == "lookahead"


def _equality(left: Location, right: Location, node: ast.Node) -> Json:
    """``left == right`` on aggregates, expanded as p4c's RemoveComplexComparisons does:
    structs and stacks compare member by member (``&&``), headers as
    ``!l.isValid() && !r.isValid() || l.isValid() && r.isValid() && l.f == r.f && ...``."""
    if isinstance(left, FieldLoc) and isinstance(right, FieldLoc | ValueLoc):
        return op("==", left.json(), right.json() if isinstance(right, FieldLoc)
                  else right.json_value)
    if isinstance(left, HeaderLoc) and isinstance(right, HeaderLoc):
        left_valid = op("d2b", None, {"type": "field", "value": [left.name, VALID_FIELD]})
        right_valid = op("d2b", None, {"type": "field", "value": [right.name, VALID_FIELD]})
        both_invalid = op("and", op("not", None, left_valid), op("not", None, right_valid))
        same = op("and", left_valid, right_valid)
        for leaf in flat_fields(left.type):
            same = op("and", same, op("==", {"type": "field", "value": [left.name, leaf.name]},
                                      {"type": "field", "value": [right.name, leaf.name]}))
        return op("or", both_invalid, same)
    if isinstance(left, StackLoc) and isinstance(right, StackLoc) and not left.unions \
            and not right.unions and len(left.element_names) == len(right.element_names):
        element = repr_type(left.type.element)
        assert isinstance(element, t.HeaderType)
        return _conjunction([_equality(HeaderLoc(a, element), HeaderLoc(b, element), node)
                             for a, b in zip(left.element_names, right.element_names,
                                             strict=True)])
    if isinstance(left, StructLoc) and isinstance(right, StructLoc):
        return _conjunction([_equality(sub, right.fields[name], node)
                             for name, sub in left.fields.items()])
    if isinstance(left, ExternLoc) or isinstance(right, ExternLoc):
        raise LoweringError(node, "extern instances cannot be compared")
    raise LoweringError(node, "comparison of these values is not supported on this target")


def _conjunction(terms: list[Json]) -> Json:
    if not terms:
        return {"type": "bool", "value": True}
    result = terms[0]
    for term in terms[1:]:
        result = op("and", result, term)
    return result


def _dynamic_validity(loc: DynamicHeaderLoc) -> Json:
    """``stack[i].isValid()`` with ``i`` known only at run time: BMv2's ``valid`` operator
    on the dereferenced element (p4c reaches the same result by expanding the index)."""
    return op("valid", None, loc.element)


def header_member(base: DynamicHeaderLoc | HeaderLoc, path: tuple[str, ...]) -> Location:
    """The field at ``path`` below a header; a struct inside the header (flattened as
    p4c's FlattenHeaders does) is a StructLoc of its flattened leaves."""
    layout = flat_fields(base.type)
    for index, leaf in enumerate(layout):
        if leaf.path == path:
            if isinstance(base, DynamicHeaderLoc):
                return FieldLoc(f"{base.stack}[]", leaf.name, leaf.type, base.element, index)
            return FieldLoc(base.name, leaf.name, leaf.type)
    struct_type = t.strip_newtype(_path_type(base.type, path))
    assert isinstance(struct_type, t.StructType)
    return StructLoc(struct_type, {name: header_member(base, path + (name, ))
                                   for name, _ in struct_type.fields})


def _path_type(ty: t.P4Type, path: tuple[str, ...]) -> t.P4Type:
    for name in path:
        inner = t.strip_newtype(ty)
        assert isinstance(inner, t.StructLikeType)
        found = inner.field_type(name)
        assert found is not None
        ty = found
    return ty
