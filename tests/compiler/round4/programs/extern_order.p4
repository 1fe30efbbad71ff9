// Round 4: extern method calls inside functions called from expressions run in the spec's
// order (left operand first, the right operand of && only when needed).
#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; bit<8> c; }
struct headers { h_t h; }
struct metadata { }
register<bit<8>>(4) r;
parser P(packet_in pk, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start { pk.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr.h); } }
bit<8> bump() { bit<8> v; r.read(v, 0); r.write(0, v + 1); return v; }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    apply {
        sm.egress_spec = 1;
        hdr.h.a = bump() * 8w10 + bump();
        hdr.h.b = (hdr.h.c == 1 && bump() == 2) ? 8w1 : 8w0;
        bit<8> last;
        r.read(last, 0);
        hdr.h.c = last;
    }
}
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
