"""Validation and conversion of P4Runtime match keys (FieldMatch lists + priority).

The rules are those of the P4Runtime spec as PI enforces them: every exact field present, a
"don't care" expressed only by omitting the field (never a 0 prefix length, a 0 mask or a
full range), LPM values without bits past the prefix, ternary value & mask == value,
range low <= high.  The engine gets one MatchParam per key field in P4Info (= JSON) order.
"""

from __future__ import annotations

from collections.abc import Sequence

from finsy.proto import p4r

from p4sim.engine import Exact, Lpm, MatchParam, Optional, Range, Ternary
from p4sim.p4runtime import bytestrings
from p4sim.p4runtime.errors import invalid_argument
from p4sim.p4runtime.p4info_index import (
    EXACT,
    LPM,
    OPTIONAL,
    RANGE,
    TERNARY,
    MatchFieldSpec,
    TableSpec,
)

# PI's bmv2 backend inverts priorities around INT32_MAX: BMv2 picks the lowest number.
BMV2_MAX_PRIORITY = 2**31 - 1

_KIND_OF_TYPE: dict[int, str] = {EXACT: "exact", LPM: "lpm", TERNARY: "ternary", RANGE: "range",
                 OPTIONAL: "optional"}


def to_engine_priority(p4runtime_priority: int) -> int:
    return BMV2_MAX_PRIORITY - p4runtime_priority


def from_engine_priority(bmv2_priority: int) -> int:
    return BMV2_MAX_PRIORITY - bmv2_priority


def decode_key(
    table: TableSpec, matches: Sequence[p4r.FieldMatch], priority: int
) -> tuple[tuple[MatchParam, ...], int | None]:
    """Validated engine key and BMv2 priority (None for tables without priorities)."""
    by_id: dict[int, p4r.FieldMatch] = {}
    known = {f.id for f in table.match_fields}
    for match in matches:
        if match.field_id not in known:
            raise invalid_argument(
                f"Unknown match field id {match.field_id} for table '{table.name}'")
        if match.field_id in by_id:
            raise invalid_argument(
                f"Duplicate match field id {match.field_id} for table '{table.name}'")
        by_id[match.field_id] = match
    key = tuple(_decode_field(spec, by_id.get(spec.id)) for spec in table.match_fields)
    if table.needs_priority:
        if priority <= 0:
            raise invalid_argument(
                f"Table '{table.name}' requires a priority > 0 for its entries")
        return key, to_engine_priority(priority)
    if priority != 0:
        raise invalid_argument(
            f"Table '{table.name}' has no ternary, range or optional field: priority must be 0")
    return key, None


def _decode_field(spec: MatchFieldSpec, match: p4r.FieldMatch | None) -> MatchParam:
    width = spec.bitwidth
    what = f"match field '{spec.name}'"
    if match is None:
        if spec.match_type == EXACT:
            raise invalid_argument(f"Missing exact {what}")
        return _dont_care(spec)
    kind = match.WhichOneof("field_match_type")
    if kind != _KIND_OF_TYPE.get(spec.match_type):
        raise invalid_argument(
            f"{what} is {_KIND_OF_TYPE.get(spec.match_type, 'unsupported')}, got {kind}")
    if kind == "exact":
        return Exact(bytestrings.decode(match.exact.value, width, what))
    if kind == "lpm":
        value = bytestrings.decode(match.lpm.value, width, what)
        plen = match.lpm.prefix_len
        if plen < 0 or plen > width:
            raise invalid_argument(f"{what}: prefix length {plen} not in [1, {width}]")
        if plen == 0:
            raise invalid_argument(
                f"{what}: invalid representation of 'don't care' LPM match, "
                "omit the match field instead of using a prefix length of 0")
        if value & ((1 << (width - plen)) - 1):
            raise invalid_argument(
                f"{what}: invalid LPM value, bits past the prefix length must be 0")
        return Lpm(value, plen)
    if kind == "ternary":
        value = bytestrings.decode(match.ternary.value, width, what)
        mask = bytestrings.decode(match.ternary.mask, width, what)
        if mask == 0:
            raise invalid_argument(
                f"{what}: invalid representation of 'don't care' ternary match, "
                "omit the match field instead of using a 0 mask")
        if value & mask != value:
            raise invalid_argument(f"{what}: invalid ternary value, value & mask must == value")
        return Ternary(value, mask)
    if kind == "range":
        low = bytestrings.decode(match.range.low, width, what)
        high = bytestrings.decode(match.range.high, width, what)
        if low > high:
            raise invalid_argument(f"{what}: invalid range, low > high")
        if low == 0 and high == (1 << width) - 1:
            raise invalid_argument(
                f"{what}: invalid representation of 'don't care' range match, "
                "omit the match field instead")
        return Range(low, high)
    return Optional(bytestrings.decode(match.optional.value, width, what))


def _dont_care(spec: MatchFieldSpec) -> MatchParam:
    if spec.match_type == LPM:
        return Lpm(0, 0)
    if spec.match_type == TERNARY:
        return Ternary(0, 0)
    if spec.match_type == RANGE:
        return Range(0, (1 << spec.bitwidth) - 1)
    return Optional(None)


def encode_key(table: TableSpec, key: Sequence[MatchParam]) -> list[p4r.FieldMatch]:
    """P4Runtime FieldMatch list of an engine key, "don't care" fields omitted."""
    matches: list[p4r.FieldMatch] = []
    for spec, param in zip(table.match_fields, key, strict=False):
        match = p4r.FieldMatch(field_id=spec.id)
        if isinstance(param, Exact):
            match.exact.value = bytestrings.encode(param.value)
        elif isinstance(param, Lpm):
            if param.prefix_len == 0:
                continue
            match.lpm.value = bytestrings.encode(param.value)
            match.lpm.prefix_len = param.prefix_len
        elif isinstance(param, Ternary):
            if param.mask == 0:
                continue
            match.ternary.value = bytestrings.encode(param.value)
            match.ternary.mask = bytestrings.encode(param.mask)
        elif isinstance(param, Range):
            if param.low == 0 and param.high == (1 << spec.bitwidth) - 1:
                continue
            match.range.low = bytestrings.encode(param.low)
            match.range.high = bytestrings.encode(param.high)
        else:
            if param.value is None:
                continue
            match.optional.value = bytestrings.encode(param.value)
        matches.append(match)
    return matches
