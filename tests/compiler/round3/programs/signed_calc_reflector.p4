#include <core.p4>
#include <v1model.p4>
header ethernet_t { bit<48> dstAddr; bit<48> srcAddr; bit<16> etherType; }
header calc_t { bit<8> op; int<16> a; int<16> b; int<16> res; bit<32> h32; bit<16> h16; }
struct headers { ethernet_t ethernet; calc_t calc; }
struct metadata { }
parser MyParser(packet_in packet, out headers hdr, inout metadata meta, inout standard_metadata_t standard_metadata) {
  state start { packet.extract(hdr.ethernet); transition select(hdr.ethernet.etherType) { 0x1234: calc; default: accept; } }
  state calc { packet.extract(hdr.calc); transition accept; }
}
control MyVerifyChecksum(inout headers hdr, inout metadata meta) { apply { } }
control MyIngress(inout headers hdr, inout metadata meta, inout standard_metadata_t standard_metadata) {
  @name("acc") register<bit<16>>(4) accumulator;
  action reflect() { bit<48> tmp = hdr.ethernet.dstAddr; hdr.ethernet.dstAddr = hdr.ethernet.srcAddr; hdr.ethernet.srcAddr = tmp; standard_metadata.egress_spec = standard_metadata.ingress_port; }
  action op_add() { hdr.calc.res = hdr.calc.a + hdr.calc.b; reflect(); }
  action op_sub() { hdr.calc.res = hdr.calc.a - hdr.calc.b; reflect(); }
  action op_shr() { hdr.calc.res = hdr.calc.a >> 2; reflect(); }
  action op_sat() { hdr.calc.res = hdr.calc.a |+| hdr.calc.b; reflect(); }
  action op_acc() { bit<16> v; accumulator.read(v, 0); v = v + (bit<16>)hdr.calc.a; accumulator.write(0, v); hdr.calc.res = (int<16>)v; reflect(); }
  action op_stop() { mark_to_drop(standard_metadata); exit; }
  table calculate {
    key = { hdr.calc.op: ternary; }
    actions = { op_add; op_sub; op_shr; op_sat; op_acc; op_stop; NoAction; }
    const default_action = NoAction();
  }
  apply {
    if (hdr.calc.isValid()) {
      hash(hdr.calc.h32, HashAlgorithm.crc32, 32w0, { hdr.calc.a, hdr.calc.b }, 32w0xffffffff);
      hash(hdr.calc.h16, HashAlgorithm.identity, 16w0, { hdr.calc.op, 8w0x5a }, 17w65536);
      calculate.apply();
      hdr.calc.op = hdr.calc.op + 100;
    }
  }
}
control MyEgress(inout headers hdr, inout metadata meta, inout standard_metadata_t standard_metadata) { apply { } }
control MyComputeChecksum(inout headers hdr, inout metadata meta) { apply { } }
control MyDeparser(packet_out packet, in headers hdr) { apply { packet.emit(hdr.ethernet); packet.emit(hdr.calc); } }
V1Switch(MyParser(), MyVerifyChecksum(), MyIngress(), MyEgress(), MyComputeChecksum(), MyDeparser()) main;
