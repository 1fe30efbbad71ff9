// An exit in a control applied with arguments that share storage still copies its
// parameters back (left to right) before the pipeline stops, as on a normal return
// (P4_16 12.5: exit performs the copy-out of the enclosing calls).
#include <core.p4>
#include <v1model.p4>

header h_t {
    bit<8> a;
    bit<8> b;
}

struct headers { h_t h; }
struct metadata { }

parser prs(packet_in pkt, out headers hdr, inout metadata meta,
           inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.h);
        transition accept;
    }
}

control vrfy(inout headers hdr, inout metadata meta) { apply { } }

control twice(inout bit<8> x, inout bit<8> y) {
    apply {
        x = 1;
        y = y + 2;
        if (y == 7) {
            exit;
        }
        x = 9;
    }
}

control ingress(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    twice() t;
    apply {
        sm.egress_spec = 1;
        t.apply(hdr.h.a, hdr.h.a);
        hdr.h.b = 0xee;
    }
}

control egress(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    apply { }
}

control upd(inout headers hdr, inout metadata meta) { apply { } }

control dep(packet_out pkt, in headers hdr) {
    apply { pkt.emit(hdr.h); }
}

V1Switch(prs(), vrfy(), ingress(), egress(), upd(), dep()) main;
