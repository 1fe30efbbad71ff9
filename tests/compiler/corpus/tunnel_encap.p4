/* IP-in-IP tunnel encapsulation/decapsulation: header validity, header copies,
   struct initializers and a header stack of MPLS labels. */
#include <core.p4>
#include <v1model.p4>
#include "common_headers.p4"

header mpls_t {
    bit<20> label;
    bit<3>  tc;
    bit<1>  bos;
    bit<8>  ttl;
}

struct headers {
    ethernet_t ethernet;
    mpls_t[2]  mpls;
    ipv4_t     outer;
    ipv4_t     inner;
}

struct metadata {
}

parser MyParser(packet_in packet, out headers hdr, inout metadata meta,
                inout standard_metadata_t standard_metadata) {
    state start {
        packet.extract(hdr.ethernet);
        transition select(hdr.ethernet.etherType) {
            0x8847: parse_mpls;
            0x0800: parse_outer;
            default: accept;
        }
    }
    state parse_mpls {
        packet.extract(hdr.mpls.next);
        transition select(hdr.mpls.last.bos) {
            0: parse_mpls;
            default: accept;
        }
    }
    state parse_outer {
        packet.extract(hdr.outer);
        transition select(hdr.outer.protocol) {
            4: parse_inner;
            default: accept;
        }
    }
    state parse_inner {
        packet.extract(hdr.inner);
        transition accept;
    }
}

control MyVerifyChecksum(inout headers hdr, inout metadata meta) {
    apply { }
}

control MyIngress(inout headers hdr, inout metadata meta,
                  inout standard_metadata_t standard_metadata) {
    action encap(bit<32> src, bit<32> dst, bit<9> port) {
        hdr.inner = hdr.outer;
        hdr.outer = { 4w4, 4w5, 8w0, hdr.inner.totalLen + 20, 16w0, 3w0, 13w0, 8w64, 8w4,
                      16w0, src, dst };
        standard_metadata.egress_spec = port;
    }

    action decap(bit<9> port) {
        hdr.outer = hdr.inner;
        hdr.inner.setInvalid();
        standard_metadata.egress_spec = port;
    }

    action push_label(bit<20> label) {
        hdr.mpls.push_front(1);
        hdr.mpls[0].setValid();
        hdr.mpls[0].label = label;
        hdr.mpls[0].bos = 1;
        hdr.mpls[0].ttl = 64;
        hdr.ethernet.etherType = 0x8847;
    }

    table tunnel {
        key = {
            hdr.outer.dstAddr: exact;
            hdr.inner.isValid(): exact;
        }
        actions = {
            encap;
            decap;
            push_label;
            NoAction;
        }
        default_action = NoAction();
    }

    apply {
        tunnel.apply();
    }
}

control MyEgress(inout headers hdr, inout metadata meta,
                 inout standard_metadata_t standard_metadata) {
    apply { }
}

control MyComputeChecksum(inout headers hdr, inout metadata meta) {
    apply {
        update_checksum(hdr.outer.isValid(),
            { hdr.outer.version, hdr.outer.ihl, hdr.outer.diffserv, hdr.outer.totalLen,
              hdr.outer.identification, hdr.outer.flags, hdr.outer.fragOffset, hdr.outer.ttl,
              hdr.outer.protocol, hdr.outer.srcAddr, hdr.outer.dstAddr },
            hdr.outer.hdrChecksum, HashAlgorithm.csum16);
    }
}

control MyDeparser(packet_out packet, in headers hdr) {
    apply {
        packet.emit(hdr.ethernet);
        packet.emit(hdr.mpls);
        packet.emit(hdr.outer);
        packet.emit(hdr.inner);
    }
}

V1Switch(MyParser(), MyVerifyChecksum(), MyIngress(), MyEgress(), MyComputeChecksum(),
         MyDeparser()) main;
