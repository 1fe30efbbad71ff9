/* P4_16 1.2.5 loops: unrolled three-clause and for-in loops (constant bounds, stack
 * indexes by the loop variable, break/continue on run-time conditions, nested loops
 * whose inner bound starts at the outer variable) and run-time loops in actions. */
#include <core.p4>
#include <v1model.p4>

header ctl_t {
    bit<8> n;
    bit<8> op;
}

header val_t {
    bit<8> v;
}

header res_t {
    bit<32> sum;
    bit<8>  cnt;
    bit<8>  odd;
    bit<8>  mask;
    bit<8>  pairs;
    bit<8>  maxv;
    bit<16> tri;
    bit<8>  last;
}

struct headers_t {
    ctl_t    ctl;
    val_t[4] vals;
    res_t    res;
}

struct meta_t {}

parser Prs(packet_in pk, out headers_t hdr, inout meta_t meta,
           inout standard_metadata_t sm) {
    state start {
        pk.extract(hdr.ctl);
        pk.extract(hdr.vals.next);
        pk.extract(hdr.vals.next);
        pk.extract(hdr.vals.next);
        pk.extract(hdr.vals.next);
        pk.extract(hdr.res);
        transition accept;
    }
}

control Vrf(inout headers_t hdr, inout meta_t meta) { apply {} }

control Ing(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    // 1 + 2 + ... + n, skipping 3 and stopping after 10: the bound is a header field
    action triangle() {
        hdr.res.tri = 0;
        for (bit<8> i = 1; i <= hdr.ctl.n; i = i + 1) {
            if (i == 3) {
                continue;
            }
            hdr.res.tri = hdr.res.tri + (bit<16>)i;
            if (i == 10) {
                break;
            }
        }
    }

    // the loop variable is also changed in the body: a run-time loop (i = 0, 2, 4, ...)
    action evens() {
        hdr.res.last = 0;
        for (bit<8> i = 0; i < hdr.ctl.n; i = i + 1) {
            hdr.res.last = i;
            i = i + 1;
        }
    }

    table pick {
        key = { hdr.ctl.op : exact; }
        actions = { triangle; evens; NoAction; }
        default_action = triangle();
    }

    apply {
        for (bit<8> i = 0; i < 4; i = i + 1) {
            hdr.res.sum = hdr.res.sum + (bit<32>)hdr.vals[i].v;
        }
        // count the values before the first zero
        for (bit<8> i = 0; i < 4; i += 1) {
            if (hdr.vals[i].v == 0) {
                break;
            }
            hdr.res.cnt = hdr.res.cnt + 1;
        }
        for (bit<8> k in 0 .. 3) {
            if (hdr.vals[k].v[0:0] == 0) {
                continue;
            }
            hdr.res.odd = hdr.res.odd + 1;
        }
        for (bit<8> m in {1, 4, 16}) {
            if ((hdr.ctl.n & m) != 0) {
                hdr.res.mask = hdr.res.mask + 1;
            }
        }
        for (bit<4> a = 0; a < 3; a = a + 1) {
            for (bit<4> b = a; b < 3; b = b + 1) {
                hdr.res.pairs = hdr.res.pairs + 1;
            }
        }
        for (val_t h in hdr.vals) {
            if (h.v > hdr.res.maxv) {
                hdr.res.maxv = h.v;
            }
        }
        pick.apply();
        sm.egress_spec = 1;
    }
}

control Egr(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply {}
}

control Cks(inout headers_t hdr, inout meta_t meta) { apply {} }

control Dep(packet_out pk, in headers_t hdr) {
    apply {
        pk.emit(hdr.ctl);
        pk.emit(hdr.vals);
        pk.emit(hdr.res);
    }
}

V1Switch(Prs(), Vrf(), Ing(), Egr(), Cks(), Dep()) main;
