"""Allocation of BMv2 storage: header types, header instances and scalars.

Every P4 variable ends up as a field of the ``scalars`` metadata header (bit,
bool, error and enum values), a header instance (headers and struct-typed
metadata) or a header stack, mirroring p4c's BMv2 backend.
"""

from __future__ import annotations

from p4sim.compiler import ast
from p4sim.compiler import types as t
from p4sim.compiler.midend.bmv2_sections import Bmv2Sections
from p4sim.compiler.midend.errors import LoweringError
from p4sim.compiler.midend.expressions import bit_width, repr_type
from p4sim.compiler.midend.header_flattening import flat_header_type
from p4sim.compiler.midend.locations import (
    FieldLoc,
    HeaderLoc,
    Location,
    StackLoc,
    StructLoc,
    UnionLoc,
)

SCALARS = "scalars"
# BMv2 gets one header instance per stack element (and p4c lists each in the deparser);
# no packet carries more than 2^16 headers of at least a byte, so a larger stack can
# only be a mistake, and allocating it would take unbounded time and memory.
MAX_STACK_SIZE = 1 << 16


def tuple_as_struct(ty: t.P4Type) -> t.P4Type:
    """A tuple is stored like a struct with fields ``f0``, ``f1``... (p4c's
    EliminateTuples)."""
    if isinstance(ty, t.TupleType):
        return t.StructType("tuple", tuple((f"f{index}", element)
                                           for index, element in enumerate(ty.elements)))
    return ty


class Storage:
    def __init__(self, sections: Bmv2Sections) -> None:
        self.sections = sections

    # ------------------------------------------------------------ types

    def header_type(self, ty: t.HeaderType | t.StructType, json_name: str | None = None) -> str:
        """Register ``ty`` in ``header_types`` (once) and return its JSON name."""
        name = json_name or ty.name
        fields: list[list[object]] = []
        total = 0
        varbit_max = 0
        layout = flat_header_type(ty) if isinstance(ty, t.HeaderType) else ty
        for field_name, field_type in layout.fields:
            rt = repr_type(field_type)
            if isinstance(rt, t.VarbitType):
                fields.append([field_name, "*"])
                varbit_max = rt.max_width
                continue
            width = bit_width(field_type)
            if width is None:
                raise LoweringError(getattr(ty, "decl", None),
                                    f"{ty.name}.{field_name}: field type {field_type} is not "
                                    "supported in headers on this target")
            fields.append([field_name, width, isinstance(rt, t.BitsType) and rt.signed])
            total += width
        if isinstance(ty, t.HeaderType) and (total + varbit_max) % 8:
            raise LoweringError(getattr(ty, "decl", None),
                                f"{ty.name}: Found header with fields totaling "
                                f"{total + varbit_max} bits.  BMv2 target only supports "
                                "headers with fields totaling a multiple of 8 bits.")
        if isinstance(ty, t.StructType) and total % 8:
            fields.append([self.sections.fresh_name("_padding"), 8 - total % 8, False])
        max_length = (total + varbit_max) // 8 if varbit_max else 0
        self.sections.add_header_type(name, fields, max_length)
        return name

    # ------------------------------------------------------------ instances

    def scalar(self, base: str, ty: t.P4Type) -> FieldLoc:
        width = bit_width(ty)
        if width is None:
            raise LoweringError(None, f"{base}: type {ty} cannot be stored on this target")
        name = self.sections.fresh_name(base)
        self.sections.add_scalar(name, width, isinstance(repr_type(ty), t.BitsType)
                                 and bool(getattr(repr_type(ty), "signed", False)))
        return FieldLoc(SCALARS, name, ty)

    def header_instance(self, base: str, ty: t.HeaderType) -> HeaderLoc:
        type_name = self.header_type(ty)
        name = self.sections.fresh_name(base)
        self.sections.add_header(name, type_name, metadata=False)
        return HeaderLoc(name, ty)

    def stack(self, base: str, ty: t.StackType, where: ast.Node | None = None) -> StackLoc:
        if ty.size > MAX_STACK_SIZE:
            raise LoweringError(where, f"{base}: a stack of {ty.size} elements is too large "
                                       f"for this target (at most {MAX_STACK_SIZE}: BMv2 "
                                       "needs one header instance per element)")
        element = repr_type(ty.element)
        if isinstance(element, t.HeaderUnionType):
            return self._union_stack(base, ty, element)
        if not isinstance(element, t.HeaderType):
            raise LoweringError(None, f"{base}: stacks of {element} are not supported")
        type_name = self.header_type(element)
        name = self.sections.fresh_name(base)
        ids: list[int] = []
        names: list[str] = []
        for index in range(ty.size):
            element_name = f"{name}[{index}]"
            self.sections.reserve_name(element_name)
            ids.append(self.sections.add_header(element_name, type_name, metadata=False))
            names.append(element_name)
        self.sections.header_stacks.append({
            "name": name, "id": len(self.sections.header_stacks), "header_type": type_name,
            "size": ty.size, "header_ids": ids})
        return StackLoc(name, ty, tuple(names))

    def _union_stack(self, base: str, ty: t.StackType,
                     element: t.HeaderUnionType) -> StackLoc:
        """BMv2 ``header_union_stacks``: one union ``name[i]`` per element, its headers
        named ``name[i].<member>`` (p4c's addHeaderStacks)."""
        name = self.sections.fresh_name(base)
        unions = tuple(self.union(f"{name}[{index}]", element, exact_name=True)
                       for index in range(ty.size))
        self.sections.header_union_stacks.append({
            "name": name, "id": len(self.sections.header_union_stacks),
            "union_type": element.name, "size": ty.size,
            "header_union_ids": [self._union_id(u.name) for u in unions]})
        return StackLoc(name, ty, tuple(u.name for u in unions), unions)

    def _union_id(self, name: str) -> int:
        return next(int(u["id"]) for u in self.sections.header_unions if u["name"] == name)

    def union(self, base: str, ty: t.HeaderUnionType, exact_name: bool = False) -> UnionLoc:
        if exact_name:
            name = base
            self.sections.reserve_name(name)
        else:
            name = self.sections.fresh_name(base)
        members: list[tuple[str, HeaderLoc]] = []
        ids: list[int] = []
        union_fields: list[list[str]] = []
        for member_name, member_type in ty.fields:
            rt = repr_type(member_type)
            assert isinstance(rt, t.HeaderType)
            type_name = self.header_type(rt)
            header_name = f"{name}.{member_name}"
            self.sections.reserve_name(header_name)
            ids.append(self.sections.add_header(header_name, type_name, metadata=False))
            members.append((member_name, HeaderLoc(header_name, rt)))
            union_fields.append([member_name, type_name])
        if all(u["name"] != ty.name for u in self.sections.header_union_types):
            self.sections.header_union_types.append({
                "name": ty.name, "id": len(self.sections.header_union_types),
                "headers": union_fields})
        self.sections.header_unions.append({
            "name": name, "id": len(self.sections.header_unions), "union_type": ty.name,
            "header_ids": ids, "pi_omit": True})
        return UnionLoc(name, ty, tuple(members))

    def variable(self, base: str, ty: t.P4Type) -> Location:
        """Storage for a local variable (or compiler temporary) of type ``ty``."""
        rt = tuple_as_struct(repr_type(ty))
        if isinstance(rt, t.HeaderType):
            return self.header_instance(base, rt)
        if isinstance(rt, t.HeaderUnionType):
            return self.union(base, rt)
        if isinstance(rt, t.StackType):
            return self.stack(base, rt)
        if isinstance(rt, t.StructType):
            loc = StructLoc(rt)
            for field_name, field_type in rt.fields:
                loc.fields[field_name] = self.variable(f"{base}.{field_name}", field_type)
            return loc
        return self.scalar(base, ty)
