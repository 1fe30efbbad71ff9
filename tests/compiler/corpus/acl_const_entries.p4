/* Ternary ACL with const entries (priorities by order), a range key, an
   optional key, @defaultonly/@tableonly scopes and a const default action. */
#include <core.p4>
#include <v1model.p4>
#include "common_headers.p4"

struct headers {
    ethernet_t ethernet;
    ipv4_t     ipv4;
    udp_t      udp;
}

struct metadata {
}

parser MyParser(packet_in packet, out headers hdr, inout metadata meta,
                inout standard_metadata_t standard_metadata) {
    state start {
        packet.extract(hdr.ethernet);
        transition select(hdr.ethernet.etherType) {
            0x0800: parse_ipv4;
            default: accept;
        }
    }
    state parse_ipv4 {
        packet.extract(hdr.ipv4);
        transition select(hdr.ipv4.protocol) {
            17: parse_udp;
            default: accept;
        }
    }
    state parse_udp {
        packet.extract(hdr.udp);
        transition accept;
    }
}

control MyVerifyChecksum(inout headers hdr, inout metadata meta) {
    apply { }
}

control MyIngress(inout headers hdr, inout metadata meta,
                  inout standard_metadata_t standard_metadata) {
    action deny() {
        mark_to_drop(standard_metadata);
    }

    action permit(bit<9> port) {
        standard_metadata.egress_spec = port;
    }

    @name("acl_table")
    table acl {
        key = {
            hdr.ipv4.srcAddr: ternary;
            hdr.ipv4.dstAddr: ternary @name("dst");
            hdr.udp.dstPort: range;
            hdr.ipv4.protocol: optional;
        }
        actions = {
            @tableonly permit;
            deny;
        }
        const entries = {
            (0x0a000000 &&& 0xff000000, _, 0 .. 1023, 17) : permit(1);
            (_, 0xc0a80001, _, _) : deny();
            (_, _, 53 .. 53, _) : permit(2);
        }
        const default_action = deny();
    }

    table static_routes {
        key = {
            hdr.ipv4.dstAddr: lpm;
        }
        actions = {
            permit;
            @defaultonly NoAction;
        }
        entries = {
            0x0a000000 &&& 0xff000000 : permit(3);
        }
        size = 64;
    }

    apply {
        if (hdr.ipv4.isValid()) {
            switch (acl.apply().action_run) {
                permit: {
                    static_routes.apply();
                }
            }
        }
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
        packet.emit(hdr.udp);
    }
}

V1Switch(MyParser(), MyVerifyChecksum(), MyIngress(), MyEgress(), MyComputeChecksum(),
         MyDeparser()) main;
