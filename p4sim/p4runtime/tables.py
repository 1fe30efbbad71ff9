"""Table entries (match-action and default), with their direct counters and meters.

The engine holds the entries; this module keeps what only P4Runtime knows about them
(controller metadata, the idle timeout in ns, one-shot action sets) keyed by engine handle,
and a (key, priority) -> handle index for the controller's lookups.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from finsy.proto import p4r

from p4sim.engine import (
    DEFAULT_ENTRY,
    ActionCall,
    ActionRef,
    Engine,
    EntryView,
    GroupRef,
    MatchParam,
    MemberRef,
)
from p4sim.p4runtime.action_profiles import HIDDEN_ID_BASE, ActionProfiles
from p4sim.p4runtime.actions import decode_action, encode_action
from p4sim.p4runtime.counters import counter_data
from p4sim.p4runtime.errors import (
    already_exists,
    engine_errors,
    invalid_argument,
    not_found,
    permission_denied,
    resource_exhausted,
)
from p4sim.p4runtime.match_keys import decode_key, encode_key, from_engine_priority
from p4sim.p4runtime.meters import decode_meter_config, encode_meter_config
from p4sim.p4runtime.p4info_index import P4InfoIndex, TableSpec

Key = tuple[tuple[MatchParam, ...], int | None]


@dataclass(slots=True)
class _EntryState:
    key: Key
    controller_metadata: int = 0
    metadata: bytes = b""
    idle_timeout_ns: int = 0
    one_shot: GroupRef | None = None


class Tables:
    """Table entry writes and reads of one pipeline; the caller holds the device lock."""

    def __init__(self, engine: Engine, index: P4InfoIndex, profiles: ActionProfiles) -> None:
        self._engine = engine
        self._index = index
        self._profiles = profiles
        self._handles: dict[int, dict[Key, int]] = {t: {} for t in index.tables}
        self._states: dict[int, dict[int, _EntryState]] = {t: {} for t in index.tables}
        self._ids_by_name = {t.name: t.id for t in index.tables.values()}

    def table(self, table_id: int) -> TableSpec:
        spec = self._index.tables.get(table_id)
        if spec is None:
            raise invalid_argument(f"Unknown table id {table_id}")
        return spec

    # --- writes --------------------------------------------------------------------------

    def write(self, update_type: int, entry: p4r.TableEntry) -> None:
        table = self.table(entry.table_id)
        if update_type not in (p4r.Update.INSERT, p4r.Update.MODIFY, p4r.Update.DELETE):
            raise invalid_argument("Update type must be INSERT, MODIFY or DELETE")
        if entry.is_default_action:
            self._write_default(update_type, table, entry)
            return
        if table.is_const:
            raise permission_denied(f"Table '{table.name}' is const: its entries are immutable")
        key = decode_key(table, entry.match, entry.priority)
        if update_type == p4r.Update.INSERT:
            self._insert(table, key, entry)
            return
        handle = self._find(table, key)
        if handle is None:
            raise not_found(f"No such entry in table '{table.name}'")
        if update_type == p4r.Update.MODIFY:
            self._modify(table, handle, entry)
        else:
            self._delete(table, handle)

    def _insert(self, table: TableSpec, key: Key, entry: p4r.TableEntry) -> None:
        if self._find(table, key) is not None:
            raise already_exists(f"Entry already exists in table '{table.name}'")
        if 0 < table.size <= len(self._handles[table.id]):
            raise resource_exhausted(f"Table '{table.name}' is full ({table.size} entries)")
        timeout_ms, counter, meter, ref, one_shot = self._decode_entry(table, entry)
        with self._engine_call(table, one_shot, f"adding entry to '{table.name}'"):
            handle = self._engine.table_add(
                table.name, key[0], ref, priority=key[1], timeout_ms=timeout_ms)
        self._handles[table.id][key] = handle
        self._states[table.id][handle] = _EntryState(
            key, entry.controller_metadata, entry.metadata, entry.idle_timeout_ns, one_shot)
        self._apply_direct(table, handle, counter, meter)

    def _modify(self, table: TableSpec, handle: int, entry: p4r.TableEntry) -> None:
        state = self._states[table.id][handle]
        timeout_ms, counter, meter, ref, one_shot = self._decode_entry(table, entry)
        with self._engine_call(table, one_shot, f"modifying entry of '{table.name}'"):
            self._engine.table_modify(table.name, handle, ref)
            if timeout_ms is not None:
                self._engine.table_set_timeout(table.name, handle, timeout_ms)
        if state.one_shot is not None:
            self._profiles.delete_one_shot(table.implementation_id, state.one_shot)
        state.one_shot = one_shot
        state.controller_metadata = entry.controller_metadata
        state.metadata = entry.metadata
        if table.supports_idle_timeout:
            state.idle_timeout_ns = entry.idle_timeout_ns
        self._apply_direct(table, handle, counter, meter)

    def _decode_entry(self, table: TableSpec, entry: p4r.TableEntry) -> tuple[
        int | None, p4r.CounterData | None, list[tuple[float, int]] | None | bool,
        ActionRef, GroupRef | None,
    ]:
        """(timeout ms, direct counter, direct meter, action, one-shot group) of an entry to
        insert or modify; the one-shot group, if any, is already created."""
        if not entry.HasField("action"):
            raise invalid_argument(f"Missing action for an entry of table '{table.name}'")
        timeout_ms = self._timeout_ms(table, entry.idle_timeout_ns)
        counter, meter = self._direct_configs(table, entry)
        ref, one_shot = self._decode_table_action(table, entry.action, default=False)
        return timeout_ms, counter, meter, ref, one_shot

    @contextmanager
    def _engine_call(self, table: TableSpec, one_shot: GroupRef | None,
                     what: str) -> Iterator[None]:
        """engine_errors(what); a one-shot group made for a call that fails is deleted."""
        try:
            with engine_errors(what):
                yield
        except Exception:
            if one_shot is not None:
                self._profiles.delete_one_shot(table.implementation_id, one_shot)
            raise

    def _delete(self, table: TableSpec, handle: int) -> None:
        with engine_errors(f"deleting entry of '{table.name}'"):
            self._engine.table_delete(table.name, handle)
        state = self._states[table.id].pop(handle)
        self._handles[table.id].pop(state.key, None)
        if state.one_shot is not None:
            self._profiles.delete_one_shot(table.implementation_id, state.one_shot)

    def _write_default(self, update_type: int, table: TableSpec, entry: p4r.TableEntry) -> None:
        if update_type != p4r.Update.MODIFY:
            raise invalid_argument("The default entry can only be modified (MODIFY)")
        if entry.match or entry.priority:
            raise invalid_argument("A default entry has no match fields and no priority")
        if entry.idle_timeout_ns:
            raise invalid_argument("A default entry has no idle timeout")
        if table.const_default_action_id:
            raise permission_denied(f"The default action of table '{table.name}' is const")
        counter, meter = self._direct_configs(table, entry)
        if not entry.HasField("action"):
            with engine_errors(f"resetting default entry of '{table.name}'"):
                self._engine.table_reset_default(table.name)
        else:
            if entry.action.WhichOneof("type") == "action_profile_action_set":
                raise invalid_argument("A default entry cannot use an action set")
            ref, _ = self._decode_table_action(table, entry.action, default=True)
            with engine_errors(f"setting default entry of '{table.name}'"):
                self._engine.table_set_default(table.name, ref)
        self._apply_direct(table, DEFAULT_ENTRY, counter, meter)

    def _decode_table_action(
        self, table: TableSpec, action: p4r.TableAction, *, default: bool
    ) -> tuple[ActionRef, GroupRef | None]:
        kind = action.WhichOneof("type")
        if table.implementation_id == 0:
            if kind != "action":
                raise invalid_argument(
                    f"Table '{table.name}' has no action profile: expected a direct action")
            allowed = table.default_action_ids if default else table.entry_action_ids
            where = f"as {'default' if default else 'entry'} action of table '{table.name}'"
            return decode_action(self._index, action.action, allowed, where), None
        if kind == "action" or kind is None:
            raise invalid_argument(
                f"Table '{table.name}' uses an action profile: expected a member, "
                "a group or an action set")
        if kind == "action_profile_action_set":
            group = self._profiles.create_one_shot(
                table.implementation_id, action.action_profile_action_set)
            return group, group
        self._profiles.check_reference(table.implementation_id, action)
        if kind == "action_profile_member_id":
            return MemberRef(action.action_profile_member_id), None
        return GroupRef(action.action_profile_group_id), None

    def _timeout_ms(self, table: TableSpec, idle_timeout_ns: int) -> int | None:
        if idle_timeout_ns < 0:
            raise invalid_argument("idle_timeout_ns must not be negative")
        if idle_timeout_ns and not table.supports_idle_timeout:
            raise invalid_argument(f"Table '{table.name}' does not support idle timeout")
        return idle_timeout_ns // 1_000_000 if idle_timeout_ns else None

    def _find(self, table: TableSpec, key: Key) -> int | None:
        handle = self._handles[table.id].get(key)
        if handle is not None:
            return handle
        # Entries the JSON installs (P4 'entries') are unknown to the index until first use.
        handle = self._engine.table_find(table.name, key[0], key[1])
        if handle is not None:
            self._handles[table.id][key] = handle
            self._states[table.id][handle] = _EntryState(key)
        return handle

    # --- direct resources ----------------------------------------------------------------

    def _direct_configs(
        self, table: TableSpec, entry: p4r.TableEntry
    ) -> tuple[p4r.CounterData | None, list[tuple[float, int]] | None | bool]:
        counter = None
        meter: list[tuple[float, int]] | None | bool = False
        if entry.HasField("counter_data"):
            if not table.direct_counter_id:
                raise invalid_argument(f"Table '{table.name}' has no direct counter")
            counter = entry.counter_data
        if entry.HasField("meter_config"):
            if not table.direct_meter_id:
                raise invalid_argument(f"Table '{table.name}' has no direct meter")
            meter = decode_meter_config(entry.meter_config)
        return counter, meter

    def _apply_direct(
        self, table: TableSpec, handle: int, counter: p4r.CounterData | None,
        meter: list[tuple[float, int]] | None | bool,
    ) -> None:
        with engine_errors(f"writing direct resources of '{table.name}'"):
            if counter is not None:
                self._engine.direct_counter_write(
                    table.name, handle, counter.byte_count, counter.packet_count)
            if meter is not False:
                self._engine.direct_meter_set(
                    table.name, handle, meter if isinstance(meter, list) else None)

    def locate(self, entry: p4r.TableEntry) -> tuple[TableSpec, int]:
        """Table and engine handle of the entry a Direct{Counter,Meter}Entry designates.

        A missing entry is INVALID_ARGUMENT, as PI reports it ("Cannot map table entry to
        handle"); the spec names no code for it.
        """
        table = self.table(entry.table_id)
        if entry.is_default_action:
            return table, DEFAULT_ENTRY
        handle = self._find(table, decode_key(table, entry.match, entry.priority))
        if handle is None:
            raise invalid_argument(
                f"Cannot map table entry to handle: no such entry in table '{table.name}'")
        return table, handle

    def key_entries(self, table: TableSpec) -> Iterator[tuple[p4r.TableEntry, int]]:
        """Every entry of a table as a key-only TableEntry, with its handle."""
        for view in self._engine.table_entries(table.name):
            yield self._key_message(table, view.key, view.priority), view.handle

    # --- reads ---------------------------------------------------------------------------

    def read(self, request: p4r.TableEntry) -> list[p4r.TableEntry]:
        tables = [self.table(request.table_id)] if request.table_id else [
            self._index.tables[i] for i in sorted(self._index.tables)]
        found: list[p4r.TableEntry] = []
        for table in tables:
            if request.is_default_action:
                found.append(self._read_default(table))
                continue
            wanted: Key | None = None
            if request.match:
                wanted = decode_key(table, request.match, request.priority)
            for view in self._engine.table_entries(table.name):
                if wanted is not None and (view.key, view.priority) != wanted:
                    continue
                found.append(self._entry_message(table, view, request))
        return found

    def _read_default(self, table: TableSpec) -> p4r.TableEntry:
        message = p4r.TableEntry(table_id=table.id, is_default_action=True)
        with engine_errors(f"reading default entry of '{table.name}'"):
            ref = self._engine.table_get_default(table.name)
        self._encode_table_action(table, ref, message)
        return message

    def _key_message(
        self, table: TableSpec, key: tuple[MatchParam, ...], priority: int | None
    ) -> p4r.TableEntry:
        message = p4r.TableEntry(table_id=table.id)
        message.match.extend(encode_key(table, key))
        if priority is not None and table.needs_priority:
            message.priority = from_engine_priority(priority)
        return message

    def _entry_message(
        self, table: TableSpec, view: EntryView, request: p4r.TableEntry
    ) -> p4r.TableEntry:
        message = self._key_message(table, view.key, view.priority)
        self._encode_table_action(table, view.action, message)
        state = self._states[table.id].get(view.handle)
        if state is not None:
            message.controller_metadata = state.controller_metadata
            message.metadata = state.metadata
            message.idle_timeout_ns = state.idle_timeout_ns
        elif view.timeout_ms:
            message.idle_timeout_ns = view.timeout_ms * 1_000_000
        message.is_const = view.is_const
        if request.HasField("time_since_last_hit") and table.supports_idle_timeout:
            message.time_since_last_hit.elapsed_ns = view.time_since_hit_ns
        with engine_errors(f"reading direct resources of '{table.name}'"):
            if request.HasField("counter_data") and table.direct_counter_id:
                byte_count, packet_count = self._engine.direct_counter_read(
                    table.name, view.handle)
                unit = self._index.direct_counters[table.direct_counter_id].unit
                message.counter_data.CopyFrom(counter_data(unit, byte_count, packet_count))
            if request.HasField("meter_config") and table.direct_meter_id:
                rates = self._engine.direct_meter_get(table.name, view.handle)
                if rates is not None:
                    message.meter_config.CopyFrom(encode_meter_config(rates))
        return message

    def _encode_table_action(
        self, table: TableSpec, ref: ActionRef | None, message: p4r.TableEntry
    ) -> None:
        if isinstance(ref, ActionCall):
            message.action.action.CopyFrom(encode_action(self._index, ref))
        elif isinstance(ref, MemberRef):
            message.action.action_profile_member_id = ref.member_id
        elif isinstance(ref, GroupRef):
            if ref.group_id >= HIDDEN_ID_BASE:
                message.action.action_profile_action_set.CopyFrom(
                    self._profiles.encode_one_shot(table.implementation_id, ref))
            else:
                message.action.action_profile_group_id = ref.group_id

    # --- idle timeout --------------------------------------------------------------------

    def expired(self) -> list[p4r.TableEntry]:
        """Entries whose idle timeout elapsed, as IdleTimeoutNotification wants them."""
        expired: list[p4r.TableEntry] = []
        for table_name, handle in self._engine.expired_entries():
            table_id = self._ids_by_name.get(table_name)
            if table_id is None:
                continue
            table = self._index.tables[table_id]
            state = self._states[table_id].get(handle)
            if state is None:
                continue
            message = self._key_message(table, state.key[0], state.key[1])
            message.idle_timeout_ns = state.idle_timeout_ns
            message.controller_metadata = state.controller_metadata
            message.metadata = state.metadata
            expired.append(message)
        return expired
