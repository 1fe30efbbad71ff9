// A key of a serializable enum type matched by keysets of the enum's underlying type (the
// enum is implicitly cast to its underlying type, P4_16 8.11.2), in a select and in a
// table's const entries.
#include <core.p4>
#include <v1model.p4>

enum bit<8> Kind {
    A = 0x01,
    B = 0x10
}

header h_t {
    Kind   k;
    bit<8> parsed;
    bit<8> result;
}

struct headers { h_t h; }
struct metadata { }

parser P(packet_in pk, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start {
        pk.extract(hdr.h);
        transition select(hdr.h.k) {
            (bit<8>)Kind.B &&& 0xf0: kind_b;
            default: accept;
        }
    }
    state kind_b {
        hdr.h.parsed = 0xbb;
        transition accept;
    }
}

control VC(inout headers hdr, inout metadata meta) { apply { } }

control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    action set(bit<8> v) { hdr.h.result = v; }
    table t {
        key = { hdr.h.k : ternary; }
        actions = { set; }
        const entries = {
            (bit<8>)Kind.A : set(1);
            8w0x20 &&& 8w0xf0 : set(2);
        }
        default_action = set(0xee);
    }
    apply {
        t.apply();
        sm.egress_spec = 1;
    }
}

control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr.h); } }

V1Switch(P(), VC(), I(), E(), CC(), D()) main;
