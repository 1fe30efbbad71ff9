"""The TPACKET_V2 receive ring (p4sim/switch/ring.py) on a real veth: frames come whole and in
order across the ring's end, 802.1Q tags are put back, frames longer than a slot come whole
through the socket (TP_STATUS_COPY), and virtio-net headers with flags are handed over."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from p4sim.switch.offload import GSO_TCPV4, VNET_HDR
from p4sim.switch.ring import RxRing
from tests.switch.netns_testlib import ETH_P_ALL, Lab, can_create_namespaces, inside, ip

pytestmark = pytest.mark.skipif(not can_create_namespaces(), reason="needs root and iproute2")

SOL_PACKET = 263
PACKET_VNET_HDR = 15
SLOTS = 32
ETHERNET = bytes.fromhex("02000000000202000000000108ff")  # a protocol nobody else handles


@pytest.fixture
def lab() -> Iterator[Lab]:
    with Lab("p4rg", 1) as lab:
        for namespace, name in ((lab.switch_ns, "s1"), (lab.hosts_ns, "h1")):
            ip("-n", namespace, "link", "set", name, "mtu", "9000")
        yield lab


def ring_socket(lab: Lab) -> tuple[socket.socket, RxRing]:
    with inside(lab.switch_ns):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    ring = RxRing(sock, VNET_HDR.size, 8, slots=SLOTS, max_frame=16384)
    sock.bind(("s1", ETH_P_ALL))
    return sock, ring


def receive(ring: RxRing, count: int) -> tuple[list[bytes], dict[int, tuple[bytes | None, None]]]:
    """``count`` frames (several receives), with the extras' positions in the whole list."""
    frames: list[bytes] = []
    extras: dict[int, tuple[bytes | None, None]] = {}
    deadline = time.monotonic() + 5
    while len(frames) < count and time.monotonic() < deadline:
        got, more = ring.receive()
        extras.update({len(frames) + i: extra for i, extra in more.items()})
        frames += got
        if not got:
            time.sleep(0.01)
    return frames, extras


def test_frames_come_whole_and_in_order_across_the_end_of_the_ring(lab: Lab) -> None:
    sock, ring = ring_socket(lab)
    host = lab.host_socket(1)
    try:
        sent = [ETHERNET + i.to_bytes(2, "big") * (20 + i) for i in range(3 * SLOTS + 5)]
        for rounds in range(0, len(sent), SLOTS // 2):  # never more than the ring holds
            for frame in sent[rounds:rounds + SLOTS // 2]:
                host.send(frame)
            frames, extras = receive(ring, len(sent[rounds:rounds + SLOTS // 2]))
            assert frames == sent[rounds:rounds + SLOTS // 2]
            assert extras == {}
        assert ring.receive() == ([], {})
    finally:
        ring.close()
        sock.close()
        host.close()


def test_vlan_tags_are_put_back_and_long_frames_come_through_the_socket(lab: Lab) -> None:
    sock, ring = ring_socket(lab)
    host = lab.host_socket(1)
    try:
        tagged = ETHERNET[:12] + bytes.fromhex("81000064") + ETHERNET[12:] + b"tagged" * 10
        long_one = ETHERNET + bytes(range(256)) * 20  # 5 KB: longer than a 2 KB slot
        long_tagged = tagged + bytes(range(256)) * 16
        sent = [ETHERNET + b"first" * 10, tagged, long_one, ETHERNET + b"after" * 10,
                long_tagged, long_one]
        for frame in sent:
            host.send(frame)
        frames, extras = receive(ring, len(sent))
        assert frames == sent
        assert extras == {}
    finally:
        ring.close()
        sock.close()
        host.close()


def test_virtio_headers_with_flags_are_handed_over(lab: Lab) -> None:
    """A GSO super-segment sent with a virtio-net header arrives with its GSO type."""
    sock, ring = ring_socket(lab)
    with inside(lab.hosts_ns):
        host = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    host.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    host.bind(("h1", 0))
    try:
        ip_header = bytes.fromhex("45000000000140004006") + bytes(2) + bytes([10, 0, 0, 1]) + \
            bytes([10, 0, 0, 2])
        payload = bytes(range(256)) * 12  # 3 KB of TCP payload in 1000-byte segments
        total = (20 + 20 + len(payload)).to_bytes(2, "big")
        ip_header = ip_header[:2] + total + ip_header[4:]
        tcp = bytes.fromhex("1f90c35000000001000000005010ffff00000000")
        frame = ETHERNET[:12] + b"\x08\x00" + ip_header + tcp + payload
        small = ETHERNET + b"plain" * 10
        # NEEDS_CSUM, GSO TCPv4: header length, segment size, checksum start and offset
        vnet = VNET_HDR.pack(1, GSO_TCPV4, 54, 1000, 34, 16)
        host.send(VNET_HDR.pack(0, 0, 0, 0, 0, 0) + small)
        host.send(vnet + frame)
        frames, extras = receive(ring, 2)
        assert frames == [small, frame]
        assert list(extras) == [1]
        header = extras[1][0]
        assert header is not None
        flags, gso_type, _, gso_size, start, offset = VNET_HDR.unpack(header)
        assert (flags & 1, gso_type & 0x7F, gso_size, start, offset) == \
            (1, GSO_TCPV4, 1000, 34, 16)
    finally:
        ring.close()
        sock.close()
        host.close()
