// An exit inside an action (called directly and from a table) of a control applied
// with arguments that share storage still copies the control's parameters back, left
// to right, before the pipeline stops (P4_16 12.5), as p4c does.
// The exit in inner() also copies back inner's own (aliased) arguments first, then the
// control's, though stop() calling it has no copies of its own.
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
    action inner(inout bit<8> w1, inout bit<8> w2) { w1 = 3; w2 = w2 + 0x10; exit; }
    action stop() { inner(y, y); }
    action tstop() { y = y + 1; exit; }
    table t { key = { y : exact; } actions = { tstop; NoAction; }
              const entries = { 4 : tstop(); } default_action = NoAction(); }
    apply {
        x = 1;
        y = y + 2;
        if (y == 7) {
            stop();
        }
        t.apply();
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
