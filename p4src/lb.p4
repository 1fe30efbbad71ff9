/*
 * Web server cluster load balancer (after Sung & Kim) for v1model / BMv2
 * simple_switch_grpc (--cpu-port 255).
 *
 * Ingress, in order:
 *   packet-out handling -> ARP responder | IPv4:
 *   router MAC check -> TTL check -> service classification ->
 *     L4 VIP traffic: connection table -> (miss) Maglev or controller scheduling
 *                     -> backend -> NAT rewrite | DR | TUN encapsulation
 *     L7 VIP traffic: splice (client -> server) or to the controller
 *     other traffic:  splice (server -> client), to the controller (L7
 *                     backend without splice), or NAT reverse translation
 *   -> packet-in (metered) | routing (LPM + next hop) -> counters.
 * Drops only set meta.drop_reason; the packet is marked and counted once at
 * the end.  The control-plane contract is docs/dataplane.md.
 */
#include <core.p4>
#include <v1model.p4>

#include "include/defines.p4"
#include "include/headers.p4"
#include "include/parser.p4"
#include "include/checksums.p4"
#include "include/controller.p4"
#include "include/arp.p4"
#include "include/routing.p4"
#include "include/service.p4"
#include "include/connections.p4"
#include "include/splice.p4"
#include "include/maglev.p4"
#include "include/backends.p4"
#include "include/forwarding_nat.p4"
#include "include/forwarding_tun.p4"
#include "include/counters.p4"

control IngressPipe(inout headers_t hdr,
                    inout local_metadata_t meta,
                    inout standard_metadata_t standard_metadata) {
    PacketOutHandler() packet_out_handler;
    ArpResponder() arp;
    RouterMacFilter() router_mac;
    ServiceClassifier() service;
    ConnectionTracker() connections;
    MaglevScheduler() maglev;
    TcpSplicer() splice;
    PacketInSender() controller;
    BackendResolver() backends;
    NatForward() nat;
    NatReverse() nat_reverse;
    TunnelEncap() tunnel;
    Routing() routing;
    LbCounters() counters;

    apply {
        packet_out_handler.apply(hdr, meta, standard_metadata);
        if (meta.drop_reason == DROP_NONE && !meta.packet_out_direct) {
            if (hdr.arp.isValid()) {
                arp.apply(hdr, meta, standard_metadata);
            } else if (!hdr.ipv4.isValid() || hdr.ipv4.ihl != 5) {
                meta.drop_reason = DROP_UNSUPPORTED_PACKET;
            } else if (standard_metadata.checksum_error == 1) {
                meta.drop_reason = DROP_BAD_IPV4_CHECKSUM;
            } else {
                router_mac.apply(hdr, meta, standard_metadata);
                if (meta.drop_reason == DROP_NONE && hdr.ipv4.ttl <= 1) {
                    meta.drop_reason = DROP_TTL_EXPIRED;
                }
                if (meta.drop_reason == DROP_NONE) {
                    service.apply(hdr, meta, standard_metadata);
                }
                if (meta.drop_reason == DROP_NONE && meta.is_vip
                        && meta.service_id >= MAX_SERVICES) {
                    meta.drop_reason = DROP_BAD_SERVICE_CONFIG;
                }
                if (meta.drop_reason == DROP_NONE && meta.is_vip
                        && meta.scheduler != SCHED_SPLICE) {
                    connections.apply(hdr, meta, standard_metadata);
                    if (!meta.backend_selected) {
                        if (meta.scheduler == SCHED_MAGLEV) {
                            maglev.apply(hdr, meta, standard_metadata);
                        } else if (meta.scheduler == SCHED_CONTROLLER) {
                            meta.packet_in_reason = PACKET_IN_REASON_NEW_CONNECTION;
                        } else {
                            meta.drop_reason = DROP_BAD_SERVICE_CONFIG;
                        }
                    }
                    if (meta.drop_reason == DROP_NONE && meta.backend_selected) {
                        backends.apply(hdr, meta, standard_metadata);
                    }
                    if (meta.drop_reason == DROP_NONE && meta.backend_selected) {
                        if (meta.forwarding_mode == FWD_MODE_NAT) {
                            nat.apply(hdr, meta, standard_metadata);
                        } else if (meta.forwarding_mode == FWD_MODE_TUN) {
                            tunnel.apply(hdr, meta, standard_metadata);
                        } else if (meta.forwarding_mode != FWD_MODE_DR) {
                            meta.drop_reason = DROP_BAD_SERVICE_CONFIG;
                        }
                    }
                } else if (meta.drop_reason == DROP_NONE) {
                    /* L7 VIP traffic, and replies of L7 backends. */
                    splice.apply(hdr, meta, standard_metadata);
                    if (!meta.is_vip && !meta.backend_selected
                            && meta.packet_in_reason == PACKET_IN_REASON_NONE) {
                        nat_reverse.apply(hdr, meta, standard_metadata);
                    }
                }
                if (meta.drop_reason == DROP_NONE
                        && meta.packet_in_reason != PACKET_IN_REASON_NONE) {
                    if (meta.service_id >= MAX_SERVICES) {
                        meta.drop_reason = DROP_BAD_SERVICE_CONFIG;
                    } else {
                        controller.apply(hdr, meta, standard_metadata);
                    }
                }
                if (meta.drop_reason == DROP_NONE && !meta.sent_to_controller) {
                    routing.apply(hdr, meta, standard_metadata);
                }
            }
        }
        if (meta.drop_reason != DROP_NONE) {
            mark_to_drop(standard_metadata);
        }
        counters.apply(hdr, meta);
    }
}

control EgressPipe(inout headers_t hdr,
                   inout local_metadata_t meta,
                   inout standard_metadata_t standard_metadata) {
    apply { }
}

V1Switch(LbParser(),
         LbVerifyChecksum(),
         IngressPipe(),
         EgressPipe(),
         LbComputeChecksum(),
         LbDeparser()) main;
