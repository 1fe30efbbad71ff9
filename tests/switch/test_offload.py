"""Virtio-net header handling of the offload ports: partial checksums recomputed after the
program's rewrites, GSO headers describing the frame the program produced, and software
segmentation, all checked against scapy's own checksum computation."""

from __future__ import annotations

import os
import socket

import pytest
from scapy.layers.inet import IP, TCP, UDP, Ether
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1Q
from scapy.packet import Packet
from scapy.utils import checksum

from p4sim.engine import SplitFrame
from p4sim.switch.offload import (
    GSO_ECN,
    GSO_NONE,
    GSO_TCPV4,
    GSO_TCPV6,
    GSO_UDP_L4,
    NEEDS_CSUM,
    PLAIN_HEADER,
    VNET_HDR,
    Transmission,
    Vnet,
    egress,
    finish,
    locate,
    wire_bytes,
)

PAYLOAD = os.urandom(10_000)
MSS = 1448


def tcp4(payload: bytes = PAYLOAD, flags: str = "PA") -> Packet:
    return (Ether(src="00:00:00:00:00:01", dst="00:00:00:00:00:02")
            / IP(src="10.0.1.1", dst="10.0.2.2", id=100, flags="DF")
            / TCP(sport=40000, dport=80, seq=1000, ack=5, flags=flags, window=500,
                  options=[("NOP", None), ("NOP", None), ("Timestamp", (1, 2))])
            / payload)


def partial_sum(ip: Packet, proto: int, length: int) -> int:
    """What the kernel leaves in a CHECKSUM_PARTIAL L4 checksum: the folded pseudo-header
    sum, not complemented (scapy's checksum() is the complement)."""
    if ip.version == 4:
        pseudo = (bytes(map(int, ip.src.split("."))) + bytes(map(int, ip.dst.split(".")))
                  + bytes([0, proto]) + length.to_bytes(2))
    else:
        pseudo = (socket.inet_pton(socket.AF_INET6, ip.src)
                  + socket.inet_pton(socket.AF_INET6, ip.dst)
                  + length.to_bytes(4) + bytes([0, 0, 0, proto]))
    return ~checksum(pseudo) & 0xFFFF


def verified(frame: bytes) -> Packet:
    """The frame parsed by scapy, asserting every checksum in it is complete and right."""
    pkt = Ether(frame)
    for layer in (IP, TCP, UDP):
        for sub in pkt.iterpayloads():
            if isinstance(sub, layer):
                got = sub.chksum
                clone = Ether(frame)
                for c in clone.iterpayloads():
                    if isinstance(c, layer) and c.chksum == got:
                        del c.chksum
                        break
                again = Ether(bytes(clone))
                assert any(isinstance(c, layer) and c.chksum == got
                           for c in again.iterpayloads()), f"bad {layer.__name__} checksum"
    return pkt


def on_wire(transmissions: list[Transmission]) -> list[tuple[bytes, bytes]]:
    """(virtio-net header, frame on the wire) of each transmission."""
    return [(t[0], wire_bytes(t)) for t in transmissions]


def gso_vnet(gso_type: int = GSO_TCPV4) -> Vnet:
    return Vnet(NEEDS_CSUM, gso_type, MSS)


def test_egress_of_a_rewritten_super_segment_is_one_gso_packet_with_a_new_partial_sum() -> None:
    pkt = tcp4()
    pkt[IP].src = "192.0.2.7"  # as NAT rewrote it
    pkt[TCP].chksum = 0x1234   # whatever the pipeline left there
    out = on_wire(egress(bytes(pkt), gso_vnet()))
    assert len(out) == 1
    header, frame = out[0]
    flags, gso_type, hdr_len, gso_size, csum_start, csum_offset = VNET_HDR.unpack(header)
    l4 = 14 + 20
    assert (flags, gso_type, gso_size) == (NEEDS_CSUM, GSO_TCPV4, MSS)
    assert (csum_start, csum_offset, hdr_len) == (l4, 16, l4 + 32)
    expected = partial_sum(pkt[IP], 6, 32 + len(PAYLOAD))
    assert int.from_bytes(frame[l4 + 16:l4 + 18]) == expected
    assert frame[:l4 + 16] == bytes(pkt)[:l4 + 16]
    assert frame[l4 + 18:] == bytes(pkt)[l4 + 18:]


def test_only_the_front_of_a_super_segment_is_rewritten_the_rest_is_sent_in_place() -> None:
    output = bytes(tcp4())
    [(_, head, frame, rest)] = egress(output, gso_vnet())
    l4 = 14 + 20
    assert frame is output  # no copy of the 64 KB
    assert (len(head), rest) == (l4 + 18, l4 + 18)  # up to the end of the TCP checksum


def test_ecn_flag_and_vlan_offsets_follow_the_output() -> None:
    pkt = tcp4()
    tagged = pkt[Ether].copy()
    tagged.remove_payload()
    tagged = tagged / Dot1Q(vlan=7) / pkt[IP]
    ecn = Vnet(NEEDS_CSUM, GSO_TCPV4 | GSO_ECN, MSS)
    header, frame = on_wire(egress(bytes(tagged), ecn))[0]
    _, gso_type, hdr_len, _, csum_start, _ = VNET_HDR.unpack(header)
    assert gso_type == GSO_TCPV4 | GSO_ECN
    assert (csum_start, hdr_len) == (18 + 20, 18 + 20 + 32)


def test_a_partial_packet_not_worth_segmenting_keeps_needs_csum_without_gso() -> None:
    pkt = tcp4(PAYLOAD[:100])
    header, frame = on_wire(egress(bytes(pkt), Vnet(NEEDS_CSUM, GSO_NONE, 0)))[0]
    flags, gso_type, _, gso_size, _, _ = VNET_HDR.unpack(header)
    assert (flags, gso_type, gso_size) == (NEEDS_CSUM, GSO_NONE, 0)


def test_plain_frames_pass_unchanged() -> None:
    frame = bytes(tcp4(PAYLOAD[:100]))
    assert on_wire(egress(frame, None)) == [(PLAIN_HEADER, frame)]
    assert finish(frame, None) == [frame]


@pytest.mark.parametrize("flags", ["PA", "FPA", "CA"])
def test_software_segmentation_matches_what_the_sender_would_have_sent(flags: str) -> None:
    pkt = tcp4(flags=flags)
    segments = finish(bytes(pkt), gso_vnet())
    assert len(segments) == -(-len(PAYLOAD) // MSS)
    data = b""
    for index, frame in enumerate(segments):
        seg = verified(frame)
        assert seg[IP].id == 100 + index and seg[IP].flags == "DF"
        assert seg[IP].len == 20 + 32 + len(seg[TCP].payload)
        assert seg[TCP].seq == 1000 + len(data)
        last = index == len(segments) - 1
        assert ("F" in seg[TCP].flags) == ("F" in flags and last)
        assert ("P" in seg[TCP].flags) == ("P" in flags and last)
        assert ("C" in seg[TCP].flags) == ("C" in flags and index == 0)
        assert seg[TCP].options == pkt[TCP].options
        data += bytes(seg[TCP].payload)
    assert data == PAYLOAD


def test_ipip_encapsulated_output_is_segmented_with_both_headers_adjusted() -> None:
    inner = tcp4()[IP]
    outer = (Ether(src="00:00:00:00:00:01", dst="00:00:00:00:00:03")
             / IP(src="10.0.0.100", dst="10.0.3.3", id=0, flags=0, ttl=64, proto=4) / inner)
    raw = bytes(outer)
    layout = locate(raw)
    assert layout is not None and layout.encapsulated
    out = on_wire(egress(raw, gso_vnet()))
    assert all(header == PLAIN_HEADER for header, _ in out)
    data = b""
    for index, (_, frame) in enumerate(out):
        seg = verified(frame)
        assert seg[IP].proto == 4 and seg[IP].id == 0
        assert seg[IP].len == 20 + seg[IP].payload.len
        assert seg[IP].payload.id == 100 + index
        assert seg[TCP].seq == 1000 + len(data)
        data += bytes(seg[TCP].payload)
        assert len(frame) <= 14 + 20 + 20 + 32 + MSS
    assert data == PAYLOAD


def test_ipv6_super_segment() -> None:
    pkt = (Ether() / IPv6(src="2001:db8::1", dst="2001:db8::2")
           / TCP(sport=1, dport=2, seq=7, flags="A") / PAYLOAD)
    header, frame = on_wire(egress(bytes(pkt), gso_vnet(GSO_TCPV6)))[0]
    _, gso_type, _, _, csum_start, _ = VNET_HDR.unpack(header)
    assert (gso_type, csum_start) == (GSO_TCPV6, 54)
    assert int.from_bytes(frame[54 + 16:54 + 18]) == partial_sum(pkt[IPv6], 6, 20 + len(PAYLOAD))
    segments = finish(bytes(pkt), gso_vnet(GSO_TCPV6))
    for frame in segments:
        seg = verified(frame)
        assert seg[IPv6].plen == 20 + len(seg[TCP].payload)
    assert b"".join(bytes(Ether(f)[TCP].payload) for f in segments) == PAYLOAD


def test_udp_l4_segmentation() -> None:
    pkt = (Ether() / IP(src="10.0.1.1", dst="10.0.2.2", id=1) / UDP(sport=5, dport=6)
           / PAYLOAD[:4000])
    vnet = Vnet(NEEDS_CSUM, GSO_UDP_L4, 1000)
    header, _ = on_wire(egress(bytes(pkt), vnet))[0]
    assert VNET_HDR.unpack(header)[1] == GSO_UDP_L4
    segments = finish(bytes(pkt), vnet)
    assert len(segments) == 4
    for frame in segments:
        seg = verified(frame)
        assert seg[UDP].len == 8 + 1000


def test_frames_the_switch_cannot_describe_are_not_sent_as_gso() -> None:
    arp_like = bytes(Ether(type=0x0806) / (b"\x00" * 28))
    assert on_wire(egress(arp_like, gso_vnet())) == []
    partial = Vnet(NEEDS_CSUM, GSO_NONE, 0)
    assert on_wire(egress(arp_like, partial)) == [(PLAIN_HEADER, arp_like)]
    fragment = bytes(Ether() / IP(flags="MF", proto=6) / (b"\x00" * 40))
    assert locate(fragment) is None
    truncated = bytes(tcp4())[:40]
    assert locate(truncated) is None


def split(frame: bytes, at: int) -> SplitFrame:
    """``frame`` as Engine.process(..., split=True) leaves it: headers, then a view."""
    return SplitFrame(frame[:at], memoryview(frame)[at:])


def test_a_split_super_segment_goes_out_as_its_headers_and_its_payload_in_place() -> None:
    received = bytes(tcp4())
    rewritten = tcp4()
    rewritten[IP].src = "192.0.2.7"  # what the pipeline did to the headers
    headers = bytes(rewritten)[:14 + 20 + 32]
    frame = SplitFrame(headers, memoryview(received)[len(headers):])
    [transmission] = egress(frame, gso_vnet())
    assert transmission[2] is received and transmission[3] == len(headers)
    assert on_wire([transmission]) == on_wire(egress(bytes(rewritten), gso_vnet()))


@pytest.mark.parametrize("at", [14 + 20, 14 + 20 + 10], ids=["ip-only", "tcp-cut"])
def test_a_split_frame_without_its_whole_l4_header_in_front_is_joined(at: int) -> None:
    """The program did not parse TCP (or not all of it): the checksum is in the payload."""
    raw = bytes(tcp4())
    assert on_wire(egress(split(raw, at), gso_vnet())) == on_wire(egress(raw, gso_vnet()))
    assert finish(split(raw, at), gso_vnet()) == finish(raw, gso_vnet())


def test_a_split_encapsulated_frame_is_segmented_in_software() -> None:
    outer = (Ether() / IP(src="10.0.0.100", dst="10.0.3.3", proto=4) / tcp4()[IP])
    raw = bytes(outer)
    out = on_wire(egress(split(raw, 14 + 20 + 20 + 32), gso_vnet()))
    assert out == on_wire(egress(raw, gso_vnet())) and len(out) > 1
