/* Expression lowering: computed table keys, slices, casts, concatenation,
   saturating and signed arithmetic, the conditional operator. */
#include <core.p4>
#include <v1model.p4>
#include "common_headers.p4"

struct headers {
    ethernet_t ethernet;
    ipv4_t     ipv4;
}

struct metadata {
    bit<16> concat;
    bit<8>  sat;
    int<8>  delta;
    bit<8>  pick;
}

parser MyParser(packet_in packet, out headers hdr, inout metadata meta,
                inout standard_metadata_t standard_metadata) {
    state start {
        packet.extract(hdr.ethernet);
        packet.extract(hdr.ipv4);
        transition accept;
    }
}

control MyVerifyChecksum(inout headers hdr, inout metadata meta) {
    apply { }
}

control MyIngress(inout headers hdr, inout metadata meta,
                  inout standard_metadata_t standard_metadata) {
    action to_port(bit<9> port) {
        standard_metadata.egress_spec = port;
    }

    table by_prefix {
        key = {
            hdr.ipv4.dstAddr[31:24]: exact @name("first_octet");
            hdr.ipv4.srcAddr & 0xffff0000: ternary;
        }
        actions = {
            to_port;
            NoAction;
        }
        default_action = NoAction();
    }

    apply {
        meta.concat = hdr.ipv4.ttl ++ hdr.ipv4.protocol;
        meta.sat = hdr.ipv4.ttl |+| 8w250;
        meta.delta = (int<8>)hdr.ipv4.diffserv - 8s3;
        meta.pick = hdr.ipv4.ttl > 10 ? 8w1 : 8w2;
        hdr.ipv4.identification = meta.concat;
        hdr.ipv4.diffserv = (bit<8>)meta.delta;
        hdr.ipv4.ttl = meta.sat;
        hdr.ipv4.protocol = meta.pick;
        hdr.ipv4.flags = hdr.ipv4.fragOffset[2:0];
        by_prefix.apply();
    }
}

control MyEgress(inout headers hdr, inout metadata meta,
                 inout standard_metadata_t standard_metadata) {
    apply { }
}

control MyComputeChecksum(inout headers hdr, inout metadata meta) {
    apply { }
}

control MyDeparser(packet_out packet, in headers hdr) {
    apply {
        packet.emit(hdr.ethernet);
        packet.emit(hdr.ipv4);
    }
}

V1Switch(MyParser(), MyVerifyChecksum(), MyIngress(), MyEgress(), MyComputeChecksum(),
         MyDeparser()) main;
