// Controls applied with arguments that share storage follow copy-in/copy-out too: the
// callee's parameters are copies, written back left to right when its apply block ends.
#include <core.p4>
#include <v1model.p4>

header h_t {
    bit<8> a;
    bit<8> b;
    bit<8> c;
}

struct headers { h_t h; }
struct metadata { }

parser P(packet_in pk, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start { pk.extract(hdr.h); transition accept; }
}

control VC(inout headers hdr, inout metadata meta) { apply { } }

// Given the same field twice: x's write is not seen through y, and y is copied out last.
control Twice(inout bit<8> x, inout bit<8> y) {
    apply {
        x = 1;
        y = y + x;
    }
}

// v is copied in before the body writes the field it came from.
control Snapshot(inout h_t h, in bit<8> v) {
    apply {
        h.b = 9;
        h.c = v;
    }
}

control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    Twice() twice;
    Snapshot() snapshot;
    apply {
        twice.apply(hdr.h.a, hdr.h.a);
        snapshot.apply(hdr.h, hdr.h.b);
        sm.egress_spec = 1;
    }
}

control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr.h); } }

V1Switch(P(), VC(), I(), E(), CC(), D()) main;
