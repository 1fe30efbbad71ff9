"""Plain data types of the engine's public API (match parameters, action references, views)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

DEFAULT_ENTRY = -1
"""Pseudo entry handle that designates a table's default entry (for its direct resources)."""


# --- match parameters: one per JSON key element, in JSON key order -----------------------

@dataclass(frozen=True, slots=True)
class Exact:
    value: int


@dataclass(frozen=True, slots=True)
class Lpm:
    value: int
    prefix_len: int


@dataclass(frozen=True, slots=True)
class Ternary:
    value: int
    mask: int


@dataclass(frozen=True, slots=True)
class Range:
    low: int
    high: int


@dataclass(frozen=True, slots=True)
class Optional:
    """An optional match: ``value`` None is the wildcard."""

    value: int | None


MatchParam = Exact | Lpm | Ternary | Range | Optional


# --- action references -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ActionCall:
    action: str
    params: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class MemberRef:
    member_id: int


@dataclass(frozen=True, slots=True)
class GroupRef:
    group_id: int


ActionRef = ActionCall | MemberRef | GroupRef


# --- results and views -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class EntryView:
    handle: int
    key: tuple[MatchParam, ...]
    priority: int | None
    action: ActionRef
    timeout_ms: int | None
    is_const: bool
    time_since_hit_ns: int


@dataclass(frozen=True, slots=True)
class DigestSample:
    learn_list_id: int
    name: str
    values: tuple[int, ...]


class SplitFrame(NamedTuple):
    """A deparsed packet whose payload is left where the parser found it: the deparser's
    ``headers``, then ``payload``, a view of the input packet (``bytes``) to its end.  Only
    ``Engine.process(..., split=True)`` makes them: a caller that transmits the two pieces as
    they are saves a copy of the payload (64 KB for a GSO super-segment)."""

    headers: bytes
    payload: memoryview

    def joined(self) -> bytes:
        return self.headers + self.payload


Frame = bytes | SplitFrame
"""An output packet."""


@dataclass(slots=True)
class ProcessResult:
    """Everything one input packet produced: output packets in emission order and digests."""

    packets: list[tuple[int, Frame]] = field(default_factory=list)
    digests: list[DigestSample] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CloneSession:
    replicas: tuple[tuple[int, int], ...]
    class_of_service: int = 0
    packet_length_bytes: int = 0


# --- program description ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class KeyFieldInfo:
    name: str
    match_type: str
    bitwidth: int


@dataclass(frozen=True, slots=True)
class TableInfo:
    name: str
    id: int
    key: tuple[KeyFieldInfo, ...]
    action_names: tuple[str, ...]
    is_const: bool
    has_const_default: bool
    implementation: str | None
    direct_counter: str | None
    direct_meter: str | None
    support_timeout: bool
    max_size: int
    default_action: ActionCall | None


@dataclass(frozen=True, slots=True)
class ActionParamInfo:
    name: str
    bitwidth: int


@dataclass(frozen=True, slots=True)
class ActionInfo:
    name: str
    id: int
    params: tuple[ActionParamInfo, ...]


@dataclass(frozen=True, slots=True)
class CounterInfo:
    name: str
    id: int
    size: int
    is_direct: bool
    binding: str | None


@dataclass(frozen=True, slots=True)
class MeterInfo:
    name: str
    id: int
    size: int
    is_direct: bool
    binding: str | None
    type: str
    rate_count: int


@dataclass(frozen=True, slots=True)
class RegisterInfo:
    name: str
    id: int
    size: int
    bitwidth: int


@dataclass(frozen=True, slots=True)
class ActionProfileInfo:
    name: str
    id: int
    max_size: int
    has_selector: bool
    tables: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LearnListInfo:
    id: int
    name: str
    fields: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class HeaderTypeInfo:
    name: str
    id: int
    fields: tuple[tuple[str, int, bool], ...]
    """(field name, bitwidth, signed); a varbit field has its maximum width."""


@dataclass(frozen=True, slots=True)
class ProgramInfo:
    tables: dict[str, TableInfo]
    actions: dict[str, ActionInfo]
    counters: dict[str, CounterInfo]
    meters: dict[str, MeterInfo]
    registers: dict[str, RegisterInfo]
    action_profiles: dict[str, ActionProfileInfo]
    learn_lists: dict[str, LearnListInfo]
    header_types: dict[str, HeaderTypeInfo]
    parse_vsets: dict[str, int]
    """parse value set name -> compressed bitwidth."""
