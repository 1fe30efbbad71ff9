/*
 * Per-connection consistency (after SilkRoad): an exact match on the 5-tuple
 * pins an established connection to its backend, whatever happens to the
 * service's pool afterwards.  Entries are installed by the controller (from a
 * digest or a packet-in) and age out through idle timeouts.
 * L7 services do not use it: their connections live in the splice tables
 * (splice.p4).
 */
#ifndef LB_CONNECTIONS_P4
#define LB_CONNECTIONS_P4

#include "headers.p4"

control ConnectionTracker(inout headers_t hdr,
                          inout local_metadata_t meta,
                          inout standard_metadata_t standard_metadata) {

    action set_connection_backend(backend_id_t backend_id) {
        meta.backend_id = backend_id;
        meta.backend_selected = true;
    }

    table connection_table {
        key = {
            hdr.ipv4.srcAddr : exact @name("client_addr");
            hdr.ipv4.dstAddr : exact @name("vip");
            hdr.ipv4.protocol : exact @name("protocol");
            meta.l4_src_port : exact @name("client_port");
            meta.l4_dst_port : exact @name("vip_port");
        }
        actions = {
            set_connection_backend;
            NoAction;
        }
        default_action = NoAction();
        size = CONNECTION_TABLE_SIZE;
        support_timeout = true;
    }

    apply {
        connection_table.apply();
    }
}

#endif  /* LB_CONNECTIONS_P4 */
