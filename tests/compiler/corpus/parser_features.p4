/* Parser midend features: if statements in states, an inlined sub-parser with an
   in-argument, a varbit header (options) and a range in a select case. */
#include <core.p4>
#include <v1model.p4>

header eth_t { bit<48> dst; bit<48> src; bit<16> kind; }
header opts_t { bit<8> length; varbit<64> data; }
header small_t { bit<8> tag; }
header large_t { bit<16> tag; }

struct headers { eth_t eth; opts_t opts; small_t small; large_t large; }
struct metadata { bit<8> which; bit<8> band; }

parser TagParser(packet_in pkt, inout headers hdr, in bit<8> which) {
    state start {
        transition select(which) { 1: small; default: large; }
    }
    state small { pkt.extract(hdr.small); transition accept; }
    state large { pkt.extract(hdr.large); transition accept; }
}

parser P(packet_in pkt, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    TagParser() tags;
    state start {
        pkt.extract(hdr.eth);
        if (hdr.eth.kind == 0x1234) {
            meta.which = 1;
        } else {
            meta.which = 2;
        }
        transition select(hdr.eth.kind) {
            0x0001 .. 0x00ff: options;
            default: tagged;
        }
    }
    state options {
        pkt.extract(hdr.opts, (bit<32>)pkt.lookahead<bit<8>>() * 8);
        meta.band = 1;
        transition accept;
    }
    state tagged {
        tags.apply(pkt, hdr, meta.which);
        meta.band = meta.which + 10;
        transition accept;
    }
}

control VC(inout headers hdr, inout metadata meta) { apply { } }

control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    apply { sm.egress_spec = (bit<9>)meta.band; }
}

control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }

control CC(inout headers hdr, inout metadata meta) { apply { } }

control D(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }

V1Switch(P(), VC(), I(), E(), CC(), D()) main;
