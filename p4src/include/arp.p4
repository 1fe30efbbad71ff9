/*
 * ARP replies generated in the data plane for the addresses the controller
 * lists: the VIPs and the switch's own interface addresses.
 */
#ifndef LB_ARP_P4
#define LB_ARP_P4

#include "headers.p4"

control ArpResponder(inout headers_t hdr,
                     inout local_metadata_t meta,
                     inout standard_metadata_t standard_metadata) {

    /* Turns the request into the reply, sent back out of the port it came in on. */
    action reply(mac_addr_t mac) {
        ipv4_addr_t target = hdr.arp.tpa;
        hdr.ethernet.dstAddr = hdr.ethernet.srcAddr;
        hdr.ethernet.srcAddr = mac;
        hdr.arp.oper = ARP_OPER_REPLY;
        hdr.arp.tha = hdr.arp.sha;
        hdr.arp.tpa = hdr.arp.spa;
        hdr.arp.sha = mac;
        hdr.arp.spa = target;
        standard_metadata.egress_spec = meta.ingress_port;
    }

    table arp_table {
        key = {
            hdr.arp.tpa : exact @name("target_addr");
        }
        actions = {
            reply;
            NoAction;
        }
        default_action = NoAction();
        size = ARP_TABLE_SIZE;
    }

    apply {
        if (hdr.arp.oper != ARP_OPER_REQUEST) {
            meta.drop_reason = DROP_ARP_NOT_ANSWERED;
        } else if (!arp_table.apply().hit) {
            meta.drop_reason = DROP_ARP_NOT_ANSWERED;
        }
    }
}

#endif  /* LB_ARP_P4 */
