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

/* Timestamp option preceded by two NOPs (RFC 7323 appendix A layout). */
header tcp_timestamp_t {
    bit<16> nops;
    bit<8>  kind;
    bit<8>  length;
    bit<32> tsval;
    bit<32> tsecr;
}

/* SACK option preceded by two NOPs; its blocks follow as tcp_sack_block_t. */
header tcp_sack_t {
    bit<16> nops;
    bit<8>  kind;
    bit<8>  length;
}

header tcp_sack_block_t {
    bit<32> left;
    bit<32> right;
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
    tcp_timestamp_t     tcp_timestamp;
    tcp_sack_t          tcp_sack;
    tcp_sack_block_t    tcp_sack_block1;
    tcp_sack_block_t    tcp_sack_block2;
    tcp_sack_block_t    tcp_sack_block3;
    tcp_sack_block_t    tcp_sack_block4;
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

/* Digest "splice_teardown_digest_t": a FIN or RST of a spliced connection,
 * with the 4-tuple as received (before the splice rewrite). */
struct splice_teardown_digest_t {
    ipv4_addr_t src_addr;
    ipv4_addr_t dst_addr;
    l4_port_t   src_port;
    l4_port_t   dst_port;
    bit<8>      direction;  /* SPLICE_DIRECTION_* */
    bit<8>      tcp_flags;
}

/* The parameters of the splice entry a segment hit. */
struct splice_metadata_t {
    bit<8>      direction;  /* SPLICE_DIRECTION_NONE: no entry hit */
    ipv4_addr_t src_addr;
    l4_port_t   src_port;
    ipv4_addr_t dst_addr;
    l4_port_t   dst_port;
    bit<32>     seq_delta;
    bit<32>     ack_delta;
    bit<32>     tsval_delta;
    bit<32>     tsecr_delta;
    bit<4>      window_shift_left;
    bit<4>      window_shift_right;
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
    bit<8>        packet_in_reason;   /* PACKET_IN_REASON_NONE: not for the controller */
    bit<2>        packet_in_color;
    bool          sent_to_controller;
    new_connection_digest_t new_connection;
    splice_metadata_t splice;
    splice_teardown_digest_t splice_teardown;
}

#endif  /* LB_HEADERS_P4 */
