// Round 4: control-plane names of controls passed as constructor arguments, as p4c gives
// them: an instance passed by name keeps the name of its declaration (`I.d.tc`, though
// applied inside `I.byname`); one constructed in the argument is declared by p4c's
// SpecializeAll inside the control it is passed to, named after that control's parameter
// (`I.pc.inner.tc`, though applied inside `I.pc.once`).
#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; bit<8> c; }
struct headers { h_t h; }
struct metadata { }
parser P(packet_in pk, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start { pk.extract(hdr.h); transition accept; } }
control VC(inout headers hdr, inout metadata meta) { apply { } }
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr.h); } }
control Step(inout h_t h);
control SetC(inout h_t h)(bit<8> v) {
    action s() { h.c = v; }
    table tc { key = { h.a : exact; } actions = { s; } default_action = s; }
    apply { tc.apply(); }
}
control Once(inout h_t h)(Step st) { apply { st.apply(h); } }
control Pass(inout h_t h)(Step inner) { Once(inner) once; apply { once.apply(h); } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    SetC(8w1) d;
    Once(d) byname;
    Pass(SetC(8w7)) pc;
    apply { byname.apply(hdr.h); pc.apply(hdr.h); }
}
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
