"""The p4sim-switch process end to end: real ports on veth pairs in namespaces, P4Runtime on a
Unix socket, forwarding, packet-in, malformed frames, pcap files and clean shutdown."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from finsy.proto import p4r
from netns_testlib import Lab, can_create_namespaces
from scapy.utils import rdpcap

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "p4runtime"))
from p4rt_fixture import A_SEND_TO_CPU, FIXTURES  # noqa: E402
from p4rt_testlib import Client, acl_entry, insert, lpm_entry  # noqa: E402

pytestmark = pytest.mark.skipif(not can_create_namespaces(),
                                reason="needs root and iproute2 for network namespaces")

DMAC = bytes.fromhex("0200000000aa")


def frame(src_ip: bytes, dst_ip: bytes, payload: bytes = b"") -> bytes:
    ip = b"\x45\x00\x00\x14\x00\x00\x00\x00\x40\x06\x00\x00" + src_ip + dst_ip
    return b"\xff" * 6 + bytes.fromhex("020000000001") + b"\x08\x00" + ip + payload


def receive_matching(sock: socket.socket, marker: bytes, timeout: float = 5.0) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        if marker in data:
            return data
    raise AssertionError(f"no frame containing {marker!r}")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Lab, Client, subprocess.Popen[bytes], Path]]:
    prefix = f"p4sw{os.getpid() % 10000}-"
    socket_path = tmp_path / "grpc.sock"
    pcap_dir = tmp_path / "pcap"
    pcap_dir.mkdir()
    with Lab(prefix, 2) as lab:
        process = lab.start_switch(socket_path, [
            str(FIXTURES / "mini.json"), "-i", "1@s1", "-i", "2@s2", "--cpu-port", "64",
            "--pcap", str(pcap_dir), "--log-console", "--thrift-port", "9090"])
        try:
            with Client(f"unix:{socket_path}") as client:
                yield lab, client, process, pcap_dir
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()


def test_forwarding_packet_in_garbage_and_shutdown(running) -> None:
    lab, client, process, pcap_dir = running
    stream = client.become_primary(1)
    client.set_pipeline()
    client.write(insert(table_entry=lpm_entry(b"\x0a\x00\x00\x00", 8, dmac=DMAC, port=b"\x02")),
                 insert(table_entry=acl_entry(b"\x0a\x09\x09\x09", b"\xff\xff\xff\xff",
                                              priority=1, action_id=A_SEND_TO_CPU)))
    host1, host2 = lab.host_socket(1), lab.host_socket(2)

    host1.send(frame(b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02", b"forward-me"))
    forwarded = receive_matching(host2, b"forward-me")
    assert forwarded[:6] == DMAC

    host1.send(frame(b"\x0a\x09\x09\x09", b"\x0a\x00\x00\x02", b"to-the-cpu"))
    packet_in = stream.next_of("packet", timeout=5).packet
    assert b"to-the-cpu" in packet_in.payload
    assert [(m.metadata_id, m.value) for m in packet_in.metadata] == [(1, b"\x01"), (2, b"\x00")]

    rng = random.Random(7)
    full = frame(b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02", b"x" * 40)
    for size in range(14, len(full)):  # the kernel refuses frames shorter than a header
        host1.send(full[:size])
    for _ in range(200):
        host1.send(bytes(rng.getrandbits(8) for _ in range(rng.randint(14, 300))))
    host1.send(frame(b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02", b"still-alive"))
    receive_matching(host2, b"still-alive")
    assert process.poll() is None

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    inbound = rdpcap(str(pcap_dir / "s1_in.pcap"))
    outbound = rdpcap(str(pcap_dir / "s2_out.pcap"))
    assert any(b"forward-me" in bytes(p) for p in inbound)
    assert any(b"still-alive" in bytes(p) for p in outbound)
    try:
        client.stub.Capabilities(p4r.CapabilitiesRequest(), timeout=1)
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.UNAVAILABLE
