// Round 4: lvalues and arguments p4c accepts: a slice of a slice, a header passed inout
// through an action and two functions, list and struct expressions as `in` arguments,
// header-stack indexes computed by a call with a side effect (on both sides of `=`), two
// inout arguments aliasing one field (copied out left to right), a header returned by a
// function and used through a member.
#include <core.p4>
#include <v1model.p4>

header h_t { bit<8> a; bit<8> b; bit<8> c; bit<8> d; bit<16> w; }
header s_t { bit<8> v; }
struct pair_t { bit<8> x; bit<8> y; }
struct headers { h_t h; s_t[3] s; }
struct metadata { bit<8> idx; }

parser P(packet_in pk, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start {
        pk.extract(hdr.h);
        pk.extract(hdr.s[0]);
        pk.extract(hdr.s[1]);
        pk.extract(hdr.s[2]);
        transition accept;
    }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr); } }

void inc(inout bit<8> x) { x = x + 1; }
void deeper(inout h_t h) { inc(h.a); inc(h.b); }
void deep(inout h_t h) { deeper(h); inc(h.a); }
bit<8> sum(in pair_t p) { return p.x + p.y; }
bit<8> next(inout bit<8> i) { i = i + 1; return i; }
void two(inout bit<8> p, inout bit<8> q) { p = 10; q = 20; }
h_t mk(in bit<8> v) { h_t x; x.setValid(); x.a = v; x.b = v + 1; x.c = v; x.d = v; x.w = 0; return x; }
// `h` is copied in: writing the aliased field `f` first does not change what it reads
bit<8> alias(in h_t h, inout bit<8> f) { f = 0xAA; return h.a + h.b; }

control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    action act(inout h_t hh) { deep(hh); }
    apply {
        sm.egress_spec = 1;
        act(hdr.h);
        hdr.h.c = sum({hdr.h.a, hdr.h.b});
        hdr.h.d = sum((pair_t){x = 1, y = hdr.h.c});
        meta.idx = 0;
        hdr.s[next(meta.idx)].v = 0x55;
        hdr.s[0].v = hdr.s[next(meta.idx)].v;
        two(hdr.h.b, hdr.h.b);
        hdr.h.a[7:0][3:0] = 4w7;
        hdr.h.w[15:8][7:4] = 4w0xC;
        hdr.h.w[11:0][3:0][1:0] = 2w3;
        if (mk(3).a == 3) { hdr.s[2].v = mk(9).b; }
        hdr.h.w[7:4] = alias(hdr.h, hdr.h.d)[3:0];
    }
}

V1Switch(P(), VC(), I(), E(), CC(), D()) main;
