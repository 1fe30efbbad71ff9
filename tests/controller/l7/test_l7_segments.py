"""Segment parsing (strict, never raising) and building, checked against scapy."""

from ipaddress import IPv4Address

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from controller.l7.segments import (
    ACK,
    SYN,
    Endpoint,
    build_segment,
    parse_segment,
    syn_options,
    timestamp_option,
)

MAC = "00:00:00:00:01:00"
A = Endpoint(IPv4Address("10.0.1.10"), 40000)
B = Endpoint(IPv4Address("10.0.0.100"), 80)


def test_built_frames_parse_back_and_scapy_agrees() -> None:
    options = syn_options(1400, sack_ok=True, timestamp=(7, 9), wscale=7)
    frame = build_segment(MAC, A, B, seq=1, ack=2, flags=SYN | ACK, window=100,
                          options=options, payload=b"hi")
    segment = parse_segment(frame)
    assert segment is not None
    assert (segment.src, segment.sport, segment.dst, segment.dport) == (A.address, A.port,
                                                                       B.address, B.port)
    assert (segment.seq, segment.ack, segment.window, segment.payload) == (1, 2, 100, b"hi")
    assert (segment.mss, segment.sack_ok, segment.timestamp, segment.wscale) == (
        1400, True, (7, 9), 7)
    parsed = Ether(frame)
    assert [name for name, _ in parsed[TCP].options] == ["MSS", "SAckOK", "Timestamp", "NOP",
                                                         "WScale"]
    assert parsed[IP].ttl == 64 and parsed.dst == MAC


def test_established_timestamp_layout_is_nop_nop_ts() -> None:
    frame = build_segment(MAC, A, B, seq=1, ack=2, flags=ACK,
                          options=timestamp_option((1, 2)))
    tcp = bytes(Ether(frame)[TCP])
    assert tcp[12] >> 4 == 8 and tcp[20:24] == b"\x01\x01\x08\x0a"


@pytest.mark.parametrize("options", [
    b"\x02",                      # truncated kind
    b"\x02\x00\x05\xb4",          # zero length: the walk stops
    b"\x08\x0a\x00\x00",          # length past the end
    b"\x03\x04\x07\x00",          # window scale with a wrong length is ignored
])
def test_malformed_options_are_ignored_not_fatal(options: bytes) -> None:
    padded = options + b"\x00" * (-len(options) % 4)
    packet = Ether(dst=MAC) / IP(src="10.0.1.10", dst="10.0.0.100") / TCP(
        sport=1, dport=80, flags="S", options=[])
    raw = bytearray(bytes(packet))
    tcp_start = 14 + 20
    raw[tcp_start + 12] = (5 + len(padded) // 4) << 4
    raw[tcp_start + 20:tcp_start + 20] = padded
    raw[16:18] = (len(raw) - 14).to_bytes(2, "big")
    reparsed = Ether(bytes(raw))  # scapy recomputes nothing: fix the checksums by rebuild
    del reparsed[IP].chksum, reparsed[TCP].chksum
    segment = parse_segment(bytes(reparsed))
    assert segment is not None and segment.mss is None and segment.wscale is None


def test_bad_lengths_and_fragments_are_not_segments() -> None:
    good = build_segment(MAC, A, B, seq=1, ack=0, flags=SYN)
    assert parse_segment(good) is not None
    fragment = Ether(good)
    fragment[IP].flags = "MF"
    del fragment[IP].chksum
    assert parse_segment(bytes(fragment)) is None
    assert parse_segment(good[:40]) is None
    bad_offset = bytearray(good)
    bad_offset[14 + 20 + 12] = 0xF0  # data offset beyond the segment
    assert parse_segment(bytes(bad_offset)) is None
