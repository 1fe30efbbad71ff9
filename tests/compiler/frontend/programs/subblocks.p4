#include <core.p4>
#include <v1model.p4>

#define WIDTH 16
const bit<8> PROTO_TCP = 6;
const int<8> NEG = -3;
const bit<8> CALC = (8w1 << 3) + PROTO_TCP * 2 - 1;
typedef bit<WIDTH> w_t;
enum bit<16> EtherType { IPV4 = 0x0800, ARP = 0x0806 }

header ethernet_t { bit<48> dst; bit<48> src; EtherType etherType; }
header a_t { bit<8> tag; }
header b_t { bit<16> tag; }
header_union ab_t { a_t a; b_t b; }
header var_t { bit<8> len; varbit<64> data; }
struct inner_t { bit<8> v; bool ok; }
struct meta_t { inner_t inner; w_t w; bit<8> idx; tuple<bit<8>, bit<16>> tup; }
struct hdrs_t { ethernet_t eth; ab_t ab; var_t var; a_t[3] stack; }

parser SubParser(packet_in pkt, inout hdrs_t hdr) {
    state start {
        transition select(pkt.lookahead<bit<8>>()) {
            0: parse_a;
            default: parse_b;
        }
    }
    state parse_a { pkt.extract(hdr.ab.a); transition accept; }
    state parse_b { pkt.extract(hdr.ab.b); transition accept; }
}

parser P(packet_in pkt, out hdrs_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    SubParser() sub;
    state start {
        pkt.extract(hdr.eth);
        if (hdr.eth.etherType == EtherType.ARP) {
            meta.idx = 1;
        }
        transition select(hdr.eth.etherType) {
            EtherType.IPV4: parse_sub;
            EtherType.ARP: parse_var;
            default: parse_stack;
        }
    }
    state parse_sub { sub.apply(pkt, hdr); transition accept; }
    state parse_var {
        pkt.extract(hdr.var, (bit<32>)pkt.lookahead<bit<8>>() * 8);
        transition accept;
    }
    state parse_stack {
        pkt.extract(hdr.stack.next);
        transition select(hdr.stack.last.tag) {
            0: accept;
            default: parse_stack;
        }
    }
}

T pick<T>(in bool c, in T a, in T b) {
    if (c) { return a; }
    return b;
}

bit<8> max8(in bit<8> a, in bit<8> b) {
    return a > b ? a : b;
}

control Count(inout meta_t meta)(bit<8> step) {
    action bump() { meta.inner.v = meta.inner.v + step; }
    table t { actions = { bump; } default_action = bump(); }
    apply { t.apply(); }
}

control Ing(inout hdrs_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    Count(8w2) c2;
    action set_port(bit<9> p) { sm.egress_spec = p; }
    action noop() { }
    table by_type {
        key = {
            hdr.eth.etherType: exact;
            hdr.ab.a.isValid(): exact;
            meta.inner.ok: exact;
        }
        actions = { set_port; noop; }
        const entries = {
            (EtherType.IPV4, true, false): set_port(1);
            (EtherType.ARP, false, _): noop();
        }
        default_action = noop;
    }
    apply {
        c2.apply(meta);
        Count.apply(meta);
        by_type.apply();
        meta.w = (w_t)hdr.eth.etherType;
        meta.inner.v = max8(meta.inner.v, PROTO_TCP);
        meta.inner.v = pick(meta.inner.ok, meta.inner.v, 8w3);
        meta.tup = { 1, 2 };
        switch (meta.idx) {
            0: { meta.inner.ok = true; }
            1:
            2: { meta.inner.ok = false; }
            default: { }
        }
        if (sm.parser_error == error.PacketTooShort) { mark_to_drop(sm); }
        @atomic {
            meta.idx = (bit<8>)hdr.stack.size;
        }
        hdr.stack[meta.idx].tag = 1;
        hdr.ab.b.setValid();
        hdr.ab.b = { tag = 16w7 };
        meta.idx = (bit<8>)(hdr.eth.minSizeInBytes());
        hdr.eth.etherType = (EtherType)16w0x0800;
        bit<16> raw = (bit<16>)hdr.eth.etherType;
        meta.w = meta.w |-| raw;
        bit<8> s = CALC;
        int<8> n = NEG;
        n = n >> 1;
        meta.inner.v = meta.inner.v & ~8w0xF0 ^ 8w1;
        log_msg("plain");
        verify_checksum_with_payload(true, { hdr.eth.dst }, raw, HashAlgorithm.csum16);
        if (hdr.ab.isValid()) { exit; }
    }
}

control E(inout hdrs_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control V(inout hdrs_t hdr, inout meta_t meta) { apply { } }
control CC(inout hdrs_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in hdrs_t hdr) { apply { pkt.emit(hdr); } }

V1Switch(P(), V(), Ing(), E(), CC(), D()) main;
