/*
 * IPv4 header checksum verification, and recomputation of every checksum the
 * pipeline may invalidate: IPv4 (TTL), the pushed tunnel header, and TCP/UDP
 * after NAT or MSS rewrites (pseudo header + segment, so always correct).
 */
#ifndef LB_CHECKSUMS_P4
#define LB_CHECKSUMS_P4

#include "headers.p4"

control LbVerifyChecksum(inout headers_t hdr, inout local_metadata_t meta) {
    apply {
        verify_checksum(hdr.ipv4.isValid() && hdr.ipv4.ihl == 5,
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.totalLen,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.fragOffset,
              hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.srcAddr, hdr.ipv4.dstAddr },
            hdr.ipv4.hdrChecksum, HashAlgorithm.csum16);
    }
}

control LbComputeChecksum(inout headers_t hdr, inout local_metadata_t meta) {
    apply {
        update_checksum(hdr.ipv4.isValid() && hdr.ipv4.ihl == 5,
            { hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.totalLen,
              hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.fragOffset,
              hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.srcAddr, hdr.ipv4.dstAddr },
            hdr.ipv4.hdrChecksum, HashAlgorithm.csum16);
        update_checksum(hdr.tunnel_ipv4.isValid(),
            { hdr.tunnel_ipv4.version, hdr.tunnel_ipv4.ihl, hdr.tunnel_ipv4.diffserv,
              hdr.tunnel_ipv4.totalLen, hdr.tunnel_ipv4.identification,
              hdr.tunnel_ipv4.flags, hdr.tunnel_ipv4.fragOffset, hdr.tunnel_ipv4.ttl,
              hdr.tunnel_ipv4.protocol, hdr.tunnel_ipv4.srcAddr, hdr.tunnel_ipv4.dstAddr },
            hdr.tunnel_ipv4.hdrChecksum, HashAlgorithm.csum16);
        /*
         * The option headers are listed in packet order.  At most some of them
         * are valid; BMv2 leaves the fields of invalid headers out of a
         * calculation, so this one list covers every parsed layout, and
         * "payload" is what follows the last parsed header.
         */
        update_checksum_with_payload(meta.l4_checksum_update && hdr.tcp.isValid(),
            { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, 8w0, hdr.ipv4.protocol, meta.l4_length,
              hdr.tcp.srcPort, hdr.tcp.dstPort, hdr.tcp.seqNo, hdr.tcp.ackNo,
              hdr.tcp.dataOffset, hdr.tcp.res, hdr.tcp.flags, hdr.tcp.window,
              hdr.tcp.urgentPtr,
              hdr.tcp_first_option.kind, hdr.tcp_first_option.length,
              hdr.tcp_first_option.value,
              hdr.tcp_timestamp.nops, hdr.tcp_timestamp.kind, hdr.tcp_timestamp.length,
              hdr.tcp_timestamp.tsval, hdr.tcp_timestamp.tsecr,
              hdr.tcp_sack.nops, hdr.tcp_sack.kind, hdr.tcp_sack.length,
              hdr.tcp_sack_block1.left, hdr.tcp_sack_block1.right,
              hdr.tcp_sack_block2.left, hdr.tcp_sack_block2.right,
              hdr.tcp_sack_block3.left, hdr.tcp_sack_block3.right,
              hdr.tcp_sack_block4.left, hdr.tcp_sack_block4.right },
            hdr.tcp.checksum, HashAlgorithm.csum16);
        /* A zero UDP checksum means "none" over IPv4 and stays zero. */
        update_checksum_with_payload(
            meta.l4_checksum_update && hdr.udp.isValid() && hdr.udp.checksum != 0,
            { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, 8w0, hdr.ipv4.protocol, meta.l4_length,
              hdr.udp.srcPort, hdr.udp.dstPort, hdr.udp.length },
            hdr.udp.checksum, HashAlgorithm.csum16);
    }
}

#endif  /* LB_CHECKSUMS_P4 */
