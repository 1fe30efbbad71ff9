/*
 * Backend id -> backend address and port.  Every mode routes towards the
 * backend's address; NAT and TUN then rewrite or encapsulate, DR does not.
 */
#ifndef LB_BACKENDS_P4
#define LB_BACKENDS_P4

#include "headers.p4"

control BackendResolver(inout headers_t hdr,
                        inout local_metadata_t meta,
                        inout standard_metadata_t standard_metadata) {

    action set_backend(ipv4_addr_t addr, l4_port_t port) {
        meta.backend_addr = addr;
        meta.backend_port = port;
        meta.route_dst = addr;
    }

    table backend_table {
        key = {
            meta.backend_id : exact @name("backend_id");
        }
        actions = {
            set_backend;
            NoAction;
        }
        default_action = NoAction();
        size = MAX_BACKENDS;
    }

    apply {
        if (!backend_table.apply().hit) {
            meta.drop_reason = DROP_NO_BACKEND;
        }
    }
}

#endif  /* LB_BACKENDS_P4 */
