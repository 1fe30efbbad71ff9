"""A small synchronous P4Runtime client for PTF tests, addressing everything by P4Info name.

It speaks plain P4Runtime (finsy's generated protobuf modules, a blocking gRPC stub and one
stream thread), so tests written with it run unchanged against BMv2's ``simple_switch_grpc``.
Values are Python ints (or bytes); they go on the wire in canonical form (shortest byte string,
P4Runtime spec section 8.4) and are read back as ints.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from finsy.proto import p4i, p4r, p4r_grpc, rpc_status

MatchValue = int | bytes | tuple[int | bytes, int | bytes]
"""exact/optional: value; lpm: (value, prefix_len); ternary: (value, mask); range: (low, high)"""


class P4RuntimeClientError(RuntimeError):
    """A request failed; ``str()`` carries the server's status and per-update errors."""


def encode(value: int | bytes, bitwidth: int) -> bytes:
    """Canonical P4Runtime byte string of ``value`` (must fit in ``bitwidth`` bits)."""
    number = int.from_bytes(value, "big") if isinstance(value, bytes) else value
    if number < 0 or number.bit_length() > bitwidth:
        raise ValueError(f"value {number:#x} does not fit in {bitwidth} bits")
    return number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")


def decode(data: bytes) -> int:
    return int.from_bytes(data, "big")


def mac(text: str) -> int:
    """``"00:00:00:00:00:01"`` -> int."""
    return int(text.replace(":", ""), 16)


def ipv4(text: str) -> int:
    """``"10.0.0.1"`` -> int."""
    parts = [int(part) for part in text.split(".")]
    if len(parts) != 4 or not all(0 <= part <= 255 for part in parts):
        raise ValueError(f"not an IPv4 address: {text!r}")
    return int.from_bytes(bytes(parts), "big")


def _describe(error: grpc.RpcError) -> str:
    """Status code and message, plus the per-update p4.v1.Error details of a failed Write."""
    if not isinstance(error, grpc.Call):
        return str(error)
    text = f"{error.code().name}: {error.details()}"
    for key, value in error.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        status = rpc_status.Status.FromString(value)
        for index, detail in enumerate(status.details):
            update_error = p4r.Error()
            if detail.Unpack(update_error) and update_error.canonical_code != 0:
                text += (f"\n  update {index}: code {update_error.canonical_code}: "
                         f"{update_error.message}")
    return text


class P4InfoIndex:
    """Name -> P4Info object lookups (by fully qualified name or by alias)."""

    def __init__(self, p4info: p4i.P4Info) -> None:
        self.p4info = p4info
        self._by_kind: dict[str, dict[str, Any]] = {}
        for kind in ("tables", "actions", "counters", "direct_counters", "meters",
                     "direct_meters", "registers", "digests", "action_profiles",
                     "controller_packet_metadata", "value_sets"):
            names: dict[str, Any] = {}
            for obj in getattr(p4info, kind):
                names[obj.preamble.name] = obj
                names.setdefault(obj.preamble.alias, obj)
            self._by_kind[kind] = names

    def get(self, kind: str, name: str) -> Any:
        try:
            return self._by_kind[kind][name]
        except KeyError:
            known = sorted(o.preamble.name for o in getattr(self.p4info, kind))
            raise KeyError(f"no {kind[:-1]} named {name!r} in P4Info (known: {known})") from None

    def table(self, name: str) -> p4i.Table:
        return self.get("tables", name)  # type: ignore[no-any-return]

    def action(self, name: str) -> p4i.Action:
        return self.get("actions", name)  # type: ignore[no-any-return]

    def action_name(self, action_id: int) -> str:
        for action in self.p4info.actions:
            if action.preamble.id == action_id:
                return str(action.preamble.name)
        raise KeyError(f"no action with id {action_id:#x}")

    def packet_metadata(self, direction: str) -> p4i.ControllerPacketMetadata:
        """``direction`` is ``packet_in`` or ``packet_out``."""
        return self.get("controller_packet_metadata", direction)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class PacketIn:
    payload: bytes
    metadata: dict[str, int]


class P4RuntimeClient:
    """Primary controller connection to one device.  Use as a context manager or call close()."""

    def __init__(self, grpc_addr: str, device_id: int = 0, election_id: int = 1,
                 timeout: float = 10.0) -> None:
        self.device_id = device_id
        self.election_id = p4r.Uint128(high=0, low=election_id)
        self.timeout = timeout
        self.index: P4InfoIndex | None = None
        self._channel = grpc.insecure_channel(grpc_addr)
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            self._channel.close()
            raise P4RuntimeClientError(f"cannot connect to P4Runtime server {grpc_addr}") from None
        self._stub = p4r_grpc.P4RuntimeStub(self._channel)
        self._requests: queue.Queue[p4r.StreamMessageRequest | None] = queue.Queue()
        # None signals that the stream ended (the reason is in self._stream_failure).
        self._arbitration: queue.Queue[p4r.MasterArbitrationUpdate | None] = queue.Queue()
        self._stream_failure = "stream closed"
        self.packets_in: queue.Queue[p4r.PacketIn] = queue.Queue()
        self.digests: queue.Queue[p4r.DigestList] = queue.Queue()
        self.idle_timeouts: queue.Queue[p4r.IdleTimeoutNotification] = queue.Queue()
        self.stream_errors: queue.Queue[p4r.StreamError] = queue.Queue()
        self._stream = self._stub.StreamChannel(self._request_iterator())
        self._reader = threading.Thread(target=self._read_stream, daemon=True)
        self._reader.start()
        self._become_primary()

    # --- session -------------------------------------------------------------------------
    def _request_iterator(self) -> Iterator[p4r.StreamMessageRequest]:
        while True:
            request = self._requests.get()
            if request is None:
                return
            yield request

    def _read_stream(self) -> None:
        try:
            for response in self._stream:
                kind = response.WhichOneof("update")
                if kind == "arbitration":
                    self._arbitration.put(response.arbitration)
                elif kind == "packet":
                    self.packets_in.put(response.packet)
                elif kind == "digest":
                    self.digests.put(response.digest)
                elif kind == "idle_timeout_notification":
                    self.idle_timeouts.put(response.idle_timeout_notification)
                elif kind == "error":
                    self.stream_errors.put(response.error)
        except grpc.RpcError as error:  # on close(), or the switch refused or went away
            self._stream_failure = _describe(error)
        self._arbitration.put(None)

    def _become_primary(self) -> None:
        self._requests.put(p4r.StreamMessageRequest(arbitration=p4r.MasterArbitrationUpdate(
            device_id=self.device_id, election_id=self.election_id)))
        try:
            update = self._arbitration.get(timeout=self.timeout)
        except queue.Empty:
            self.close()
            raise P4RuntimeClientError("no arbitration response from the switch") from None
        if update is None:
            self.close()
            raise P4RuntimeClientError(f"StreamChannel: {self._stream_failure}")
        if update.status.code != 0:
            self.close()
            raise P4RuntimeClientError(f"not primary: {update.status.message}")

    def close(self) -> None:
        self._requests.put(None)
        self._channel.close()
        self._reader.join(timeout=2)

    def __enter__(self) -> P4RuntimeClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- pipeline ------------------------------------------------------------------------
    def set_pipeline(self, p4info: p4i.P4Info, device_config: bytes) -> None:
        """VERIFY_AND_COMMIT the program (``device_config`` is the BMv2 JSON for BMv2)."""
        request = p4r.SetForwardingPipelineConfigRequest(
            device_id=self.device_id, election_id=self.election_id,
            action=p4r.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT,
            config=p4r.ForwardingPipelineConfig(p4info=p4info, p4_device_config=device_config),
        )
        try:
            self._stub.SetForwardingPipelineConfig(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise P4RuntimeClientError("SetForwardingPipelineConfig: " + _describe(error)) from None
        self.index = P4InfoIndex(p4info)

    @property
    def info(self) -> P4InfoIndex:
        if self.index is None:
            raise P4RuntimeClientError("no pipeline set yet (call set_pipeline first)")
        return self.index

    # --- raw write/read ------------------------------------------------------------------
    def write(self, updates: Sequence[p4r.Update]) -> None:
        request = p4r.WriteRequest(device_id=self.device_id, election_id=self.election_id,
                                   updates=list(updates))
        try:
            self._stub.Write(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise P4RuntimeClientError("Write: " + _describe(error)) from None

    def write_entity(self, kind: p4r.Update.Type.ValueType, entity: p4r.Entity) -> None:
        self.write([p4r.Update(type=kind, entity=entity)])

    def read(self, entities: Sequence[p4r.Entity]) -> list[p4r.Entity]:
        request = p4r.ReadRequest(device_id=self.device_id, entities=list(entities))
        try:
            return [entity for response in self._stub.Read(request, timeout=self.timeout)
                    for entity in response.entities]
        except grpc.RpcError as error:
            raise P4RuntimeClientError("Read: " + _describe(error)) from None

    # --- tables --------------------------------------------------------------------------
    def action(self, name: str, params: Mapping[str, int | bytes] | None = None) -> p4r.Action:
        info = self.info.action(name)
        given = dict(params or {})
        encoded = []
        for param in info.params:
            if param.name not in given:
                raise ValueError(f"action {name}: missing parameter {param.name!r}")
            encoded.append(p4r.Action.Param(param_id=param.id,
                                            value=encode(given.pop(param.name), param.bitwidth)))
        if given:
            raise ValueError(f"action {name}: unknown parameters {sorted(given)}")
        return p4r.Action(action_id=info.preamble.id, params=encoded)

    def table_entry(self, table: str, match: Mapping[str, MatchValue] | None = None,
                    action: str | None = None, params: Mapping[str, int | bytes] | None = None,
                    *, priority: int = 0, idle_timeout_ns: int = 0,
                    is_default: bool = False) -> p4r.TableEntry:
        """Build a TableEntry; an omitted ternary/range/optional/lpm field is a wildcard."""
        info = self.info.table(table)
        fields = {field.name: field for field in info.match_fields}
        given = dict(match or {})
        unknown = set(given) - set(fields)
        if unknown:
            raise ValueError(f"table {table}: unknown match fields {sorted(unknown)}")
        entry = p4r.TableEntry(table_id=info.preamble.id, priority=priority,
                               idle_timeout_ns=idle_timeout_ns, is_default_action=is_default)
        for name, value in given.items():
            entry.match.append(self._field_match(fields[name], value))
        if action is not None:
            entry.action.action.CopyFrom(self.action(action, params))
        return entry

    @staticmethod
    def _field_match(field: p4i.MatchField, value: MatchValue) -> p4r.FieldMatch:
        width = field.bitwidth
        match = p4r.FieldMatch(field_id=field.id)
        kind = field.match_type
        if kind in (p4i.MatchField.EXACT, p4i.MatchField.OPTIONAL):
            if isinstance(value, tuple):
                raise ValueError(f"field {field.name}: exact/optional takes one value")
            target = match.exact if kind == p4i.MatchField.EXACT else match.optional
            target.value = encode(value, width)
        elif isinstance(value, tuple) and len(value) == 2:
            first, second = value
            if kind == p4i.MatchField.LPM:
                match.lpm.value = encode(first, width)
                match.lpm.prefix_len = int.from_bytes(second, "big") if isinstance(
                    second, bytes) else second
            elif kind == p4i.MatchField.TERNARY:
                match.ternary.value = encode(first, width)
                match.ternary.mask = encode(second, width)
            elif kind == p4i.MatchField.RANGE:
                match.range.low = encode(first, width)
                match.range.high = encode(second, width)
            else:
                raise ValueError(f"field {field.name}: unsupported match type {kind}")
        else:
            raise ValueError(f"field {field.name}: lpm/ternary/range take a 2-tuple")
        return match

    def insert(self, table: str, match: Mapping[str, MatchValue] | None, action: str,
               params: Mapping[str, int | bytes] | None = None, **options: Any) -> p4r.TableEntry:
        entry = self.table_entry(table, match, action, params, **options)
        self.write_entity(p4r.Update.INSERT, p4r.Entity(table_entry=entry))
        return entry

    def modify(self, table: str, match: Mapping[str, MatchValue] | None, action: str,
               params: Mapping[str, int | bytes] | None = None, **options: Any) -> None:
        entry = self.table_entry(table, match, action, params, **options)
        self.write_entity(p4r.Update.MODIFY, p4r.Entity(table_entry=entry))

    def delete(self, entry: p4r.TableEntry) -> None:
        self.write_entity(p4r.Update.DELETE, p4r.Entity(table_entry=entry))

    def set_default(self, table: str, action: str,
                    params: Mapping[str, int | bytes] | None = None) -> None:
        entry = self.table_entry(table, None, action, params, is_default=True)
        self.write_entity(p4r.Update.MODIFY, p4r.Entity(table_entry=entry))

    def table_entries(self, table: str | None = None) -> list[p4r.TableEntry]:
        """All entries of ``table`` (of every table when None), default entries excluded."""
        table_id = self.info.table(table).preamble.id if table is not None else 0
        entities = self.read([p4r.Entity(table_entry=p4r.TableEntry(table_id=table_id))])
        return [entity.table_entry for entity in entities]

    def clear_tables(self) -> None:
        """Delete every non-const entry the device holds."""
        entries = [entry for entry in self.table_entries() if not entry.is_const]
        if entries:
            self.write([p4r.Update(type=p4r.Update.DELETE, entity=p4r.Entity(table_entry=entry))
                        for entry in entries])

    # --- packet I/O ----------------------------------------------------------------------
    def packet_out(self, payload: bytes, **metadata: int) -> None:
        header = self.info.packet_metadata("packet_out")
        fields = []
        for field in header.metadata:
            if field.name in metadata:
                fields.append(p4r.PacketMetadata(
                    metadata_id=field.id, value=encode(metadata.pop(field.name), field.bitwidth)))
        if metadata:
            raise ValueError(f"packet_out: unknown metadata {sorted(metadata)}")
        self._requests.put(p4r.StreamMessageRequest(
            packet=p4r.PacketOut(payload=payload, metadata=fields)))

    def packet_in(self, timeout: float = 2.0) -> PacketIn | None:
        try:
            packet = self.packets_in.get(timeout=timeout)
        except queue.Empty:
            return None
        names = {field.id: field.name for field in self.info.packet_metadata("packet_in").metadata}
        return PacketIn(payload=packet.payload, metadata={
            names.get(item.metadata_id, str(item.metadata_id)): decode(item.value)
            for item in packet.metadata})

    # --- digests -------------------------------------------------------------------------
    def enable_digest(self, name: str, *, max_timeout_ns: int = 0, max_list_size: int = 1,
                      ack_timeout_ns: int = 1_000_000_000) -> None:
        digest_id = self.info.get("digests", name).preamble.id
        entry = p4r.DigestEntry(digest_id=digest_id, config=p4r.DigestEntry.Config(
            max_timeout_ns=max_timeout_ns, max_list_size=max_list_size,
            ack_timeout_ns=ack_timeout_ns))
        self.write_entity(p4r.Update.INSERT, p4r.Entity(digest_entry=entry))

    def digest(self, timeout: float = 2.0, *, ack: bool = True) -> p4r.DigestList | None:
        try:
            digest = self.digests.get(timeout=timeout)
        except queue.Empty:
            return None
        if ack:
            self._requests.put(p4r.StreamMessageRequest(digest_ack=p4r.DigestListAck(
                digest_id=digest.digest_id, list_id=digest.list_id)))
        return digest

    # --- packet replication --------------------------------------------------------------
    def set_multicast_group(self, group_id: int, replicas: Sequence[tuple[int, int]],
                            *, update: p4r.Update.Type.ValueType = p4r.Update.INSERT) -> None:
        """``replicas``: (egress_port, instance)."""
        group = p4r.MulticastGroupEntry(multicast_group_id=group_id, replicas=[
            p4r.Replica(egress_port=port, instance=instance) for port, instance in replicas])
        self.write_entity(update, p4r.Entity(packet_replication_engine_entry=(
            p4r.PacketReplicationEngineEntry(multicast_group_entry=group))))

    def set_clone_session(self, session_id: int, replicas: Sequence[tuple[int, int]],
                          *, update: p4r.Update.Type.ValueType = p4r.Update.INSERT) -> None:
        session = p4r.CloneSessionEntry(session_id=session_id, replicas=[
            p4r.Replica(egress_port=port, instance=instance) for port, instance in replicas])
        self.write_entity(update, p4r.Entity(packet_replication_engine_entry=(
            p4r.PacketReplicationEngineEntry(clone_session_entry=session))))
