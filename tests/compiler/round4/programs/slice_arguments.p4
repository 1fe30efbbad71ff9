// Bit slices passed as out/inout arguments (the spec allows any lvalue): the callee gets a
// copy of the slice's bits and the result is written back into those bits only.
#include <core.p4>
#include <v1model.p4>

header h_t {
    bit<8>  a;
    bit<8>  b;
    bit<16> c;
}

struct headers { h_t h; }
struct metadata { }

parser P(packet_in pk, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start { pk.extract(hdr.h); transition accept; }
}

control VC(inout headers hdr, inout metadata meta) { apply { } }

bit<4> swap_nibble(inout bit<4> n) {
    bit<4> old = n;
    n = ~n;
    return old;
}

control Fill(out bit<3> bits) {
    apply {
        bits = 3w5;
    }
}

control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    Fill() fill;
    action set_low_bit(inout bit<1> bit0) {
        bit0 = 1;
    }
    apply {
        set_low_bit(hdr.h.a[0:0]);
        hdr.h.c[15:12] = swap_nibble(hdr.h.c[3:0]);
        fill.apply(hdr.h.b[6:4]);
        sm.egress_spec = 1;
    }
}

control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr.h); } }

V1Switch(P(), VC(), I(), E(), CC(), D()) main;
