// Round 4: headers in `out` parameters come out invalid unless the callee makes them valid,
// as p4c compiles them (an out parameter starts uninitialised: p4c's inliners invalidate the
// headers of a control's or parser's out argument, an action's or function's out parameter
// is a local copied out): an action called directly and from a table's action list, a
// function, a struct (with a header stack) out of a function, a control, a sub-parser; an
// in-argument naming the same header is read first; a header the callee sets valid stays.
#include <core.p4>
#include <v1model.p4>

header h_t { bit<8> a; }
struct pair_t { h_t x; h_t[2] s; bit<8> n; }
struct headers { h_t op; h_t h1; h_t h2; h_t h3; h_t h4; }
struct metadata { }

parser Sub(packet_in pk, out h_t h) { state start { transition accept; } }
parser P(packet_in pk, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    Sub() sub;
    state start {
        pk.extract(hdr.op); pk.extract(hdr.h1); pk.extract(hdr.h2); pk.extract(hdr.h3);
        pk.extract(hdr.h4);
        transition select(hdr.op.a) { 9: call_sub; default: accept; }
    }
    state call_sub { sub.apply(pk, hdr.h2); transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr); } }

void f(out h_t x) { }
void g(out pair_t p) { p.n = 1; p.s[1].setValid(); p.s[1].a = 0x66; }
void mk(out h_t x) { x.setValid(); x.a = 0x55; }
control Keep(out h_t x) { apply { } }
control Copy(in h_t i, out h_t o) { apply { o = i; o.a = o.a + 1; } }

control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    Keep() keep;
    Copy() copy;
    action a(out h_t x) { }
    action a2(out h_t x) { }
    table t { key = { hdr.op.a : exact; } actions = { a2(hdr.h3); NoAction; }
              default_action = NoAction; }
    apply {
        sm.egress_spec = 1;
        pair_t q;
        if (hdr.op.a == 1) { a(hdr.h1); }
        if (hdr.op.a == 2) { f(hdr.h2); mk(hdr.h3); }
        if (hdr.op.a == 3) {
            q.x = hdr.h3; q.s[0] = hdr.h1; q.s[1] = hdr.h2;
            g(q);
            hdr.h3 = q.x; hdr.h1 = q.s[0]; hdr.h2 = q.s[1];
        }
        if (hdr.op.a == 4) { keep.apply(hdr.h4); }
        if (hdr.op.a == 5) { copy.apply(hdr.h4, hdr.h4); }
        t.apply();
    }
}

V1Switch(P(), VC(), I(), E(), CC(), D()) main;
