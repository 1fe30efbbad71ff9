#include <core.p4>
#include <v1model.p4>
#define CPU_PORT 255
@controller_header("packet_in") header packet_in_h { bit<9> ingress_port; bit<7> pad; }
@controller_header("packet_out") header packet_out_h { bit<9> egress_port; bit<7> pad; }
header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
header vlan_t { bit<3> pcp; bit<1> cfi; bit<12> vid; bit<16> etherType; }
header ipv4_t { bit<4> version; bit<4> ihl; bit<8> diffserv; bit<16> totalLen; bit<16> identification; bit<3> flags; bit<13> fragOffset; bit<8> ttl; bit<8> protocol; bit<16> hdrChecksum; bit<32> srcAddr; bit<32> dstAddr; }
header l4_t { bit<16> sport; bit<16> dport; }
struct headers_t { packet_out_h pout; packet_in_h pin; ethernet_t eth; vlan_t vlan; ipv4_t ipv4; l4_t l4; }
struct local_metadata_t { @field_list(0) bit<8> passes; bit<16> l4_sport; bit<16> l4_dport; }
parser ParserImpl(packet_in packet, out headers_t hdr, inout local_metadata_t meta, inout standard_metadata_t standard_metadata) {
  state start { transition select(standard_metadata.ingress_port) { CPU_PORT: parse_pout; default: parse_eth; } }
  state parse_pout { packet.extract(hdr.pout); transition parse_eth; }
  state parse_eth { packet.extract(hdr.eth); transition select(hdr.eth.etherType) { 0x8100 &&& 0xefff: parse_vlan; 0x0800: parse_ipv4; default: accept; } }
  state parse_vlan { packet.extract(hdr.vlan); transition select(hdr.vlan.etherType) { 0x0800: parse_ipv4; default: accept; } }
  state parse_ipv4 { packet.extract(hdr.ipv4); transition select(hdr.ipv4.fragOffset, hdr.ipv4.protocol) { (0, 6): parse_l4; (0, 17): parse_l4; default: accept; } }
  state parse_l4 { packet.extract(hdr.l4); meta.l4_sport = hdr.l4.sport; meta.l4_dport = hdr.l4.dport; transition accept; }
}
control verify_cs(inout headers_t hdr, inout local_metadata_t meta) { apply { } }
control ingress(inout headers_t hdr, inout local_metadata_t meta, inout standard_metadata_t standard_metadata) {
  action set_port(bit<9> port) { standard_metadata.egress_spec = port; }
  action flood(bit<16> grp) { standard_metadata.mcast_grp = grp; }
  action to_cpu() { standard_metadata.egress_spec = CPU_PORT; }
  action do_resubmit() { meta.passes = meta.passes + 1; resubmit_preserving_field_list(0); }
  @name("ingress.lag") table wcmp {
    key = { hdr.ipv4.dstAddr: lpm; hdr.ipv4.srcAddr: selector; meta.l4_sport: selector; meta.l4_dport: selector; }
    actions = { set_port; }
    @name("lag_selector") implementation = action_selector(HashAlgorithm.crc16, 32w1024, 32w14);
  }
  @name(".acl") table acl {
    key = { hdr.eth.etherType: ternary; hdr.ipv4.protocol: ternary @name("ip_proto"); meta.l4_dport: ternary; }
    actions = { to_cpu; do_resubmit; NoAction; }
    const entries = {
      (0x0800, 17, 0x0043 &&& 0xffff): to_cpu();
      (_, 6, 9999): do_resubmit();
      (0x0800, _, _): NoAction();
    }
    default_action = NoAction();
  }
  table l2 { key = { hdr.eth.dst: exact; hdr.vlan.vid: optional; } actions = { set_port; flood; } default_action = flood(1); }
  apply {
    if (hdr.pout.isValid()) { standard_metadata.egress_spec = hdr.pout.egress_port; hdr.pout.setInvalid(); exit; }
    if (hdr.ipv4.isValid() && meta.passes == 0) { wcmp.apply(); } else { l2.apply(); }
    if (meta.passes == 0) { acl.apply(); }
  }
}
control egress(inout headers_t hdr, inout local_metadata_t meta, inout standard_metadata_t standard_metadata) {
  apply {
    if (standard_metadata.egress_port == CPU_PORT) { hdr.pin.setValid(); hdr.pin.ingress_port = standard_metadata.ingress_port; hdr.pin.pad = 0; }
    if (standard_metadata.egress_rid != 0) { hdr.vlan.setValid(); hdr.vlan.vid = (bit<12>)standard_metadata.egress_rid; hdr.vlan.etherType = hdr.eth.etherType; hdr.eth.etherType = 0x8100; }
    if (standard_metadata.egress_port == standard_metadata.ingress_port && standard_metadata.mcast_grp != 0) { mark_to_drop(standard_metadata); }
    if (hdr.ipv4.isValid()) { hdr.ipv4.diffserv = meta.passes; }
  }
}
control compute_cs(inout headers_t hdr, inout local_metadata_t meta) { apply { } }
control deparser(packet_out packet, in headers_t hdr) { apply { packet.emit(hdr.pin); packet.emit(hdr.eth); packet.emit(hdr.vlan); packet.emit(hdr.ipv4); packet.emit(hdr.l4); } }
V1Switch(ParserImpl(), verify_cs(), ingress(), egress(), compute_cs(), deparser()) main;
