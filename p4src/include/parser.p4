/*
 * Parser and deparser.  TCP/UDP are parsed only for IPv4 without options and
 * not fragmented after the first fragment, so L4 ports are meaningful.  TCP
 * options are parsed as far as the splice stage translates them.
 */
#ifndef LB_PARSER_P4
#define LB_PARSER_P4

#include "headers.p4"

parser LbParser(packet_in packet,
                out headers_t hdr,
                inout local_metadata_t meta,
                inout standard_metadata_t standard_metadata) {

    state start {
        transition select(standard_metadata.ingress_port) {
            CPU_PORT: parse_packet_out;
            default: parse_ethernet;
        }
    }

    state parse_packet_out {
        packet.extract(hdr.packet_out);
        transition parse_ethernet;
    }

    state parse_ethernet {
        packet.extract(hdr.ethernet);
        transition select(hdr.ethernet.etherType) {
            ETHERTYPE_ARP: parse_arp;
            ETHERTYPE_IPV4: parse_ipv4;
            default: accept;
        }
    }

    state parse_arp {
        packet.extract(hdr.arp);
        transition accept;
    }

    state parse_ipv4 {
        packet.extract(hdr.ipv4);
        meta.route_dst = hdr.ipv4.dstAddr;
        meta.l4_length = hdr.ipv4.totalLen - 16w20;
        transition select(hdr.ipv4.ihl, hdr.ipv4.fragOffset, hdr.ipv4.protocol) {
            (4w5, 13w0, IP_PROTO_TCP): parse_tcp;
            (4w5, 13w0, IP_PROTO_UDP): parse_udp;
            default: accept;
        }
    }

    state parse_tcp {
        packet.extract(hdr.tcp);
        meta.l4_src_port = hdr.tcp.srcPort;
        meta.l4_dst_port = hdr.tcp.dstPort;
        /* dataOffset 0..5: no options (0..4 are malformed and left alone). */
        transition select(hdr.tcp.dataOffset) {
            4w0 &&& 4w0xC: accept;
            4w4 &&& 4w0xE: accept;
            default: parse_tcp_options;
        }
    }

    /*
     * The option layouts the splice stage translates (docs/dataplane.md, TCP
     * options): NOP NOP TS at the start (dataOffset >= 8), or NOP NOP SACK
     * filling the options exactly.  Anything else only has its first four
     * bytes parsed (MSS clamp).  dataOffset >= 6 guarantees the 4-byte
     * lookahead stays inside the TCP header.
     */
    state parse_tcp_options {
        transition select(hdr.tcp.dataOffset, packet.lookahead<bit<32>>()) {
            (4w8 &&& 4w8, TCP_OPTIONS_NOP_NOP_TIMESTAMP): parse_tcp_timestamp;
            (4w8, TCP_OPTIONS_NOP_NOP_SACK_1): parse_tcp_sack;
            (4w10, TCP_OPTIONS_NOP_NOP_SACK_2): parse_tcp_sack;
            (4w12, TCP_OPTIONS_NOP_NOP_SACK_3): parse_tcp_sack;
            (4w14, TCP_OPTIONS_NOP_NOP_SACK_4): parse_tcp_sack;
            default: parse_tcp_first_option;
        }
    }

    state parse_tcp_first_option {
        packet.extract(hdr.tcp_first_option);
        transition accept;
    }

    /* After NOP NOP TS, a SACK option may fill the rest (Linux's layout). */
    state parse_tcp_timestamp {
        packet.extract(hdr.tcp_timestamp);
        transition select(hdr.tcp.dataOffset) {
            4w11: parse_tcp_sack_after_timestamp;
            4w13: parse_tcp_sack_after_timestamp;
            4w15: parse_tcp_sack_after_timestamp;
            default: accept;
        }
    }

    /* dataOffset >= 11: at least 12 option bytes follow the timestamp. */
    state parse_tcp_sack_after_timestamp {
        transition select(hdr.tcp.dataOffset, packet.lookahead<bit<32>>()) {
            (4w11, TCP_OPTIONS_NOP_NOP_SACK_1): parse_tcp_sack;
            (4w13, TCP_OPTIONS_NOP_NOP_SACK_2): parse_tcp_sack;
            (4w15, TCP_OPTIONS_NOP_NOP_SACK_3): parse_tcp_sack;
            default: accept;
        }
    }

    /* The option length (checked against dataOffset above) gives the blocks. */
    state parse_tcp_sack {
        packet.extract(hdr.tcp_sack);
        transition parse_tcp_sack_block1;
    }

    state parse_tcp_sack_block1 {
        packet.extract(hdr.tcp_sack_block1);
        transition select(hdr.tcp_sack.length) {
            TCP_SACK_LENGTH_1: accept;
            default: parse_tcp_sack_block2;
        }
    }

    state parse_tcp_sack_block2 {
        packet.extract(hdr.tcp_sack_block2);
        transition select(hdr.tcp_sack.length) {
            TCP_SACK_LENGTH_2: accept;
            default: parse_tcp_sack_block3;
        }
    }

    state parse_tcp_sack_block3 {
        packet.extract(hdr.tcp_sack_block3);
        transition select(hdr.tcp_sack.length) {
            TCP_SACK_LENGTH_3: accept;
            default: parse_tcp_sack_block4;
        }
    }

    state parse_tcp_sack_block4 {
        packet.extract(hdr.tcp_sack_block4);
        transition accept;
    }

    state parse_udp {
        packet.extract(hdr.udp);
        meta.l4_src_port = hdr.udp.srcPort;
        meta.l4_dst_port = hdr.udp.dstPort;
        transition accept;
    }
}

control LbDeparser(packet_out packet, in headers_t hdr) {
    apply {
        packet.emit(hdr.packet_in);
        packet.emit(hdr.ethernet);
        packet.emit(hdr.arp);
        packet.emit(hdr.tunnel_ipv4);
        packet.emit(hdr.ipv4);
        packet.emit(hdr.tcp);
        packet.emit(hdr.tcp_first_option);
        packet.emit(hdr.tcp_timestamp);
        packet.emit(hdr.tcp_sack);
        packet.emit(hdr.tcp_sack_block1);
        packet.emit(hdr.tcp_sack_block2);
        packet.emit(hdr.tcp_sack_block3);
        packet.emit(hdr.tcp_sack_block4);
        packet.emit(hdr.udp);
    }
}

#endif  /* LB_PARSER_P4 */
