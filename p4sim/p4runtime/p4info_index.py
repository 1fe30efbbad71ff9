"""Id-indexed view of a P4Info message, the form every request handler needs.

P4Runtime addresses everything by numeric id; the engine by BMv2 JSON name.  p4c gives a P4Info
object and its BMv2 JSON counterpart the same fully qualified name, so the name is the bridge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from finsy.proto import p4i

EXACT = p4i.MatchField.EXACT
LPM = p4i.MatchField.LPM
TERNARY = p4i.MatchField.TERNARY
RANGE = p4i.MatchField.RANGE
OPTIONAL = p4i.MatchField.OPTIONAL


@dataclass(frozen=True, slots=True)
class MatchFieldSpec:
    id: int
    name: str
    bitwidth: int
    match_type: int


@dataclass(frozen=True, slots=True)
class ParamSpec:
    id: int
    name: str
    bitwidth: int


@dataclass(frozen=True, slots=True)
class ActionSpec:
    id: int
    name: str
    params: tuple[ParamSpec, ...]


@dataclass(slots=True)
class TableSpec:
    id: int
    name: str
    match_fields: tuple[MatchFieldSpec, ...]
    entry_action_ids: frozenset[int]
    default_action_ids: frozenset[int]
    const_default_action_id: int
    implementation_id: int
    direct_counter_id: int
    direct_meter_id: int
    size: int
    supports_idle_timeout: bool
    is_const: bool

    @property
    def needs_priority(self) -> bool:
        """P4Runtime: an entry has a priority iff a field is ternary, range or optional."""
        return any(f.match_type in (TERNARY, RANGE, OPTIONAL) for f in self.match_fields)


@dataclass(frozen=True, slots=True)
class ActionProfileSpec:
    id: int
    name: str
    table_ids: tuple[int, ...]
    with_selector: bool
    size: int
    max_group_size: int


@dataclass(frozen=True, slots=True)
class IndexedSpec:
    """A counter, meter or register array (direct ones have ``direct_table_id``)."""

    id: int
    name: str
    size: int
    direct_table_id: int = 0
    bitwidth: int = 0
    unit: int = 0


@dataclass(frozen=True, slots=True)
class DigestSpec:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class PacketMetadataSpec:
    id: int
    name: str
    bitwidth: int


@dataclass(slots=True)
class P4InfoIndex:
    p4info: p4i.P4Info
    tables: dict[int, TableSpec] = field(default_factory=dict)
    actions: dict[int, ActionSpec] = field(default_factory=dict)
    action_profiles: dict[int, ActionProfileSpec] = field(default_factory=dict)
    counters: dict[int, IndexedSpec] = field(default_factory=dict)
    direct_counters: dict[int, IndexedSpec] = field(default_factory=dict)
    meters: dict[int, IndexedSpec] = field(default_factory=dict)
    direct_meters: dict[int, IndexedSpec] = field(default_factory=dict)
    registers: dict[int, IndexedSpec] = field(default_factory=dict)
    digests: dict[int, DigestSpec] = field(default_factory=dict)
    packet_in: tuple[PacketMetadataSpec, ...] = ()
    packet_out: tuple[PacketMetadataSpec, ...] = ()
    action_ids_by_name: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, p4info: p4i.P4Info) -> P4InfoIndex:
        index = cls(p4info=p4info)
        for action in p4info.actions:
            spec = ActionSpec(
                action.preamble.id, action.preamble.name,
                tuple(ParamSpec(p.id, p.name, p.bitwidth) for p in action.params))
            index.actions[spec.id] = spec
            index.action_ids_by_name[spec.name] = spec.id
        for counter in p4info.direct_counters:
            index.direct_counters[counter.preamble.id] = IndexedSpec(
                counter.preamble.id, counter.preamble.name, 0,
                direct_table_id=counter.direct_table_id, unit=counter.spec.unit)
        for meter in p4info.direct_meters:
            index.direct_meters[meter.preamble.id] = IndexedSpec(
                meter.preamble.id, meter.preamble.name, 0,
                direct_table_id=meter.direct_table_id, unit=meter.spec.unit)
        for table in p4info.tables:
            index.tables[table.preamble.id] = _table_spec(table, index)
        for profile in p4info.action_profiles:
            index.action_profiles[profile.preamble.id] = ActionProfileSpec(
                profile.preamble.id, profile.preamble.name, tuple(profile.table_ids),
                profile.with_selector, profile.size, profile.max_group_size)
        for counter in p4info.counters:
            index.counters[counter.preamble.id] = IndexedSpec(
                counter.preamble.id, counter.preamble.name, counter.size,
                unit=counter.spec.unit)
        for meter in p4info.meters:
            index.meters[meter.preamble.id] = IndexedSpec(
                meter.preamble.id, meter.preamble.name, meter.size, unit=meter.spec.unit)
        for register in p4info.registers:
            index.registers[register.preamble.id] = IndexedSpec(
                register.preamble.id, register.preamble.name, register.size,
                bitwidth=register.type_spec.bitstring.bit.bitwidth)
        for digest in p4info.digests:
            index.digests[digest.preamble.id] = DigestSpec(
                digest.preamble.id, digest.preamble.name)
        for header in p4info.controller_packet_metadata:
            fields = tuple(
                PacketMetadataSpec(m.id, m.name, m.bitwidth) for m in header.metadata)
            if header.preamble.name == "packet_in":
                index.packet_in = fields
            elif header.preamble.name == "packet_out":
                index.packet_out = fields
        return index


def _table_spec(table: p4i.Table, index: P4InfoIndex) -> TableSpec:
    entry_ids = frozenset(
        ref.id for ref in table.action_refs if ref.scope != p4i.ActionRef.DEFAULT_ONLY)
    default_ids = frozenset(
        ref.id for ref in table.action_refs if ref.scope != p4i.ActionRef.TABLE_ONLY)
    direct_counter_id = next(
        (i for i in table.direct_resource_ids if i in index.direct_counters), 0)
    direct_meter_id = next(
        (i for i in table.direct_resource_ids if i in index.direct_meters), 0)
    return TableSpec(
        id=table.preamble.id,
        name=table.preamble.name,
        match_fields=tuple(
            MatchFieldSpec(m.id, m.name, m.bitwidth, m.match_type) for m in table.match_fields),
        entry_action_ids=entry_ids,
        default_action_ids=default_ids,
        const_default_action_id=table.const_default_action_id,
        implementation_id=table.implementation_id,
        direct_counter_id=direct_counter_id,
        direct_meter_id=direct_meter_id,
        size=table.size,
        supports_idle_timeout=table.idle_timeout_behavior == p4i.Table.NOTIFY_CONTROL,
        is_const=table.is_const_table,
    )
