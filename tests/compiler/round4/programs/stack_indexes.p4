// Round 4: header-stack elements at run-time indexes, as p4c's mid end expands them for
// BMv2: an index out of range writes nothing, a read out of range assigns an undefined
// value (0 here) to the target, a condition reading out of range takes its else branch;
// the packet is still sent.  Also: headers invalidated and made valid again in the same
// pipeline (setValid zeroes them, a list assignment fills them) are emitted.
#include <core.p4>
#include <v1model.p4>

header h_t { bit<8> i; bit<8> j; bit<8> r; bit<8> op; }
header s_t { bit<8> v; }
struct headers { h_t h; s_t[3] s; }
struct metadata { }

parser P(packet_in pk, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start {
        pk.extract(hdr.h);
        pk.extract(hdr.s[0]);
        pk.extract(hdr.s[1]);
        pk.extract(hdr.s[2]);
        transition accept;
    }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    apply {
        if (hdr.h.op == 3) { hdr.s[2].setInvalid(); hdr.s[2] = { 0x77 }; }
    }
}
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr); } }

control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    action mark(bit<8> k) { hdr.s[k].v = 0xEE; }
    table t { key = { hdr.h.op : exact; } actions = { mark; NoAction; } default_action = NoAction; }
    apply {
        sm.egress_spec = 1;
        if (hdr.h.op == 1) {
            hdr.s[hdr.h.i].v = hdr.s[hdr.h.j].v + 1;
            if (hdr.s[hdr.h.i + 1].v == 5) { hdr.h.r = 1; } else { hdr.h.r = 2; }
            bit<8> x = hdr.s[hdr.h.j].v;
            hdr.h.j = x;
        } else if (hdr.h.op == 2) {
            hdr.s[1].setInvalid();
            hdr.s[1].setValid();
            hdr.h.r = hdr.s[1].v + 9;
        }
        t.apply();
    }
}

V1Switch(P(), VC(), I(), E(), CC(), D()) main;
