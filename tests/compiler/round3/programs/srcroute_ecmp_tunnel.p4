#define V1MODEL_VERSION 20200408
#include <core.p4>
#include <v1model.p4>
typedef bit<9> port_t;
header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
header srcRoute_t { bit<1> bos; bit<15> port; }
header ipv4_t { bit<4> version; bit<4> ihl; bit<8> diffserv; bit<16> totalLen; bit<16> identification; bit<3> flags; bit<13> fragOffset; bit<8> ttl; bit<8> protocol; bit<16> hdrChecksum; bit<32> srcAddr; bit<32> dstAddr; }
header tcp_t { bit<16> sport; bit<16> dport; bit<32> seq; bit<32> ack; bit<4> off; bit<4> res; bit<8> flags; bit<16> win; bit<16> csum; bit<16> urg; }
struct headers { ethernet_t ethernet; srcRoute_t[4] srcRoutes; ipv4_t outer; ipv4_t ipv4; tcp_t tcp; }
struct metadata { bit<16> ecmp_sel; bit<32> meter_color; bit<16> tcp_len; }
parser MyParser(packet_in packet, out headers hdr, inout metadata meta, inout standard_metadata_t standard_metadata) {
  state start { packet.extract(hdr.ethernet); transition select(hdr.ethernet.etherType) { 0x1234: parse_srcRouting; 0x0800: parse_ipv4; default: accept; } }
  state parse_srcRouting { packet.extract(hdr.srcRoutes.next); transition select(hdr.srcRoutes.last.bos) { 1: parse_ipv4; default: parse_srcRouting; } }
  state parse_ipv4 { packet.extract(hdr.ipv4); verify(hdr.ipv4.ihl == 5, error.HeaderTooShort); transition select(hdr.ipv4.protocol) { 6: parse_tcp; default: accept; } }
  state parse_tcp { packet.extract(hdr.tcp); transition accept; }
}
control MyVerifyChecksum(inout headers hdr, inout metadata meta) { apply { } }
control MyIngress(inout headers hdr, inout metadata meta, inout standard_metadata_t standard_metadata) {
  register<bit<48>, bit<8>>(256) last_seen;
  counter<bit<8>>(256, CounterType.bytes) per_proto;
  meter<bit<16>>(32w16, MeterType.packets) rate;
  direct_meter<bit<32>>(MeterType.bytes) dm;
  action drop() { mark_to_drop(standard_metadata); }
  action srcRoute_nhop() { standard_metadata.egress_spec = (bit<9>)hdr.srcRoutes[0].port; hdr.srcRoutes.pop_front(1); }
  action srcRoute_finish() { hdr.ethernet.etherType = 0x0800; }
  action set_ecmp(bit<16> base, bit<32> count) {
    hash(meta.ecmp_sel, HashAlgorithm.crc16, base, { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, hdr.ipv4.protocol, hdr.tcp.sport, hdr.tcp.dport }, count);
  }
  action set_nhop(bit<48> dmac, port_t port) { hdr.ethernet.src = hdr.ethernet.dst; hdr.ethernet.dst = dmac; standard_metadata.egress_spec = port; hdr.ipv4.ttl = hdr.ipv4.ttl |-| 1; }
  action encap(bit<32> src, bit<32> dst) {
    hdr.outer.setValid(); hdr.outer = { 4, 5, 0, hdr.ipv4.totalLen + 20, 0, 0, 0, 64, 4, 0, src, dst };
  }
  action mark(bit<32> c) { dm.read(meta.meter_color); }
  table ecmp_group { key = { hdr.ipv4.dstAddr: lpm; } actions = { drop; set_ecmp; } size = 1024; }
  table ecmp_nhop { key = { meta.ecmp_sel: exact; } actions = { drop; set_nhop; } size = 2; }
  table tunnel { key = { hdr.ipv4.dstAddr: exact; } actions = { encap; NoAction; } default_action = NoAction(); }
  table policer { key = { hdr.ipv4.srcAddr: lpm @name("src"); } actions = { mark; NoAction; } meters = dm; }
  apply {
    if (hdr.srcRoutes[0].isValid()) {
      if (hdr.srcRoutes[0].bos == 1) { srcRoute_finish(); }
      srcRoute_nhop();
      if (hdr.ipv4.isValid()) { hdr.ipv4.ttl = hdr.ipv4.ttl - 1; }
      return;
    }
    if (!hdr.ipv4.isValid()) { drop(); return; }
    per_proto.count(hdr.ipv4.protocol);
    last_seen.write(hdr.ipv4.protocol, standard_metadata.ingress_global_timestamp);
    rate.execute_meter((bit<16>)standard_metadata.ingress_port, meta.meter_color);
    if (ecmp_group.apply().hit) { ecmp_nhop.apply(); }
    policer.apply();
    if (tunnel.apply().hit) { meta.tcp_len = 0; }
    if (meta.meter_color == V1MODEL_METER_COLOR_RED) { drop(); }
  }
}
control MyEgress(inout headers hdr, inout metadata meta, inout standard_metadata_t standard_metadata) {
  apply { if (hdr.tcp.isValid()) { meta.tcp_len = hdr.ipv4.totalLen - 16w20; } }
}
control MyComputeChecksum(inout headers hdr, inout metadata meta) {
  apply {
    update_checksum(hdr.ipv4.isValid(), { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.totalLen, hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.fragOffset, hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.srcAddr, hdr.ipv4.dstAddr }, hdr.ipv4.hdrChecksum, HashAlgorithm.csum16);
    update_checksum(hdr.outer.isValid(), { hdr.outer.version, hdr.outer.ihl, hdr.outer.diffserv, hdr.outer.totalLen, hdr.outer.identification, hdr.outer.flags, hdr.outer.fragOffset, hdr.outer.ttl, hdr.outer.protocol, hdr.outer.srcAddr, hdr.outer.dstAddr }, hdr.outer.hdrChecksum, HashAlgorithm.csum16);
    update_checksum_with_payload(hdr.tcp.isValid(), { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, 8w0, hdr.ipv4.protocol, meta.tcp_len, hdr.tcp.sport, hdr.tcp.dport, hdr.tcp.seq, hdr.tcp.ack, hdr.tcp.off, hdr.tcp.res, hdr.tcp.flags, hdr.tcp.win, hdr.tcp.urg }, hdr.tcp.csum, HashAlgorithm.csum16);
  }
}
control MyDeparser(packet_out packet, in headers hdr) { apply { packet.emit(hdr); } }
V1Switch(MyParser(), MyVerifyChecksum(), MyIngress(), MyEgress(), MyComputeChecksum(), MyDeparser()) main;
