"""Match-action tables: entry management with BMv2's rules and fast per-packet lookup.

The lookup key is packed into one int (fields in JSON key order, most significant first), so
exact tables are one dict lookup, LPM tables one dict lookup per installed prefix length
(longest first) and ternary/range/optional tables a scan of entries sorted by priority
(BMv2: lower value wins; equal priorities go to the older handle).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from p4sim.engine.action_profiles import ActionProfile
from p4sim.engine.errors import AlreadyExistsError, InvalidEntryError, NotFoundError
from p4sim.engine.externs import Meter
from p4sim.engine.packet import Packet
from p4sim.engine.types import (
    ActionCall,
    ActionRef,
    Exact,
    GroupRef,
    Lpm,
    MatchParam,
    MemberRef,
    Optional,
    Range,
    Ternary,
)

NodeFn = Callable[[Packet, list[int]], Any]
ActionFn = Callable[[Packet, list[int], tuple[int, ...]], None]


@dataclass(slots=True)
class ActionSpec:
    name: str
    id: int
    fn: ActionFn
    param_widths: tuple[int, ...]
    body: tuple[str, ...] | None = None
    """The statements of ``fn`` (over ``p``, ``f`` and the action data ``d``) when they run
    straight through (no jumps, no return), so that generated code can take them in."""


@dataclass(slots=True)
class KeyField:
    name: str
    match_type: str
    width: int
    shift: int


class Entry:
    """One installed entry (or a table's default entry, handle -1)."""

    __slots__ = ("handle", "key", "priority", "ref", "fn", "args", "next", "bytes", "packets",
                 "meter", "timeout_ms", "last_hit_ns", "expired", "is_const", "value", "mask",
                 "ranges", "canon")

    def __init__(self, handle: int) -> None:
        self.handle = handle
        self.key: tuple[MatchParam, ...] = ()
        self.priority: int | None = None
        self.ref: ActionRef = ActionCall("", ())
        self.fn: ActionFn = _no_action
        self.args: tuple[int, ...] = ()
        self.next: NodeFn | None = None
        self.bytes = 0
        self.packets = 0
        self.meter: Meter | None = None
        self.timeout_ms: int | None = None
        self.last_hit_ns = 0
        self.expired = False
        self.is_const = False
        self.value = 0
        self.mask = 0
        self.ranges: tuple[tuple[int, int, int, int], ...] | None = None
        self.canon: Any = None


def _no_action(p: Packet, f: list[int], d: tuple[int, ...]) -> None:
    """What a table without default entry runs on a miss."""


class Table:
    def __init__(self, name: str, id_: int, kind: str, key_fields: list[KeyField],
                 key_fn: Callable[[list[int]], int], actions: dict[str, ActionSpec],
                 max_size: int, support_timeout: bool, clock_ns: Callable[[], int]) -> None:
        self.name = name
        self.id = id_
        self.kind = kind  # "exact" | "lpm" | "ternary" | "keyless"
        self.lookup: Callable[[int], Entry | None] = {
            "exact": self._lookup_exact, "lpm": self._lookup_lpm,
            "ternary": self._lookup_ternary}.get(kind, self._lookup_keyless)
        """The entry a key hits, by the table's match kind (chosen once, not per packet)."""
        self.key_fields = key_fields
        self.key_fn = key_fn
        self.actions = actions
        self.max_size = max_size
        self.support_timeout = support_timeout
        self.clock_ns = clock_ns
        self.is_const = False
        self.profile: ActionProfile | None = None
        self.with_counters = False
        self.meter_factory: Callable[[], Meter] | None = None
        self.direct_meter: str | None = None
        self.direct_meter_rates = 0
        self.meter_result_slot: int | None = None
        self.meter_result_mask = 0
        self.next_by_action: dict[str, NodeFn | None] = {}
        self.hit_next: NodeFn | None = None
        self.miss_next: NodeFn | None = None
        self.hit_miss = False
        self.entries: dict[int, Entry] = {}
        self.by_canon: dict[Any, Entry] = {}
        self.exact: dict[int, Entry] = {}
        self.lpm_levels: list[tuple[int, int, dict[int, Entry]]] = []
        self.ternary: list[Entry] = []
        self.json_default: ActionCall | None = None
        self.const_default_action: str | None = None
        self.default_entry_const = False
        self.default = Entry(-1)
        self.no_default_next: NodeFn | None = None
        """Where a miss goes when there is no default entry (BMv2's base_default_next)."""
        self._free_handles: list[int] = []
        self._next_handle = 0
        lpm = [k for k in key_fields if k.match_type == "lpm"]
        self.lpm_field = lpm[0] if lpm else None
        self.apply: NodeFn = self._apply_general
        """Run the table on a packet, return the next node; see :meth:`specialise`."""

    # --- linking ----------------------------------------------------------------------

    def next_for(self, action: str, hit: bool) -> NodeFn | None:
        if self.hit_miss:
            return self.hit_next if hit else self.miss_next
        return self.next_by_action.get(action)

    # --- actions ----------------------------------------------------------------------

    def bind_call(self, call: ActionCall) -> tuple[ActionFn, tuple[int, ...]]:
        spec = self.actions.get(call.action)
        if spec is None:
            raise InvalidEntryError(f"table {self.name!r}: action {call.action!r} is not one of "
                                    f"its actions {sorted(self.actions)}")
        if len(call.params) != len(spec.param_widths):
            raise InvalidEntryError(f"table {self.name!r}: action {call.action!r} takes "
                                    f"{len(spec.param_widths)} parameters, got {len(call.params)}")
        for i, (value, width) in enumerate(zip(call.params, spec.param_widths, strict=True)):
            if not isinstance(value, int) or value < 0 or value >> width:
                raise InvalidEntryError(f"table {self.name!r}: action {call.action!r} "
                                        f"parameter {i} value {value!r} does not fit in "
                                        f"{width} bits")
        return spec.fn, tuple(call.params)

    def _bind_ref(self, entry: Entry, ref: ActionRef, hit: bool) -> None:
        if isinstance(ref, ActionCall):
            if self.profile is not None and entry.handle != -1:
                raise InvalidEntryError(f"table {self.name!r} uses action profile "
                                        f"{self.profile.name!r}: give a member or group")
            entry.fn, entry.args = self.bind_call(ref)
            entry.next = self.next_for(ref.action, hit)
        elif isinstance(ref, MemberRef):
            if self.profile is None:
                raise InvalidEntryError(f"table {self.name!r} has no action profile")
            if ref.member_id not in self.profile.members:
                raise NotFoundError(f"action profile {self.profile.name!r}: no member "
                                    f"{ref.member_id}")
        elif isinstance(ref, GroupRef):
            if self.profile is None or self.profile.selector is None:
                raise InvalidEntryError(f"table {self.name!r} has no action selector")
            if ref.group_id not in self.profile.groups:
                raise NotFoundError(f"action profile {self.profile.name!r}: no group "
                                    f"{ref.group_id}")
        else:
            raise InvalidEntryError(f"table {self.name!r}: bad action reference {ref!r}")
        entry.ref = ref

    def _use(self, ref: ActionRef, delta: int) -> None:
        if self.profile is None:
            return
        if isinstance(ref, MemberRef):
            users = self.profile.member_users
            users[ref.member_id] = users.get(ref.member_id, 0) + delta
        elif isinstance(ref, GroupRef):
            users = self.profile.group_users
            users[ref.group_id] = users.get(ref.group_id, 0) + delta

    # --- keys -------------------------------------------------------------------------

    def _normalise(self, key: Sequence[MatchParam], priority: int | None
                   ) -> tuple[tuple[MatchParam, ...], int, int, tuple[Any, ...] | None, Any]:
        if len(key) != len(self.key_fields):
            raise InvalidEntryError(f"table {self.name!r}: expected {len(self.key_fields)} key "
                                    f"fields, got {len(key)}")
        value = 0
        mask = 0
        ranges: list[tuple[int, int, int, int]] = []
        normal: list[MatchParam] = []
        for kf, param in zip(self.key_fields, key, strict=True):
            full = (1 << kf.width) - 1
            what = f"table {self.name!r}, key field {kf.name!r}"

            def fits(v: Any, what: str = what, full: int = full) -> int:
                if not isinstance(v, int) or isinstance(v, bool) or v < 0 or v > full:
                    raise InvalidEntryError(f"{what}: value {v!r} does not fit in "
                                            f"{full.bit_length()} bits")
                return v

            mt = kf.match_type
            if mt in ("exact", "valid"):
                if not isinstance(param, Exact):
                    raise InvalidEntryError(f"{what}: exact match expected, got {param!r}")
                v, m = fits(param.value), full
                normal.append(Exact(v))
            elif mt == "lpm":
                if not isinstance(param, Lpm):
                    raise InvalidEntryError(f"{what}: lpm match expected, got {param!r}")
                if not isinstance(param.prefix_len, int) or not 0 <= param.prefix_len <= kf.width:
                    raise InvalidEntryError(f"{what}: prefix length {param.prefix_len!r} not in "
                                            f"[0, {kf.width}]")
                m = full ^ ((1 << (kf.width - param.prefix_len)) - 1)
                v = fits(param.value) & m
                normal.append(Lpm(v, param.prefix_len))
            elif mt == "ternary":
                if isinstance(param, Ternary):
                    m = fits(param.mask)
                    v = fits(param.value) & m
                    normal.append(Ternary(v, m))
                else:
                    raise InvalidEntryError(f"{what}: ternary match expected, got {param!r}")
            elif mt == "optional":
                if isinstance(param, Optional):
                    if param.value is None:
                        v, m = 0, 0
                    else:
                        v, m = fits(param.value), full
                    normal.append(Optional(param.value))
                else:
                    raise InvalidEntryError(f"{what}: optional match expected, got {param!r}")
            elif mt == "range":
                if not isinstance(param, Range):
                    raise InvalidEntryError(f"{what}: range match expected, got {param!r}")
                lo, hi = fits(param.low), fits(param.high)
                if lo > hi:
                    raise InvalidEntryError(f"{what}: range low {lo} > high {hi}")
                v, m = 0, 0
                if (lo, hi) != (0, full):
                    ranges.append((kf.shift, full, lo, hi))
                normal.append(Range(lo, hi))
            else:
                raise InvalidEntryError(f"{what}: unsupported match type {mt!r}")
            value |= v << kf.shift
            mask |= m << kf.shift
        if self.kind == "ternary":
            if priority is None:
                raise InvalidEntryError(f"table {self.name!r}: a priority is required")
            canon: Any = (value, mask, tuple(ranges), priority)
        else:
            canon = (value, mask)
        return tuple(normal), value, mask, (tuple(ranges) or None), canon

    # --- entry management -------------------------------------------------------------

    def _new_handle(self) -> int:
        if self._free_handles:
            self._free_handles.sort()
            return self._free_handles.pop(0)
        self._next_handle += 1
        return self._next_handle - 1

    def add(self, key: Sequence[MatchParam], ref: ActionRef, priority: int | None,
            timeout_ms: int | None, *, const: bool = False) -> int:
        if self.is_const and not const:
            raise InvalidEntryError(f"table {self.name!r} is const: its entries come from the "
                                    "program")
        if self.kind == "keyless":
            raise InvalidEntryError(f"table {self.name!r} has no key: entries cannot be added")
        if priority is not None and (not isinstance(priority, int) or priority < 0):
            raise InvalidEntryError(f"table {self.name!r}: bad priority {priority!r}")
        normal, value, mask, ranges, canon = self._normalise(key, priority)
        if canon in self.by_canon:
            raise AlreadyExistsError(f"table {self.name!r}: an entry with this key already "
                                     f"exists (handle {self.by_canon[canon].handle})")
        if self.max_size and len(self.entries) >= self.max_size:
            raise InvalidEntryError(f"table {self.name!r} is full ({self.max_size} entries)")
        if timeout_ms is not None:
            if not self.support_timeout:
                raise InvalidEntryError(f"table {self.name!r} does not support idle timeouts")
            if not isinstance(timeout_ms, int) or timeout_ms < 0:
                raise InvalidEntryError(f"table {self.name!r}: bad idle timeout {timeout_ms!r}")
        entry = Entry(-2)
        self._bind_ref(entry, ref, True)
        entry.handle = self._new_handle()
        entry.key = normal
        entry.priority = priority if self.kind == "ternary" else None
        entry.timeout_ms = timeout_ms
        entry.last_hit_ns = self.clock_ns()
        entry.is_const = const
        entry.value, entry.mask, entry.ranges, entry.canon = value, mask, ranges, canon
        if self.meter_factory is not None:
            entry.meter = self.meter_factory()
        self._use(ref, 1)
        self.entries[entry.handle] = entry
        self.by_canon[canon] = entry
        self._index(entry)
        return entry.handle

    def _index(self, entry: Entry) -> None:
        if self.kind == "exact":
            self.exact[entry.value] = entry
        elif self.kind == "lpm":
            for _, mask, level in self.lpm_levels:
                if mask == entry.mask:
                    level[entry.value] = entry
                    return
            lpm = self.lpm_field
            assert lpm is not None
            plen = bin(entry.mask >> lpm.shift & ((1 << lpm.width) - 1)).count("1")
            self.lpm_levels.append((plen, entry.mask, {entry.value: entry}))
            self.lpm_levels.sort(key=lambda lv: -lv[0])
        else:
            self.ternary.append(entry)
            self.ternary.sort(key=lambda e: (e.priority, e.handle))

    def _unindex(self, entry: Entry) -> None:
        if self.kind == "exact":
            del self.exact[entry.value]
        elif self.kind == "lpm":
            for i, (_, mask, level) in enumerate(self.lpm_levels):
                if mask == entry.mask:
                    del level[entry.value]
                    if not level:
                        del self.lpm_levels[i]
                    return
        else:
            self.ternary.remove(entry)

    def get(self, handle: int) -> Entry:
        entry = self.entries.get(handle)
        if entry is None:
            raise NotFoundError(f"table {self.name!r}: no entry with handle {handle}")
        return entry

    def modify(self, handle: int, ref: ActionRef) -> None:
        entry = self.get(handle)
        if entry.is_const:
            raise InvalidEntryError(f"table {self.name!r} is const: entries cannot be modified")
        old = entry.ref
        self._bind_ref(entry, ref, True)
        self._use(old, -1)
        self._use(ref, 1)

    def delete(self, handle: int) -> None:
        entry = self.get(handle)
        if entry.is_const:
            raise InvalidEntryError(f"table {self.name!r} is const: entries cannot be deleted")
        self._unindex(entry)
        del self.entries[handle]
        del self.by_canon[entry.canon]
        self._use(entry.ref, -1)
        self._free_handles.append(handle)

    def clear(self) -> None:
        for handle in [h for h, e in self.entries.items() if not e.is_const]:
            self.delete(handle)

    def find(self, key: Sequence[MatchParam], priority: int | None) -> int | None:
        _, _, _, _, canon = self._normalise(key, priority)
        entry = self.by_canon.get(canon)
        return entry.handle if entry is not None else None

    def set_default(self, ref: ActionRef, *, force: bool = False) -> None:
        """BMv2 rules: a const default entry cannot change at all; a const default action
        keeps its action but may take other action data."""
        if not force:
            if self.default_entry_const:
                raise InvalidEntryError(f"table {self.name!r}: the default entry is const")
            pinned = self.const_default_action
            if pinned is not None and not (isinstance(ref, ActionCall) and ref.action == pinned):
                raise InvalidEntryError(f"table {self.name!r}: the default action is const "
                                        f"({pinned})")
        self._bind_ref(self.default, ref, False)

    def reset_default(self) -> None:
        """Back to the program's default entry (or to none: a miss then runs nothing)."""
        if self.json_default is not None:
            self.set_default(self.json_default, force=True)
            return
        self.default.ref = ActionCall("", ())
        self.default.fn = _no_action
        self.default.args = ()
        self.default.next = self.no_default_next

    # --- data path --------------------------------------------------------------------

    def _lookup_exact(self, k: int) -> Entry | None:
        return self.exact.get(k)

    def _lookup_lpm(self, k: int) -> Entry | None:
        for _, mask, level in self.lpm_levels:
            entry = level.get(k & mask)
            if entry is not None:
                return entry
        return None

    def _lookup_ternary(self, k: int) -> Entry | None:
        for entry in self.ternary:
            if (k & entry.mask) == entry.value:
                ranges = entry.ranges
                if ranges is None or all(lo <= (k >> s) & m <= hi for s, m, lo, hi in ranges):
                    return entry
        return None

    @staticmethod
    def _lookup_keyless(k: int) -> Entry | None:
        return None

    def specialise(self) -> None:
        """Choose :attr:`apply` once the table is configured: a table without action
        profile, direct counter, direct meter or idle timeout only looks up its entry (or
        takes its default entry) and runs the action, with no test per packet for what it
        does not have."""
        if (self.profile is not None or self.with_counters or self.support_timeout
                or self.meter_factory is not None):
            self.apply = self._apply_general
            return
        default = self.default
        key_fn = self.key_fn

        def keyless(p: Packet, f: list[int]) -> NodeFn | None:
            default.fn(p, f, default.args)
            return None if p.exit else default.next

        exact = self.exact

        def exact_match(p: Packet, f: list[int]) -> NodeFn | None:
            entry = exact.get(key_fn(f)) or default
            entry.fn(p, f, entry.args)
            return None if p.exit else entry.next

        levels = self.lpm_levels

        def lpm_match(p: Packet, f: list[int]) -> NodeFn | None:
            k = key_fn(f)
            for _, mask, level in levels:
                entry = level.get(k & mask)
                if entry is not None:
                    break
            else:
                entry = default
            entry.fn(p, f, entry.args)
            return None if p.exit else entry.next

        lookup = self._lookup_ternary

        def ternary_match(p: Packet, f: list[int]) -> NodeFn | None:
            entry = lookup(key_fn(f)) or default
            entry.fn(p, f, entry.args)
            return None if p.exit else entry.next

        self.apply = {"exact": exact_match, "lpm": lpm_match,
                      "ternary": ternary_match}.get(self.kind, keyless)

    def _apply_general(self, p: Packet, f: list[int]) -> NodeFn | None:
        entry = self.lookup(self.key_fn(f)) if self.entries else None
        if entry is None:
            default = self.default
            ref = default.ref
            if isinstance(ref, ActionCall):
                default.fn(p, f, default.args)
                nxt = default.next
            else:
                nxt = self._run_indirect(ref, p, f, False)
        else:
            if self.with_counters:
                entry.bytes += p.ingress_length
                entry.packets += 1
            if self.support_timeout:
                entry.last_hit_ns = self.clock_ns()
                entry.expired = False
            if entry.meter is not None and self.meter_result_slot is not None:
                f[self.meter_result_slot] = entry.meter.execute(p.ingress_length) \
                    & self.meter_result_mask
            if self.profile is None:
                entry.fn(p, f, entry.args)
                nxt = entry.next
            else:
                nxt = self._run_indirect(entry.ref, p, f, True)
        if p.exit:
            return None
        return nxt

    def _run_indirect(self, ref: ActionRef, p: Packet, f: list[int], hit: bool) -> NodeFn | None:
        profile = self.profile
        if profile is None:
            return None
        if isinstance(ref, MemberRef):
            member = profile.members.get(ref.member_id)
        elif isinstance(ref, GroupRef):
            group = profile.groups.get(ref.group_id)
            member = profile.choose(group, p, f) if group is not None else None
        else:
            member = None
        if member is None:
            return self.next_for("", hit) if self.hit_miss else None
        member.fn(p, f, member.args)
        return self.next_for(member.call.action, hit)
