// Round 4: compound assignments whose target has a header-stack index computed by a call
// with side effects: the target is evaluated once (p4c's SideEffectOrdering computes the
// index into a temporary, read and written through), `s[f()].v = s[f()].v + 1` calls f
// twice, left side first; also `s[i].v += ...` with a run-time index in an action.
#include <core.p4>
#include <v1model.p4>

header h_t { bit<8> n; bit<8> op; }
header s_t { bit<8> v; }
struct headers { h_t h; s_t[4] s; }
struct metadata { }

parser P(packet_in pk, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start { pk.extract(hdr.h);
        pk.extract(hdr.s.next); pk.extract(hdr.s.next); pk.extract(hdr.s.next); pk.extract(hdr.s.next);
        transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr); } }

// the next index: counts its calls in n
bit<2> next(inout bit<8> n) { n = n + 1; return (bit<2>)n; }

control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    action bump(bit<2> i) { hdr.s[i].v += 0x10; hdr.s[i].v |= 1; }
    apply {
        sm.egress_spec = 1;
        if (hdr.h.op == 1) {
            hdr.s[next(hdr.h.n)].v += 0x20;
        } else if (hdr.h.op == 2) {
            hdr.s[next(hdr.h.n)].v = hdr.s[next(hdr.h.n)].v + 0x20;
        } else if (hdr.h.op == 3) {
            hdr.s[next(hdr.h.n)].v |-|= 0x05;
        } else if (hdr.h.op == 4) {
            bump((bit<2>)hdr.h.n);
        }
    }
}

V1Switch(P(), VC(), I(), E(), CC(), D()) main;
