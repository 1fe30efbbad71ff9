"""One P4Runtime device: its pipeline, data plane entry points and controller notifications.

Every engine call goes through :attr:`Device.lock`, shared by the packet path and the gRPC
handlers, because the engine is not thread-safe.  Messages for controllers (packet-ins,
digests, idle timeout notifications) go to the primary controllers through the arbitrator.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import cast

import grpc
from finsy.proto import p4r
from google.protobuf.message import Message

from p4sim.engine import BatchOutput, Engine, ProcessResult, SplitFrame
from p4sim.p4runtime.arbitration import Arbitrator
from p4sim.p4runtime.errors import (
    P4RuntimeError,
    failed_precondition,
    invalid_argument,
    unimplemented,
)
from p4sim.p4runtime.packet_io import build_packet_out, parse_packet_in
from p4sim.p4runtime.pipeline import Pipeline
from p4sim.switch.offload import Vnet, finish

log = logging.getLogger("p4sim.p4runtime")

PortSender = Callable[[int, bytes], None]
OffloadSender = Callable[[int, bytes | SplitFrame, Vnet], None]
"""Sends a pipeline output of a GSO/partial-checksum input; takes split frames (headers,
then the payload where it is), as ``Engine.process(..., split=True)`` makes them."""
"""Sends a pipeline output whose input came with a virtio-net header (GSO, partial sum)."""
TICK_SECONDS = 0.05
IDLE_SWEEP_NS = 250_000_000
"""How often idle timeouts are checked: a sweep walks every ageing entry, so not each tick."""

_Action = p4r.SetForwardingPipelineConfigRequest.Action
_ResponseType = p4r.GetForwardingPipelineConfigRequest.ResponseType


def no_pipeline() -> P4RuntimeError:
    return failed_precondition("No forwarding pipeline config set for this device")


class Device:
    """State of the single device a switch process exposes."""

    def __init__(
        self, device_id: int = 0, *, cpu_port: int | None = None,
        clock_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.device_id = device_id
        self.cpu_port = cpu_port
        self.lock = threading.RLock()
        self.arbitrator = Arbitrator(device_id)
        self.pipeline: Pipeline | None = None
        self.engine: Engine | None = None
        self._saved: Pipeline | None = None
        self._clock_ns = clock_ns
        self._send_to_port: PortSender = lambda port, data: None
        self._send_offloaded: OffloadSender | None = None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._last_sweep_ns = 0

    # --- wiring --------------------------------------------------------------------------

    def attach_ports(self, send: PortSender, send_offloaded: OffloadSender | None = None) -> None:
        """Where the packets the pipeline emits on non-CPU ports go; without
        ``send_offloaded``, outputs of GSO packets are segmented here."""
        self._send_to_port = send
        self._send_offloaded = send_offloaded

    def load_program(self, bmv2_json: bytes) -> None:
        """Run a JSON given on the command line, before any P4Runtime pipeline (no P4Info)."""
        with self.lock:
            self.engine = Engine(bmv2_json, cpu_port=self.cpu_port, clock_ns=self._clock_ns)

    def start(self) -> None:
        self._ticker = threading.Thread(target=self._tick_loop, name="p4rt-timers", daemon=True)
        self._ticker.start()

    def stop(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)

    # --- pipeline config -----------------------------------------------------------------

    def set_pipeline(self, action: int, config: p4r.ForwardingPipelineConfig) -> None:
        if action == _Action.VERIFY:
            self._build(config)
        elif action == _Action.VERIFY_AND_SAVE:
            pipeline = self._build(config)
            with self.lock:
                self._saved = pipeline
        elif action == _Action.VERIFY_AND_COMMIT:
            pipeline = self._build(config)
            with self.lock:
                self._commit(pipeline)
        elif action == _Action.COMMIT:
            with self.lock:
                if self._saved is None:
                    raise failed_precondition("COMMIT without a config saved by VERIFY_AND_SAVE")
                if config.HasField("cookie"):
                    self._saved.config.cookie.CopyFrom(config.cookie)
                self._commit(self._saved)
        elif action == _Action.RECONCILE_AND_COMMIT:
            self._reconcile(config)
        else:
            raise invalid_argument("Invalid SetForwardingPipelineConfig action")

    def _build(self, config: p4r.ForwardingPipelineConfig) -> Pipeline:
        return Pipeline.build(config, cpu_port=self.cpu_port, clock_ns=self._clock_ns)

    def _commit(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.engine = pipeline.engine
        self._saved = None
        log.info("pipeline committed (cookie %d)", pipeline.config.cookie.cookie)

    def _reconcile(self, config: p4r.ForwardingPipelineConfig) -> None:
        with self.lock:
            current = self.pipeline
            if current is None:
                self._commit(self._build(config))
                return
            same = (config.p4_device_config == current.config.p4_device_config
                    and config.p4info == current.config.p4info)
            if not same:
                raise unimplemented(
                    "RECONCILE_AND_COMMIT is only supported with an unchanged program")
            current.config.cookie.CopyFrom(config.cookie)

    def get_pipeline(self, response_type: int) -> p4r.ForwardingPipelineConfig:
        with self.lock:
            if self.pipeline is None:
                raise no_pipeline()
            full = self.pipeline.config
        config = p4r.ForwardingPipelineConfig()
        if full.HasField("cookie"):
            config.cookie.CopyFrom(full.cookie)
        if response_type in (_ResponseType.ALL, _ResponseType.P4INFO_AND_COOKIE):
            config.p4info.CopyFrom(full.p4info)
        if response_type in (_ResponseType.ALL, _ResponseType.DEVICE_CONFIG_AND_COOKIE):
            config.p4_device_config = full.p4_device_config
        if response_type not in _ResponseType.values():
            raise invalid_argument(f"Invalid response_type {response_type}")
        return config

    # --- write / read --------------------------------------------------------------------

    def write(self, updates: list[p4r.Update]) -> list[P4RuntimeError | None]:
        """Apply updates in order (CONTINUE_ON_ERROR); one result per update."""
        results: list[P4RuntimeError | None] = []
        with self.lock:
            pipeline = self._require_pipeline()
            for update in updates:
                try:
                    self._write_one(pipeline, update)
                    results.append(None)
                except P4RuntimeError as err:
                    results.append(err)
                except Exception as err:  # a bug must not take the switch down
                    log.exception("internal error while writing %s", update)
                    results.append(P4RuntimeError(grpc.StatusCode.INTERNAL, repr(err)))
        return results

    def _write_one(self, pipeline: Pipeline, update: p4r.Update) -> None:
        entity = update.entity
        kind = entity.WhichOneof("entity")
        update_type = update.type
        if update_type == p4r.Update.UNSPECIFIED:
            raise invalid_argument("Update type UNSPECIFIED")
        if kind == "table_entry":
            pipeline.tables.write(update_type, entity.table_entry)
        elif kind == "action_profile_member":
            pipeline.profiles.write_member(update_type, entity.action_profile_member)
        elif kind == "action_profile_group":
            pipeline.profiles.write_group(update_type, entity.action_profile_group)
        elif kind == "counter_entry":
            pipeline.externs.write_counter(update_type, entity.counter_entry)
        elif kind == "direct_counter_entry":
            pipeline.externs.write_direct_counter(update_type, entity.direct_counter_entry)
        elif kind == "meter_entry":
            pipeline.externs.write_meter(update_type, entity.meter_entry)
        elif kind == "direct_meter_entry":
            pipeline.externs.write_direct_meter(update_type, entity.direct_meter_entry)
        elif kind == "register_entry":
            pipeline.externs.write_register(update_type, entity.register_entry)
        elif kind == "packet_replication_engine_entry":
            pipeline.replication.write(update_type, entity.packet_replication_engine_entry)
        elif kind == "digest_entry":
            pipeline.digests.write(update_type, entity.digest_entry)
        elif kind == "value_set_entry":
            raise unimplemented("ValueSet writes are not supported yet")
        elif kind == "extern_entry":
            raise unimplemented("ExternEntry writes are not supported")
        else:
            raise invalid_argument("Update without entity")

    def read(self, entities: list[p4r.Entity]) -> list[p4r.Entity]:
        found: list[p4r.Entity] = []
        with self.lock:
            pipeline = self._require_pipeline()
            for entity in entities:
                found.extend(self._read_one(pipeline, entity))
        return found

    def _read_one(self, pipeline: Pipeline, entity: p4r.Entity) -> list[p4r.Entity]:
        kind = entity.WhichOneof("entity")
        found: Iterable[Message]
        if kind == "table_entry":
            found = pipeline.tables.read(entity.table_entry)
        elif kind == "action_profile_member":
            found = pipeline.profiles.read_members(entity.action_profile_member.action_profile_id)
        elif kind == "action_profile_group":
            found = pipeline.profiles.read_groups(entity.action_profile_group.action_profile_id)
        elif kind == "counter_entry":
            found = pipeline.externs.read_counters(entity.counter_entry)
        elif kind == "direct_counter_entry":
            found = pipeline.externs.read_direct_counters(entity.direct_counter_entry)
        elif kind == "meter_entry":
            found = pipeline.externs.read_meters(entity.meter_entry)
        elif kind == "direct_meter_entry":
            found = pipeline.externs.read_direct_meters(entity.direct_meter_entry)
        elif kind == "register_entry":
            found = pipeline.externs.read_registers(entity.register_entry)
        elif kind == "packet_replication_engine_entry":
            return pipeline.replication.read(entity.packet_replication_engine_entry)
        elif kind == "digest_entry":
            found = pipeline.digests.read(entity.digest_entry.digest_id)
        elif kind == "value_set_entry":
            raise unimplemented("ValueSet reads are not supported yet")
        elif kind == "extern_entry":
            raise unimplemented("ExternEntry reads are not supported")
        else:
            raise invalid_argument("Read request with an empty entity")
        return [p4r.Entity(**{kind: message}) for message in found]

    def _require_pipeline(self) -> Pipeline:
        if self.pipeline is None:
            raise no_pipeline()
        return self.pipeline

    # --- data plane ----------------------------------------------------------------------

    def receive(self, port: int, data: bytes, vnet: Vnet | None = None) -> None:
        """A packet arrived on a data port: run the pipeline, emit what it produced.
        ``vnet``: the packet is a GSO super-segment or has a partial L4 checksum."""
        self.receive_batch(port, [data], {} if vnet is None else {0: vnet})

    def receive_batch(self, port: int, frames: Sequence[bytes],
                      vnets: Mapping[int, Vnet] | None = None) -> None:
        """Packets that arrived together on a data port, in order (the lock taken once);
        ``vnets``: by position, the virtio-net headers of those that are GSO super-segments
        or have a partial L4 checksum."""
        with self.lock:
            engine = self.engine
            if engine is None:
                return
            if not vnets:
                self._receive_ordinary(engine, port, frames)
                return
            split = self._send_offloaded is not None
            start = 0
            for i in sorted(vnets):
                if start < i:
                    self._receive_ordinary(engine, port, frames[start:i])
                vnet = vnets[i]
                self._emit(engine.process(port, frames[i], l4_partial=vnet.partial, split=split),
                           vnet)
                start = i + 1
            if start < len(frames):
                self._receive_ordinary(engine, port, frames[start:])

    def _receive_ordinary(self, engine: Engine, port: int, frames: Sequence[bytes]) -> None:
        """Frames without a virtio header through the engine's loop (no call per frame); the
        usual output, one frame out of a data port, sent as :meth:`_emit` would."""
        outputs: list[BatchOutput] = []
        engine.process_batch(port, frames, outputs)
        send, cpu_port = self._send_to_port, self.cpu_port
        for output in outputs:
            if type(output) is tuple:
                out_port, frame = output
                if out_port != cpu_port:
                    send(out_port, cast(bytes, frame))  # not split: split is off
                    continue
                output = ProcessResult([output], [])
            self._emit(cast(ProcessResult, output))

    def packet_out(self, packet: p4r.PacketOut) -> None:
        """Inject a PacketOut on the CPU port; INVALID_ARGUMENT on bad metadata."""
        with self.lock:
            pipeline = self._require_pipeline()
            data = build_packet_out(pipeline.index.packet_out, packet)
            if self.cpu_port is None:
                log.warning("PacketOut dropped: the switch has no CPU port (--cpu-port)")
                return
            # a packet the engine fails on is logged and dropped there
            self._emit(pipeline.engine.process(self.cpu_port, data))

    def digest_ack(self, ack: p4r.DigestListAck) -> None:
        with self.lock:
            if self.pipeline is not None:
                self.pipeline.digests.ack(ack.digest_id, ack.list_id)

    def _emit(self, result: ProcessResult, vnet: Vnet | None = None) -> None:
        pipeline = self.pipeline
        # split frames come only from offloaded inputs with a send_offloaded to take them
        for port, frame in result.packets:
            if port == self.cpu_port and self.cpu_port is not None:
                if pipeline is None:
                    continue
                data = frame.joined() if type(frame) is SplitFrame else cast(bytes, frame)
                packet_in = parse_packet_in(pipeline.index.packet_in, data)
                if vnet is None:
                    self._notify(p4r.StreamMessageResponse(packet=packet_in))
                    continue
                # the controller gets ordinary packets: segmented, checksums complete
                for segment in finish(packet_in.payload, vnet):
                    one = p4r.PacketIn(payload=segment, metadata=packet_in.metadata)
                    self._notify(p4r.StreamMessageResponse(packet=one))
            elif vnet is None:
                self._send_to_port(port, cast(bytes, frame))
            elif self._send_offloaded is not None:
                self._send_offloaded(port, frame, vnet)
            else:
                for segment in finish(cast(bytes, frame), vnet):
                    self._send_to_port(port, segment)
        if result.digests and pipeline is not None:
            for digest_list in pipeline.digests.add(result.digests):
                self._notify(p4r.StreamMessageResponse(digest=digest_list))

    def _notify(self, message: p4r.StreamMessageResponse) -> None:
        for controller in self.arbitrator.primaries():
            controller.send(message)

    # --- timers --------------------------------------------------------------------------

    def tick(self) -> None:
        """Deliver expired digest batches and idle timeout notifications."""
        with self.lock:
            pipeline = self.pipeline
            if pipeline is None:
                return
            for digest_list in pipeline.digests.poll():
                self._notify(p4r.StreamMessageResponse(digest=digest_list))
            now = self._clock_ns()
            if now - self._last_sweep_ns < IDLE_SWEEP_NS:
                return
            self._last_sweep_ns = now
            expired = pipeline.tables.expired()
            if expired:
                notification = p4r.IdleTimeoutNotification(timestamp=time.time_ns())
                notification.table_entry.extend(expired)
                self._notify(p4r.StreamMessageResponse(idle_timeout_notification=notification))

    def _tick_loop(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.tick()
            except Exception:
                log.exception("timer failure")
