/* Control-plane naming and typing: @name (relative and absolute), @id, @hidden,
   `type` with @p4runtime_translation, header unions, error values, switch with
   fall-through and default, exit inside an action. */
#include <core.p4>
#include <v1model.p4>

header small_t { bit<8> x; }
header wide_t { bit<16> y; }
header_union either_t { small_t small; wide_t wide; }
header eth_t { bit<48> dst; bit<48> src; bit<16> kind; }

@p4runtime_translation("p4sim.test/port", 32)
type bit<9> port_t;

struct headers { eth_t eth; either_t either; }
struct metadata { bit<8> path; error parse_status; bool small_seen; }

parser P(packet_in pk, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start {
        pk.extract(hdr.eth);
        transition select(hdr.eth.kind) { 1: small; 2: wide; default: accept; }
    }
    state small { pk.extract(hdr.either.small); transition accept; }
    state wide { pk.extract(hdr.either.wide); transition accept; }
}

control VC(inout headers hdr, inout metadata meta) { apply { } }

control MyIngress(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    @id(0x42) action to_port(port_t port) { sm.egress_spec = (bit<9>)port; }
    @name(".shared_drop") action drop() { mark_to_drop(sm); exit; }
    action keep() { }
    @hidden action mark() { meta.path = 7; }

    @name("classifier") table classify {
        key = { hdr.eth.dst : exact; meta.path : ternary @name("path"); }
        actions = { to_port; drop; keep; }
        default_action = keep();
    }

    apply {
        meta.parse_status = sm.parser_error;
        if (meta.parse_status != error.NoError) { drop(); }
        meta.small_seen = hdr.either.small.isValid();
        if (hdr.either.isValid()) { meta.path = 1; }
        switch (classify.apply().action_run) {
            to_port:
            keep: { meta.path = 2; }
            default: { meta.path = 3; }
        }
        if (meta.small_seen) { mark(); }
    }
}

control MyEgress(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    apply { }
}

control CC(inout headers hdr, inout metadata meta) { apply { } }

control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr.eth); pk.emit(hdr.either); } }

V1Switch(P(), VC(), MyIngress(), MyEgress(), CC(), D()) main;
