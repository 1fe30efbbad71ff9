/*
 * Parser and deparser.  TCP/UDP are parsed only for IPv4 without options and
 * not fragmented after the first fragment, so L4 ports are meaningful.
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
            default: parse_tcp_first_option;
        }
    }

    state parse_tcp_first_option {
        packet.extract(hdr.tcp_first_option);
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
        packet.emit(hdr.udp);
    }
}

#endif  /* LB_PARSER_P4 */
