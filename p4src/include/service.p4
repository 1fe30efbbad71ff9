/*
 * Service classification: is the destination a VIP, and which service is
 * (VIP, protocol, port)?  A VIP port no service claims is dropped.
 */
#ifndef LB_SERVICE_P4
#define LB_SERVICE_P4

#include "headers.p4"

control ServiceClassifier(inout headers_t hdr,
                          inout local_metadata_t meta,
                          inout standard_metadata_t standard_metadata) {
    table vip_table {
        key = {
            hdr.ipv4.dstAddr : exact @name("vip");
        }
        actions = {
            NoAction;
        }
        default_action = NoAction();
        size = VIP_TABLE_SIZE;
    }

    action set_service(service_id_t service_id, bit<8> forwarding_mode, bit<8> scheduler) {
        meta.service_id = service_id;
        meta.forwarding_mode = forwarding_mode;
        meta.scheduler = scheduler;
    }

    table service_table {
        key = {
            hdr.ipv4.dstAddr : exact @name("vip");
            hdr.ipv4.protocol : exact @name("protocol");
            meta.l4_dst_port : exact @name("port");
        }
        actions = {
            set_service;
            NoAction;
        }
        default_action = NoAction();
        size = MAX_SERVICES;
    }

    apply {
        if (vip_table.apply().hit) {
            meta.is_vip = true;
            if (!service_table.apply().hit) {
                meta.drop_reason = DROP_UNKNOWN_VIP_PORT;
            }
        }
    }
}

#endif  /* LB_SERVICE_P4 */
