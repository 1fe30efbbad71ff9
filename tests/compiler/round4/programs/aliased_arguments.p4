// Out/inout arguments that share storage, with each other or with what the callee's body
// names directly, follow the P4_16 spec's copy-in/copy-out: the callee works on copies and
// the arguments are written back left to right when it returns.
#include <core.p4>
#include <v1model.p4>

header h_t {
    bit<8> a;
    bit<8> b;
    bit<8> c;
    bit<8> d;
    bit<8> e;
}

struct headers { h_t h; }
struct metadata { }

parser P(packet_in pk, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start { pk.extract(hdr.h); transition accept; }
}

control VC(inout headers hdr, inout metadata meta) { apply { } }

// Both parameters get hdr.h.a: y is set before x is read, and x's copy keeps a's value.
bit<8> pick(inout bit<8> x, out bit<8> y) {
    y = 7;
    if (x > 10) {
        y = y + x;
    }
    return x;
}

control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    // The body's own write to hdr.h.b is overwritten by the copy-out of v.
    action bump(inout bit<8> v) {
        hdr.h.b = hdr.h.b + 1;
        v = v + 10;
    }
    // whole and part overlap: whole is copied out first, then part.
    action whole_then_part(inout h_t whole, inout bit<8> part) {
        whole.c = 0x11;
        part = 0x22;
    }
    action part_then_whole(inout bit<8> part, inout h_t whole) {
        whole.c = 0x11;
        part = 0x22;
    }
    // An exit in a call whose arguments go through temporaries still copies them out
    // (p4c's bmv2 tests expect an action's inout writes to survive its exit).
    action inner(inout bit<8> w1, inout bit<8> w2) {
        w1 = w1 + 1;
        w2 = w2 + 0x10;
        exit;
    }
    action outer(inout bit<8> v) {
        inner(v, v);
        v = 0xff;
    }
    apply {
        hdr.h.d = pick(hdr.h.a, hdr.h.a);
        bump(hdr.h.b);
        if (hdr.h.c == 0) {
            whole_then_part(hdr.h, hdr.h.c);
        } else {
            part_then_whole(hdr.h.c, hdr.h);
        }
        sm.egress_spec = 1;
        outer(hdr.h.e);
        hdr.h.e = 0xee;
    }
}

control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr.h); } }

V1Switch(P(), VC(), I(), E(), CC(), D()) main;
