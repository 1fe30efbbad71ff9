/* Midend features: a sub-control instantiated twice, functions, actions
   calling actions, local variables, enums, if/else in actions, hit/miss,
   return, parser value sets and lookahead. */
#include <core.p4>
#include <v1model.p4>
#include "common_headers.p4"

enum Verdict { PASS, DROP }

struct headers {
    ethernet_t ethernet;
    ipv4_t     ipv4;
}

struct vlan_key_t {
    bit<16> ether_type;
}

struct metadata {
    bit<8>  hits;
    bit<16> peek;
    bool    marked;
}

parser MyParser(packet_in packet, out headers hdr, inout metadata meta,
                inout standard_metadata_t standard_metadata) {
    value_set<bit<16>>(4) ipv4_types;

    state start {
        meta.peek = packet.lookahead<bit<112>>()[15:0];
        packet.extract(hdr.ethernet);
        transition select(hdr.ethernet.etherType) {
            ipv4_types: parse_ipv4;
            default: accept;
        }
    }
    state parse_ipv4 {
        packet.extract(hdr.ipv4);
        transition accept;
    }
}

control MyVerifyChecksum(inout headers hdr, inout metadata meta) {
    apply { }
}

bit<8> saturating_dec(in bit<8> value) {
    if (value == 0) {
        return 0;
    }
    return value - 1;
}

control Counting(inout metadata meta, in bit<32> address) {
    action bump() {
        meta.hits = meta.hits + 1;
    }

    table seen {
        key = {
            address: exact;
        }
        actions = {
            bump;
            NoAction;
        }
        default_action = NoAction();
    }

    apply {
        if (seen.apply().hit) {
            meta.marked = true;
        }
    }
}

control MyIngress(inout headers hdr, inout metadata meta,
                  inout standard_metadata_t standard_metadata) {
    Counting() by_src;
    Counting() by_dst;
    Verdict verdict = Verdict.PASS;

    action set_port(bit<9> port) {
        standard_metadata.egress_spec = port;
    }

    action route(bit<9> port, bool decrement) {
        set_port(port);
        if (decrement) {
            hdr.ipv4.ttl = saturating_dec(hdr.ipv4.ttl);
        } else {
            hdr.ipv4.diffserv = 0;
        }
    }

    table routes {
        key = {
            hdr.ipv4.dstAddr: lpm;
        }
        actions = {
            route;
        }
        default_action = route(0, false);
    }

    apply {
        if (!hdr.ipv4.isValid()) {
            mark_to_drop(standard_metadata);
            return;
        }
        by_src.apply(meta, hdr.ipv4.srcAddr);
        by_dst.apply(meta, hdr.ipv4.dstAddr);
        if (hdr.ipv4.ttl <= 1) {
            verdict = Verdict.DROP;
        }
        if (verdict == Verdict.DROP) {
            mark_to_drop(standard_metadata);
        } else {
            routes.apply();
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
    }
}

V1Switch(MyParser(), MyVerifyChecksum(), MyIngress(), MyEgress(), MyComputeChecksum(),
         MyDeparser()) main;
