"""Malformed requests never crash the server nor corrupt its state."""

from __future__ import annotations

import threading
import time

import grpc
from finsy.proto import p4r
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from p4rt_fixture import A_SET_NHOP, C_PORT, T_IPV4_LPM
from p4rt_testlib import Client, Server, code_of, insert, lpm_entry, modify

ALL_TABLES = p4r.Entity(table_entry=p4r.TableEntry())


def assert_still_serving(client: Client) -> None:
    client.stub.Capabilities(p4r.CapabilitiesRequest(), timeout=5)
    client.read(ALL_TABLES)


def test_garbage_bytes_on_every_rpc(client: Client) -> None:
    garbage = b"\xff\x0f\x00garbage\x80\x80\x80"
    for method in ("Write", "Read", "SetForwardingPipelineConfig",
                   "GetForwardingPipelineConfig", "Capabilities"):
        raw = client.channel.unary_unary(f"/p4.v1.P4Runtime/{method}")
        try:
            result = raw(garbage, timeout=5)
            if method == "Read":
                list(result)
        except grpc.RpcError as err:
            assert err.code() != grpc.StatusCode.OK
    stream = client.channel.stream_stream("/p4.v1.P4Runtime/StreamChannel")
    call = stream(iter([garbage, b"\x0a\x03\x08\x01\x00"]), timeout=5)
    try:
        list(call)
    except grpc.RpcError as err:
        assert err.code() != grpc.StatusCode.OK
    assert_still_serving(client)


def test_server_stops_after_unparsable_stream_messages() -> None:
    """A stream gRPC ends itself (unparsable message) must not keep server.stop() waiting."""
    for _ in range(15):
        with Server() as server, Client(server.address) as client:
            stream = client.channel.stream_stream("/p4.v1.P4Runtime/StreamChannel")
            call = stream(iter([b"\xff\x0f\x00garbage"]), timeout=5)
            try:
                list(call)
            except grpc.RpcError as err:
                assert err.code() == grpc.StatusCode.INTERNAL
        # Server.__exit__ fails the test when the server does not stop in time.


def stream_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "p4rt-stream"}


def test_server_stops_while_streams_are_open_and_their_threads_end() -> None:
    earlier = stream_threads()
    server = Server()
    client = Client(server.address)
    client.become_primary(5)
    client.stream().arbitrate(3)  # a backup
    assert server.device.arbitrator.primaries()
    assert stream_threads() - earlier
    with server:
        pass  # Server.__exit__ fails the test when the server does not stop in time
    deadline = time.monotonic() + 5
    while stream_threads() - earlier:
        assert time.monotonic() < deadline, "a stream reader thread outlived the server"
        time.sleep(0.05)
    assert server.device.arbitrator.primaries() == []
    client.__exit__(None, None, None)


def test_oversized_and_unknown_values(client: Client) -> None:
    huge_param = lpm_entry(b"\x0a\x00\x00\x00", 8, dmac=b"\x01" * 100_000)
    huge_match = lpm_entry(b"\x01" * 4096, 8)
    unknown_action = lpm_entry(b"\x0a\x00\x00\x00", 8)
    unknown_action.action.action.action_id = 0x01FFFFFF
    counter = p4r.CounterEntry(counter_id=C_PORT)
    counter.index.index = 2**62
    negative = p4r.CounterEntry(counter_id=C_PORT)
    negative.index.index = -1
    errors = client.write_errors(
        insert(table_entry=huge_param), insert(table_entry=huge_match),
        insert(table_entry=unknown_action), modify(counter_entry=counter),
        modify(counter_entry=negative), insert(counter_entry=p4r.CounterEntry()),
        p4r.Update(type=p4r.Update.INSERT))
    assert all(e.canonical_code != 0 for e in errors)
    assert code_of(lambda: client.read(p4r.Entity(counter_entry=counter))) == (
        grpc.StatusCode.OUT_OF_RANGE)
    assert code_of(lambda: client.read(p4r.Entity())) == grpc.StatusCode.INVALID_ARGUMENT
    assert client.read(ALL_TABLES) == []
    assert_still_serving(client)


def test_a_failed_update_leaves_no_trace(client: Client) -> None:
    entry = lpm_entry(b"\x0a\x00\x00\x00", 8)
    entry.counter_data.byte_count = 1  # the table has no direct counter
    client.write_errors(insert(table_entry=entry))
    assert client.read(ALL_TABLES) == []
    client.write(insert(table_entry=lpm_entry(b"\x0a\x00\x00\x00", 8)))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=200))
def test_fuzzed_write_requests(data: bytes) -> None:
    with Server() as server, Client(server.address) as client:
        client.set_pipeline()
        try:
            request = p4r.WriteRequest.FromString(data)
        except DecodeError:
            return
        request.device_id = 0
        request.ClearField("election_id")
        try:
            client.stub.Write(request, timeout=5)
        except grpc.RpcError as err:
            assert err.code() not in (grpc.StatusCode.OK, grpc.StatusCode.INTERNAL), err
        assert_still_serving(client)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=st.binary(max_size=8), plen=st.integers(-5, 40), port=st.binary(max_size=3))
def test_fuzzed_lpm_entries_are_accepted_or_refused_cleanly(
        value: bytes, plen: int, port: bytes) -> None:
    with Server() as server, Client(server.address) as client:
        client.set_pipeline()
        entry = p4r.TableEntry(table_id=T_IPV4_LPM)
        entry.match.add(field_id=1, lpm=p4r.FieldMatch.LPM(value=value, prefix_len=plen))
        entry.action.action.action_id = A_SET_NHOP
        entry.action.action.params.add(param_id=1, value=b"\x01")
        entry.action.action.params.add(param_id=2, value=port)
        try:
            client.write(insert(table_entry=entry))
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.UNKNOWN
            return
        (read,) = client.read(ALL_TABLES)
        assert read.table_entry.match[0].lpm.prefix_len == plen
