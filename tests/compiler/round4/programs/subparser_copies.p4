// A sub-parser applied with out/inout arguments that share storage, or with a bit slice,
// works on copies, copied in before and back left to right after it accepts (P4_16 6.8),
// as for controls.
#include <core.p4>
#include <v1model.p4>

header h_t {
    bit<8> a;
    bit<8> b;
}

struct headers { h_t h; }
struct metadata { }

parser sub(packet_in pkt, inout bit<8> x, inout bit<8> y) {
    state start {
        x = x + 1;
        y = y + 0x10;
        transition accept;
    }
}

parser nib(packet_in pkt, inout bit<4> n) {
    state start {
        n = n + 1;
        transition accept;
    }
}

parser prs(packet_in pkt, out headers hdr, inout metadata meta,
           inout standard_metadata_t sm) {
    sub() s;
    nib() q;
    state start {
        pkt.extract(hdr.h);
        s.apply(pkt, hdr.h.a, hdr.h.a);
        q.apply(pkt, hdr.h.b[7:4]);
        transition accept;
    }
}

control vrfy(inout headers hdr, inout metadata meta) { apply { } }

control ingress(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    apply { sm.egress_spec = 1; }
}

control egress(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    apply { }
}

control upd(inout headers hdr, inout metadata meta) { apply { } }

control dep(packet_out pkt, in headers hdr) {
    apply { pkt.emit(hdr.h); }
}

V1Switch(prs(), vrfy(), ingress(), egress(), upd(), dep()) main;
