"""Primary/backup arbitration over real gRPC streams (P4Runtime spec section 5)."""

from __future__ import annotations

import grpc
from finsy.proto import p4r
from p4rt_testlib import Client, Server, Stream, code_of, insert, lpm_entry, u128

from p4sim.p4runtime.arbitration import Arbitrator
from p4sim.p4runtime.errors import P4RuntimeError

OK, ALREADY_EXISTS, NOT_FOUND = 0, 6, 5


def status_of(response: object) -> tuple[int, int]:
    assert isinstance(response, p4r.StreamMessageResponse), response
    update = response.arbitration
    return update.status.code, (update.election_id.high << 64) | update.election_id.low


def join(client: Client, election_id: int) -> tuple[Stream, tuple[int, int]]:
    """Open a stream, send an arbitration update; the stream and the (code, primary) answer."""
    stream = client.stream()
    stream.arbitrate(election_id)
    return stream, status_of(stream.next())


def test_primary_then_backup_then_takeover(server: Server) -> None:
    with Client(server.address) as first, Client(server.address) as second:
        stream1, answer = join(first, 10)
        assert answer == (OK, 10)
        stream2, answer = join(second, 5)
        assert answer == (ALREADY_EXISTS, 10)
        # A higher election id takes over: everyone is told.
        stream2.arbitrate(20)
        assert status_of(stream2.next()) == (OK, 20)
        assert status_of(stream1.next()) == (ALREADY_EXISTS, 20)


def test_primary_leaving_leaves_backups_without_primary(server: Server) -> None:
    with Client(server.address) as first, Client(server.address) as second:
        stream1, _ = join(first, 10)
        stream2, _ = join(second, 5)
        stream1.close()
        assert status_of(stream2.next()) == (NOT_FOUND, 10)
        stream2.arbitrate(10)
        assert status_of(stream2.next()) == (OK, 10)


def test_duplicate_election_id_ends_the_stream(server: Server) -> None:
    with Client(server.address) as first, Client(server.address) as second:
        join(first, 7)
        stream2 = second.stream()
        stream2.arbitrate(7)
        error = stream2.next()
        assert isinstance(error, grpc.RpcError)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_wrong_device_id_ends_the_stream(server: Server) -> None:
    with Client(server.address) as client:
        stream = client.stream()
        stream.arbitrate(1, device_id=42)
        error = stream.next()
        assert isinstance(error, grpc.RpcError)
        assert error.code() == grpc.StatusCode.NOT_FOUND


def test_only_the_primary_may_write(server: Server) -> None:
    with Client(server.address) as primary, Client(server.address) as backup:
        primary.become_primary(2)
        primary.set_pipeline()
        join(backup, 1)
        backup.election_id = 1
        entry = lpm_entry(b"\x0a\x00\x00\x00", 8)
        assert code_of(lambda: backup.write(insert(table_entry=entry))) == (
            grpc.StatusCode.PERMISSION_DENIED)
        assert code_of(lambda: backup.set_pipeline()) == grpc.StatusCode.PERMISSION_DENIED
        primary.write(insert(table_entry=entry))
        # Reads are allowed to everyone.
        assert len(backup.read(p4r.Entity(table_entry=p4r.TableEntry()))) == 1


def test_write_without_election_id_is_refused_once_controllers_are_connected(
        server: Server) -> None:
    with Client(server.address) as anonymous:
        anonymous.set_pipeline()  # nobody connected: accepted, as simple_switch_grpc does
        with Client(server.address) as primary:
            primary.become_primary(1)
            assert code_of(lambda: anonymous.set_pipeline()) == (
                grpc.StatusCode.PERMISSION_DENIED)


def test_roles_have_independent_elections() -> None:
    sent: list[tuple[str, p4r.StreamMessageResponse]] = []
    arbitrator = Arbitrator(0)
    arbitrator.join("", 5, lambda m: sent.append(("a", m)))
    arbitrator.join("sdn", 1, lambda m: sent.append(("b", m)))
    assert [(who, m.arbitration.status.code, m.arbitration.role.name) for who, m in sent] == [
        ("a", OK, ""), ("b", OK, "sdn")]
    assert arbitrator.may_write("sdn", 1) and arbitrator.may_write("", 5)
    assert not arbitrator.may_write("sdn", 5)
    assert len(arbitrator.primaries()) == 2


def test_uint128_election_ids(server: Server) -> None:
    with Client(server.address) as client:
        stream = client.stream()
        big = (3 << 64) | 9
        stream.arbitrate(big)
        assert status_of(stream.next()) == (OK, big)
        request = p4r.SetForwardingPipelineConfigRequest(
            device_id=0, action=p4r.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT,
            election_id=u128(big))
        assert code_of(lambda: client.stub.SetForwardingPipelineConfig(request)) == (
            grpc.StatusCode.INVALID_ARGUMENT)  # accepted as primary; the config is empty


def test_connection_limit() -> None:
    arbitrator = Arbitrator(0)
    for election_id in range(1, 17):
        arbitrator.join("", election_id, lambda m: None)
    try:
        arbitrator.join("", 99, lambda m: None)
    except P4RuntimeError as err:
        assert err.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    else:
        raise AssertionError("a 17th controller was accepted")
