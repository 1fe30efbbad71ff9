"""StreamChannel traffic: packet-out/packet-in, digests and idle timeout notifications."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator

import pytest
from finsy.proto import p4r
from p4rt_fixture import A_SEND_TO_CPU, CPU_PORT, D_LEARN
from p4rt_testlib import Client, Server, Stream, acl_entry, delete, insert, lpm_entry, modify

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def ipv4_frame(src_mac: bytes = MAC_A, src_ip: bytes = b"\x0a\x00\x00\x01",
               dst_ip: bytes = b"\x0a\x00\x00\x02") -> bytes:
    ip = (b"\x45\x00\x00\x14\x00\x00\x00\x00\x40\x06\x00\x00" + src_ip + dst_ip)
    return b"\xff" * 6 + src_mac + b"\x08\x00" + ip


@pytest.fixture
def primary(server: Server) -> Iterator[tuple[Client, Stream]]:
    client = Client(server.address)
    stream = client.become_primary(1)
    client.set_pipeline()
    yield client, stream
    client.__exit__(None, None, None)


def test_packet_out_is_injected_on_the_cpu_port(server: Server, primary) -> None:
    _, stream = primary
    out = p4r.PacketOut(payload=ipv4_frame())
    out.metadata.add(metadata_id=1, value=b"\x02")
    out.metadata.add(metadata_id=2, value=b"\x00")
    stream.send(p4r.StreamMessageRequest(packet=out))
    deadline = time.monotonic() + 5
    while not server.sent and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.sent == [(2, ipv4_frame())]


def test_bad_packet_out_gets_a_stream_error(primary) -> None:
    _, stream = primary
    out = p4r.PacketOut(payload=b"x")
    out.metadata.add(metadata_id=7, value=b"\x02")
    stream.send(p4r.StreamMessageRequest(packet=out))
    error = stream.next_of("error").error
    assert error.canonical_code == 3 and error.packet_out.packet_out == out


def test_packet_in_carries_the_metadata(server: Server, primary) -> None:
    client, stream = primary
    client.write(insert(table_entry=acl_entry(b"\x0a\x00\x00\x01", b"\xff\xff\xff\xff",
                                              priority=1, action_id=A_SEND_TO_CPU)))
    server.device.receive(3, ipv4_frame())
    packet = stream.next_of("packet").packet
    assert [(m.metadata_id, m.value) for m in packet.metadata] == [(1, b"\x03"), (2, b"\x00")]
    assert packet.payload[:6] == b"\xff" * 6
    assert CPU_PORT not in [port for port, _ in server.sent]


def configure_digest(client: Client, max_list_size: int, max_timeout_ns: int,
                     ack_timeout_ns: int) -> None:
    entry = p4r.DigestEntry(digest_id=D_LEARN, config=p4r.DigestEntry.Config(
        max_timeout_ns=max_timeout_ns, max_list_size=max_list_size,
        ack_timeout_ns=ack_timeout_ns))
    client.write(insert(digest_entry=entry))


def test_digests_are_batched_and_duplicates_suppressed_until_acked(
        server: Server, primary) -> None:
    client, stream = primary
    configure_digest(client, max_list_size=2, max_timeout_ns=10**9, ack_timeout_ns=10**10)
    server.device.receive(1, ipv4_frame(MAC_A))
    server.device.receive(1, ipv4_frame(MAC_A))  # duplicate in the batch
    server.device.receive(2, ipv4_frame(MAC_B))
    digest = stream.next_of("digest").digest
    assert digest.digest_id == D_LEARN
    samples = [[m.bitstring for m in d.struct.members] for d in digest.data]
    assert samples == [[MAC_A, b"\x01"], [MAC_B, b"\x02"]]
    # Unacknowledged: the same samples are not reported again.
    server.device.receive(1, ipv4_frame(MAC_A))
    server.device.receive(2, ipv4_frame(MAC_B))
    with pytest.raises(queue.Empty):
        stream.next_of("digest", timeout=0.3)
    ack = p4r.DigestListAck(digest_id=D_LEARN, list_id=digest.list_id)
    stream.send(p4r.StreamMessageRequest(digest_ack=ack))
    time.sleep(0.2)
    server.device.receive(1, ipv4_frame(MAC_A))
    server.device.receive(2, ipv4_frame(MAC_B))
    assert stream.next_of("digest").digest.list_id == digest.list_id + 1


def test_digest_timeout_flushes_a_partial_batch(server: Server, primary) -> None:
    client, stream = primary
    configure_digest(client, max_list_size=100, max_timeout_ns=100_000_000, ack_timeout_ns=0)
    server.device.receive(1, ipv4_frame(MAC_A))
    digest = stream.next_of("digest", timeout=3).digest
    assert len(digest.data) == 1


def test_digests_need_a_configuration(server: Server, primary) -> None:
    _, stream = primary
    server.device.receive(1, ipv4_frame(MAC_A))
    with pytest.raises(queue.Empty):
        stream.next_of("digest", timeout=0.3)


def test_idle_timeout_notification(server: Server, primary) -> None:
    client, stream = primary
    entry = lpm_entry(b"\x0a\x00\x00\x00", 8, idle_timeout_ns=100_000_000,
                      controller_metadata=5)
    client.write(insert(table_entry=entry))
    notification = stream.next_of("idle_timeout_notification", timeout=5)
    (expired,) = notification.idle_timeout_notification.table_entry
    assert expired.table_id == entry.table_id and list(expired.match) == list(entry.match)
    assert expired.idle_timeout_ns == 100_000_000 and expired.controller_metadata == 5


def test_digest_config_lifecycle(primary) -> None:
    client, _ = primary
    configure_digest(client, max_list_size=4, max_timeout_ns=1000, ack_timeout_ns=0)
    entry = p4r.DigestEntry(digest_id=D_LEARN, config=p4r.DigestEntry.Config(max_list_size=8))
    assert [e.canonical_code for e in client.write_errors(insert(digest_entry=entry))] == [6]
    client.write(modify(digest_entry=entry))
    (read,) = client.read(p4r.Entity(digest_entry=p4r.DigestEntry()))
    assert read.digest_entry == entry
    client.write(delete(digest_entry=entry))
    assert client.read(p4r.Entity(digest_entry=p4r.DigestEntry())) == []
    unknown = p4r.DigestEntry(digest_id=12345)
    assert [e.canonical_code for e in client.write_errors(insert(digest_entry=unknown))] == [3]
