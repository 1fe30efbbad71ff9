/* Action parameters inside expressions (issue 14): BMv2 reads them there as 'local',
   from a const entry, a const default action and control-plane entries alike. */
#include <core.p4>
#include <v1model.p4>
#include "common_headers.p4"

struct headers { ethernet_t ethernet; ipv4_t ipv4; }
struct metadata { bit<8> unused; }

parser P(packet_in pkt, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.etherType) { 0x0800: ipv4; default: accept; }
    }
    state ipv4 { pkt.extract(hdr.ipv4); transition accept; }
}

control VC(inout headers hdr, inout metadata meta) { apply { } }

control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    counter(32, CounterType.packets) hits;

    action mark(bit<8> step, bit<16> port) {
        hdr.ipv4.ttl = hdr.ipv4.ttl + step;
        hdr.ipv4.diffserv = step[3:0] ++ 4w0xf;
        sm.egress_spec = (bit<9>)(port & 0x1ff);
        hits.count((bit<32>)step[4:0]);
        if (step > 10) {
            hdr.ipv4.identification = port ^ 0xffff;
        }
    }

    table classify {
        key = { hdr.ipv4.dstAddr : exact; }
        actions = { mark; }
        const entries = { 0x0a000002 : mark(20, 3); }
        const default_action = mark(5, 2);
    }

    apply {
        if (hdr.ipv4.isValid()) {
            classify.apply();
        }
    }
}

control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.ethernet); pkt.emit(hdr.ipv4); } }

V1Switch(P(), VC(), I(), E(), CC(), D()) main;
