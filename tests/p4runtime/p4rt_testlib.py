"""Shared helpers of the P4Runtime server tests: an in-process server and a small client."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from types import TracebackType

import grpc
from finsy.proto import p4r, p4r_grpc, rpc_status
from p4rt_fixture import A_DROP, A_SET_NHOP, CPU_PORT, T_ACL, T_IPV4_LPM, mini_config

from p4sim.p4runtime.device import Device
from p4sim.p4runtime.server import create_server

STOP_SECONDS = 5.0


class Server:
    """A Device and its gRPC server on 127.0.0.1 with a free port."""

    def __init__(self, device_id: int = 0) -> None:
        self.device = Device(device_id, cpu_port=CPU_PORT)
        self.sent: list[tuple[int, bytes]] = []
        self.device.attach_ports(lambda port, data: self.sent.append((port, data)))
        self.server, port = create_server(self.device, "127.0.0.1:0")
        self.address = f"127.0.0.1:{port}"
        self.device.start()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        stopped = self.server.stop(grace=0.2).wait(STOP_SECONDS)
        self.device.stop()
        if not stopped and kind is None:
            raise AssertionError(f"the gRPC server did not stop within {STOP_SECONDS} s")


def u128(value: int) -> p4r.Uint128:
    return p4r.Uint128(high=value >> 64, low=value & ((1 << 64) - 1))


class Stream:
    """A StreamChannel with request and response queues."""

    def __init__(self, stub: p4r_grpc.P4RuntimeStub) -> None:
        self._requests: queue.SimpleQueue[p4r.StreamMessageRequest | None] = queue.SimpleQueue()
        self.responses: queue.SimpleQueue[p4r.StreamMessageResponse | grpc.RpcError] = (
            queue.SimpleQueue())
        self._call = stub.StreamChannel(self._request_iterator())
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _request_iterator(self) -> Iterator[p4r.StreamMessageRequest]:
        while True:
            request = self._requests.get()
            if request is None:
                return
            yield request

    def _read(self) -> None:
        try:
            for response in self._call:
                self.responses.put(response)
        except grpc.RpcError as err:
            self.responses.put(err)

    def send(self, request: p4r.StreamMessageRequest) -> None:
        self._requests.put(request)

    def arbitrate(self, election_id: int, device_id: int = 0, role: str = "") -> None:
        update = p4r.MasterArbitrationUpdate(device_id=device_id, election_id=u128(election_id))
        if role:
            update.role.name = role
        self.send(p4r.StreamMessageRequest(arbitration=update))

    def next(self, timeout: float = 5.0) -> p4r.StreamMessageResponse | grpc.RpcError:
        return self.responses.get(timeout=timeout)

    def next_of(self, kind: str, timeout: float = 5.0) -> p4r.StreamMessageResponse:
        """The next response of a given kind, skipping others (e.g. arbitration updates)."""
        while True:
            response = self.next(timeout)
            assert not isinstance(response, grpc.RpcError), response
            if response.WhichOneof("update") == kind:
                return response

    def close(self) -> None:
        self._requests.put(None)
        self._call.cancel()


class Client:
    def __init__(self, address: str, device_id: int = 0) -> None:
        self.channel = grpc.insecure_channel(address)
        self.stub = p4r_grpc.P4RuntimeStub(self.channel)
        self.device_id = device_id
        self.election_id: int | None = None
        self.streams: list[Stream] = []

    def __enter__(self) -> Client:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        for stream in self.streams:
            stream.close()
        self.channel.close()

    def stream(self) -> Stream:
        stream = Stream(self.stub)
        self.streams.append(stream)
        return stream

    def become_primary(self, election_id: int = 1) -> Stream:
        stream = self.stream()
        stream.arbitrate(election_id, self.device_id)
        response = stream.next_of("arbitration")
        assert response.arbitration.status.code == 0, response
        self.election_id = election_id
        return stream

    def _stamp(self, request: p4r.WriteRequest | p4r.SetForwardingPipelineConfigRequest
               ) -> None:
        if self.election_id is not None:
            request.election_id.CopyFrom(u128(self.election_id))

    def set_pipeline(
        self, config: p4r.ForwardingPipelineConfig | None = None,
        action: p4r.SetForwardingPipelineConfigRequest.Action.ValueType = (
            p4r.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT),
    ) -> None:
        request = p4r.SetForwardingPipelineConfigRequest(
            device_id=self.device_id, action=action,
            config=config if config is not None else mini_config())
        self._stamp(request)
        self.stub.SetForwardingPipelineConfig(request, timeout=10)

    def write(self, *updates: p4r.Update,
              atomicity: p4r.WriteRequest.Atomicity.ValueType = (
                  p4r.WriteRequest.CONTINUE_ON_ERROR)) -> None:
        request = p4r.WriteRequest(device_id=self.device_id, updates=updates,
                                   atomicity=atomicity)
        self._stamp(request)
        self.stub.Write(request, timeout=10)

    def write_errors(self, *updates: p4r.Update) -> list[p4r.Error]:
        """Per-update errors of a Write that must fail with UNKNOWN + details."""
        try:
            self.write(*updates)
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.UNKNOWN, err
            return batch_errors(err)
        raise AssertionError("the Write succeeded")

    def read(self, *entities: p4r.Entity) -> list[p4r.Entity]:
        request = p4r.ReadRequest(device_id=self.device_id, entities=entities)
        found: list[p4r.Entity] = []
        for response in self.stub.Read(request, timeout=10):
            found.extend(response.entities)
        return found


def batch_errors(err: grpc.RpcError) -> list[p4r.Error]:
    trailers = dict(err.trailing_metadata() or ())  # type: ignore[attr-defined]
    status = rpc_status.Status.FromString(trailers["grpc-status-details-bin"])
    errors = []
    for detail in status.details:
        error = p4r.Error()
        assert detail.Unpack(error)
        errors.append(error)
    return errors


def code_of(call: object) -> grpc.StatusCode:
    """The status code a callable's gRPC call fails with."""
    try:
        call()  # type: ignore[operator]
    except grpc.RpcError as err:
        return err.code()  # type: ignore[no-any-return]
    raise AssertionError("the call succeeded")


def update(kind: int, **entity: object) -> p4r.Update:
    return p4r.Update(type=kind, entity=p4r.Entity(**entity))  # type: ignore[arg-type]


def insert(**entity: object) -> p4r.Update:
    return update(p4r.Update.INSERT, **entity)


def modify(**entity: object) -> p4r.Update:
    return update(p4r.Update.MODIFY, **entity)


def delete(**entity: object) -> p4r.Update:
    return update(p4r.Update.DELETE, **entity)


def lpm_entry(prefix: bytes, plen: int, dmac: bytes = b"\x01",
              port: bytes = b"\x01", **fields: object) -> p4r.TableEntry:
    entry = p4r.TableEntry(table_id=T_IPV4_LPM, **fields)  # type: ignore[arg-type]
    entry.match.add(field_id=1, lpm=p4r.FieldMatch.LPM(value=prefix, prefix_len=plen))
    entry.action.action.action_id = A_SET_NHOP
    entry.action.action.params.add(param_id=1, value=dmac)
    entry.action.action.params.add(param_id=2, value=port)
    return entry


def acl_entry(src: bytes, mask: bytes, priority: int,
              action_id: int = A_DROP) -> p4r.TableEntry:
    entry = p4r.TableEntry(table_id=T_ACL, priority=priority)
    entry.match.add(field_id=1, ternary=p4r.FieldMatch.Ternary(value=src, mask=mask))
    entry.action.action.action_id = action_id
    return entry
