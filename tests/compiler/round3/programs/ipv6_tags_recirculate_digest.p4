#include <core.p4>
#include <v1model.p4>
header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
header ipv6_t { bit<4> version; bit<8> trafficClass; bit<20> flowLabel; bit<16> payloadLen; bit<8> nextHdr; bit<8> hopLimit; bit<128> srcAddr; bit<128> dstAddr; }
header udp_t { bit<16> srcPort; bit<16> dstPort; bit<16> length_; bit<16> checksum; }
header tag_t { bit<8> hop; bit<8> next; }
header peek_t { bit<8> kind; }
struct headers { ethernet_t ethernet; tag_t[4] tags; ipv6_t ipv6; udp_t udp; }
enum bit<8> Reason { NEW_FLOW = 1, BAD_CSUM = 2 }
struct report_t { Reason reason; bit<128> src; bool looped; bit<16> port; }
struct metadata { @field_list(5) bit<8> rounds; @field_list(5, 9) bit<32> note; bool looped; }
parser MyParser(packet_in packet, out headers hdr, inout metadata meta, inout standard_metadata_t standard_metadata) {
  state start { packet.extract(hdr.ethernet); transition select(hdr.ethernet.etherType) { 0x88b5: tags; 0x86dd: ipv6; default: accept; } }
  state tags { packet.extract(hdr.tags.next); transition select(packet.lookahead<peek_t>().kind) { 0x60 &&& 0xf0: ipv6; default: tags; } }
  state ipv6 { packet.extract(hdr.ipv6); transition select(hdr.ipv6.nextHdr) { 17: udp; default: accept; } }
  state udp { packet.extract(hdr.udp); transition accept; }
}
control MyVerifyChecksum(inout headers hdr, inout metadata meta) {
  apply {
    verify_checksum_with_payload(hdr.udp.isValid(), { hdr.ipv6.srcAddr, hdr.ipv6.dstAddr, 16w0, hdr.udp.length_, 24w0, hdr.ipv6.nextHdr, hdr.udp.srcPort, hdr.udp.dstPort, hdr.udp.length_ }, hdr.udp.checksum, HashAlgorithm.csum16);
  }
}
control MyIngress(inout headers hdr, inout metadata meta, inout standard_metadata_t standard_metadata) {
  direct_counter(CounterType.packets_and_bytes) route_stats;
  action route(bit<9> port) { route_stats.count(); standard_metadata.egress_spec = port; hdr.ipv6.hopLimit = hdr.ipv6.hopLimit - 1; }
  action miss() { route_stats.count(); digest<report_t>(1, { Reason.NEW_FLOW, hdr.ipv6.srcAddr, meta.looped, hdr.udp.dstPort }); mark_to_drop(standard_metadata); }
  table routes { key = { hdr.ipv6.dstAddr: lpm; } actions = { route; miss; } const default_action = miss(); counters = route_stats; }
  apply {
    if (standard_metadata.checksum_error == 1) {
      digest<report_t>(1, { Reason.BAD_CSUM, hdr.ipv6.srcAddr, false, 0 });
      mark_to_drop(standard_metadata); return;
    }
    if (hdr.tags[0].isValid()) {
      bit<8> i = hdr.tags[0].next;
      if (i < 4 && hdr.tags[i].isValid()) { hdr.tags[i].hop = hdr.tags[i].hop + 1; }
      hdr.tags.push_front(1); hdr.tags[0].setValid(); hdr.tags[0] = { 0xaa, 0xbb };
    }
    if (standard_metadata.instance_type == 4) { meta.looped = true; meta.rounds = 2; }
    routes.apply();
    if (meta.rounds < 1 && standard_metadata.egress_spec == 9) { meta.rounds = meta.rounds + 1; meta.note = 0xfeed; }
  }
}
control MyEgress(inout headers hdr, inout metadata meta, inout standard_metadata_t standard_metadata) {
  apply {
    if (standard_metadata.instance_type == 2) { hdr.ethernet.src = (bit<48>)meta.note; hdr.ethernet.dst = (bit<48>)standard_metadata.packet_length; }
    else if (meta.rounds == 1 && standard_metadata.instance_type == 0) {
      recirculate_preserving_field_list(5);
      clone_preserving_field_list(CloneType.E2E, 50, 9);
    }
  }
}
control MyComputeChecksum(inout headers hdr, inout metadata meta) {
  apply {
    update_checksum_with_payload(hdr.udp.isValid(), { hdr.ipv6.srcAddr, hdr.ipv6.dstAddr, 16w0, hdr.udp.length_, 24w0, hdr.ipv6.nextHdr, hdr.udp.srcPort, hdr.udp.dstPort, hdr.udp.length_ }, hdr.udp.checksum, HashAlgorithm.csum16);
  }
}
control MyDeparser(packet_out packet, in headers hdr) { apply { packet.emit(hdr); } }
V1Switch(MyParser(), MyVerifyChecksum(), MyIngress(), MyEgress(), MyComputeChecksum(), MyDeparser()) main;
