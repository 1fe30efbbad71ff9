"""Structured fuzzing of a live server: Write, Read and StreamChannel messages with random fields.

Ids are drawn from the program's P4Info and at random, values are random bytes, repeated
fields can be huge.  After every Write the fuzzed server's whole state must equal that of a
reference server that only received the updates the fuzzed one reported as successful: a
failed update leaves no trace, a successful one does exactly what it does alone.  No handler
may raise (nothing logged at ERROR by p4sim or gRPC, no INTERNAL/"Exception calling
application" status) and the server keeps answering.

P4RT_FUZZ_EXAMPLES scales the run (CI default: a few seconds); e.g. 600 for a long soak.
"""

from __future__ import annotations

import logging
import os
import queue
from collections.abc import Iterator

import grpc
import pytest
from finsy.proto import p4r
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from p4rt_fixture import (
    A_DROP,
    A_LEARN,
    A_NOACTION,
    A_SEND_TO_CPU,
    A_SET_NHOP,
    AP_ECMP,
    C_PORT,
    D_LEARN,
    M_PORT,
    R_REG,
    T_ACL,
    T_ECMP,
    T_IPV4_LPM,
    T_MAC_LEARN,
)
from p4rt_testlib import Client, Server, Stream, batch_errors

EXAMPLES = int(os.environ.get("P4RT_FUZZ_EXAMPLES", "40"))
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                         suppress_health_check=list(HealthCheck))
PRIMARY_ELECTION_ID = 1 << 100

ALL_STATE = [
    p4r.Entity(table_entry=p4r.TableEntry()),
    p4r.Entity(table_entry=p4r.TableEntry(is_default_action=True)),
    p4r.Entity(action_profile_member=p4r.ActionProfileMember()),
    p4r.Entity(action_profile_group=p4r.ActionProfileGroup()),
    p4r.Entity(counter_entry=p4r.CounterEntry()),
    p4r.Entity(meter_entry=p4r.MeterEntry()),
    p4r.Entity(direct_counter_entry=p4r.DirectCounterEntry(
        table_entry=p4r.TableEntry(table_id=T_ACL))),
    p4r.Entity(packet_replication_engine_entry=p4r.PacketReplicationEngineEntry(
        multicast_group_entry=p4r.MulticastGroupEntry())),
    p4r.Entity(packet_replication_engine_entry=p4r.PacketReplicationEngineEntry(
        clone_session_entry=p4r.CloneSessionEntry())),
    p4r.Entity(digest_entry=p4r.DigestEntry()),
]

# --- strategies ------------------------------------------------------------------------------

small_int = st.integers(0, 8)
any_u32 = st.integers(0, 2**32 - 1)
table_ids = st.sampled_from([T_MAC_LEARN, T_IPV4_LPM, T_ECMP, T_ACL]) | any_u32
action_ids = st.sampled_from([A_NOACTION, A_DROP, A_SET_NHOP, A_SEND_TO_CPU, A_LEARN]) | any_u32
values = st.binary(max_size=7) | st.sampled_from([b"\x00" * 5000, b"\xff" * 70])
update_types = st.sampled_from([p4r.Update.INSERT, p4r.Update.MODIFY, p4r.Update.DELETE]) | (
    st.integers(0, 9))


@st.composite
def field_matches(draw: st.DrawFn) -> p4r.FieldMatch:
    match = p4r.FieldMatch(field_id=draw(st.integers(0, 4)))
    kind = draw(st.sampled_from(["exact", "lpm", "ternary", "range", "optional", "none"]))
    if kind == "exact":
        match.exact.value = draw(values)
    elif kind == "lpm":
        match.lpm.value = draw(values)
        match.lpm.prefix_len = draw(st.integers(-3, 40))
    elif kind == "ternary":
        match.ternary.value = draw(values)
        match.ternary.mask = draw(values)
    elif kind == "range":
        match.range.low = draw(values)
        match.range.high = draw(values)
    elif kind == "optional":
        match.optional.value = draw(values)
    return match


@st.composite
def actions(draw: st.DrawFn) -> p4r.Action:
    action = p4r.Action(action_id=draw(action_ids))
    for _ in range(draw(small_int)):
        action.params.add(param_id=draw(st.integers(0, 3)), value=draw(values))
    return action


@st.composite
def table_entries(draw: st.DrawFn) -> p4r.TableEntry:
    entry = p4r.TableEntry(table_id=draw(table_ids), priority=draw(st.integers(-2, 20)),
                           is_default_action=draw(st.booleans()))
    entry.match.extend(draw(st.lists(field_matches(), max_size=4)))
    kind = draw(st.sampled_from(["action", "member", "group", "set", "none"]))
    if kind == "action":
        entry.action.action.CopyFrom(draw(actions()))
    elif kind == "member":
        entry.action.action_profile_member_id = draw(small_int)
    elif kind == "group":
        entry.action.action_profile_group_id = draw(small_int)
    elif kind == "set":
        for _ in range(draw(small_int)):
            entry.action.action_profile_action_set.action_profile_actions.add(
                action=draw(actions()), weight=draw(st.integers(-1, 3)))
    if draw(st.booleans()):
        entry.idle_timeout_ns = draw(st.integers(-1, 10**9) | st.just(2**62))
    if draw(st.booleans()):
        entry.counter_data.packet_count = draw(small_int)
    if draw(st.booleans()):
        entry.meter_config.cir = draw(st.integers(-2, 100))
        entry.meter_config.pir = draw(st.integers(-2, 100))
    entry.controller_metadata = draw(st.integers(0, 2**64 - 1))
    return entry


@st.composite
def plausible_table_entries(draw: st.DrawFn) -> p4r.TableEntry:
    """Well-formed entries of the program's tables, so that many writes succeed."""
    table = draw(st.sampled_from([T_MAC_LEARN, T_IPV4_LPM, T_ACL]))
    entry = p4r.TableEntry(table_id=table)
    if table == T_MAC_LEARN:
        entry.match.add(field_id=1, exact=p4r.FieldMatch.Exact(value=bytes([draw(small_int)])))
        entry.action.action.action_id = draw(st.sampled_from([A_LEARN, A_NOACTION]))
    elif table == T_IPV4_LPM:
        entry.match.add(field_id=1, lpm=p4r.FieldMatch.LPM(
            value=bytes([10, draw(small_int), 0, 0]), prefix_len=16))
        entry.action.action.action_id = A_SET_NHOP
        entry.action.action.params.add(param_id=1, value=bytes([draw(small_int)]))
        entry.action.action.params.add(param_id=2, value=bytes([draw(small_int)]))
    else:
        entry.priority = draw(st.integers(1, 3))
        entry.match.add(field_id=1, ternary=p4r.FieldMatch.Ternary(
            value=bytes([draw(small_int)]), mask=b"\xff"))
        entry.action.action.action_id = draw(st.sampled_from([A_DROP, A_SEND_TO_CPU]))
        if draw(st.booleans()):
            entry.counter_data.packet_count = draw(small_int)
    return entry


@st.composite
def replicas(draw: st.DrawFn) -> list[p4r.Replica]:
    found = []
    for _ in range(draw(st.integers(0, 4) | st.just(3000))):
        replica = p4r.Replica(instance=draw(st.integers(0, 2)))
        if draw(st.booleans()):
            replica.egress_port = draw(small_int | st.integers(0, 600))
        else:
            replica.port = draw(st.sampled_from([b"\x01", b"\x00\x02", b"\x03"]) | values)
        found.append(replica)
    return found


@st.composite
def entities(draw: st.DrawFn) -> p4r.Entity:
    kind = draw(st.sampled_from(["table", "member", "group", "counter", "meter",
                                 "direct_counter", "mc", "clone", "digest", "register"]))
    if kind == "table":
        return p4r.Entity(table_entry=draw(table_entries() | plausible_table_entries()))
    if kind == "member":
        return p4r.Entity(action_profile_member=p4r.ActionProfileMember(
            action_profile_id=draw(st.just(AP_ECMP) | any_u32), member_id=draw(small_int),
            action=draw(actions())))
    if kind == "group":
        group = p4r.ActionProfileGroup(action_profile_id=draw(st.just(AP_ECMP) | any_u32),
                                       group_id=draw(small_int),
                                       max_size=draw(st.integers(-1, 10)))
        for _ in range(draw(st.integers(0, 6) | st.just(2000))):
            group.members.add(member_id=draw(small_int), weight=draw(st.integers(-1, 3)))
        return p4r.Entity(action_profile_group=group)
    if kind == "counter":
        counter = p4r.CounterEntry(counter_id=draw(st.just(C_PORT) | any_u32))
        if draw(st.booleans()):
            counter.index.index = draw(st.integers(-2, 600) | st.just(2**62))
        counter.data.packet_count = draw(small_int)
        return p4r.Entity(counter_entry=counter)
    if kind == "meter":
        meter = p4r.MeterEntry(meter_id=draw(st.just(M_PORT) | any_u32))
        if draw(st.booleans()):
            meter.index.index = draw(st.integers(-2, 20))
        meter.config.cir = draw(st.integers(-2, 10**12))
        meter.config.pir = draw(st.integers(-2, 10**12))
        meter.config.cburst = draw(st.integers(-2, 10**6))
        return p4r.Entity(meter_entry=meter)
    if kind == "direct_counter":
        return p4r.Entity(direct_counter_entry=p4r.DirectCounterEntry(
            table_entry=draw(table_entries()), data=p4r.CounterData(byte_count=draw(small_int))))
    if kind == "mc":
        group_entry = p4r.MulticastGroupEntry(multicast_group_id=draw(small_int))
        group_entry.replicas.extend(draw(replicas()))
        return p4r.Entity(packet_replication_engine_entry=p4r.PacketReplicationEngineEntry(
            multicast_group_entry=group_entry))
    if kind == "clone":
        session = p4r.CloneSessionEntry(session_id=draw(small_int),
                                        class_of_service=draw(small_int),
                                        packet_length_bytes=draw(st.integers(-1, 9000)))
        session.replicas.extend(draw(replicas()))
        return p4r.Entity(packet_replication_engine_entry=p4r.PacketReplicationEngineEntry(
            clone_session_entry=session))
    if kind == "digest":
        digest = p4r.DigestEntry(digest_id=draw(st.just(D_LEARN) | any_u32))
        digest.config.max_list_size = draw(st.integers(-1, 5))
        digest.config.max_timeout_ns = draw(st.integers(-1, 10**9))
        digest.config.ack_timeout_ns = draw(st.integers(-1, 10**9))
        return p4r.Entity(digest_entry=digest)
    register = p4r.RegisterEntry(register_id=draw(st.just(R_REG) | any_u32))
    register.index.index = draw(small_int)
    return p4r.Entity(register_entry=register)


@st.composite
def packet_outs(draw: st.DrawFn) -> p4r.StreamMessageRequest:
    packet = p4r.PacketOut(payload=draw(st.binary(max_size=80)))
    for _ in range(draw(st.integers(0, 3))):
        packet.metadata.add(metadata_id=draw(st.integers(0, 3)), value=draw(values))
    return p4r.StreamMessageRequest(packet=packet)


@st.composite
def stream_messages(draw: st.DrawFn) -> p4r.StreamMessageRequest:
    """Messages of a controller that never becomes primary (ids below the primary's)."""
    kind = draw(st.sampled_from(["packet", "ack", "arbitration", "empty"]))
    if kind == "packet":
        return draw(packet_outs())
    if kind == "ack":
        return p4r.StreamMessageRequest(digest_ack=p4r.DigestListAck(
            digest_id=draw(st.just(D_LEARN) | any_u32), list_id=draw(any_u32)))
    if kind == "arbitration":
        update = p4r.MasterArbitrationUpdate(device_id=draw(st.sampled_from([0, 0, 7])))
        update.election_id.low = draw(st.integers(2, 50))
        return p4r.StreamMessageRequest(arbitration=update)
    return p4r.StreamMessageRequest()


# --- harness ---------------------------------------------------------------------------------

class ErrorLog(logging.Handler):
    """Collects ERROR records of p4sim and gRPC: an exception escaping a handler shows here."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("p4sim", "grpc")):
            self.records.append(record)


class Pair:
    """The fuzzed server and a reference server, both primaries' clients connected."""

    def __init__(self) -> None:
        self.fuzzed_server, self.reference_server = Server(), Server()
        self.fuzzed = Client(self.fuzzed_server.address)
        self.reference = Client(self.reference_server.address)
        for client in (self.fuzzed, self.reference):
            client.become_primary(PRIMARY_ELECTION_ID)
            client.set_pipeline()

    def close(self) -> None:
        for client in (self.fuzzed, self.reference):
            client.__exit__(None, None, None)
        for server in (self.fuzzed_server, self.reference_server):
            server.__exit__(None, None, None)


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    running = Pair()
    try:
        yield running
    finally:
        running.close()
        logging.getLogger().removeHandler(errors)
    assert not errors.records, [r.getMessage() for r in errors.records[:5]]


def state(client: Client) -> list[bytes]:
    return [entity.SerializeToString(deterministic=True)
            for entity in client.read(*ALL_STATE)]


def write_results(client: Client, updates: list[p4r.Update]) -> list[int]:
    """Per-update canonical codes of a Write (0: applied)."""
    try:
        client.write(*updates)
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.UNKNOWN, (err.code(), err.details())
        codes = [error.canonical_code for error in batch_errors(err)]
        assert len(codes) == len(updates)
        return codes
    return [0] * len(updates)


@FUZZ_SETTINGS
@given(batch=st.lists(st.tuples(update_types, entities()), min_size=1, max_size=6))
def test_writes_apply_exactly_the_successful_updates(
        pair: Pair, batch: list[tuple[int, p4r.Entity]]) -> None:
    updates = [p4r.Update(type=p4r.Update.Type.ValueType(kind), entity=entity)
               for kind, entity in batch]
    codes = write_results(pair.fuzzed, updates)
    assert grpc.StatusCode.INTERNAL.value[0] not in codes, codes
    applied = [u for u, code in zip(updates, codes, strict=True) if code == 0]
    if applied:
        assert write_results(pair.reference, applied) == [0] * len(applied)
    assert state(pair.fuzzed) == state(pair.reference)


@FUZZ_SETTINGS
@given(requested=st.lists(entities(), min_size=1, max_size=4))
def test_reads_answer_or_refuse_cleanly(pair: Pair, requested: list[p4r.Entity]) -> None:
    try:
        pair.fuzzed.read(*requested)
    except grpc.RpcError as err:
        assert err.code() not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL), (
            err.code(), err.details())


@FUZZ_SETTINGS
@given(messages=st.lists(stream_messages(), min_size=1, max_size=8))
def test_stream_messages_never_break_the_server(
        pair: Pair, messages: list[p4r.StreamMessageRequest]) -> None:
    before = state(pair.fuzzed)
    stream = pair.fuzzed.stream()
    for message in messages:
        stream.send(message)
    stream.arbitrate(1)
    response = stream.next(timeout=5)
    while not isinstance(response, grpc.RpcError) and response.WhichOneof("update") in (
            "arbitration", "error"):
        try:
            response = stream.next(timeout=0.2)
        except queue.Empty:
            break
    if isinstance(response, grpc.RpcError):
        assert response.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
                                   grpc.StatusCode.FAILED_PRECONDITION), response
    stream.close()
    pair.fuzzed.streams.remove(stream)
    pair.fuzzed.stub.Capabilities(p4r.CapabilitiesRequest(), timeout=5)
    assert state(pair.fuzzed) == before


@pytest.fixture(scope="module")
def lone_primary() -> Iterator[tuple[Client, Stream]]:
    """A server of its own: packet-outs change counters the write test compares."""
    with Server() as server, Client(server.address) as client:
        stream = client.become_primary(PRIMARY_ELECTION_ID)
        client.set_pipeline()
        yield client, stream


@FUZZ_SETTINGS
@given(messages=st.lists(packet_outs(), min_size=1, max_size=8))
def test_packet_outs_of_the_primary_never_break_the_server(
        lone_primary: tuple[Client, Stream], messages: list[p4r.StreamMessageRequest]) -> None:
    client, stream = lone_primary
    for message in messages:
        stream.send(message)
    client.stub.Capabilities(p4r.CapabilitiesRequest(), timeout=5)
    client.read(p4r.Entity(counter_entry=p4r.CounterEntry(counter_id=C_PORT)))
    while True:  # the stream is still open: only packet-ins and stream errors came back
        try:
            response = stream.next(timeout=0.01)
        except queue.Empty:
            break
        assert not isinstance(response, grpc.RpcError), response
        assert response.WhichOneof("update") in ("packet", "error"), response
