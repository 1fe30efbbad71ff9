/*
 * TUN mode (LVS IP tunnelling): the packet is wrapped in an outer IPv4 header
 * (protocol 4) from the VIP to the backend, which decapsulates it and answers
 * the client directly.  A SYN whose first TCP option is an MSS larger than
 * TUNNEL_MAX_MSS is clamped, leaving room for the 20-byte outer header.
 */
#ifndef LB_FORWARDING_TUN_P4
#define LB_FORWARDING_TUN_P4

#include "headers.p4"

control TunnelEncap(inout headers_t hdr,
                    inout local_metadata_t meta,
                    inout standard_metadata_t standard_metadata) {
    apply {
        if (hdr.tcp.isValid() && hdr.tcp_first_option.isValid()) {
            if ((hdr.tcp.flags & TCP_FLAG_SYN) != 0
                    && hdr.tcp_first_option.kind == TCP_OPTION_MSS
                    && hdr.tcp_first_option.length == TCP_OPTION_MSS_LENGTH
                    && hdr.tcp_first_option.value > TUNNEL_MAX_MSS) {
                hdr.tcp_first_option.value = TUNNEL_MAX_MSS;
                meta.l4_checksum_update = true;
            }
        }
        hdr.tunnel_ipv4.setValid();
        hdr.tunnel_ipv4.version = 4;
        hdr.tunnel_ipv4.ihl = 5;
        hdr.tunnel_ipv4.diffserv = hdr.ipv4.diffserv;
        hdr.tunnel_ipv4.totalLen = hdr.ipv4.totalLen + 16w20;
        hdr.tunnel_ipv4.identification = 0;
        hdr.tunnel_ipv4.flags = 0;
        hdr.tunnel_ipv4.fragOffset = 0;
        hdr.tunnel_ipv4.ttl = TUNNEL_TTL;
        hdr.tunnel_ipv4.protocol = IP_PROTO_IPIP;
        hdr.tunnel_ipv4.hdrChecksum = 0;
        hdr.tunnel_ipv4.srcAddr = hdr.ipv4.dstAddr;
        hdr.tunnel_ipv4.dstAddr = meta.backend_addr;
    }
}

#endif  /* LB_FORWARDING_TUN_P4 */
