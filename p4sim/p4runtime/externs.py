"""Indexed externs: counters, meters (indirect and direct) and registers.

Wildcard reads follow the spec (id 0 = every array, no index = every cell).  Writes need an
index.  Register entries are UNIMPLEMENTED, exactly as in simple_switch_grpc (PI).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import grpc
from finsy.proto import p4r

from p4sim.engine import Engine
from p4sim.p4runtime.counters import counter_data
from p4sim.p4runtime.errors import (
    P4RuntimeError,
    engine_errors,
    invalid_argument,
    unimplemented,
)
from p4sim.p4runtime.meters import decode_meter_config, encode_meter_config
from p4sim.p4runtime.p4info_index import IndexedSpec, P4InfoIndex
from p4sim.p4runtime.tables import Tables

Message = TypeVar("Message", p4r.CounterEntry, p4r.MeterEntry)


def _out_of_range(spec: IndexedSpec, index: int) -> P4RuntimeError:
    return P4RuntimeError(
        grpc.StatusCode.OUT_OF_RANGE, f"Index {index} out of range for '{spec.name}' "
        f"of size {spec.size}")


def _write_index(spec: IndexedSpec, message: p4r.CounterEntry | p4r.MeterEntry) -> int:
    if not message.HasField("index"):
        raise unimplemented(f"Wildcard write is not supported for '{spec.name}'")
    index = message.index.index
    if index < 0:
        raise invalid_argument("A negative number is not a valid index value")
    if index >= spec.size:
        raise _out_of_range(spec, index)
    return index


class Externs:
    """Counter/meter/register entities of one pipeline; the caller holds the device lock."""

    def __init__(self, engine: Engine, index: P4InfoIndex, tables: Tables) -> None:
        self._engine = engine
        self._index = index
        self._tables = tables

    # --- indirect counters ---------------------------------------------------------------

    def write_counter(self, update_type: int, entry: p4r.CounterEntry) -> None:
        spec = self._index.counters.get(entry.counter_id)
        if spec is None:
            raise invalid_argument(f"Unknown counter id {entry.counter_id}")
        index = _write_index(spec, entry)
        data = _counter_update(update_type, entry.data)
        with engine_errors(f"writing counter '{spec.name}'"):
            self._engine.counter_write(spec.name, index, data.byte_count, data.packet_count)

    def read_counters(self, request: p4r.CounterEntry) -> list[p4r.CounterEntry]:
        def fill(spec: IndexedSpec, index: int) -> p4r.CounterEntry:
            byte_count, packet_count = self._engine.counter_read(spec.name, index)
            message = p4r.CounterEntry(counter_id=spec.id,
                                       data=counter_data(spec.unit, byte_count, packet_count))
            message.index.index = index
            return message
        return _read_cells(self._index.counters, request.counter_id, request, "counter", fill)

    # --- indirect meters -----------------------------------------------------------------

    def write_meter(self, update_type: int, entry: p4r.MeterEntry) -> None:
        spec = self._index.meters.get(entry.meter_id)
        if spec is None:
            raise invalid_argument(f"Unknown meter id {entry.meter_id}")
        index = _write_index(spec, entry)
        rates = _meter_update(update_type, entry.config)
        with engine_errors(f"writing meter '{spec.name}'"):
            self._engine.meter_set(spec.name, index, rates)

    def read_meters(self, request: p4r.MeterEntry) -> list[p4r.MeterEntry]:
        def fill(spec: IndexedSpec, index: int) -> p4r.MeterEntry:
            message = p4r.MeterEntry(meter_id=spec.id)
            message.index.index = index
            rates = self._engine.meter_get(spec.name, index)
            if rates is not None:
                message.config.CopyFrom(encode_meter_config(rates))
            return message
        return _read_cells(self._index.meters, request.meter_id, request, "meter", fill)

    # --- direct counters and meters ------------------------------------------------------

    def write_direct_counter(self, update_type: int, entry: p4r.DirectCounterEntry) -> None:
        table_name, handle = self._direct_write_target(entry, "direct_counter_id")
        data = _counter_update(update_type, entry.data)
        with engine_errors(f"writing direct counter of '{table_name}'"):
            self._engine.direct_counter_write(
                table_name, handle, data.byte_count, data.packet_count)

    def read_direct_counters(self, request: p4r.DirectCounterEntry) -> list[p4r.DirectCounterEntry]:
        found: list[p4r.DirectCounterEntry] = []
        for table_entry, table_name, handle in self._direct_targets(
                request.table_entry, "direct_counter_id"):
            with engine_errors(f"reading direct counter of '{table_name}'"):
                byte_count, packet_count = self._engine.direct_counter_read(table_name, handle)
            unit = self._index.direct_counters[
                self._tables.table(table_entry.table_id).direct_counter_id].unit
            found.append(p4r.DirectCounterEntry(
                table_entry=table_entry, data=counter_data(unit, byte_count, packet_count)))
        return found

    def write_direct_meter(self, update_type: int, entry: p4r.DirectMeterEntry) -> None:
        table_name, handle = self._direct_write_target(entry, "direct_meter_id")
        rates = _meter_update(update_type, entry.config)
        with engine_errors(f"writing direct meter of '{table_name}'"):
            self._engine.direct_meter_set(table_name, handle, rates)

    def read_direct_meters(self, request: p4r.DirectMeterEntry) -> list[p4r.DirectMeterEntry]:
        found: list[p4r.DirectMeterEntry] = []
        for table_entry, table_name, handle in self._direct_targets(
                request.table_entry, "direct_meter_id"):
            with engine_errors(f"reading direct meter of '{table_name}'"):
                rates = self._engine.direct_meter_get(table_name, handle)
            message = p4r.DirectMeterEntry(table_entry=table_entry)
            if rates is not None:
                message.config.CopyFrom(encode_meter_config(rates))
            found.append(message)
        return found

    def _direct_write_target(self, entry: p4r.DirectCounterEntry | p4r.DirectMeterEntry,
                             resource: str) -> tuple[str, int]:
        """(table name, handle) of the entry a direct counter or meter write designates."""
        if not entry.HasField("table_entry"):
            raise invalid_argument(f"Missing table_entry field in {entry.DESCRIPTOR.name}")
        table, handle = self._tables.locate(entry.table_entry)
        if not getattr(table, resource):
            raise invalid_argument(f"Table '{table.name}' has no direct {_direct_kind(resource)}")
        return table.name, handle

    def _direct_targets(
        self, request: p4r.TableEntry, resource: str
    ) -> Iterator[tuple[p4r.TableEntry, str, int]]:
        """(key-only entry, table name, handle) for each entry a direct read designates."""
        if request.table_id == 0:
            tables = [t for _, t in sorted(self._index.tables.items()) if getattr(t, resource)]
        else:
            tables = [self._tables.table(request.table_id)]
            if not getattr(tables[0], resource):
                raise invalid_argument(
                    f"Table '{tables[0].name}' has no direct {_direct_kind(resource)}")
        for table in tables:
            if request.match or request.is_default_action:
                _, handle = self._tables.locate(request)
                yield request, table.name, handle
            else:
                for entry, handle in self._tables.key_entries(table):
                    yield entry, table.name, handle

    # --- registers -----------------------------------------------------------------------

    @staticmethod
    def write_register(update_type: int, entry: p4r.RegisterEntry) -> None:
        raise unimplemented("Register writes are not supported yet")

    @staticmethod
    def read_registers(request: p4r.RegisterEntry) -> list[p4r.RegisterEntry]:
        raise unimplemented("Register reads are not supported yet")


def _counter_update(update_type: int, data: p4r.CounterData) -> p4r.CounterData:
    if update_type == p4r.Update.MODIFY:
        if data.byte_count < 0 or data.packet_count < 0:
            raise invalid_argument("Counter values must not be negative")
        return data
    if update_type == p4r.Update.DELETE:
        return p4r.CounterData()
    raise invalid_argument("Counters can only be modified (MODIFY) or reset (DELETE)")


def _meter_update(update_type: int, config: p4r.MeterConfig) -> list[tuple[float, int]] | None:
    if update_type == p4r.Update.MODIFY:
        return decode_meter_config(config)
    if update_type == p4r.Update.DELETE:
        return None
    raise invalid_argument("Meters can only be modified (MODIFY) or reset (DELETE)")


def _read_cells(
    specs: dict[int, IndexedSpec], array_id: int, request: Message, kind: str,
    fill: Callable[[IndexedSpec, int], Message],
) -> list[Message]:
    if array_id and array_id not in specs:
        raise invalid_argument(f"Unknown {kind} id {array_id}")
    chosen = [specs[array_id]] if array_id else [specs[i] for i in sorted(specs)]
    found: list[Message] = []
    for spec in chosen:
        if request.HasField("index"):
            index = request.index.index
            if index < 0:
                raise invalid_argument("A negative number is not a valid index value")
            if index >= spec.size:
                raise _out_of_range(spec, index)
            indexes: range | list[int] = [index]
        else:
            indexes = range(spec.size)
        with engine_errors(f"reading {kind} '{spec.name}'"):
            found.extend(fill(spec, i) for i in indexes)
    return found


def _direct_kind(resource: str) -> str:
    """"counter" or "meter": which direct resource a TableSpec attribute name stands for."""
    return "counter" if resource == "direct_counter_id" else "meter"
