/*
 * NAT mode (LVS masquerading): requests get the backend's address and port as
 * destination; replies from a backend endpoint get the VIP and service port
 * back as source.  L4 checksums are recomputed in LbComputeChecksum.
 */
#ifndef LB_FORWARDING_NAT_P4
#define LB_FORWARDING_NAT_P4

#include "headers.p4"

control NatForward(inout headers_t hdr,
                   inout local_metadata_t meta,
                   inout standard_metadata_t standard_metadata) {
    apply {
        hdr.ipv4.dstAddr = meta.backend_addr;
        if (hdr.tcp.isValid()) {
            hdr.tcp.dstPort = meta.backend_port;
        } else if (hdr.udp.isValid()) {
            hdr.udp.dstPort = meta.backend_port;
        }
        meta.l4_checksum_update = true;
    }
}

/*
 * Keyed by the backend endpoint (address, protocol, port): a backend endpoint
 * serves at most one NAT service, so its replies need no per-connection state
 * and are translated even before the controller has pinned the connection.
 */
control NatReverse(inout headers_t hdr,
                   inout local_metadata_t meta,
                   inout standard_metadata_t standard_metadata) {

    action rewrite_source_to_vip(ipv4_addr_t vip, l4_port_t vip_port,
                                 service_id_t service_id, backend_id_t backend_id) {
        hdr.ipv4.srcAddr = vip;
        meta.l4_src_port = vip_port;
        meta.service_id = service_id;
        meta.backend_id = backend_id;
        meta.backend_selected = true;
        meta.l4_checksum_update = true;
    }

    table nat_reverse_table {
        key = {
            hdr.ipv4.srcAddr : exact @name("backend_addr");
            hdr.ipv4.protocol : exact @name("protocol");
            meta.l4_src_port : exact @name("backend_port");
        }
        actions = {
            rewrite_source_to_vip;
            NoAction;
        }
        default_action = NoAction();
        size = NAT_REVERSE_TABLE_SIZE;
    }

    apply {
        if (nat_reverse_table.apply().hit) {
            if (hdr.tcp.isValid()) {
                hdr.tcp.srcPort = meta.l4_src_port;
            } else if (hdr.udp.isValid()) {
                hdr.udp.srcPort = meta.l4_src_port;
            }
        }
    }
}

#endif  /* LB_FORWARDING_NAT_P4 */
