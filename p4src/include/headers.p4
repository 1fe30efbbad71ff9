/*
 * Packet headers, the controller headers, per-packet metadata and the digest
 * sent to the controller for each connection scheduled in the data plane.
 */
#ifndef LB_HEADERS_P4
#define LB_HEADERS_P4

#include "defines.p4"

/* Prepended to packets sent to the controller (egress port CPU_PORT). */
@controller_header("packet_in")
header packet_in_header_t {
    bit<16> ingress_port;  /* port the packet arrived on (as pretended by a packet-out) */
    bit<8>  reason;        /* PACKET_IN_REASON_* */
}

/* Prepended by the controller to packets it sends (they arrive on CPU_PORT). */
@controller_header("packet_out")
header packet_out_header_t {
    bit<16> egress_port;   /* PACKET_OUT_MODE_DIRECT: port to send the packet out of */
    bit<16> ingress_port;  /* PACKET_OUT_MODE_PIPELINE: port the packet is processed as arriving on */
    bit<8>  mode;          /* PACKET_OUT_MODE_* */
}

header ethernet_t {
    mac_addr_t dstAddr;
    mac_addr_t srcAddr;
    bit<16>    etherType;
}

/* ARP for IPv4 over Ethernet (the only kind answered). */
header arp_t {
    bit<16>     htype;
    bit<16>     ptype;
    bit<8>      hlen;
    bit<8>      plen;
    bit<16>     oper;
    mac_addr_t  sha;
    ipv4_addr_t spa;
    mac_addr_t  tha;
    ipv4_addr_t tpa;
}

header ipv4_t {
    bit<4>      version;
    bit<4>      ihl;
    bit<8>      diffserv;
    bit<16>     totalLen;
    bit<16>     identification;
    bit<3>      flags;
    bit<13>     fragOffset;
    bit<8>      ttl;
    bit<8>      protocol;
    bit<16>     hdrChecksum;
    ipv4_addr_t srcAddr;
    ipv4_addr_t dstAddr;
}

header tcp_t {
    l4_port_t srcPort;
    l4_port_t dstPort;
    bit<32>   seqNo;
    bit<32>   ackNo;
    bit<4>    dataOffset;
    bit<4>    res;
    bit<8>    flags;
    bit<16>   window;
    bit<16>   checksum;
    bit<16>   urgentPtr;
}

/*
 * The first four bytes of the TCP options, extracted whenever the TCP header
 * has options.  They are an MSS option only when kind == 2 and length == 4
 * (the usual layout of a SYN); otherwise they are re-emitted untouched.
 */
header tcp_first_option_t {
    bit<8>  kind;
    bit<8>  length;
    bit<16> value;
}

header udp_t {
    l4_port_t srcPort;
    l4_port_t dstPort;
    bit<16>   length;
    bit<16>   checksum;
}

struct headers_t {
    packet_out_header_t packet_out;
    packet_in_header_t  packet_in;
    ethernet_t          ethernet;
    arp_t               arp;
    ipv4_t              tunnel_ipv4;  /* outer header pushed in TUN mode */
    ipv4_t              ipv4;
    tcp_t               tcp;
    tcp_first_option_t  tcp_first_option;
    udp_t               udp;
}

/* Digest (learn list) "new_connection_digest_t": a connection the data plane
 * scheduled by Maglev, for the controller to pin in connection_table. */
struct new_connection_digest_t {
    ipv4_addr_t  client_addr;
    ipv4_addr_t  vip;
    bit<8>       protocol;
    l4_port_t    client_port;
    l4_port_t    vip_port;
    backend_id_t backend_id;
    service_id_t service_id;
}

struct local_metadata_t {
    port_t        ingress_port;       /* standard ingress port, or the one a packet-out names */
    bool          packet_out_direct;  /* egress port already chosen by the controller */
    drop_reason_t drop_reason;
    l4_port_t     l4_src_port;        /* 0 when neither TCP nor UDP was parsed */
    l4_port_t     l4_dst_port;
    bit<16>       l4_length;          /* TCP/UDP length for the pseudo header */
    bool          l4_checksum_update;
    ipv4_addr_t   route_dst;          /* address the IPv4 route lookup uses */
    nexthop_id_t  nexthop_id;
    bool          is_vip;
    service_id_t  service_id;
    bit<8>        forwarding_mode;    /* FWD_MODE_* */
    bit<8>        scheduler;          /* SCHED_* */
    bool          backend_selected;
    backend_id_t  backend_id;
    ipv4_addr_t   backend_addr;
    l4_port_t     backend_port;
    maglev_bucket_t maglev_bucket;
    bit<2>        packet_in_color;
    bool          sent_to_controller;
    new_connection_digest_t new_connection;
}

#endif  /* LB_HEADERS_P4 */
