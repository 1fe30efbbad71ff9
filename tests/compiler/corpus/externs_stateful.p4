/* Counters, meters and registers: indirect and direct, with hashing. */
#include <core.p4>
#include <v1model.p4>
#include "common_headers.p4"

struct headers {
    ethernet_t ethernet;
    ipv4_t     ipv4;
}

struct metadata {
    bit<32> flow_index;
    bit<32> packets_seen;
    bit<2>  color;
    bit<8>  direct_color;
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
        transition accept;
    }
}

control MyVerifyChecksum(inout headers hdr, inout metadata meta) {
    apply { }
}

control MyIngress(inout headers hdr, inout metadata meta,
                  inout standard_metadata_t standard_metadata) {
    counter(1024, CounterType.packets_and_bytes) flow_counter;
    direct_counter(CounterType.packets) port_counter;
    meter(256, MeterType.bytes) flow_meter;
    direct_meter<bit<8>>(MeterType.packets) port_meter;
    register<bit<32>>(1024) seen;

    action count_port(bit<9> port) {
        standard_metadata.egress_spec = port;
        port_meter.read(meta.direct_color);
    }

    table port_table {
        key = {
            standard_metadata.ingress_port: exact;
        }
        actions = {
            count_port;
            NoAction;
        }
        counters = port_counter;
        meters = port_meter;
        default_action = NoAction();
    }

    apply {
        hash(meta.flow_index, HashAlgorithm.crc32, 32w0,
             { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, hdr.ipv4.protocol }, 32w1024);
        flow_counter.count(meta.flow_index);
        flow_meter.execute_meter(meta.flow_index, meta.color);
        seen.read(meta.packets_seen, meta.flow_index);
        seen.write(meta.flow_index, meta.packets_seen + 1);
        port_table.apply();
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
        packet.emit(hdr);
    }
}

V1Switch(MyParser(), MyVerifyChecksum(), MyIngress(), MyEgress(), MyComputeChecksum(),
         MyDeparser()) main;
