/*
 * Data-plane scheduling of new connections: the 5-tuple hashes (CRC-32) to
 * one of MAGLEV_TABLE_SIZE buckets of the service, whose entry (filled by the
 * controller with a Maglev population) names the backend.  The controller
 * learns the choice from a digest so it can pin the connection.
 */
#ifndef LB_MAGLEV_P4
#define LB_MAGLEV_P4

#include "headers.p4"

control MaglevScheduler(inout headers_t hdr,
                        inout local_metadata_t meta,
                        inout standard_metadata_t standard_metadata) {

    action set_maglev_backend(backend_id_t backend_id) {
        meta.backend_id = backend_id;
        meta.backend_selected = true;
    }

    table maglev_table {
        key = {
            meta.service_id : exact @name("service_id");
            meta.maglev_bucket : exact @name("bucket");
        }
        actions = {
            set_maglev_backend;
            NoAction;
        }
        default_action = NoAction();
        size = MAGLEV_ENTRIES;
    }

    apply {
        /* bucket = crc32(client_addr ++ vip ++ protocol ++ client_port ++ vip_port) % size */
        hash(meta.maglev_bucket, HashAlgorithm.crc32, (maglev_bucket_t) 0,
             { hdr.ipv4.srcAddr, hdr.ipv4.dstAddr, hdr.ipv4.protocol,
               meta.l4_src_port, meta.l4_dst_port },
             (bit<32>) MAGLEV_TABLE_SIZE);
        if (maglev_table.apply().hit) {
            /* BMv2 reads digest fields at the end of ingress, after NAT has
             * rewritten the IPv4 header: hence a copy no later stage touches. */
            meta.new_connection.client_addr = hdr.ipv4.srcAddr;
            meta.new_connection.vip = hdr.ipv4.dstAddr;
            meta.new_connection.protocol = hdr.ipv4.protocol;
            meta.new_connection.client_port = meta.l4_src_port;
            meta.new_connection.vip_port = meta.l4_dst_port;
            meta.new_connection.backend_id = meta.backend_id;
            meta.new_connection.service_id = meta.service_id;
            digest<new_connection_digest_t>(1, meta.new_connection);
        } else {
            meta.drop_reason = DROP_NO_BACKEND;
        }
    }
}

#endif  /* LB_MAGLEV_P4 */
