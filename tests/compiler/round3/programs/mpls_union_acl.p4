#include <core.p4>
#include <v1model.p4>
header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
header ipv4_t { bit<4> version; bit<4> ihl; bit<8> diffserv; bit<16> totalLen; bit<16> identification; bit<3> flags; bit<13> fragOffset; bit<8> ttl; bit<8> protocol; bit<16> hdrChecksum; bit<32> srcAddr; bit<32> dstAddr; }
header ipv6_t { bit<4> version; bit<8> tc; bit<20> fl; bit<16> plen; bit<8> nh; bit<8> hl; bit<128> src; bit<128> dst; }
header_union ip_t { ipv4_t v4; ipv6_t v6; }
header mpls_t { bit<20> label; bit<3> tc; bit<1> bos; bit<8> ttl; }
header udp_t { bit<16> sport; bit<16> dport; bit<16> len; bit<16> csum; }
struct headers { ethernet_t eth; mpls_t[3] mpls; ip_t ip; udp_t udp; }
struct learn_t { bit<48> src; bit<9> port; }
struct metadata { @field_list(1) bit<9> in_port; bit<16> l4len; bit<32> rnd; }
parser P(packet_in pkt, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
  state start { pkt.extract(hdr.eth); transition select(hdr.eth.etherType) { 0x8847: mpls; 0x0800: v4; 0x86dd: v6; default: accept; } }
  state mpls { pkt.extract(hdr.mpls.next); transition select(hdr.mpls.last.bos) { 1: after_mpls; default: mpls; } }
  state after_mpls { transition select(pkt.lookahead<bit<4>>()) { 4: v4; 6: v6; default: accept; } }
  state v4 { pkt.extract(hdr.ip.v4); transition select(hdr.ip.v4.protocol) { 17: udp; default: accept; } }
  state v6 { pkt.extract(hdr.ip.v6); transition select(hdr.ip.v6.nh) { 17: udp; default: accept; } }
  state udp { pkt.extract(hdr.udp); transition accept; }
}
control VC(inout headers hdr, inout metadata meta) {
  apply { verify_checksum(hdr.ip.v4.isValid(), { hdr.ip.v4.version, hdr.ip.v4.ihl, hdr.ip.v4.diffserv, hdr.ip.v4.totalLen, hdr.ip.v4.identification, hdr.ip.v4.flags, hdr.ip.v4.fragOffset, hdr.ip.v4.ttl, hdr.ip.v4.protocol, hdr.ip.v4.srcAddr, hdr.ip.v4.dstAddr }, hdr.ip.v4.hdrChecksum, HashAlgorithm.csum16); }
}
control Ing(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
  counter(8, CounterType.packets_and_bytes) port_cnt;
  register<bit<32>>(16) seen;
  register<bit<32>>(16) old_style;
  direct_counter(CounterType.packets) acl_hits;
  action drop() { mark_to_drop(sm); }
  action fwd(bit<9> port) { sm.egress_spec = port; }
  action pop_mpls() { hdr.mpls.pop_front(1); }
  action acl_deny() { acl_hits.count(); mark_to_drop(sm); }
  action acl_permit() { acl_hits.count(); }
  table l2 { key = { hdr.eth.dst: exact @name("dmac"); } actions = { fwd; drop; } default_action = drop(); }
  table acl { key = { hdr.ip.v4.isValid(): exact; hdr.ip.v4.srcAddr: ternary; hdr.udp.dport: range; } actions = { acl_deny; acl_permit; } default_action = acl_permit(); counters = acl_hits; }
  apply {
    meta.in_port = sm.ingress_port;
    port_cnt.count((bit<32>)sm.ingress_port);
    bit<32> v; seen.read(v, (bit<32>)sm.ingress_port); seen.write((bit<32>)sm.ingress_port, v + 1);
    old_style.write(0, 32w7);
    if (sm.parser_error != error.NoError) { drop(); exit; }
    if (hdr.mpls[0].isValid()) { pop_mpls(); if (!hdr.mpls[0].isValid()) { hdr.eth.etherType = hdr.ip.v4.isValid() ? 16w0x0800 : 16w0x86dd; } }
    switch (l2.apply().action_run) {
      fwd: { acl.apply(); }
      drop: { digest<learn_t>(1, { hdr.eth.src, sm.ingress_port }); }
    }
    if (hdr.ip.v4.isValid() && hdr.ip.v4.ttl == 1) { clone_preserving_field_list(CloneType.I2E, 100, 1); }
    random(meta.rnd, 32w5, 32w5);
    log_msg("ingress port {}", {sm.ingress_port});
  }
}
control Eg(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
  apply {
    if (sm.instance_type == 1) { hdr.eth.src = (bit<48>)meta.in_port; truncate(32w20); }
    else if (hdr.ip.v4.isValid()) { hdr.ip.v4.ttl = hdr.ip.v4.ttl - 1; hdr.ip.v4.diffserv = (bit<8>)meta.rnd; }
    if (hdr.udp.isValid() && hdr.ip.v4.isValid()) { meta.l4len = hdr.udp.len; }
  }
}
control CC(inout headers hdr, inout metadata meta) {
  apply {
    update_checksum(hdr.ip.v4.isValid(), { hdr.ip.v4.version, hdr.ip.v4.ihl, hdr.ip.v4.diffserv, hdr.ip.v4.totalLen, hdr.ip.v4.identification, hdr.ip.v4.flags, hdr.ip.v4.fragOffset, hdr.ip.v4.ttl, hdr.ip.v4.protocol, hdr.ip.v4.srcAddr, hdr.ip.v4.dstAddr }, hdr.ip.v4.hdrChecksum, HashAlgorithm.csum16);
    update_checksum_with_payload(hdr.udp.isValid() && hdr.ip.v4.isValid(), { hdr.ip.v4.srcAddr, hdr.ip.v4.dstAddr, 8w0, hdr.ip.v4.protocol, meta.l4len, hdr.udp.sport, hdr.udp.dport, hdr.udp.len }, hdr.udp.csum, HashAlgorithm.csum16);
  }
}
control D(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.eth); pkt.emit(hdr.mpls); pkt.emit(hdr.ip); pkt.emit(hdr.udp); } }
V1Switch(P(), VC(), Ing(), Eg(), CC(), D()) main;
