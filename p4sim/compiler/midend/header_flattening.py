"""Headers with struct-typed fields, flattened as p4c's ``FlattenHeaders`` does.

P4_16 allows a struct of bit fields inside a header; BMv2 header types hold only leaf
fields.  p4c (``FlattenHeaders`` / ``StructTypeReplacement``) replaces such a header's
fields by its leaves, each named after its access path with dots turned into
underscores plus the leaf's position: ``header h { bit<8> x; row_t row; }`` becomes
``_x0``, ``_row_e1``, ``_row_t2``...  A header without struct fields keeps its names.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from p4sim.compiler import types as t


@dataclass(frozen=True)
class FlatField:
    path: tuple[str, ...]  # the P4 access path below the header, e.g. ("row", "e")
    name: str              # the BMv2 field name
    type: t.P4Type


def _has_struct_field(ty: t.StructLikeType) -> bool:
    return any(isinstance(t.strip_newtype(ft), t.StructType) for _, ft in ty.fields)


@cache
def flat_fields(ty: t.StructLikeType) -> tuple[FlatField, ...]:
    """The BMv2 fields of header type ``ty``, in declaration order."""
    if not isinstance(ty, t.HeaderType) or not _has_struct_field(ty):
        return tuple(FlatField((name, ), name, ft) for name, ft in ty.fields)
    leaves: list[FlatField] = []

    def walk(path: tuple[str, ...], ft: t.P4Type) -> None:
        inner = t.strip_newtype(ft)
        if isinstance(inner, t.StructType):
            for name, sub in inner.fields:
                walk(path + (name, ), sub)
            return
        leaves.append(FlatField(path, "_" + "_".join(path) + str(len(leaves)), ft))

    for name, ft in ty.fields:
        walk((name, ), ft)
    return tuple(leaves)


def flat_header_type(ty: t.HeaderType) -> t.HeaderType:
    """``ty`` with its leaf fields under their BMv2 names (``ty`` itself if already flat)."""
    if not _has_struct_field(ty):
        return ty
    return t.HeaderType(ty.name, tuple((f.name, f.type) for f in flat_fields(ty)),
                        decl=ty.decl)
