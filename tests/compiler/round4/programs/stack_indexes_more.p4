// Round 4: run-time header-stack indexes where p4c's BMv2 mid end still expands them: in a
// function (inlined into the control first, so an index out of range reads an undefined
// value, 0 here, and writes nothing), in a table key (SimplifyKey moves the key into a
// temporary first, expanded likewise) -- and in a parser state, which keeps the run-time
// index (read into a select key through a temporary).
#include <core.p4>
#include <v1model.p4>

header h_t { bit<8> i; bit<8> r; bit<8> k; bit<8> op; }
header s_t { bit<8> v; }
struct headers { h_t h; s_t[3] s; }
struct metadata { }

parser P(packet_in pk, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start {
        pk.extract(hdr.h);
        pk.extract(hdr.s[0]); pk.extract(hdr.s[1]); pk.extract(hdr.s[2]);
        transition select(hdr.h.op) { 9: read; default: accept; }
    }
    state read {
        transition select(hdr.s[hdr.h.i].v) { 0x0B: mark; default: accept; }
    }
    state mark { hdr.h.k = 0xBB; transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr); } }

bit<8> get(in headers h, in bit<8> i) { return h.s[i].v; }
void put(inout headers h, in bit<8> i, in bit<8> x) { h.s[i].v = x; }

control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    action set(bit<8> x) { hdr.h.k = x; }
    table t {
        key = { hdr.s[hdr.h.i].v : exact; }
        actions = { set; NoAction; }
        default_action = NoAction;
    }
    apply {
        sm.egress_spec = 1;
        if (hdr.h.op == 1) {
            hdr.h.r = get(hdr, hdr.h.i) + 1;
            put(hdr, hdr.h.i, 0x44);
        } else if (hdr.h.op == 2) {
            t.apply();
        }
    }
}

V1Switch(P(), VC(), I(), E(), CC(), D()) main;
