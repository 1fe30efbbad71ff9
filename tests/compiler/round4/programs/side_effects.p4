/* Order of evaluation: short circuit of && || ?: with function calls on the right, calls
 * with inout arguments ordered left to right against the other operands, copy-out of
 * aliased arguments in parameter order. */
#include <core.p4>
#include <v1model.p4>

header h_t {
    bit<8> a;
    bit<8> b;
    bit<8> c;
    bit<8> d;
    bit<8> e;
    bit<8> f;
    bit<8> g;
    bit<8> k;
}

struct headers_t { h_t h; }
struct meta_t {}

bool bump(inout bit<8> x) {
    x = x + 1;
    return x > 2;
}

bit<8> twice(inout bit<8> x) {
    x = x * 2;
    return x;
}

bit<8> both(inout bit<8> x, inout bit<8> y) {
    x = 1;
    y = 2;
    return x + y;
}

parser Prs(packet_in pk, out headers_t hdr, inout meta_t meta,
           inout standard_metadata_t sm) {
    state start {
        pk.extract(hdr.h);
        transition accept;
    }
}

control Vrf(inout headers_t hdr, inout meta_t meta) { apply {} }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action out2(out bit<8> x, out bit<8> y) {
        x = 1;
        y = 2;
    }

    action in_action() {
        // in an action too: bump(d) only when a == 2
        if (hdr.h.a == 2 && bump(hdr.h.d)) {
            hdr.h.k = hdr.h.k + 1;
        }
    }

    apply {
        if (hdr.h.a != 0 && bump(hdr.h.b)) {
            hdr.h.c = 1;
        }
        hdr.h.e = hdr.h.a == 0 || bump(hdr.h.e) ? 8w7 : 8w9;
        hdr.h.f = hdr.h.a == 1 ? twice(hdr.h.f) : hdr.h.f + 100;
        // left to right: g is read before twice(g) doubles it, then after
        hdr.h.g = hdr.h.g + twice(hdr.h.g) + hdr.h.g;
        in_action();
        // both(k, k): copy-in 2x, copy-out x then y: k = 2, the result 3 is discarded
        if (hdr.h.a == 3) {
            both(hdr.h.k, hdr.h.k);
            out2(hdr.h.c, hdr.h.c);
        }
        sm.egress_spec = 1;
    }
}

control Egr(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {}
}

control Cks(inout headers_t hdr, inout meta_t meta) { apply {} }

control Dep(packet_out pk, in headers_t hdr) {
    apply { pk.emit(hdr.h); }
}

V1Switch(Prs(), Vrf(), Ing(), Egr(), Cks(), Dep()) main;
