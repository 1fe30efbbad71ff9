/*
 * TCP splicing for L7 (content-aware) services, after Sung & Kim: once the
 * controller's splicer has read the client's request and opened its own
 * connection to the chosen backend, one entry per direction joins the two
 * TCP connections here, so that no later segment goes through the
 * controller.  A spliced segment gets new addresses and ports, and its
 * sequence, acknowledgement, SACK and timestamp numbers translated (all
 * deltas are added modulo 2^32; bit<32> arithmetic wraps by itself), and its
 * window rescaled.  SYNs and segments without an entry go to the controller;
 * FIN and RST are reported by a digest and still forwarded.
 * Contract: docs/dataplane.md, "TCP splicing".
 */
#ifndef LB_SPLICE_P4
#define LB_SPLICE_P4

#include "headers.p4"

control TcpSplicer(inout headers_t hdr,
                   inout local_metadata_t meta,
                   inout standard_metadata_t standard_metadata) {
    direct_counter(CounterType.packets_and_bytes) splice_to_server_counter;
    direct_counter(CounterType.packets_and_bytes) splice_to_client_counter;

    /* The same parameters serve both directions; see the contract for what
     * the controller puts in each. */
    action splice_connection(ipv4_addr_t src_addr, l4_port_t src_port,
                             ipv4_addr_t dst_addr, l4_port_t dst_port,
                             bit<32> seq_delta, bit<32> ack_delta,
                             bit<32> tsval_delta, bit<32> tsecr_delta,
                             bit<4> window_shift_left, bit<4> window_shift_right,
                             service_id_t service_id, backend_id_t backend_id) {
        meta.splice.src_addr = src_addr;
        meta.splice.src_port = src_port;
        meta.splice.dst_addr = dst_addr;
        meta.splice.dst_port = dst_port;
        meta.splice.seq_delta = seq_delta;
        meta.splice.ack_delta = ack_delta;
        meta.splice.tsval_delta = tsval_delta;
        meta.splice.tsecr_delta = tsecr_delta;
        meta.splice.window_shift_left = window_shift_left;
        meta.splice.window_shift_right = window_shift_right;
        meta.service_id = service_id;
        meta.backend_id = backend_id;
    }

    /* Client -> server: keyed by the client's connection to the VIP. */
    table splice_to_server_table {
        key = {
            hdr.ipv4.srcAddr : exact @name("client_addr");
            meta.l4_src_port : exact @name("client_port");
            hdr.ipv4.dstAddr : exact @name("vip");
            meta.l4_dst_port : exact @name("vip_port");
        }
        actions = {
            splice_connection;
            NoAction;
        }
        default_action = NoAction();
        size = SPLICE_TABLE_SIZE;
        support_timeout = true;
        counters = splice_to_server_counter;
    }

    /* Server -> client: keyed by the splicer's connection to the backend. */
    table splice_to_client_table {
        key = {
            hdr.ipv4.srcAddr : exact @name("backend_addr");
            meta.l4_src_port : exact @name("backend_port");
            hdr.ipv4.dstAddr : exact @name("splice_addr");
            meta.l4_dst_port : exact @name("splice_port");
        }
        actions = {
            splice_connection;
            NoAction;
        }
        default_action = NoAction();
        size = SPLICE_TABLE_SIZE;
        support_timeout = true;
        counters = splice_to_client_counter;
    }

    action set_splice_backend(service_id_t service_id) {
        meta.service_id = service_id;
    }

    /* Backend endpoints of L7 services: their segments that no splice entry
     * handles (the SYN-ACK to the splicer, above all) go to the controller. */
    table splice_backend_table {
        key = {
            hdr.ipv4.srcAddr : exact @name("backend_addr");
            meta.l4_src_port : exact @name("backend_port");
        }
        actions = {
            set_splice_backend;
            NoAction;
        }
        default_action = NoAction();
        size = SPLICE_BACKEND_TABLE_SIZE;
    }

    apply {
        if (!hdr.tcp.isValid()) {
            if (meta.is_vip) {
                /* Only TCP can be spliced: the service entry is wrong. */
                meta.drop_reason = DROP_BAD_SERVICE_CONFIG;
            }
        } else if (meta.is_vip) {
            if (splice_to_server_table.apply().hit) {
                meta.splice.direction = SPLICE_DIRECTION_TO_SERVER;
            } else {
                meta.packet_in_reason = PACKET_IN_REASON_SPLICE_CLIENT;
            }
        } else {
            if (splice_to_client_table.apply().hit) {
                meta.splice.direction = SPLICE_DIRECTION_TO_CLIENT;
            } else if (splice_backend_table.apply().hit) {
                meta.packet_in_reason = PACKET_IN_REASON_SPLICE_SERVER;
            }
        }

        if (meta.splice.direction != SPLICE_DIRECTION_NONE
                && (hdr.tcp.flags & TCP_FLAG_SYN) != 0) {
            /* Handshakes are the splicer's business, even on a spliced 4-tuple. */
            if (meta.splice.direction == SPLICE_DIRECTION_TO_SERVER) {
                meta.packet_in_reason = PACKET_IN_REASON_SPLICE_CLIENT;
            } else {
                meta.packet_in_reason = PACKET_IN_REASON_SPLICE_SERVER;
            }
        } else if (meta.splice.direction != SPLICE_DIRECTION_NONE) {
            if ((hdr.tcp.flags & (TCP_FLAG_FIN | TCP_FLAG_RST)) != 0) {
                /* The 4-tuple as received; nothing later writes these fields,
                 * which BMv2 reads at the end of ingress. */
                meta.splice_teardown.src_addr = hdr.ipv4.srcAddr;
                meta.splice_teardown.dst_addr = hdr.ipv4.dstAddr;
                meta.splice_teardown.src_port = hdr.tcp.srcPort;
                meta.splice_teardown.dst_port = hdr.tcp.dstPort;
                meta.splice_teardown.direction = meta.splice.direction;
                meta.splice_teardown.tcp_flags = hdr.tcp.flags;
                digest<splice_teardown_digest_t>(1, meta.splice_teardown);
            }

            hdr.ipv4.srcAddr = meta.splice.src_addr;
            hdr.ipv4.dstAddr = meta.splice.dst_addr;
            hdr.tcp.srcPort = meta.splice.src_port;
            hdr.tcp.dstPort = meta.splice.dst_port;
            meta.l4_src_port = meta.splice.src_port;
            meta.l4_dst_port = meta.splice.dst_port;
            meta.route_dst = meta.splice.dst_addr;

            hdr.tcp.seqNo = hdr.tcp.seqNo + meta.splice.seq_delta;
            if ((hdr.tcp.flags & TCP_FLAG_ACK) != 0) {
                hdr.tcp.ackNo = hdr.tcp.ackNo + meta.splice.ack_delta;
            }
            if (hdr.tcp_timestamp.isValid()) {
                hdr.tcp_timestamp.tsval = hdr.tcp_timestamp.tsval + meta.splice.tsval_delta;
                hdr.tcp_timestamp.tsecr = hdr.tcp_timestamp.tsecr + meta.splice.tsecr_delta;
            }
            /* SACK blocks acknowledge the peer's data: they move like ackNo. */
            if (hdr.tcp_sack_block1.isValid()) {
                hdr.tcp_sack_block1.left = hdr.tcp_sack_block1.left + meta.splice.ack_delta;
                hdr.tcp_sack_block1.right = hdr.tcp_sack_block1.right + meta.splice.ack_delta;
            }
            if (hdr.tcp_sack_block2.isValid()) {
                hdr.tcp_sack_block2.left = hdr.tcp_sack_block2.left + meta.splice.ack_delta;
                hdr.tcp_sack_block2.right = hdr.tcp_sack_block2.right + meta.splice.ack_delta;
            }
            if (hdr.tcp_sack_block3.isValid()) {
                hdr.tcp_sack_block3.left = hdr.tcp_sack_block3.left + meta.splice.ack_delta;
                hdr.tcp_sack_block3.right = hdr.tcp_sack_block3.right + meta.splice.ack_delta;
            }
            if (hdr.tcp_sack_block4.isValid()) {
                hdr.tcp_sack_block4.left = hdr.tcp_sack_block4.left + meta.splice.ack_delta;
                hdr.tcp_sack_block4.right = hdr.tcp_sack_block4.right + meta.splice.ack_delta;
            }

            /* The two sides may scale windows differently (RFC 7323): shift,
             * round a right shift up so an open window stays open, saturate. */
            bit<32> window = ((bit<32>) hdr.tcp.window) << meta.splice.window_shift_left;
            bit<32> round_up = (32w1 << meta.splice.window_shift_right) - 32w1;
            window = (window + round_up) >> meta.splice.window_shift_right;
            if (window > (bit<32>) TCP_MAX_WINDOW) {
                window = (bit<32>) TCP_MAX_WINDOW;
            }
            hdr.tcp.window = (bit<16>) window;

            meta.backend_selected = true;
            meta.l4_checksum_update = true;
        }
    }
}

#endif  /* LB_SPLICE_P4 */
