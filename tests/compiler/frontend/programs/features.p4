#define V1MODEL_VERSION 20200408
#include <core.p4>
#include <v1model.p4>

const bit<16> TYPE_IPV4 = 0x800;
#define MAX 4
typedef bit<9> egressSpec_t;
typedef bit<48> macAddr_t;
typedef bit<32> ip4Addr_t;
type bit<32> MyId_t;

enum bit<8> Proto { TCP = 6, UDP = 17 }
enum Color { RED, GREEN }

header ethernet_t { macAddr_t dstAddr; macAddr_t srcAddr; bit<16> etherType; }
header ipv4_t {
    bit<4> version; bit<4> ihl; bit<8> diffserv; bit<16> totalLen; bit<16> identification;
    bit<3> flags; bit<13> fragOffset; bit<8> ttl; Proto protocol; bit<16> hdrChecksum;
    ip4Addr_t srcAddr; ip4Addr_t dstAddr;
}
header opt_t { varbit<320> options; }
header vlan_t { bit<3> pcp; bit<1> cfi; bit<12> vid; bit<16> etherType; }
header tcp_t { bit<16> sport; bit<16> dport; }
header udp_t { bit<16> sport; bit<16> dport; }
header_union l4_t { tcp_t tcp; udp_t udp; }

@controller_header("packet_in")
header packet_in_t { bit<16> ingress_port; }

struct metadata {
    @field_list(1) bit<32> x;
    bit<16> l4port;
    MyId_t id;
    Color c;
    bool flag;
}
struct headers {
    packet_in_t pin;
    ethernet_t ethernet;
    vlan_t[MAX] vlans;
    ipv4_t ipv4;
    opt_t opt;
    l4_t l4;
}
struct digest_t { macAddr_t mac; egressSpec_t port; }

parser MyParser(packet_in packet, out headers hdr, inout metadata meta,
                inout standard_metadata_t standard_metadata) {
    value_set<bit<16>>(4) extra_types;
    state start {
        packet.extract(hdr.ethernet);
        transition select(hdr.ethernet.etherType) {
            0x8100 &&& 0xEFFF: parse_vlan;
            TYPE_IPV4: parse_ipv4;
            extra_types: parse_ipv4;
            0x0000 .. 0x05FF: accept;
            default: accept;
        }
    }
    state parse_vlan {
        packet.extract(hdr.vlans.next);
        verify(hdr.vlans.lastIndex < MAX - 1, error.StackOutOfBounds);
        transition select(hdr.vlans.last.etherType) {
            0x8100: parse_vlan;
            TYPE_IPV4: parse_ipv4;
            _: accept;
        }
    }
    state parse_ipv4 {
        packet.extract(hdr.ipv4);
        packet.extract(hdr.opt, (bit<32>)(((bit<16>)hdr.ipv4.ihl - 5) * 32));
        bit<8> peek = packet.lookahead<bit<8>>();
        packet.advance(0);
        transition select(hdr.ipv4.protocol, hdr.ipv4.fragOffset) {
            (Proto.TCP, 0): parse_tcp;
            (Proto.UDP, _): parse_udp;
            default: accept;
        }
    }
    state parse_tcp { packet.extract(hdr.l4.tcp); meta.l4port = hdr.l4.tcp.dport; transition accept; }
    state parse_udp { packet.extract(hdr.l4.udp); transition accept; }
}

control MyVerifyChecksum(inout headers hdr, inout metadata meta) {
    apply {
        verify_checksum(hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.totalLen,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.fragOffset, hdr.ipv4.ttl,
              hdr.ipv4.protocol, hdr.ipv4.srcAddr, hdr.ipv4.dstAddr },
            hdr.ipv4.hdrChecksum, HashAlgorithm.csum16);
    }
}

bit<16> add16(in bit<16> a, in bit<16> b) { return a + b; }

control Sub(inout bit<32> v) {
    apply { v = v + 1; }
}

control MyIngress(inout headers hdr, inout metadata meta,
                  inout standard_metadata_t standard_metadata) {
    counter(1024, CounterType.packets_and_bytes) port_counter;
    direct_counter(CounterType.packets) dc;
    meter(32w16, MeterType.bytes) m;
    direct_meter<bit<2>>(MeterType.packets) dm;
    register<bit<32>, bit<8>>(256) reg;
    register<bit<48>>(16) reg2;
    action_selector(HashAlgorithm.crc16, 32w64, 32w14) sel;
    Sub() sub;
    bit<32> tmp = 0;
    bit<2> color;

    action drop() { mark_to_drop(standard_metadata); }
    action ipv4_forward(macAddr_t dstAddr, egressSpec_t port) {
        standard_metadata.egress_spec = port;
        hdr.ethernet.srcAddr = hdr.ethernet.dstAddr;
        hdr.ethernet.dstAddr = dstAddr;
        hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
        dm.read(color);
    }
    action set_x(bit<32> x) { meta.x = x; dc.count(); }
    action learn() { digest<digest_t>(1, { hdr.ethernet.srcAddr, standard_metadata.ingress_port }); }
    action with_dir(inout bit<32> v, bit<8> k) { v = v + (bit<32>)k; }
    table ipv4_lpm {
        key = { hdr.ipv4.dstAddr: lpm; hdr.ipv4.isValid(): exact @name("valid"); }
        actions = { ipv4_forward; drop; NoAction; }
        size = 1024;
        default_action = drop();
        meters = dm;
        support_timeout = true;
    }
    table t_dc {
        key = { meta.x: ternary; meta.l4port: range; hdr.ethernet.etherType: optional; }
        actions = { set_x; @defaultonly NoAction; }
        counters = dc;
        const default_action = NoAction();
        const entries = {
            (0x1 &&& 0xF, 1 .. 10, 0x800): set_x(1);
            priority = 5: (_, _, _): set_x(2);
            @priority(3) (5, 3, _): set_x(3);
        }
    }
    table t_sel {
        key = { meta.x: exact; hdr.ipv4.srcAddr: selector; }
        actions = { set_x; with_dir(tmp); }
        implementation = sel;
    }
    table t_prof {
        key = { meta.x: exact; }
        actions = { set_x; learn; }
        implementation = action_profile(128);
    }
    apply {
        if (hdr.ipv4.isValid() && hdr.ipv4.ttl > 1) {
            switch (ipv4_lpm.apply().action_run) {
                ipv4_forward: { port_counter.count((bit<32>)standard_metadata.ingress_port); }
                drop: { exit; }
                default: {}
            }
        }
        if (!t_dc.apply().hit) { t_sel.apply(); }
        if (t_prof.apply().miss) { return; }
        bit<32> r;
        reg.read(r, 8w3);
        reg.write(3, r |+| 1);
        reg2.write(2, 48w5);
        m.execute_meter(32w1, color);
        hash(meta.x, HashAlgorithm.crc32, 32w0, { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr }, 32w1024);
        random(meta.x, 0, 100);
        meta.l4port = add16(meta.l4port, 1);
        meta.id = (MyId_t)meta.x;
        meta.c = Color.RED;
        meta.flag = meta.c == Color.GREEN;
        hdr.vlans.push_front(1);
        hdr.vlans.pop_front(1);
        hdr.vlans[0].setValid();
        hdr.vlans[0] = { 1, 0, 12, 0x800 };
        hdr.ethernet = { dstAddr = 1, srcAddr = 2, etherType = 3 };
        bit<64> cat = hdr.ethernet.srcAddr ++ hdr.ethernet.etherType;
        bit<8> s = cat[63:56] ^ (bit<8>)hdr.ipv4.protocol;
        int<8> neg = -8s3;
        tmp = (meta.x > 5) ? meta.x : 32w0;
        tmp = tmp << 2 >> 1;
        tmp = tmp |-| 3 & 0xff | 1;
        sub.apply(tmp);
        clone(CloneType.I2E, 100);
        clone_preserving_field_list(CloneType.E2E, 5, 1);
        resubmit_preserving_field_list(1);
        truncate(64);
        log_msg("x={}", {meta.x});
        assert(tmp != 0);
        if (hdr.l4.isValid()) { hdr.l4.tcp.setInvalid(); }
        hdr.pin.setValid();
        hdr.pin.ingress_port = (bit<16>)standard_metadata.ingress_port;
        with_dir(tmp, 3);
        standard_metadata.egress_spec = standard_metadata.ingress_port;
    }
}

control MyEgress(inout headers hdr, inout metadata meta, inout standard_metadata_t standard_metadata) {
    apply {
        if (standard_metadata.instance_type == 1) { recirculate_preserving_field_list(1); }
    }
}

control MyComputeChecksum(inout headers hdr, inout metadata meta) {
    apply {
        update_checksum(hdr.ipv4.isValid(),
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.srcAddr, hdr.ipv4.dstAddr },
            hdr.ipv4.hdrChecksum, HashAlgorithm.csum16);
    }
}

control MyDeparser(packet_out packet, in headers hdr) {
    apply {
        packet.emit(hdr.pin);
        packet.emit(hdr.ethernet);
        packet.emit(hdr.vlans);
        packet.emit(hdr.ipv4);
        packet.emit(hdr.l4);
    }
}

V1Switch(MyParser(), MyVerifyChecksum(), MyIngress(), MyEgress(), MyComputeChecksum(), MyDeparser()) main;
