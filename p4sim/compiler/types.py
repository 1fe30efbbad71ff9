"""Semantic P4_16 types, as computed by the type checker.

These are distinct from the *syntactic* type references in ``ast.py``
(``TypeRef`` nodes): the checker resolves every ``TypeRef`` to one of the
classes below and stores it in ``TypeRef.type``; every expression gets its type
in ``Expression.type``.

How the backend reads them:

* ``BitsType(width, signed)`` is ``bit<W>`` (signed=False) or ``int<W>``
  (signed=True); ``VarbitType(max_width)``; ``BoolType``; ``IntLiteralType`` is
  the infinite-precision type of an untyped integer literal (after checking,
  literals used in a context with a known width carry a ``BitsType`` instead);
  ``StringType``; ``ErrorType``; ``MatchKindType``; ``VoidType``.
* ``HeaderType``/``StructType``/``HeaderUnionType`` carry their ordered fields
  (``fields``: tuple of ``(name, type)``) and the declaring AST node
  (``decl``).  ``StackType(element, size)`` is a header stack.
* ``EnumType`` (members only) and ``SerEnumType`` (``underlying`` BitsType and
  ``values`` mapping member name -> int).
* ``NewType(name, underlying)`` is ``type X Y``; typedefs are transparent and
  never appear here.
* ``TupleType(elements)``; ``ListType(elements)`` is the type of a ``{...}``
  list expression before it is converted to its context's struct/header/tuple.
* ``ExternType(name, decl, type_args)``: type arguments not written at the
  instantiation (``register<bit<32>>`` for ``register<T, I>``) are
  ``DontCareType`` there; each method call's ``type_args_inferred`` has them
  bound.  ``ParserType``/``ControlType``/
  ``PackageType`` (with ``params`` and ``type_args``), ``ActionType``,
  ``FunctionType`` (also used for extern methods), ``TableType``,
  ``ActionEnumType`` (type of ``t.apply().action_run``), ``TableApplyResultType``
  (type of ``t.apply()``), ``SetType`` (keyset expressions), ``TypeVar`` (an
  unbound generic parameter), ``DontCareType`` (``_``), ``StateType``
  (parser state names in transitions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from p4sim.compiler import ast


class P4Type:
    """Base class of all semantic types."""

    def width_bits(self) -> int:
        """Width in bits of a serializable type (headers sum their fields)."""
        raise TypeError(f"type {self} has no fixed width")


@dataclass(frozen=True)
class BitsType(P4Type):
    """``bit<W>`` (unsigned) or ``int<W>`` (signed, two's complement)."""

    width: int
    signed: bool = False

    def width_bits(self) -> int:
        return self.width

    def __str__(self) -> str:
        return f"{'int' if self.signed else 'bit'}<{self.width}>"


@dataclass(frozen=True)
class VarbitType(P4Type):
    max_width: int

    def width_bits(self) -> int:
        return self.max_width

    def __str__(self) -> str:
        return f"varbit<{self.max_width}>"


@dataclass(frozen=True)
class BoolType(P4Type):
    def width_bits(self) -> int:
        return 1

    def __str__(self) -> str:
        return "bool"


@dataclass(frozen=True)
class IntLiteralType(P4Type):
    """The type ``int`` of untyped integer literals (infinite precision)."""

    def __str__(self) -> str:
        return "int"


@dataclass(frozen=True)
class StringType(P4Type):
    def __str__(self) -> str:
        return "string"


@dataclass(frozen=True)
class ErrorType(P4Type):
    def __str__(self) -> str:
        return "error"


@dataclass(frozen=True)
class MatchKindType(P4Type):
    def __str__(self) -> str:
        return "match_kind"


@dataclass(frozen=True)
class VoidType(P4Type):
    def __str__(self) -> str:
        return "void"


@dataclass(frozen=True)
class DontCareType(P4Type):
    def __str__(self) -> str:
        return "_"


@dataclass(frozen=True)
class TypeVar(P4Type):
    """A generic type parameter, e.g. ``T`` in ``extract<T>(out T hdr)``."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, eq=False)
class StructLikeType(P4Type):
    """Common base of header, struct and header union types.

    Identity is by declaration: two struct types are equal only if they come
    from the same declaration (P4 uses name equivalence).
    """

    name: str
    fields: tuple[tuple[str, P4Type], ...]
    decl: ast.Node | None = field(default=None, compare=False, repr=False)

    def field_type(self, name: str) -> P4Type | None:
        for field_name, field_type in self.fields:
            if field_name == name:
                return field_type
        return None

    def field_names(self) -> list[str]:
        return [name for name, _ in self.fields]

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.name == getattr(other, "name", None) and (
            self.decl is None or getattr(other, "decl", None) is None
            or self.decl is getattr(other, "decl", None)
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.name))

    def width_bits(self) -> int:
        return sum(t.width_bits() for _, t in self.fields)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, eq=False)
class HeaderType(StructLikeType):
    pass


@dataclass(frozen=True, eq=False)
class StructType(StructLikeType):
    pass


@dataclass(frozen=True, eq=False)
class HeaderUnionType(StructLikeType):
    def width_bits(self) -> int:
        return max((t.width_bits() for _, t in self.fields), default=0)


@dataclass(frozen=True)
class StackType(P4Type):
    """Header stack ``H[size]``."""

    element: P4Type
    size: int

    def __str__(self) -> str:
        return f"{self.element}[{self.size}]"


@dataclass(frozen=True, eq=False)
class EnumType(P4Type):
    name: str
    members: tuple[str, ...]
    decl: ast.Node | None = field(default=None, compare=False, repr=False)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.name == getattr(other, "name", None)

    def __hash__(self) -> int:
        return hash(("enum", self.name))

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, eq=False)
class SerEnumType(EnumType):
    """Serializable enum ``enum bit<W> E { A = 1, ... }``."""

    underlying: BitsType = BitsType(32)
    values: tuple[tuple[str, int], ...] = ()

    def width_bits(self) -> int:
        return self.underlying.width


@dataclass(frozen=True, eq=False)
class NewType(P4Type):
    """``type U N``: a distinct type with the representation of ``underlying``."""

    name: str
    underlying: P4Type
    decl: ast.Node | None = field(default=None, compare=False, repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NewType) and self.name == other.name

    def __hash__(self) -> int:
        return hash(("type", self.name))

    def width_bits(self) -> int:
        return self.underlying.width_bits()

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class TupleType(P4Type):
    elements: tuple[P4Type, ...]

    def __str__(self) -> str:
        return "tuple<" + ", ".join(map(str, self.elements)) + ">"


@dataclass(frozen=True)
class ListType(P4Type):
    """Type of a ``{a, b}`` list expression before contextual conversion."""

    elements: tuple[P4Type, ...]

    def __str__(self) -> str:
        return "list<" + ", ".join(map(str, self.elements)) + ">"


@dataclass(frozen=True)
class StructExpressionType(P4Type):
    """Type of ``{f = e, ...}`` before contextual conversion."""

    fields: tuple[tuple[str, P4Type], ...]

    def __str__(self) -> str:
        return "{" + ", ".join(f"{n}: {t}" for n, t in self.fields) + "}"


@dataclass(frozen=True)
class SetType(P4Type):
    """Type of keyset expressions (masks, ranges, ``default``)."""

    element: P4Type

    def __str__(self) -> str:
        return f"set<{self.element}>"


@dataclass(frozen=True)
class ParamInfo:
    """A parameter of a callable type: direction is '', 'in', 'out' or 'inout'."""

    name: str
    direction: str
    type: P4Type
    has_default: bool = False


@dataclass(frozen=True, eq=False)
class ExternType(P4Type):
    """An extern object type, possibly specialised (``register<bit<32>, bit<8>>``)."""

    name: str
    type_params: tuple[str, ...] = ()
    type_args: tuple[P4Type, ...] = ()
    decl: ast.Node | None = field(default=None, compare=False, repr=False)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ExternType) and self.name == other.name
                and self.type_args == other.type_args)

    def __hash__(self) -> int:
        return hash(("extern", self.name, self.type_args))

    def substitution(self) -> dict[str, P4Type]:
        return dict(zip(self.type_params, self.type_args, strict=False))

    def __str__(self) -> str:
        if self.type_args:
            return f"{self.name}<" + ", ".join(map(str, self.type_args)) + ">"
        return self.name


@dataclass(frozen=True, eq=False)
class _BlockType(P4Type):
    name: str
    params: tuple[ParamInfo, ...] = ()
    type_params: tuple[str, ...] = ()
    type_args: tuple[P4Type, ...] = ()
    decl: ast.Node | None = field(default=None, compare=False, repr=False)

    def __eq__(self, other: object) -> bool:
        return (type(self) is type(other) and self.name == getattr(other, "name", None)
                and self.type_args == getattr(other, "type_args", None))

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.name))

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, eq=False)
class ParserType(_BlockType):
    pass


@dataclass(frozen=True, eq=False)
class ControlType(_BlockType):
    pass


@dataclass(frozen=True, eq=False)
class PackageType(_BlockType):
    pass


@dataclass(frozen=True)
class FunctionType(P4Type):
    """Type of functions, extern functions and extern methods."""

    return_type: P4Type
    params: tuple[ParamInfo, ...]
    type_params: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.return_type}(" + ", ".join(
            f"{p.direction} {p.type}".strip() for p in self.params) + ")"


@dataclass(frozen=True)
class ActionType(P4Type):
    params: tuple[ParamInfo, ...]

    def __str__(self) -> str:
        return "action(" + ", ".join(str(p.type) for p in self.params) + ")"


@dataclass(frozen=True, eq=False)
class TableType(P4Type):
    name: str
    decl: Any = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"table {self.name}"


@dataclass(frozen=True, eq=False)
class TableApplyResultType(P4Type):
    """``t.apply()``: a struct with ``hit``, ``miss`` and ``action_run``."""

    table: TableType

    def __str__(self) -> str:
        return f"apply_result({self.table.name})"


@dataclass(frozen=True, eq=False)
class ActionEnumType(P4Type):
    """``t.apply().action_run``: an enum of the table's action names."""

    table: TableType

    def __str__(self) -> str:
        return f"action_list({self.table.name})"


@dataclass(frozen=True)
class StateType(P4Type):
    """Type of parser state names (targets of transitions)."""

    def __str__(self) -> str:
        return "state"


INT_LITERAL = IntLiteralType()
STATE = StateType()
BOOL = BoolType()
STRING = StringType()
ERROR = ErrorType()
MATCH_KIND = MatchKindType()
VOID = VoidType()
DONT_CARE = DontCareType()


def strip_newtype(t: P4Type) -> P4Type:
    """The representation type of ``t`` (unwraps ``type`` declarations)."""
    while isinstance(t, NewType):
        t = t.underlying
    return t
