#include <core.p4>
#include <v1model.p4>
header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
header ipv4_t { bit<4> version; bit<4> ihl; bit<8> diffserv; bit<16> totalLen; bit<16> identification; bit<3> flags; bit<13> fragOffset; bit<8> ttl; bit<8> protocol; bit<16> hdrChecksum; bit<32> srcAddr; bit<32> dstAddr; }
header ipv4_options_t { varbit<320> options; }
header tcp_t { bit<16> srcPort; bit<16> dstPort; bit<32> seqNo; bit<32> ackNo; bit<4> dataOffset; bit<4> res; bit<8> flags; bit<16> window; bit<16> checksum; bit<16> urgentPtr; }
struct headers_t { ethernet_t ethernet; ipv4_t ipv4; ipv4_options_t ipv4_options; tcp_t tcp; }
struct meta_t { bit<16> tcpLength; bit<2> color; }
parser ParserImpl(packet_in packet, out headers_t hdr, inout meta_t meta, inout standard_metadata_t standard_metadata) {
  state start { packet.extract(hdr.ethernet); transition select(hdr.ethernet.etherType) { 16w0x800: parse_ipv4; default: accept; } }
  state parse_ipv4 {
    packet.extract(hdr.ipv4);
    verify(hdr.ipv4.ihl >= 5, error.HeaderTooShort);
    transition select(hdr.ipv4.ihl) { 5: dispatch; default: parse_options; }
  }
  state parse_options { packet.extract(hdr.ipv4_options, (bit<32>)(((bit<16>)hdr.ipv4.ihl - 5) * 32)); transition dispatch; }
  state dispatch { meta.tcpLength = hdr.ipv4.totalLen - 16w4 * (bit<16>)hdr.ipv4.ihl; transition select(hdr.ipv4.protocol) { 6: parse_tcp; default: accept; } }
  state parse_tcp { packet.extract(hdr.tcp); transition accept; }
}
control verifyChecksum(inout headers_t hdr, inout meta_t meta) {
  apply { verify_checksum(true, { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.totalLen, hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.fragOffset, hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, hdr.ipv4_options.options }, hdr.ipv4.hdrChecksum, HashAlgorithm.csum16); }
}
control ingressImpl(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t stdmeta) {
  @name("flow_bytes") counter(32w1024, CounterType.bytes) flowBytes;
  meter(32w64, MeterType.packets) port_meter;
  action set_out(bit<9> out_port) { stdmeta.egress_spec = out_port; }
  action my_drop() { mark_to_drop(stdmeta); }
  action nat(bit<32> new_src, bit<16> new_sport) { hdr.ipv4.srcAddr = new_src; hdr.tcp.srcPort = new_sport; flowBytes.count((bit<32>)new_sport[9:0]); }
  @id(0x02000101) table fwd { key = { hdr.ipv4.dstAddr: lpm; } actions = { set_out; my_drop; } default_action = my_drop; size = 512; support_timeout = true; }
  table snat { key = { hdr.ipv4.srcAddr: exact; hdr.tcp.srcPort: exact; } actions = { nat; @defaultonly NoAction; } const default_action = NoAction(); }
  apply {
    if (stdmeta.parser_error != error.NoError || stdmeta.checksum_error == 1) { my_drop(); return; }
    if (hdr.ipv4.isValid()) {
      switch (fwd.apply().action_run) {
        my_drop: { return; }
        default: { if (hdr.tcp.isValid()) { snat.apply(); } }
      }
      port_meter.execute_meter((bit<32>)stdmeta.ingress_port, meta.color);
      if (meta.color == 2) { my_drop(); }
    }
  }
}
control egressImpl(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t stdmeta) { apply { } }
control updateChecksum(inout headers_t hdr, inout meta_t meta) {
  apply {
    update_checksum(hdr.ipv4.isValid(), { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.totalLen, hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.fragOffset, hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, hdr.ipv4_options.options }, hdr.ipv4.hdrChecksum, HashAlgorithm.csum16);
    update_checksum_with_payload(hdr.tcp.isValid(), { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, 8w0, hdr.ipv4.protocol, meta.tcpLength, hdr.tcp.srcPort, hdr.tcp.dstPort, hdr.tcp.seqNo, hdr.tcp.ackNo, hdr.tcp.dataOffset, hdr.tcp.res, hdr.tcp.flags, hdr.tcp.window, hdr.tcp.urgentPtr }, hdr.tcp.checksum, HashAlgorithm.csum16);
  }
}
control deparserImpl(packet_out packet, in headers_t hdr) { apply { packet.emit(hdr.ethernet); packet.emit(hdr.ipv4); packet.emit(hdr.ipv4_options); packet.emit(hdr.tcp); } }
V1Switch(ParserImpl(), verifyChecksum(), ingressImpl(), egressImpl(), updateChecksum(), deparserImpl()) main;
