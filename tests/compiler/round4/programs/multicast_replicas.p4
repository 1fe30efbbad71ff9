// Multicast through the packet replication engine, driven by the STF mc_* commands: ingress
// asks for the group named by the packet; each copy's egress records the egress_rid and port
// of its replica and the instance type (5, replication, in BMv2's numbering).
#include <core.p4>
#include <v1model.p4>

header tag_t {
    bit<16> group;
    bit<16> rid;
    bit<8>  port;
    bit<8>  instance;
    bit<4>  nibble;
    bit<4>  pad;
}

struct headers { tag_t tag; }
struct metadata { }

parser P(packet_in pk, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start { pk.extract(hdr.tag); transition accept; }
}

control VC(inout headers hdr, inout metadata meta) { apply { } }

control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    apply {
        if (hdr.tag.group == 0) {
            sm.egress_spec = 1;
        } else {
            sm.mcast_grp = hdr.tag.group;
        }
    }
}

control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    apply {
        hdr.tag.rid = sm.egress_rid;
        hdr.tag.port = (bit<8>)sm.egress_port;
        hdr.tag.instance = (bit<8>)sm.instance_type;
    }
}

control CC(inout headers hdr, inout metadata meta) { apply { } }

control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr.tag); } }

V1Switch(P(), VC(), I(), E(), CC(), D()) main;
