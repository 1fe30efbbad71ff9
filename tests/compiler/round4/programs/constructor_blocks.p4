// Round 4: parsers and controls passed as constructor arguments and applied inside
// (`s.apply(...)` on a constructor parameter): a sub-parser given to the V1Switch parser,
// a control applied twice by a wrapper, a control with its own constructor argument and a
// table, passed through a second wrapper.
#include <core.p4>
#include <v1model.p4>

header h_t { bit<8> a; bit<8> b; bit<8> c; }
struct headers { h_t h; }
struct metadata { }

parser Sub(packet_in pk, out h_t h) { state start { pk.extract(h); transition accept; } }
parser SubT(packet_in pk, out h_t h);
parser P(packet_in pk, out headers hdr, inout metadata meta,
         inout standard_metadata_t sm)(SubT s) {
    state start { s.apply(pk, hdr.h); transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr.h); } }

control Step(inout h_t h);
control AddOne(inout h_t h) { apply { h.b = h.b + 1; } }
control SetC(inout h_t h)(bit<8> v) {
    action s() { h.c = v; }
    action put(bit<8> x) { h.c = x; }
    table tc { key = { h.a : exact; } actions = { s; put; } default_action = s; }
    apply { tc.apply(); }
}
control Twice(inout h_t h)(Step st) { apply { st.apply(h); st.apply(h); } }
control Once(inout h_t h)(Step st) { apply { st.apply(h); } }
control Pass(inout h_t h)(Step inner) {
    Once(inner) once;
    apply { once.apply(h); }
}

control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    Twice(AddOne()) tw;
    Pass(SetC(8w7)) pc;
    apply {
        sm.egress_spec = 1;
        tw.apply(hdr.h);
        pc.apply(hdr.h);
    }
}

V1Switch(P(Sub()), VC(), I(), E(), CC(), D()) main;
