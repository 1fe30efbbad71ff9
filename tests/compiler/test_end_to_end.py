"""Compiled corpus programs run on p4sim's engine with the expected behaviour."""

from __future__ import annotations

from compiler_corpus import compiled
from scapy.all import IP, TCP, UDP, Ether, Raw  # type: ignore[attr-defined]

from p4sim.engine import ActionCall, Engine, Exact, Lpm, Ternary


def _ipv4(dst: str, ttl: int = 64, payload: bytes = b"data") -> bytes:
    return bytes(Ether(dst="00:00:00:00:01:01", src="00:00:00:00:00:09") /
                 IP(src="10.0.0.1", dst=dst, ttl=ttl) / UDP(sport=1000, dport=53) /
                 Raw(payload))


def test_basic_forwarding_rewrites_and_recomputes_checksum() -> None:
    engine = Engine(compiled("basic_ipv4").bmv2_json)
    engine.table_add("MyIngress.ipv4_lpm", [Lpm(0x0A000002, 32)],
                     ActionCall("MyIngress.ipv4_forward", (0x000000000202, 2)))
    result = engine.process(1, _ipv4("10.0.0.2"))
    assert len(result.packets) == 1
    port, data = result.packets[0]
    out = Ether(data)
    assert port == 2
    assert out.dst == "00:00:00:00:02:02" and out.src == "00:00:00:00:01:01"
    assert out[IP].ttl == 63
    reference = IP(bytes(out[IP]))
    del reference.chksum
    assert out[IP].chksum == IP(bytes(reference))[IP].chksum
    assert engine.process(1, _ipv4("10.9.9.9")).packets == []


def test_const_acl_entries_apply_in_order() -> None:
    engine = Engine(compiled("acl_const_entries").bmv2_json)
    # First entry: 10/8 source, UDP port <= 1023 -> permit(1) then static route permit(3).
    port, _ = engine.process(5, _ipv4("172.16.0.1")).packets[0]
    assert port == 1
    denied = bytes(Ether() / IP(src="1.1.1.1", dst="192.168.0.1") / UDP(dport=9999))
    assert engine.process(5, denied).packets == []
    dns = bytes(Ether() / IP(src="1.1.1.1", dst="10.1.2.3") / UDP(dport=53))
    port, _ = engine.process(5, dns).packets[0]
    assert port == 3


def test_udp_checksum_with_payload_is_recomputed() -> None:
    engine = Engine(compiled("udp_checksum").bmv2_json)
    packet = Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=7, dport=100) / \
        Raw(b"payload!")
    result = engine.process(3, bytes(packet))
    port, data = result.packets[0]
    out = Ether(data)
    assert port == 3 and out[UDP].dport == 101
    reference = out.copy()
    del reference[UDP].chksum
    assert out[UDP].chksum == Ether(bytes(reference))[UDP].chksum


def test_inlined_sub_controls_have_separate_tables_and_return_drops() -> None:
    engine = Engine(compiled("inlining").bmv2_json)
    engine.table_add("MyIngress.routes", [Lpm(0x0A000000, 8)],
                     ActionCall("MyIngress.route", (4, 1)))
    packet = bytes(Ether(type=0x0800) / IP(src="10.0.0.1", dst="10.0.0.2", ttl=9) / TCP())
    # 0x0800 is not in the value set yet: the parser stops after Ethernet and the
    # apply block returns after mark_to_drop.
    assert engine.process(1, packet).packets == []
    engine.table_add("MyIngress.by_src.seen", [Exact(0x0A000001)],
                     ActionCall("MyIngress.by_src.bump", ()))
    assert len(engine.table_entries("MyIngress.by_src.seen")) == 1
    assert engine.table_entries("MyIngress.by_dst.seen") == []


def test_expression_semantics_match_p4() -> None:
    engine = Engine(compiled("expressions").bmv2_json)
    engine.table_add("MyIngress.by_prefix", [Exact(10), Ternary(0xC0A80000, 0xFFFF0000)],
                     ActionCall("MyIngress.to_port", (7,)), priority=1)
    packet = Ether() / IP(src="192.168.1.1", dst="10.1.2.3", ttl=20, proto=6, tos=1,
                          frag=5) / Raw(b"x" * 10)
    port, data = engine.process(1, bytes(packet)).packets[0]
    out = Ether(data)[IP]
    assert port == 7
    assert out.id == 0x1406          # ttl ++ protocol
    assert out.tos == 254            # (int<8>)1 - 3 wrapped to bit<8>
    assert out.ttl == 255            # 20 |+| 250 saturates
    assert out.proto == 1            # ttl > 10 ? 1 : 2
    assert int(out.flags) == 5       # fragOffset[2:0]


def test_parser_ifs_sub_parsers_varbits_and_ranges() -> None:
    engine = Engine(compiled("parser_features").bmv2_json)
    ethernet = bytes(12)
    cases = [(0x1234, bytes([7, 8, 9]), 11),        # if -> which = 1: 1-byte tag
             (0x0800, bytes([7, 8, 9]), 12),        # else -> which = 2: 2-byte tag
             (0x0005, bytes([2, 0xAA, 0xBB, 0xCC]), 1)]  # 1 .. 255: varbit options
    for kind, payload, port in cases:
        frame = ethernet + kind.to_bytes(2, "big") + payload
        out_port, data = engine.process(0, frame).packets[0]
        assert out_port == port
        assert data == frame


def test_header_stack_indexed_at_run_time() -> None:
    from p4sim.compiler import compile_source
    program = compile_source("""#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; }
struct headers { h_t[3] s; }
struct metadata { bit<8> i; }
parser P(packet_in pk, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start {
        pk.extract(hdr.s.next); pk.extract(hdr.s.next); pk.extract(hdr.s.next);
        transition accept;
    }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    apply {
        meta.i = hdr.s[0].a;
        hdr.s[meta.i].b = hdr.s[meta.i].a + 100;
        sm.egress_spec = 1;
    }
}
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr.s); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
""", "dynamic_index.p4")
    engine = Engine(program.bmv2_json)
    _, data = engine.process(0, bytes([2, 0, 5, 6, 7, 8])).packets[0]
    assert data == bytes([2, 0, 5, 6, 7, 107])


def test_hit_and_miss_stored_in_variables() -> None:
    from p4sim.compiler import compile_source
    program = compile_source("""#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; }
struct headers { h_t h; }
struct metadata { bool missed; }
parser P(packet_in pk, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start { pk.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    table t { key = { hdr.h.a : exact; } actions = { NoAction; } }
    table u { key = { hdr.h.b : exact; } actions = { NoAction; } }
    apply {
        bool hit_t = t.apply().hit;
        meta.missed = u.apply().miss;
        if (hit_t) { sm.egress_spec = 1; } else { sm.egress_spec = 2; }
        if (meta.missed) { hdr.h.b = 99; }
    }
}
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
""", "hit_variables.p4")
    engine = Engine(program.bmv2_json)
    engine.table_add("I.t", [Exact(5)], ActionCall("NoAction", ()))
    assert engine.process(0, bytes([5, 1])).packets == [(1, bytes([5, 99]))]
    assert engine.process(0, bytes([6, 1])).packets == [(2, bytes([6, 99]))]


def test_in_arguments_are_copied_in_at_the_call() -> None:
    from p4sim.compiler import compile_source
    program = compile_source("""#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; }
struct headers { h_t h; }
struct metadata { }
parser P(packet_in pk, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start { pk.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
bit<8> twice(in bit<8> v) { return v + v; }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    action overwrite_then_use(in bit<8> v) { hdr.h.a = 1; hdr.h.b = v; }
    apply {
        overwrite_then_use(hdr.h.a);
        hdr.h.a = twice(hdr.h.b);
        sm.egress_spec = 1;
    }
}
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
""", "copy_in.p4")
    _, data = Engine(program.bmv2_json).process(0, bytes([5, 0])).packets[0]
    assert data == bytes([10, 5])   # b got a's value at the call; a = twice(5)


def test_switch_on_a_value_inside_an_action() -> None:
    from p4sim.compiler import compile_source
    program = compile_source("""#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; }
struct headers { h_t h; }
struct metadata { }
parser P(packet_in pk, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start { pk.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    action classify() {
        switch (hdr.h.a) {
            1: { hdr.h.b = 10; }
            2:
            3: { hdr.h.b = 20; }
            default: { hdr.h.b = 30; }
        }
        sm.egress_spec = 1;
    }
    table t { actions = { classify; } default_action = classify(); }
    apply { t.apply(); }
}
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
""", "action_switch.p4")
    engine = Engine(program.bmv2_json)
    results = [engine.process(0, bytes([a, 0])).packets[0][1][1] for a in (1, 2, 3, 4)]
    assert results == [10, 20, 20, 30]
