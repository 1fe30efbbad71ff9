"""Where a P4 value lives once the program is flattened for BMv2.

Parameters and locals of inlined parsers, controls and actions are bound to
these locations; expressions are lowered by looking their declarations up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from p4sim.compiler import types as t

Json = Any


@dataclass(frozen=True)
class FieldLoc:
    """A scalar field of a header instance (or of the ``scalars`` header).

    ``element`` is set for a field of a header-stack element chosen at run time: the
    BMv2 ``dereference_header_stack`` expression, with ``index`` the field's position."""

    header: str
    field: str
    type: t.P4Type
    element: Json = None
    index: int = 0

    def json(self) -> Json:
        if self.element is not None:
            return {"type": "expression", "value": {"op": "access_field",
                                                    "left": self.element, "right": self.index}}
        return {"type": "field", "value": [self.header, self.field]}


@dataclass(frozen=True)
class HeaderLoc:
    """A header instance (metadata or packet header), possibly a stack element."""

    name: str
    type: t.HeaderType | t.StructType


@dataclass(frozen=True)
class DynamicHeaderLoc:
    """``stack[i]`` with ``i`` known only at run time."""

    stack: str
    element: Json  # the dereference_header_stack expression
    type: t.HeaderType


@dataclass(frozen=True)
class StackLoc:
    """A header stack, or (``unions`` set) a header union stack whose elements are
    the unions ``name[i]``."""

    name: str
    type: t.StackType
    element_names: tuple[str, ...]
    unions: tuple[UnionLoc, ...] = ()


@dataclass(frozen=True)
class UnionLoc:
    name: str
    type: t.HeaderUnionType
    members: tuple[tuple[str, HeaderLoc], ...]


@dataclass
class StructLoc:
    """A struct flattened into per-field locations."""

    type: t.StructType
    fields: dict[str, Location] = field(default_factory=dict)


@dataclass(frozen=True)
class ValueLoc:
    """A read-only value: an action's runtime parameter or an inlined in-argument."""

    json_value: Json
    type: t.P4Type


@dataclass(frozen=True)
class ExternLoc:
    """An extern instance (counter, register, hash calculation target, ...)."""

    name: str
    type: t.ExternType
    decl: Any


@dataclass(frozen=True)
class PacketLoc:
    """``packet_in``/``packet_out`` parameters."""

    kind: str


Location = (FieldLoc | HeaderLoc | DynamicHeaderLoc | StackLoc | UnionLoc | StructLoc |
            ValueLoc | ExternLoc | PacketLoc)
