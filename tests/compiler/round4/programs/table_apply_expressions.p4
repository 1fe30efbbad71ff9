// Round 4: tables applied inside expressions (t.apply().hit/.miss as operands, in
// arguments of functions and of a sub-control, negated, compared, in ?:), in the order the
// spec gives: an operand read before the table is applied keeps the value it had.
#include <core.p4>
#include <v1model.p4>

header h_t { bit<8> a; bit<8> b; bit<8> c; bit<8> d; bit<8> e; bit<8> f; }
struct headers { h_t h; }
struct metadata { }

parser P(packet_in pk, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start { pk.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr.h); } }

bit<8> twice(in bit<8> x) { return x + x; }
bit<8> add1(in bit<8> x) { return x + 1; }

control Sub(inout h_t h, in bool flag) {
    apply { if (flag) { h.f = h.f + 100; } }
}

control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    action bump() { hdr.h.e = hdr.h.e + 1; }
    action setb(bit<8> v) { hdr.h.b = v; }
    table t1 { key = { hdr.h.a : exact; } actions = { bump; NoAction; } default_action = NoAction; }
    table t2 { key = { hdr.h.a : exact; } actions = { bump; NoAction; } default_action = NoAction; }
    table t3 { key = { hdr.h.a : exact; } actions = { bump; NoAction; } default_action = NoAction; }
    table t4 { key = { hdr.h.a : exact; } actions = { bump; NoAction; } default_action = NoAction; }
    table t5 { key = { hdr.h.a : exact; } actions = { bump; NoAction; } default_action = NoAction; }
    table t6 { key = { hdr.h.a : exact; } actions = { bump; setb; NoAction; } default_action = NoAction; }
    table t7 { key = { hdr.h.a : exact; } actions = { bump; NoAction; } default_action = NoAction; }
    Sub() sub;
    apply {
        sm.egress_spec = 1;
        hdr.h.b = twice(t1.apply().hit ? 8w3 : 8w4);
        bool b = !t2.apply().miss;
        if (b == true) { hdr.h.c = hdr.h.e; }
        if ((t3.apply().hit ? 8w1 : 8w0) == 8w1) { hdr.h.d = 1; } else { hdr.h.d = 2; }
        // hdr.h.e is read before t4 (whose action changes it) is applied
        hdr.h.c = hdr.h.e + (t4.apply().hit ? 8w10 : 8w20);
        bool x = t5.apply().hit ? true : false;
        if (x) {
            if (!(t6.apply().hit == false)) {
                hdr.h.c = add1(add1(hdr.h.c));
            }
        }
        sub.apply(hdr.h, t7.apply().hit);
    }
}

V1Switch(P(), VC(), I(), E(), CC(), D()) main;
