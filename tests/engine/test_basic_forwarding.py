"""IPv4 forwarding end to end on the hand-written basic.p4-style fixture."""

from __future__ import annotations

from pathlib import Path

from engine_helpers import tcp_packet, udp_packet
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from p4sim.engine import ActionCall, Engine, Lpm, SplitFrame

FIXTURE = Path(__file__).parent / "fixtures" / "basic_ipv4.json"


def make_engine() -> Engine:
    engine = Engine(FIXTURE.read_text())
    engine.table_add("MyIngress.ipv4_lpm", [Lpm(0x0A000100, 24)],
                     ActionCall("MyIngress.ipv4_forward", (0x112233445566, 3)))
    engine.table_add("MyIngress.ipv4_lpm", [Lpm(0x0A000105, 32)],
                     ActionCall("MyIngress.ipv4_forward", (0x0000000000AA, 7)))
    return engine


def test_forwards_rewrites_macs_decrements_ttl_and_fixes_checksum() -> None:
    engine = make_engine()
    result = engine.process(1, tcp_packet(dst="10.0.1.9", ttl=64))
    assert len(result.packets) == 1
    port, data = result.packets[0]
    assert port == 3
    out = Ether(data)
    assert out.dst == "11:22:33:44:55:66"
    assert out.src == "aa:bb:cc:dd:ee:ff"
    assert out[IP].ttl == 63
    recomputed = IP(bytes(out[IP]))
    del recomputed.chksum
    assert IP(bytes(recomputed)).chksum == out[IP].chksum
    assert out[TCP].payload.load == b"payload"
    assert result.digests == []


def test_longest_prefix_wins() -> None:
    engine = make_engine()
    assert engine.process(1, udp_packet(dst="10.0.1.5")).packets[0][0] == 7
    assert engine.process(1, udp_packet(dst="10.0.1.6")).packets[0][0] == 3


def test_miss_runs_default_drop() -> None:
    engine = make_engine()
    assert engine.process(1, udp_packet(dst="192.168.0.1")).packets == []


def test_non_ip_and_truncated_packets_pass_with_egress_spec_zero() -> None:
    engine = make_engine()
    arp_like = bytes(Ether(type=0x0806)) + b"\x00" * 28
    assert engine.process(2, arp_like).packets == [(0, arp_like)]
    # PacketTooShort: ipv4 stays invalid, the table is not applied, bytes go out unchanged
    short = tcp_packet()[:20]
    assert engine.process(2, short).packets == [(0, short)]
    assert engine.process(2, b"").packets == [(0, b"")]


def test_delete_entry_falls_back_to_shorter_prefix() -> None:
    engine = make_engine()
    handle = engine.table_find("MyIngress.ipv4_lpm", [Lpm(0x0A000105, 32)], None)
    assert handle is not None
    engine.table_delete("MyIngress.ipv4_lpm", handle)
    assert engine.process(1, udp_packet(dst="10.0.1.5")).packets[0][0] == 3


def test_split_output_leaves_a_large_payload_where_it_was() -> None:
    """``split=True``: headers deparsed, the payload a view of the input (no copy); a small
    payload and ``split=False`` come out joined, as always."""
    engine = make_engine()
    big = tcp_packet(dst="10.0.1.9", payload=bytes(range(256)) * 40)
    joined = engine.process(1, big).packets
    [(port, frame)] = engine.process(1, big, split=True).packets
    assert isinstance(frame, SplitFrame)
    assert (port, frame.joined()) == joined[0]
    assert frame.payload.obj is big and len(frame.headers) == 14 + 20
    small = tcp_packet(dst="10.0.1.9")
    assert engine.process(1, small, split=True).packets == engine.process(1, small).packets
