"""The P4Runtime gRPC service (p4.v1.P4Runtime) of a p4sim switch.

Request handling lives in :mod:`p4sim.p4runtime.device`; this module maps RPCs onto it and turns
:class:`P4RuntimeError` into gRPC statuses, including the per-update error details of a
failed batch Write (google.rpc.Status with one p4.v1.Error per update, OK ones included).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from concurrent import futures
from typing import NoReturn

import grpc
from finsy.proto import p4r, p4r_grpc, rpc_code, rpc_status

from p4sim.p4runtime.arbitration import Controller, election_id_of
from p4sim.p4runtime.device import Device
from p4sim.p4runtime.errors import (
    P4RuntimeError,
    failed_precondition,
    not_found,
    permission_denied,
    unimplemented,
)

log = logging.getLogger("p4sim.p4runtime")

P4RUNTIME_API_VERSION = "1.3.0"
"""What simple_switch_grpc reports (PI's server hard-codes it, whatever protos it is built
with).  Clients act on it: finsy, for one, encodes replicas with the 1.4 ``port`` bytes only
for servers at 1.5 or later, so reporting our protos' version would change client traffic."""
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
MAX_QUEUED_PACKETS = 10_000
STREAM_POLL_SECONDS = 1.0
STREAM_FINISH_SECONDS = 10.0
"""How long a stream handler waits for gRPC to finish an RPC that gRPC itself ended."""
_END = object()


def _abort(context: grpc.ServicerContext, err: P4RuntimeError) -> NoReturn:
    context.abort(err.code, err.message)
    raise AssertionError("unreachable: context.abort raises")


class P4RuntimeService(p4r_grpc.P4RuntimeServicer):
    def __init__(self, device: Device) -> None:
        self.device = device

    def _check_device(self, device_id: int) -> None:
        if device_id != self.device.device_id:
            raise not_found(f"Unknown device id {device_id}")

    def _check_primary(self, request: p4r.WriteRequest | p4r.SetForwardingPipelineConfigRequest
                       ) -> None:
        election_id = election_id_of(request.election_id) if request.HasField(
            "election_id") else None
        if not self.device.arbitrator.may_write(request.role, election_id):
            raise permission_denied("Not primary")

    def Capabilities(self, request: p4r.CapabilitiesRequest,
                     context: grpc.ServicerContext) -> p4r.CapabilitiesResponse:
        return p4r.CapabilitiesResponse(p4runtime_api_version=P4RUNTIME_API_VERSION)

    def SetForwardingPipelineConfig(
        self, request: p4r.SetForwardingPipelineConfigRequest, context: grpc.ServicerContext
    ) -> p4r.SetForwardingPipelineConfigResponse:
        try:
            self._check_device(request.device_id)
            self._check_primary(request)
            self.device.set_pipeline(request.action, request.config)
        except P4RuntimeError as err:
            _abort(context, err)
        return p4r.SetForwardingPipelineConfigResponse()

    def GetForwardingPipelineConfig(
        self, request: p4r.GetForwardingPipelineConfigRequest, context: grpc.ServicerContext
    ) -> p4r.GetForwardingPipelineConfigResponse:
        try:
            self._check_device(request.device_id)
            config = self.device.get_pipeline(request.response_type)
        except P4RuntimeError as err:
            _abort(context, err)
        return p4r.GetForwardingPipelineConfigResponse(config=config)

    def Write(self, request: p4r.WriteRequest,
              context: grpc.ServicerContext) -> p4r.WriteResponse:
        try:
            self._check_device(request.device_id)
            if request.atomicity != p4r.WriteRequest.CONTINUE_ON_ERROR:
                raise unimplemented("Only CONTINUE_ON_ERROR is supported for batch atomicity")
            self._check_primary(request)
            results = self.device.write(list(request.updates))
        except P4RuntimeError as err:
            _abort(context, err)
        if any(results):
            status = rpc_status.Status(code=rpc_code.UNKNOWN, message="Write failure.")
            for result in results:
                error = p4r.Error(canonical_code=rpc_code.OK) if result is None else p4r.Error(
                    canonical_code=result.code_number, message=result.message)
                status.details.add().Pack(error)
            context.set_trailing_metadata(
                (("grpc-status-details-bin", status.SerializeToString()),))
            context.abort(grpc.StatusCode.UNKNOWN, status.message)
        return p4r.WriteResponse()

    def Read(self, request: p4r.ReadRequest,
             context: grpc.ServicerContext) -> Iterator[p4r.ReadResponse]:
        try:
            self._check_device(request.device_id)
            entities = self.device.read(list(request.entities))
        except P4RuntimeError as err:
            _abort(context, err)
        yield p4r.ReadResponse(entities=entities)

    def StreamChannel(self, request_iterator: Iterator[p4r.StreamMessageRequest],
                      context: grpc.ServicerContext) -> Iterator[p4r.StreamMessageResponse]:
        stream = _Stream(self.device, request_iterator)
        if not context.add_callback(stream.close):
            return  # the RPC already finished (e.g. its first message could not be parsed)
        reader = threading.Thread(target=stream.read_all, name="p4rt-stream", daemon=True)
        reader.start()
        try:
            while True:
                try:
                    item = stream.outbox.get(timeout=STREAM_POLL_SECONDS)
                except queue.Empty:
                    if not context.is_active():
                        return
                    continue
                if item is _END:
                    return
                if isinstance(item, P4RuntimeError):
                    if context.is_active():
                        _abort(context, item)
                    return
                assert isinstance(item, p4r.StreamMessageResponse)
                yield item
        finally:
            stream.leave()
            if not context.is_active():
                # gRPC already sent a status (unparsable request) or the client cancelled.
                # grpcio sends a status again when a handler ends; while the first one is
                # still in flight, that second batch never completes and the RPC, hence
                # server.stop(), waits forever.  Ending only once the RPC has finished
                # makes the second batch a no-op.
                stream.finished.wait(STREAM_FINISH_SECONDS)


class _Stream:
    """One StreamChannel: reads requests on its own thread, queues responses."""

    def __init__(self, device: Device, requests: Iterator[p4r.StreamMessageRequest]) -> None:
        self.device = device
        self.requests = requests
        self.outbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.controller: Controller | None = None
        self.finished = threading.Event()
        self._lock = threading.Lock()

    def close(self) -> None:
        """gRPC's callback when the RPC has finished."""
        self.finished.set()
        self.outbox.put(_END)

    def deliver(self, message: p4r.StreamMessageResponse) -> None:
        """Queue a message for the client; packet-ins are dropped while it lags far behind."""
        if message.HasField("packet") and self.outbox.qsize() >= MAX_QUEUED_PACKETS:
            log.warning("controller stream backlog: packet-in dropped")
            return
        self.outbox.put(message)

    def leave(self) -> None:
        with self._lock:
            controller, self.controller = self.controller, None
        if controller is not None:
            self.device.arbitrator.leave(controller)

    def read_all(self) -> None:
        try:
            for request in self.requests:
                self._handle(request)
        except P4RuntimeError as err:
            self.leave()
            self.outbox.put(err)
        except grpc.RpcError:
            pass  # the client went away
        except Exception:
            log.exception("stream failure")
        finally:
            # The stream is over once its requests end (as in PI's server): the controller
            # leaves now, not only when the response side notices, which may come later.
            self.leave()
            self.outbox.put(_END)

    def _handle(self, request: p4r.StreamMessageRequest) -> None:
        kind = request.WhichOneof("update")
        if kind == "arbitration":
            self._arbitrate(request.arbitration)
        elif kind == "packet":
            self._packet_out(request.packet)
        elif kind == "digest_ack":
            if self._is_primary():
                self.device.digest_ack(request.digest_ack)
        else:
            log.info("ignoring stream message of kind %s", kind)

    def _arbitrate(self, update: p4r.MasterArbitrationUpdate) -> None:
        election_id = election_id_of(update.election_id)
        with self._lock:
            controller = self.controller
            if controller is None:
                if update.device_id != self.device.device_id:
                    raise not_found(f"Unknown device id {update.device_id}")
                self.controller = self.device.arbitrator.join(
                    update.role.name, election_id, self.deliver)
                return
        if update.device_id != self.device.device_id:
            raise failed_precondition("Invalid device id")
        if update.role.name != controller.role:
            raise failed_precondition("A stream cannot change its role")
        self.device.arbitrator.update(controller, election_id)

    def _is_primary(self) -> bool:
        controller = self.controller
        return controller is not None and self.device.arbitrator.is_primary(controller)

    def _packet_out(self, packet: p4r.PacketOut) -> None:
        if not self._is_primary():
            return
        try:
            self.device.packet_out(packet)
        except P4RuntimeError as err:
            error = p4r.StreamError(canonical_code=err.code_number, message=err.message)
            error.packet_out.packet_out.CopyFrom(packet)
            self.outbox.put(p4r.StreamMessageResponse(error=error))


def create_server(device: Device, address: str = "127.0.0.1:9559",
                  max_workers: int = 64) -> tuple[grpc.Server, int]:
    """A started gRPC server serving ``device``; returns it and the bound port."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="p4rt"),
        options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                 ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                 ("grpc.so_reuseport", 0)])
    p4r_grpc.add_P4RuntimeServicer_to_server(P4RuntimeService(device), server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen for gRPC on {address}")
    server.start()
    return server, port
