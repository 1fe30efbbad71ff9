"""Slot layout of the per-packet field vector (the PHV as a flat list of ints).

Every header instance (metadata included) owns a contiguous run of slots: its validity
bit, then one slot per field in declaration order, then -- if it has a varbit field -- one
slot holding the varbit's current width in bits.  Header stacks own one more slot, the
stack's next index.  Header ids used by generated code are positions in ``headers``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from p4sim.engine.errors import ConfigError


@dataclass(slots=True)
class FieldDef:
    name: str
    width: int
    signed: bool
    varbit: bool


@dataclass(slots=True)
class HeaderType:
    name: str
    fields: list[FieldDef]
    index_of: dict[str, int]
    varbit_index: int | None
    fixed_bits: int


@dataclass(slots=True)
class HeaderDef:
    name: str
    index: int
    type: HeaderType
    metadata: bool
    base: int
    """Slot of the validity bit; field i lives at ``base + 1 + i``."""
    union: str | None = None

    @property
    def varbit_width_slot(self) -> int:
        return self.base + 1 + len(self.type.fields)

    def nslots(self) -> int:
        return 1 + len(self.type.fields) + (1 if self.type.varbit_index is not None else 0)


@dataclass(slots=True)
class StackDef:
    name: str
    type: HeaderType
    headers: list[int]
    next_slot: int


@dataclass(slots=True)
class UnionDef:
    name: str
    headers: list[int]
    member_index: dict[str, int]


@dataclass(slots=True)
class UnionStackDef:
    name: str
    unions: list[str]


@dataclass(slots=True)
class Layout:
    header_types: dict[str, HeaderType] = field(default_factory=dict)
    headers: list[HeaderDef] = field(default_factory=list)
    by_name: dict[str, HeaderDef] = field(default_factory=dict)
    stacks: dict[str, StackDef] = field(default_factory=dict)
    unions: dict[str, UnionDef] = field(default_factory=dict)
    union_stacks: dict[str, UnionStackDef] = field(default_factory=dict)
    aliases: dict[str, tuple[str, str]] = field(default_factory=dict)
    nslots: int = 0
    template: list[int] = field(default_factory=list)

    def header(self, name: str) -> HeaderDef:
        try:
            return self.by_name[name]
        except KeyError:
            raise ConfigError(f"unknown header instance {name!r}") from None

    def resolve_field(self, header: str, fname: str) -> tuple[HeaderDef, int]:
        """(header, field index) for a field reference; index -1 is the hidden ``$valid$``."""
        dotted = f"{header}.{fname}"
        if dotted in self.aliases and header not in self.by_name:
            header, fname = self.aliases[dotted]
        hdr = self.header(header)
        if fname == "$valid$":
            return hdr, -1
        try:
            return hdr, hdr.type.index_of[fname]
        except KeyError:
            raise ConfigError(f"header {header!r} has no field {fname!r}") from None

    def has_field(self, dotted: str) -> bool:
        header, _, fname = dotted.partition(".")
        if dotted in self.aliases:
            header, fname = self.aliases[dotted]
        hdr = self.by_name.get(header)
        return hdr is not None and fname in hdr.type.index_of

    def field_slot(self, dotted: str) -> int | None:
        """Slot of a field named ``header.field`` (aliases honoured), None if absent."""
        if not self.has_field(dotted):
            return None
        header, _, fname = dotted.partition(".")
        hdr, idx = self.resolve_field(header, fname)
        return hdr.base + 1 + idx


def _int(obj: dict[str, Any], key: str, what: str) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{what}: attribute {key!r} must be an integer")
    return value


def _str(obj: dict[str, Any], key: str, what: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise ConfigError(f"{what}: attribute {key!r} must be a string")
    return value


def _list(obj: dict[str, Any], key: str, what: str) -> list[Any]:
    value = obj.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{what}: attribute {key!r} must be an array")
    return value


def build_layout(cfg: dict[str, Any]) -> Layout:
    layout = Layout()
    for ht in _list(cfg, "header_types", "root"):
        if not isinstance(ht, dict):
            raise ConfigError("header_types: every item must be an object")
        name = _str(ht, "name", "header type")
        fields: list[FieldDef] = []
        varbit_index = None
        fixed_bits = 0
        for item in _list(ht, "fields", f"header type {name!r}"):
            if (not isinstance(item, list) or len(item) not in (2, 3)
                    or not isinstance(item[0], str)):
                raise ConfigError(f"header type {name!r}: bad field description {item!r}")
            signed = bool(item[2]) if len(item) == 3 else False
            if item[1] == "*":
                if varbit_index is not None:
                    raise ConfigError(f"header type {name!r}: more than one varbit field")
                varbit_index = len(fields)
                max_len = ht.get("max_length")
                if not isinstance(max_len, int):
                    raise ConfigError(f"header type {name!r}: varbit field needs 'max_length'")
                fields.append(FieldDef(item[0], 0, False, True))
            elif isinstance(item[1], int) and not isinstance(item[1], bool) and item[1] > 0:
                fields.append(FieldDef(item[0], item[1], signed, False))
                fixed_bits += item[1]
            else:
                raise ConfigError(f"header type {name!r}: field {item[0]!r} has bad width "
                                  f"{item[1]!r}")
        max_length = ht.get("max_length") if varbit_index is not None else None
        if varbit_index is not None and isinstance(max_length, int):
            fields[varbit_index].width = max_length * 8 - fixed_bits
        layout.header_types[name] = HeaderType(
            name, fields, {fd.name: i for i, fd in enumerate(fields)}, varbit_index, fixed_bits)

    slot = 0
    for h in _list(cfg, "headers", "root"):
        if not isinstance(h, dict):
            raise ConfigError("headers: every item must be an object")
        name = _str(h, "name", "header")
        type_name = _str(h, "header_type", f"header {name!r}")
        if type_name not in layout.header_types:
            raise ConfigError(f"header {name!r}: unknown header type {type_name!r}")
        if name in layout.by_name:
            raise ConfigError(f"header {name!r} declared twice")
        hdef = HeaderDef(name, len(layout.headers), layout.header_types[type_name],
                         bool(h.get("metadata", False)), slot)
        slot += hdef.nslots()
        layout.headers.append(hdef)
        layout.by_name[name] = hdef

    by_json_id = {}
    for h, hdef in zip(_list(cfg, "headers", "root"), layout.headers, strict=True):
        by_json_id[_int(h, "id", f"header {hdef.name!r}")] = hdef

    def headers_of(ids: list[Any], what: str) -> list[int]:
        out = []
        for i in ids:
            if i not in by_json_id:
                raise ConfigError(f"{what}: unknown header id {i!r}")
            out.append(by_json_id[i].index)
        return out

    for st in _list(cfg, "header_stacks", "root"):
        name = _str(st, "name", "header stack")
        what = f"header stack {name!r}"
        ids = headers_of(_list(st, "header_ids", what), what)
        type_name = st.get("header_type")
        htype = layout.header_types.get(type_name) if isinstance(type_name, str) else None
        if htype is None:
            if not ids:
                raise ConfigError(f"header stack {name!r}: unknown header type {type_name!r}")
            htype = layout.headers[ids[0]].type
        layout.stacks[name] = StackDef(name, htype, ids, slot)
        slot += 1

    for un in _list(cfg, "header_unions", "root"):
        name = _str(un, "name", "header union")
        what = f"header union {name!r}"
        ids = headers_of(_list(un, "header_ids", what), what)
        members: dict[str, int] = {}
        ut_name = un.get("union_type")
        for ut in _list(cfg, "header_union_types", "root"):
            if ut.get("name") == ut_name:
                for pos, member in enumerate(_list(ut, "headers", f"union type {ut_name!r}")):
                    if isinstance(member, list) and member and isinstance(member[0], str):
                        members[member[0]] = pos
        layout.unions[name] = UnionDef(name, ids, members)
        for hid in ids:
            layout.headers[hid].union = name

    union_json_ids = {u.get("id"): u.get("name") for u in _list(cfg, "header_unions", "root")}
    for us in _list(cfg, "header_union_stacks", "root"):
        name = _str(us, "name", "header union stack")
        unions = []
        for uid in _list(us, "header_union_ids", f"header union stack {name!r}"):
            if uid not in union_json_ids:
                raise ConfigError(f"header union stack {name!r}: unknown union id {uid!r}")
            unions.append(union_json_ids[uid])
        layout.union_stacks[name] = UnionStackDef(name, unions)

    for alias in _list(cfg, "field_aliases", "root"):
        if (not isinstance(alias, list) or len(alias) != 2 or not isinstance(alias[0], str)
                or not isinstance(alias[1], list) or len(alias[1]) != 2):
            raise ConfigError(f"field_aliases: bad alias {alias!r}")
        layout.aliases[alias[0]] = (str(alias[1][0]), str(alias[1][1]))

    layout.nslots = slot
    layout.template = [0] * slot
    for hdef in layout.headers:
        if hdef.metadata:
            layout.template[hdef.base] = 1
    return layout
