"""One switch, driven over P4Runtime with finsy.

On every (re)connection as primary the agent pushes the pipeline (finsy skips it when the
switch already runs the same one), reads everything the switch holds and writes only the
difference with the desired state: connection entries it does not know are adopted (they
are live client connections), the rest is repaired.  While primary it serves packet-ins
(controller-scheduled new connections), digests (connections the data plane scheduled
with Maglev) and idle-timeout notifications (connections that ended).

As a backup (another controller holds a higher election id, docs/ha.md) it writes
nothing: the switch would refuse it.  It reads the switch now and then instead and keeps
the ids and pinned connections in step, so that a takeover only repairs what changed.

Every state change and every switch write happens under the daemon's one lock.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Iterable
from ipaddress import IPv4Address
from typing import Any, cast

from finsy import (
    P4ClientError,
    P4CounterEntry,
    P4DigestEntry,
    P4DigestList,
    P4MeterConfig,
    P4MeterEntry,
    P4PacketIn,
    P4PacketOut,
    P4TableEntry,
    Switch,
    SwitchEvent,
    SwitchOptions,
)

from controller.config import PipelineConfig, SwitchConfig
from controller.dataplane import (
    BACKEND_COUNTER,
    BACKEND_TABLE,
    CONNECTION_TABLE,
    MAGLEV_TABLE,
    NAT_REVERSE_TABLE,
    NEW_CONNECTION_DIGEST,
    PACKET_IN_METER,
    PACKET_IN_REASON_NEW_CONNECTION,
    PACKET_IN_REASON_SPLICE_CLIENT,
    PACKET_IN_REASON_SPLICE_SERVER,
    PACKET_OUT_MODE_PIPELINE,
    SERVICE_COUNTER,
    SERVICE_TABLE,
    SPLICE_TABLES,
    SPLICE_TEARDOWN_DIGEST,
    WRITE_ORDER,
    Entry,
    connection_entry,
    desired_entries,
    desired_meters,
    flow_of,
)
from controller.l7.segments import RST, parse_segment, reset_reply
from controller.l7.syncookies import SynCookies
from controller.metrics import MeasuredWrites, SwitchMeter
from controller.packets import parse_flow
from controller.reconcile import EntryDiff, diff_entries
from controller.splicing import SpliceDriver
from controller.state import Connection, FlowKey, LbState, StateError

LOG = logging.getLogger(__name__)
WRITE_BATCH = 500
DIGEST_MAX_LIST = 64
DIGEST_MAX_TIMEOUT_NS = 1_000_000
DIGEST_ACK_TIMEOUT_NS = 1_000_000_000
SPLICE_TICK_S = 0.2  # splicer timers: request timeout, SYN retransmission, lingers
# Stream messages wait here while a resynchronisation holds the lock (a takeover): a
# queue finsy finds full drops the message, and a dropped SYN costs its client 1 s.
STREAM_QUEUE_SIZE = 4096
FOLLOW_PERIOD_S = 5.0  # a backup reads the switch's entries this often (reads load it)
SPLICE_REASONS = (PACKET_IN_REASON_SPLICE_CLIENT, PACKET_IN_REASON_SPLICE_SERVER)
# What a switch message the controller cannot use raises; it is logged, never fatal.
MALFORMED = (StateError, KeyError, TypeError, ValueError)


class SwitchAgent:
    """Keeps one switch in sync with the desired state and serves its stream."""

    def __init__(self, config: SwitchConfig, pipeline: PipelineConfig, state: LbState,
                 lock: asyncio.Lock, cookies: SynCookies | None = None,
                 election_id: int | None = None) -> None:
        self.config = config
        self.state = state
        self.lock = lock
        options = SwitchOptions(p4info=pipeline.p4info, p4blob=pipeline.bmv2_json,
                                device_id=config.device_id, ready_handler=self._on_ready)
        if election_id is not None:
            options = dataclasses.replace(options, initial_election_id=election_id)
        self.switch = Switch(config.name, config.address, options)
        self.meter = SwitchMeter()
        self.writes = MeasuredWrites(self.switch, self.meter)  # every Write RPC goes here
        self.switch.ee.on(SwitchEvent.CHANNEL_DOWN, self._on_down)
        self.switch.ee.on(SwitchEvent.BECOME_BACKUP, self._on_backup)
        # gRPC allows one write at a time on a stream: packet-outs and digest acks of the
        # different handler tasks take turns.
        self._stream_lock = asyncio.Lock()
        self.splicing = SpliceDriver(config, self.writes, state, cookies or SynCookies(),
                                     send=self.send_stream)
        self.installed: dict[Any, Entry] = {}  # what the switch holds, connections aside
        self.installed_conns: dict[Any, Entry] = {}  # FlowKey -> its connection entry
        self.installed_meters: dict[int, tuple[int, int]] = {}  # packet_in_meter configs
        self._conns_version = -1  # state version the connection entries were synced at
        self.ready = False  # primary, and synchronised since it became primary
        self.needs_resync = False
        self.followed = False  # was a backup: the switch's ids are the truth at takeover
        self.status = "connecting"

    @property
    def name(self) -> str:
        return self.config.name

    # ----- lifecycle ------------------------------------------------------------------
    async def _on_ready(self, switch: Switch) -> None:
        """finsy calls this each time the channel is ready: connected, or primary or
        backup again; the tasks it starts end when the role changes."""
        if not switch.is_primary:
            self._on_backup(switch)
            switch.create_task(self._follow())
            return
        switch.create_task(self._serve_packet_ins())
        switch.create_task(self._serve_digests())
        switch.create_task(self._serve_idle_timeouts())
        if self._has_digest(SPLICE_TEARDOWN_DIGEST):
            switch.create_task(self._serve_teardown_digests())
        switch.create_task(self._serve_splice_timers())
        started = time.monotonic()
        async with self.lock:
            await self._enable_digests()
            await self.full_resync()
        LOG.info("%s: synchronised (%d entries, %d connections) in %.0f ms", self.name,
                 len(self.installed), len(self.installed_conns),
                 (time.monotonic() - started) * 1000)

    def describe(self) -> dict[str, Any]:
        """Status for the management API: ``connected`` is the P4Runtime channel being up,
        ``synchronised`` that the switch holds the desired state (a full resynchronisation
        ran since it connected, and no write failed since)."""
        up = self.switch.is_up
        return {"name": self.name, "address": self.config.address,
                "device_id": self.config.device_id, "connected": up,
                "synchronised": self.ready and not self.needs_resync, "status": self.status,
                "role": self.role, "election_id": self.switch.election_id,
                "primary_election_id": self.switch.primary_id if up else None}

    @property
    def role(self) -> str:
        """This controller's role on the switch: primary, backup or none (not connected)."""
        if not self.switch.is_up:
            return "none"
        return "primary" if self.switch.is_primary else "backup"

    def _on_down(self, switch: Switch) -> None:
        self.ready = False
        self.status = "down (will be synchronised when it reconnects)"
        LOG.warning("%s: P4Runtime channel down", self.name)

    def _on_backup(self, switch: Switch) -> None:
        if self.ready or not self.followed:
            LOG.info("%s: backup (the primary has election id %d, this controller %d)",
                     self.name, switch.primary_id, switch.election_id)
        self.ready = False
        self.followed = True
        self.status = f"backup (primary: election id {switch.primary_id})"

    async def _follow(self) -> None:
        """Backup: mirror the ids and connections the primary keeps in the switch."""
        while True:
            try:
                async with self.lock:
                    await self._mirror()
            except P4ClientError as err:
                LOG.warning("%s: backup read failed: %s", self.name, err)
            await asyncio.sleep(FOLLOW_PERIOD_S)

    def _has_digest(self, name: str) -> bool:
        return any(d.alias == name or d.name == name for d in self.switch.p4info.digests)

    async def _enable_digests(self) -> None:
        for name in (NEW_CONNECTION_DIGEST, SPLICE_TEARDOWN_DIGEST):
            if not self._has_digest(name):
                continue
            digest = P4DigestEntry(name, max_list_size=DIGEST_MAX_LIST,
                                   max_timeout_ns=DIGEST_MAX_TIMEOUT_NS,
                                   ack_timeout_ns=DIGEST_ACK_TIMEOUT_NS)
            try:
                await self.writes.insert([digest])
            except P4ClientError:
                await self.writes.modify([digest])  # already configured (controller restart)

    # ----- reconciliation ---------------------------------------------------------------
    async def _read_entries(self) -> tuple[dict[Any, Entry], dict[Any, Entry],
                                           dict[str, list[Entry]]]:
        """The switch's entries: lbd's own tables, connections, splices."""
        actual: dict[Any, Entry] = {}
        actual_conns: dict[Any, Entry] = {}
        splices: dict[str, list[Entry]] = {table: [] for table in SPLICE_TABLES}
        async for read in _read(self.switch, [P4TableEntry()]):
            try:
                found = Entry.from_p4(read)
            except (ValueError, KeyError) as err:
                LOG.warning("%s: ignoring unexpected entry %r: %s", self.name, read, err)
                continue
            if found.table == CONNECTION_TABLE:
                actual_conns[flow_of(found)] = found
            elif found.table in splices:
                splices[found.table].append(found)
            elif found.table in WRITE_ORDER:  # tables lbd does not own are left alone
                actual[found.key] = found
        return actual, actual_conns, splices

    async def _mirror(self) -> None:
        """Backup: take the switch's ids and pinned connections as they are.  Lock held."""
        actual, actual_conns, _ = await self._read_entries()
        if actual:
            self._adopt_ids(actual, actual_conns)
        for conn in list(self.state.connections_on(self.name)):
            if conn.flow not in actual_conns:
                self.state.unpin(self.name, conn.flow)  # ended while this was a backup
        self._adopt_connections(actual, actual_conns)

    async def full_resync(self) -> None:
        """Read everything, adopt live connections, write the difference.  Lock held."""
        actual, actual_conns, splices = await self._read_entries()
        if not self.state.ids_adopted or (self.followed and actual):
            self._adopt_ids(actual, actual_conns)  # a takeover: the old primary's ids hold
        self._adopt_connections(actual, actual_conns)
        desired = desired_entries(self.state, self.config)
        diff = diff_entries(desired, actual)
        await self._write(diff)
        self.installed = desired
        desired_conns = self._desired_connections()
        conn_diff = diff_entries(desired_conns, actual_conns)
        await self._write(conn_diff)
        self.installed_conns = desired_conns
        await self._write_meters(desired_meters(self.state, self.config),
                                 await self._read_meters())
        self.splicing.refresh_services()
        await self.splicing.reconcile(*splices.values())
        self._conns_version = self.state.version
        self.ready, self.needs_resync, self.status = True, False, "ok"
        if diff or conn_diff:
            LOG.info("%s: repaired entries: %s; connections: %s", self.name, diff, conn_diff)

    async def sync(self) -> str:
        """Write what changed in the desired state since the last sync.  Lock held."""
        if not self.ready:
            return self.status
        try:
            if self.needs_resync:
                await self.full_resync()
                return self.status
            version = self.state.version
            desired = desired_entries(self.state, self.config)
            await self._write(diff_entries(desired, self.installed))
            self.installed = desired
            self.splicing.refresh_services()
            await self._write_meters(desired_meters(self.state, self.config),
                                     self.installed_meters)
            if version != self._conns_version:
                # Only a state change (service removed, removal timeout, ...) drops or
                # re-points connections; the stream handlers keep the rest in step.
                desired_conns = self._desired_connections()
                await self._write(diff_entries(desired_conns, self.installed_conns))
                self.installed_conns = desired_conns
                self._conns_version = version
        except P4ClientError as err:
            self.needs_resync = True
            self.status = f"error: {err.message} (retrying)"
            LOG.error("%s: write failed, will resynchronise: %s", self.name, err)
        return self.status

    async def _read_meters(self) -> dict[int, tuple[int, int]]:
        """Configured packet_in_meter cells: index -> (rate, burst).  An unconfigured cell
        reads back with its config unset or all zero."""
        out = {}
        async for read in _read(self.switch, [P4MeterEntry(PACKET_IN_METER)]):
            config = read.config if isinstance(read, P4MeterEntry) else None
            if config is not None and read.index is not None and (config.cir or config.pir):
                out[read.index] = (config.cir, config.cburst)
        return out

    async def _write_meters(self, desired: dict[int, tuple[int, int]],
                            actual: dict[int, tuple[int, int]]) -> None:
        """Configure packet_in_meter cells that differ; reset the ones no longer used."""
        updates = [P4MeterEntry(PACKET_IN_METER, index=index,
                                config=P4MeterConfig(cir=rate, cburst=burst, pir=rate,
                                                     pburst=burst))
                   for index, (rate, burst) in desired.items()
                   if actual.get(index) != (rate, burst)]
        updates += [P4MeterEntry(PACKET_IN_METER, index=index)
                    for index in actual if index not in desired]
        if updates:
            await self.writes.modify(updates)
        self.installed_meters = dict(desired)

    def _desired_connections(self) -> dict[Any, Entry]:
        return {c.flow: connection_entry(self.state, c)
                for c in self.state.connections_on(self.name)}

    async def _write(self, diff: EntryDiff) -> None:
        for operation, entries in diff.batches(WRITE_ORDER):
            for start in range(0, len(entries), WRITE_BATCH):
                batch = [e.to_p4() for e in entries[start:start + WRITE_BATCH]]
                if operation == "insert":
                    await self.writes.insert(batch)
                elif operation == "modify":
                    await self.writes.modify(batch)
                else:
                    await self.writes.delete(batch, strict=False)

    def _adopt_ids(self, actual: dict[Any, Entry], conns: dict[Any, Entry]) -> None:
        """Take over the service and backend ids the switch uses (controller restart)."""
        services: dict[str, int] = {}
        service_of_id: dict[int, str] = {}
        for found in actual.values():
            if found.table == SERVICE_TABLE:
                fields, params = dict(found.match), dict(found.params)
                vip, protocol, port = fields["vip"], fields["protocol"], fields["port"]
                if isinstance(vip, int) and isinstance(port, int) and isinstance(protocol, int):
                    service = self.state.service_for(_ip(vip), port, protocol)
                    if service is not None:
                        services[service.name] = params["service_id"]
                        service_of_id[params["service_id"]] = service.name
        backend_service: dict[int, str] = {}
        for found in actual.values():
            params = dict(found.params)
            if found.table in (MAGLEV_TABLE, NAT_REVERSE_TABLE):
                service_id = params.get("service_id", dict(found.match).get("service_id"))
                if isinstance(service_id, int) and service_id in service_of_id:
                    backend_service[params["backend_id"]] = service_of_id[service_id]
        for flow, found in conns.items():
            service = self.state.service_for(flow.vip, flow.vport, flow.protocol)
            if service is not None:
                backend_service.setdefault(dict(found.params)["backend_id"], service.name)
        backends: dict[tuple[str, str], int] = {}
        for backend_id, (service_name, name) in self._backends_on_switch(
                actual, backend_service).items():
            backends[(service_name, name)] = backend_id
        self.state.adopt_ids(services, backends)
        LOG.info("%s: adopted %d service and %d backend ids", self.name, len(services),
                 len(backends))

    def _backends_on_switch(self, actual: dict[Any, Entry],
                            backend_service: dict[int, str]) -> dict[int, tuple[str, str]]:
        """backend id -> (service, backend name) for the switch's backend_table entries."""
        out: dict[int, tuple[str, str]] = {}
        for found in actual.values():
            if found.table != BACKEND_TABLE:
                continue
            backend_id = dict(found.match)["backend_id"]
            params = dict(found.params)
            service_name = backend_service.get(backend_id) if isinstance(backend_id, int) \
                else None
            if service_name is None or not isinstance(backend_id, int):
                continue
            for backend in self.state.backends_in_use(self.state.service(service_name)):
                if (int(backend.address), backend.port) == (params["addr"], params["port"]):
                    out[backend_id] = (service_name, backend.name)
        return out

    def _adopt_connections(self, actual: dict[Any, Entry], conns: dict[Any, Entry]) -> None:
        """Pin connections the switch holds that the controller does not know."""
        id_to_endpoint = {dict(e.match)["backend_id"]: (dict(e.params)["addr"],
                                                        dict(e.params)["port"])
                          for e in actual.values() if e.table == BACKEND_TABLE}
        adopted = 0
        for flow, found in conns.items():
            if (self.name, flow) in self.state.connections:
                continue
            service = self.state.service_for(flow.vip, flow.vport, flow.protocol)
            endpoint = id_to_endpoint.get(dict(found.params)["backend_id"])
            if service is None or endpoint is None:
                continue
            for backend in self.state.backends_in_use(service):
                if (int(backend.address), backend.port) == endpoint:
                    self.state.pin(self.name, flow, backend.name, "adopted")
                    adopted += 1
                    break
        if adopted:
            LOG.info("%s: adopted %d pinned connections", self.name, adopted)

    # ----- stream handlers --------------------------------------------------------------
    async def install_connection(self, conn: Connection) -> None:
        """Pin one connection in the switch (lock held)."""
        wanted = connection_entry(self.state, conn)
        if self.installed_conns.get(conn.flow) == wanted:
            return
        if conn.flow in self.installed_conns:
            await self.writes.modify([wanted.to_p4()])
        else:
            await self.writes.insert([wanted.to_p4()])
        self.installed_conns[conn.flow] = wanted

    async def _serve_packet_ins(self) -> None:
        async for packet in self.switch.read_packets(queue_size=STREAM_QUEUE_SIZE):
            self.meter.packet_in(packet.metadata.get("reason"))
            try:
                await self._schedule_packet_in(packet)
            except (P4ClientError, *MALFORMED) as err:
                LOG.warning("%s: packet-in not handled: %s", self.name, err)

    async def _schedule_packet_in(self, packet: P4PacketIn) -> None:
        reason = packet.metadata.get("reason")
        if reason in SPLICE_REASONS:
            async with self.lock:
                if self.ready:
                    await self.splicing.packet_in(packet.payload,
                                                  int(packet.metadata["ingress_port"]))
            return
        if reason != PACKET_IN_REASON_NEW_CONNECTION:
            return
        flow = parse_flow(packet.payload)
        if flow is None:
            LOG.debug("%s: packet-in without an IPv4 TCP/UDP flow ignored", self.name)
            return
        async with self.lock:
            if not self.ready:
                return
            conn = self.state.schedule(self.name, flow)
            if conn is None:
                await self._refuse(packet, flow)
                return
            await self.install_connection(conn)
        await self.send_stream([P4PacketOut(packet.payload, egress_port=0,
                                             ingress_port=packet.metadata["ingress_port"],
                                             mode=PACKET_OUT_MODE_PIPELINE)])

    async def _refuse(self, packet: P4PacketIn, flow: FlowKey) -> None:
        """No server can take the connection: a TCP client gets a RST at once (no black
        hole to time out in); UDP is dropped."""
        segment = parse_segment(packet.payload)
        if segment is None or segment.flags & RST:
            LOG.info("%s: no backend available for %s: dropped", self.name, flow)
            return
        LOG.info("%s: no backend available for %s: reset", self.name, flow)
        await self.send_stream([P4PacketOut(reset_reply(self.config.router_mac, segment),
                                            egress_port=0,
                                            ingress_port=packet.metadata["ingress_port"],
                                            mode=PACKET_OUT_MODE_PIPELINE)])

    async def send_stream(self, messages: list[Any]) -> None:
        """Stream messages (packet-outs, digest acks), one stream write at a time."""
        async with self._stream_lock:
            await self.switch.write(messages)

    async def _serve_digests(self) -> None:
        async for digests in self.switch.read_digests(NEW_CONNECTION_DIGEST,
                                                 queue_size=STREAM_QUEUE_SIZE):
            try:
                await self.send_stream([digests.ack()])
                await self._pin_digests(digests)
            except (P4ClientError, *MALFORMED) as err:
                LOG.warning("%s: digest not handled: %r", self.name, err)

    async def _pin_digests(self, digests: P4DigestList) -> None:
        async with self.lock:
            if not self.ready:
                return
            for item in digests:
                if not isinstance(item, dict):
                    continue
                flow = FlowKey(_ip(item["client_addr"]), item["client_port"], _ip(item["vip"]),
                               item["vip_port"], item["protocol"])
                chosen = self.state.backend_by_id(item["backend_id"])
                if chosen is None or (self.name, flow) in self.state.connections:
                    continue
                conn = self.state.pin(self.name, flow, chosen[1], "dataplane")
                await self.install_connection(conn)

    async def _serve_teardown_digests(self) -> None:
        async for digests in self.switch.read_digests(SPLICE_TEARDOWN_DIGEST,
                                                 queue_size=STREAM_QUEUE_SIZE):
            try:
                await self.send_stream([digests.ack()])
                async with self.lock:
                    if self.ready:
                        await self.splicing.teardown_digests(digests)
            except (P4ClientError, *MALFORMED) as err:
                LOG.warning("%s: teardown digest not handled: %r", self.name, err)

    async def _serve_splice_timers(self) -> None:
        while True:
            await asyncio.sleep(SPLICE_TICK_S)
            try:
                async with self.lock:
                    if self.ready:
                        await self.splicing.tick()
            except P4ClientError as err:
                LOG.warning("%s: splicer timers: %s", self.name, err)

    async def _serve_idle_timeouts(self) -> None:
        async for notification in self.switch.read_idle_timeouts(queue_size=STREAM_QUEUE_SIZE):
            try:
                await self._end_connections(notification.table_entry)
            except P4ClientError as err:
                LOG.warning("%s: idle timeout not handled: %s", self.name, err)

    async def _end_connections(self, entries: Iterable[P4TableEntry]) -> None:
        async with self.lock:
            await self._end_connections_locked(entries)

    async def _end_connections_locked(self, entries: Iterable[P4TableEntry]) -> None:
        ended: list[Entry] = []
        splices: list[Entry] = []
        for read in entries:
            try:
                found = Entry.from_p4(read)
                if found.table in SPLICE_TABLES:
                    splices.append(found)
                    continue
                flow = flow_of(found)
            except (ValueError, KeyError):
                continue
            if found.table != CONNECTION_TABLE:
                continue
            self.state.unpin(self.name, flow)
            self.installed_conns.pop(flow, None)
            ended.append(found)
        if ended:
            await self.writes.delete([e.to_p4() for e in ended], strict=False)
        if splices:
            await self.splicing.idle(splices)

    async def sweep_idle(self) -> None:
        """End connections and splices idle for longer than the timeout whose notification
        was missed (sent while lbd was down: a switch notifies an entry once).  Lock held."""
        timeout_ns = int(self.state.config.connection_idle_timeout_s * 1e9)
        if not self.ready or timeout_ns == 0:  # 0: connections never age
            return
        tables = [CONNECTION_TABLE, *SPLICE_TABLES] if self.splicing.splicer.spliced() \
            else [CONNECTION_TABLE]
        idle = [read async for read in _read(
                    self.switch, [P4TableEntry(t, time_since_last_hit=0) for t in tables])
                if isinstance(read, P4TableEntry) and read.time_since_last_hit is not None
                and read.time_since_last_hit >= timeout_ns]
        await self._end_connections_locked(idle)

    # ----- statistics ---------------------------------------------------------------
    async def read_counters(self) -> dict[tuple[str, int], tuple[int, int]]:
        """(counter, index) -> (packets, bytes) of the service and backend counters."""
        out: dict[tuple[str, int], tuple[int, int]] = {}
        if not self.ready:
            return out
        async for counter in _read(self.switch, [P4CounterEntry(SERVICE_COUNTER),
                                                 P4CounterEntry(BACKEND_COUNTER)]):
            if isinstance(counter, P4CounterEntry) and counter.index is not None:
                name = SERVICE_COUNTER if counter.counter_id.endswith(SERVICE_COUNTER) \
                    else BACKEND_COUNTER
                out[(name, counter.index)] = (counter.packet_count, counter.byte_count)
        return out


def _read(switch: Switch, entities: list[Any]) -> AsyncIterator[Any]:
    """finsy's Switch.read (its overloads are typed as coroutines, it is an iterator)."""
    return cast(AsyncIterator[Any], switch.read(entities))


def _ip(value: Any) -> IPv4Address:
    return IPv4Address(int(value))
