/* lookahead everywhere BMv2 does not take it whole (issue 14): a header member inside an
   expression, a computed select key, a verify condition and the length of a varbit
   IPv4 options field, whose checksum is then verified and updated over the options. */
#include <core.p4>
#include <v1model.p4>

header ethernet_t { bit<48> dstAddr; bit<48> srcAddr; bit<16> etherType; }
header ipv4_base_t {
    bit<4> version; bit<4> ihl; bit<8> diffserv; bit<16> totalLen;
}
header ipv4_t {
    bit<4> version; bit<4> ihl; bit<8> diffserv; bit<16> totalLen;
    bit<16> identification; bit<3> flags; bit<13> fragOffset;
    bit<8> ttl; bit<8> protocol; bit<16> hdrChecksum;
    bit<32> srcAddr; bit<32> dstAddr;
    varbit<320> options;
}
struct headers { ethernet_t ethernet; ipv4_t ipv4; }
struct metadata { bit<8> inverted_tos; bit<8> first_byte; bit<16> option_bits; }
error { NotVersion4 }

parser P(packet_in pkt, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.etherType) { 0x0800: peek; default: accept; }
    }
    state peek {
        meta.inverted_tos = pkt.lookahead<ipv4_base_t>().diffserv ^ 8w0xff;
        meta.first_byte = pkt.lookahead<bit<8>>();
        meta.option_bits = ((bit<16>)pkt.lookahead<ipv4_base_t>().ihl - 5) * 32;
        verify(pkt.lookahead<bit<4>>() == 4, error.NotVersion4);
        transition select(pkt.lookahead<bit<8>>() & 0x0f) { 5: ipv4; default: ipv4; }
    }
    state ipv4 {
        pkt.extract(hdr.ipv4, (bit<32>)(((bit<16>)pkt.lookahead<ipv4_base_t>().ihl - 5) * 32));
        transition accept;
    }
}

control VC(inout headers hdr, inout metadata meta) {
    apply {
        verify_checksum(hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.totalLen,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.fragOffset, hdr.ipv4.ttl,
              hdr.ipv4.protocol, hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, hdr.ipv4.options },
            hdr.ipv4.hdrChecksum, HashAlgorithm.csum16);
    }
}

control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    apply {
        if (sm.checksum_error == 1 || sm.parser_error != error.NoError) {
            mark_to_drop(sm);
            exit;
        }
        sm.egress_spec = 1;
        hdr.ethernet.srcAddr = 16w0 ++ meta.inverted_tos ++ meta.first_byte ++ meta.option_bits;
        hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
    }
}

control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }

control CC(inout headers hdr, inout metadata meta) {
    apply {
        update_checksum(hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.totalLen,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.fragOffset, hdr.ipv4.ttl,
              hdr.ipv4.protocol, hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, hdr.ipv4.options },
            hdr.ipv4.hdrChecksum, HashAlgorithm.csum16);
    }
}

control D(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.ethernet); pkt.emit(hdr.ipv4); } }

V1Switch(P(), VC(), I(), E(), CC(), D()) main;
