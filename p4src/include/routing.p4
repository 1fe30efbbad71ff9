/*
 * Ordinary IPv4 routing: the router MAC check, longest-prefix match to a next
 * hop, and the next hop's port and Ethernet addresses.  Routes are looked up
 * on meta.route_dst: the destination address, or the chosen backend's.
 */
#ifndef LB_ROUTING_P4
#define LB_ROUTING_P4

#include "headers.p4"

/* Only frames addressed to one of the switch's MACs are routed. */
control RouterMacFilter(inout headers_t hdr,
                        inout local_metadata_t meta,
                        inout standard_metadata_t standard_metadata) {
    table router_mac_table {
        key = {
            hdr.ethernet.dstAddr : exact @name("dst_mac");
        }
        actions = {
            NoAction;
        }
        default_action = NoAction();
        size = ROUTER_MAC_TABLE_SIZE;
    }

    apply {
        if (!router_mac_table.apply().hit) {
            meta.drop_reason = DROP_NOT_ROUTER_MAC;
        }
    }
}

control Routing(inout headers_t hdr,
                inout local_metadata_t meta,
                inout standard_metadata_t standard_metadata) {

    action set_nexthop(nexthop_id_t nexthop_id) {
        meta.nexthop_id = nexthop_id;
    }

    table ipv4_lpm_table {
        key = {
            meta.route_dst : lpm @name("dst_addr");
        }
        actions = {
            set_nexthop;
            NoAction;
        }
        default_action = NoAction();
        size = ROUTE_TABLE_SIZE;
    }

    action forward(port_t port, mac_addr_t dst_mac, mac_addr_t src_mac) {
        standard_metadata.egress_spec = port;
        hdr.ethernet.dstAddr = dst_mac;
        hdr.ethernet.srcAddr = src_mac;
        hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
    }

    table nexthop_table {
        key = {
            meta.nexthop_id : exact @name("nexthop_id");
        }
        actions = {
            forward;
            NoAction;
        }
        default_action = NoAction();
        size = NEXTHOP_TABLE_SIZE;
    }

    apply {
        if (ipv4_lpm_table.apply().hit) {
            if (!nexthop_table.apply().hit) {
                meta.drop_reason = DROP_NO_ROUTE;
            }
        } else {
            meta.drop_reason = DROP_NO_ROUTE;
        }
    }
}

#endif  /* LB_ROUTING_P4 */
