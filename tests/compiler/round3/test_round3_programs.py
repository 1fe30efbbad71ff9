"""Round-3 audit: ordinary v1model programs in other authors' idioms, run end to end.

Each program under ``programs/`` was compiled and driven with scapy packets; the
expected bytes are built independently with scapy (checksums recomputed by scapy,
CRC-16 of the ECMP hash computed here), so the tests pin the P4 semantics, not p4sim's
own output.  Table in ``docs/dev/compiler-audit-round3.md``.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from finsy.proto import p4i
from scapy.all import IP, UDP, Dot1Q, Ether, IPOption_RR, IPv6, Raw  # type: ignore[attr-defined]
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import TCP

from p4sim.compiler import compile_file
from p4sim.engine import ActionCall, Engine, Exact, GroupRef, Lpm, Range, Ternary

PROGRAMS = Path(__file__).parent / "programs"


def _engine(name: str) -> tuple[Engine, p4i.P4Info]:
    program = compile_file(str(PROGRAMS / name))
    # a frozen clock: meters and idle timeouts must not depend on the machine's speed
    return Engine(program.bmv2_json, clock_ns=lambda: 1_000_000_000), program.p4info


def _crc16_arc(data: bytes) -> int:
    """BMv2's ``crc16``: reflected polynomial 0x8005, initial value 0, no final xor."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def test_mpls_union_acl_p4info_names() -> None:
    _, info = _engine("mpls_union_acl.p4")
    keys = {t.preamble.name: [(m.name, m.bitwidth, m.match_type) for m in t.match_fields]
            for t in info.tables}
    assert keys == {
        "Ing.l2": [("dmac", 48, 2)],
        "Ing.acl": [("hdr.ip.v4.$valid$", 1, 2), ("hdr.ip.v4.srcAddr", 32, 4),
                    ("hdr.udp.dport", 16, 5)],
    }
    assert [d.preamble.name for d in info.digests] == ["learn_t"]


def test_mpls_pop_lookahead_clone_truncate_and_checksums() -> None:
    engine, _ = _engine("mpls_union_acl.p4")
    engine.table_add("Ing.l2", [Exact(0x0A0000000001)], ActionCall("Ing.fwd", (2,)))
    engine.clone_session_set(100, [(7, 1)])
    eth = Ether(dst="0a:00:00:00:00:01", src="02:00:00:00:00:09")
    inner = IP(src="10.0.0.1", dst="10.0.0.2", ttl=1) / UDP(sport=1, dport=53) / Raw(b"hello")
    sent = eth / MPLS(label=5, s=0, ttl=3) / MPLS(label=6, s=1, ttl=3) / inner
    result = engine.process(3, bytes(sent))
    forwarded = eth / MPLS(label=6, s=1, ttl=3) / IP(
        src="10.0.0.1", dst="10.0.0.2", ttl=0, tos=5) / UDP(sport=1, dport=53) / Raw(b"hello")
    # I2E clone: the packet as received, metadata field list 1 preserved, cut to 20 bytes.
    received_with_port_as_src = sent.copy()
    received_with_port_as_src[Ether].src = "00:00:00:00:00:03"
    clone = bytes(received_with_port_as_src)[:20]
    assert sorted(result.packets) == sorted([(2, bytes(forwarded)), (7, clone)])


def test_acl_range_direct_counter_digest_and_indexed_externs() -> None:
    engine, _ = _engine("mpls_union_acl.p4")
    engine.table_add("Ing.l2", [Exact(0x0A0000000001)], ActionCall("Ing.fwd", (2,)))
    deny = engine.table_add("Ing.acl", [Exact(1), Ternary(0x0A000005, 0xFFFFFFFF), Range(50, 60)],
                            ActionCall("Ing.acl_deny", ()), priority=1)
    denied = Ether(dst="0a:00:00:00:00:01", src="02:00:00:00:00:09") / IP(
        src="10.0.0.5", ttl=9) / UDP(dport=55)
    assert engine.process(4, bytes(denied)).packets == []
    assert engine.direct_counter_read("Ing.acl", deny) == (len(denied), 1)
    unknown = Ether(dst="0a:00:00:00:00:02", src="02:00:00:00:00:09") / IPv6() / UDP(dport=55)
    result = engine.process(4, bytes(unknown))
    assert result.packets == []
    assert [(d.name, d.values) for d in result.digests] == [("learn_t", (0x020000000009, 4))]
    assert engine.counter_read("Ing.port_cnt", 4) == (len(denied) + len(unknown), 2)
    assert engine.register_read("Ing.seen", 4) == 2
    assert engine.register_read("Ing.old_style", 0) == 7


def test_source_routing_pops_the_stack() -> None:
    engine, _ = _engine("srcroute_ecmp_tunnel.p4")
    head = bytes(Ether(dst="00:00:00:00:00:11", src="00:00:00:00:00:22", type=0x1234))
    ip = IP(ttl=5) / TCP()
    result = engine.process(1, head + struct.pack("!HH", 5, 0x8006) + bytes(ip))
    assert result.packets == [(5, head + struct.pack("!H", 0x8006) + bytes(IP(ttl=4) / TCP()))]


def test_ecmp_hash_in_action_tunnel_encap_and_tcp_checksum_with_payload() -> None:
    engine, info = _engine("srcroute_ecmp_tunnel.p4")
    assert [m.name for t in info.tables for m in t.match_fields] == [
        "hdr.ipv4.dstAddr", "meta.ecmp_sel", "hdr.ipv4.dstAddr", "src"]
    engine.table_add("MyIngress.ecmp_group", [Lpm(0x0A000000, 8)],
                     ActionCall("MyIngress.set_ecmp", (0, 2)))
    for selector, port in ((0, 1), (1, 2)):
        engine.table_add("MyIngress.ecmp_nhop", [Exact(selector)],
                         ActionCall("MyIngress.set_nhop", (0xA0 + port, port)))
    engine.table_add("MyIngress.tunnel", [Exact(0x0A000002)],
                     ActionCall("MyIngress.encap", (0x01010101, 0x02020202)))
    inner = IP(src="10.0.0.1", dst="10.0.0.2", ttl=1) / TCP(sport=1234, dport=80, flags="S") / Raw(
        b"xyz")
    eth = Ether(dst="00:00:00:00:00:11", src="00:00:00:00:00:22")
    result = engine.process(1, bytes(eth / inner))
    port = 1 + _crc16_arc(bytes([10, 0, 0, 1, 10, 0, 0, 2, 6]) + struct.pack("!HH", 1234, 80)) % 2
    routed = IP(src="10.0.0.1", dst="10.0.0.2", ttl=0) / TCP(sport=1234, dport=80, flags="S") / Raw(
        b"xyz")
    outer = IP(src="1.1.1.1", dst="2.2.2.2", ttl=64, proto=4, id=0, flags=0, len=20 + len(routed))
    next_hop = Ether(dst=f"00:00:00:00:00:{0xA0 + port:02x}", src="00:00:00:00:00:11")
    expected = next_hop / outer / routed
    assert result.packets == [(port, bytes(expected))]
    assert engine.counter_read("MyIngress.per_proto", 6) == (14 + len(inner), 1)


def _selector_engine() -> tuple[Engine, p4i.P4Info]:
    engine, info = _engine("selector_acl_cpu_resubmit.p4")
    engine.act_prof_set_member("lag_selector", 1, ActionCall("ingress.set_port", (3,)))
    engine.act_prof_set_member("lag_selector", 2, ActionCall("ingress.set_port", (4,)))
    engine.act_prof_set_group("lag_selector", 10, [(1, 1), (2, 1)])
    engine.table_add("ingress.ingress.lag", [Lpm(0x0A000000, 8)], GroupRef(10))
    engine.mc_group_set(1, [(1, 0), (2, 5), (3, 7)])
    return engine, info


def test_selector_acl_names_follow_p4c() -> None:
    _, info = _selector_engine()
    names = {t.preamble.name: [m.name for m in t.match_fields] for t in info.tables}
    # @name("ingress.lag") is relative: prefixed again; @name(".acl") is global.
    assert names == {"acl": ["hdr.eth.etherType", "ip_proto", "meta.l4_dport"],
                     "ingress.l2": ["hdr.eth.dst", "hdr.vlan.vid"],
                     "ingress.ingress.lag": ["hdr.ipv4.dstAddr"]}
    assert [(p.preamble.name, p.with_selector, p.size) for p in info.action_profiles] == [
        ("lag_selector", True, 1024)]
    assert [c.preamble.name for c in info.controller_packet_metadata] == [
        "packet_in", "packet_out"]


def test_selector_member_chosen_by_crc16_of_the_selector_keys() -> None:
    engine, _ = _selector_engine()
    for sport, dport in ((1, 2), (5, 6), (7, 1000)):
        sent = bytes(Ether(dst="00:00:00:00:00:01") / IP(src="10.1.1.1", dst="10.0.0.9") / TCP(
            sport=sport, dport=dport))
        index = _crc16_arc(bytes([10, 1, 1, 1]) + struct.pack("!HH", sport, dport)) % 2
        assert engine.process(1, sent).packets == [((3, 4)[index], sent)]


def test_const_ternary_entry_sends_to_cpu_with_packet_in_header() -> None:
    engine, _ = _selector_engine()
    sent = bytes(Ether(dst="00:00:00:00:00:01") / IP(src="10.1.1.1", dst="10.0.0.9") / UDP(
        sport=68, dport=67))
    # packet_in: ingress_port 1 in 9 bits, 7 bits of padding
    assert engine.process(1, sent).packets == [(255, bytes.fromhex("0080") + sent)]
    frame = bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src="00:00:00:00:00:00", type=0x9000)) + b"zz"
    assert engine.process(255, bytes.fromhex("0100") + frame).packets == [(2, frame)]


def test_resubmit_clears_ingress_port_so_multicast_keeps_the_source_port() -> None:
    """BMv2 resets all metadata on resubmit (only the field list survives), so
    ``egress_port == ingress_port`` no longer prunes the source port."""
    engine, _ = _selector_engine()
    eth = Ether(dst="00:00:00:00:00:01", src="00:00:00:00:00:02")
    sent = eth / IP(src="10.1.1.1", dst="10.0.0.9") / TCP(sport=1, dport=9999)
    # diffserv = number of passes; the program updates no checksum
    unchanged_checksum = IP(bytes(sent[IP])).chksum
    l3 = IP(src="10.1.1.1", dst="10.0.0.9", tos=1, chksum=unchanged_checksum) / TCP(
        sport=1, dport=9999)
    tagged = {rid: bytes(Ether(dst="00:00:00:00:00:01", src="00:00:00:00:00:02") / Dot1Q(
        vlan=rid) / l3) for rid in (5, 7)}
    assert engine.process(1, bytes(sent)).packets == [
        (1, bytes(eth / l3)), (2, tagged[5]), (3, tagged[7])]


def test_multicast_prunes_the_source_port_and_tags_by_rid() -> None:
    engine, _ = _selector_engine()
    sent = bytes(Ether(dst="00:00:00:00:00:01", src="00:00:00:00:00:02") / Dot1Q(vlan=3)) + b"ab"
    head = bytes.fromhex("000000000001000000000002")
    assert engine.process(1, sent).packets == [
        (2, head + bytes.fromhex("8100000581006162")),
        (3, head + bytes.fromhex("8100000781006162"))]


def _ipv6_engine() -> Engine:
    engine, _ = _engine("ipv6_tags_recirculate_digest.p4")
    engine.table_add("MyIngress.routes", [Lpm(0x20010DB8 << 96, 32)],
                     ActionCall("MyIngress.route", (9,)))
    engine.clone_session_set(50, [(6, 0)])
    return engine


def _ipv6_udp(hop_limit: int) -> IPv6:
    return IPv6(src="2001:db8::1", dst="2001:db8::2", hlim=hop_limit) / UDP(sport=5, dport=6)


def test_recirculation_and_egress_clone_with_field_lists() -> None:
    engine = _ipv6_engine()
    eth = Ether(dst="00:00:00:00:00:01", src="00:00:00:00:00:02")
    sent = eth / _ipv6_udp(9) / Raw(b"data")
    # E2E clone: headers as left by egress, field list 9 (note) kept, length of the original
    clone = Ether(dst=f"00:00:00:00:00:{len(sent):02x}", src="00:00:00:00:fe:ed") / _ipv6_udp(
        8) / Raw(b"data")
    # the recirculated packet keeps field list 5 and is routed again (hop limit - 2)
    assert engine.process(1, bytes(sent)).packets == [
        (6, bytes(clone)), (9, bytes(eth / _ipv6_udp(7) / Raw(b"data")))]


def test_bad_udp_checksum_and_route_miss_send_digests_with_enum_and_bool() -> None:
    engine = _ipv6_engine()
    bad = bytearray(bytes(Ether() / _ipv6_udp(9) / Raw(b"data")))
    bad[-1] ^= 1
    result = engine.process(1, bytes(bad))
    source = 0x20010DB8000000000000000000000001
    assert result.packets == []
    assert [(d.name, d.values) for d in result.digests] == [("report_t", (2, source, 0, 0))]
    miss = Ether() / IPv6(src="2001:db8::1", dst="3001::2") / UDP(sport=5, dport=6)
    assert [d.values for d in engine.process(1, bytes(miss)).digests] == [(1, source, 0, 6)]


def test_runtime_stack_index_with_is_valid_and_lookahead_of_a_header() -> None:
    engine = _ipv6_engine()
    eth = Ether(dst="00:00:00:00:00:01", src="00:00:00:00:00:00", type=0x88B5)
    tags = bytes([1, 1, 2, 0])  # tags[0].next == 1: tags[1].hop is incremented
    sent = bytes(eth) + tags + bytes(_ipv6_udp(9))
    clone_eth = Ether(dst=f"00:00:00:00:00:{len(sent) + 2:02x}", src="00:00:00:00:fe:ed",
                      type=0x88B5)
    first_pass = bytes.fromhex("aabb01010300")
    # second pass: tags[0].next == 0xbb is out of range, push_front fills the stack
    second_pass = bytes.fromhex("aabbaabb01010300")
    assert engine.process(1, sent).packets == [
        (6, bytes(clone_eth) + first_pass + bytes(_ipv6_udp(8))),
        (9, bytes(eth) + second_pass + bytes(_ipv6_udp(7)))]


def _snat_engine() -> tuple[Engine, p4i.P4Info]:
    engine, info = _engine("ipv4_options_snat_meter.p4")
    engine.table_add("ingressImpl.fwd", [Lpm(0x0A000000, 8)],
                     ActionCall("ingressImpl.set_out", (2,)), timeout_ms=1000)
    engine.table_add("ingressImpl.snat", [Exact(0x0A000001), Exact(1000)],
                     ActionCall("ingressImpl.nat", (0x01020304, 0x2345)))
    return engine, info


def _with_options(src: str, sport: int) -> Ether:
    return Ether() / IP(src=src, dst="10.0.0.2", options=[IPOption_RR(routers=["1.1.1.1"])]) / TCP(
        sport=sport, dport=80) / Raw(b"payload!")


def test_snat_p4info_ids_scopes_and_timeout() -> None:
    _, info = _snat_engine()
    tables = {t.preamble.name: t for t in info.tables}
    assert tables["ingressImpl.fwd"].preamble.id == 0x02000101  # @id kept
    assert tables["ingressImpl.fwd"].idle_timeout_behavior == p4i.Table.NOTIFY_CONTROL
    assert tables["ingressImpl.fwd"].size == 512
    assert [ref.scope for ref in tables["ingressImpl.snat"].action_refs] == [
        p4i.ActionRef.TABLE_AND_DEFAULT, p4i.ActionRef.DEFAULT_ONLY]
    assert [c.preamble.name for c in info.counters] == ["ingressImpl.flow_bytes"]


def test_varbit_options_checksums_and_nat() -> None:
    engine, _ = _snat_engine()
    sent = _with_options("10.0.0.1", 1000)
    assert engine.process(1, bytes(sent)).packets == [
        (2, bytes(_with_options("1.2.3.4", 0x2345)))]
    assert engine.counter_read("ingressImpl.flow_bytes", 0x345) == (len(sent), 1)
    corrupted = bytearray(bytes(sent))
    corrupted[24] ^= 0xFF  # inside the IPv4 options: verify_checksum covers the varbit
    assert engine.process(1, bytes(corrupted)).packets == []


def test_packet_meter_turns_red_after_the_burst() -> None:
    engine, _ = _snat_engine()
    engine.meter_set("ingressImpl.port_meter", 1, [(1.0, 1), (1.0, 1)])
    sent = bytes(_with_options("10.0.0.9", 1))
    assert [len(engine.process(1, sent).packets) for _ in range(3)] == [1, 0, 0]


CALC_OPS = ("op_add", "op_sub", "op_shr", "op_sat", "op_acc", "op_stop")


def _calculator() -> Engine:
    engine, _ = _engine("signed_calc_reflector.p4")
    for code, action in enumerate(CALC_OPS, start=1):
        engine.table_add("MyIngress.calculate", [Ternary(code, 0xFF)],
                         ActionCall(f"MyIngress.{action}", ()), priority=1)
    # overlapping wider entries: BMv2's lower priority value wins
    engine.table_add("MyIngress.calculate", [Ternary(0, 0xF0)],
                     ActionCall("MyIngress.op_sub", ()), priority=20)
    engine.table_add("MyIngress.calculate", [Ternary(0, 0xF8)],
                     ActionCall("MyIngress.op_add", ()), priority=5)
    return engine


def _calc(engine: Engine, code: int, a: int, b: int) -> tuple[int, bytes, int, int] | None:
    head = bytes.fromhex("000000000001" "000000000002" "1234")
    packets = engine.process(3, head + struct.pack("!BhhhIH", code, a, b, 0, 0, 0)).packets
    if not packets:
        return None
    [(port, data)] = packets
    out_code, out_a, out_b, result, crc32, identity = struct.unpack("!BhhhIH", data[14:])
    assert (out_a, out_b) == (a, b)
    assert crc32 == zlib.crc32(struct.pack("!hh", a, b))  # HashAlgorithm.crc32
    assert identity == (code << 8) | 0x5A  # HashAlgorithm.identity of {op, 8w0x5a}
    return port, data[:12], out_code, result


def test_signed_arithmetic_priorities_register_and_exit() -> None:
    engine = _calculator()
    reflected = bytes.fromhex("000000000002" "000000000001")
    cases = {(0, 4, 5): 9, (1, 30000, 10000): -25536, (2, -5, 7): -12, (3, -17, 0): -5,
             (4, 30000, 10000): 32767, (4, -30000, -10000): -32768, (5, 3, 0): 3,
             (5, -1, 0): 2, (7, 1, 1): 2, (9, 1, 1): 0}
    for (code, a, b), result in cases.items():
        assert _calc(engine, code, a, b) == (3, reflected, (code + 100) & 0xFF, result)
    assert _calc(engine, 6, 1, 1) is None  # mark_to_drop + exit
    assert engine.register_read("MyIngress.acc", 0) == 2
