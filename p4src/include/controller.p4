/*
 * The controller path: packet-outs arriving from the controller, and the
 * packet-ins that ask the controller to schedule a new connection (rate
 * limited per service by a meter, the hook for SYN-flood protection).
 */
#ifndef LB_CONTROLLER_P4
#define LB_CONTROLLER_P4

#include "headers.p4"

/*
 * A packet-out either leaves directly by packet_out.egress_port (DIRECT), or
 * goes through the whole ingress pipeline as if it had arrived on
 * packet_out.ingress_port (PIPELINE), e.g. the first packet of a connection
 * the controller has just pinned in connection_table.
 */
control PacketOutHandler(inout headers_t hdr,
                         inout local_metadata_t meta,
                         inout standard_metadata_t standard_metadata) {
    apply {
        meta.ingress_port = standard_metadata.ingress_port;
        if (hdr.packet_out.isValid()) {
            if (hdr.packet_out.mode == PACKET_OUT_MODE_PIPELINE) {
                meta.ingress_port = (port_t) hdr.packet_out.ingress_port;
            } else if (hdr.packet_out.mode == PACKET_OUT_MODE_DIRECT) {
                standard_metadata.egress_spec = (port_t) hdr.packet_out.egress_port;
                meta.packet_out_direct = true;
            } else {
                meta.drop_reason = DROP_BAD_PACKET_OUT;
            }
            hdr.packet_out.setInvalid();
        }
    }
}

/* Sends the first packet of a connection of a controller-scheduled service to the controller. */
control ControllerScheduler(inout headers_t hdr,
                            inout local_metadata_t meta,
                            inout standard_metadata_t standard_metadata) {
    /* Indexed by service id; unconfigured meters let everything through. */
    meter(MAX_SERVICES, MeterType.packets) packet_in_meter;

    apply {
        /* service_id < MAX_SERVICES: checked by the caller. */
        packet_in_meter.execute_meter((bit<32>) meta.service_id, meta.packet_in_color);
        if (meta.packet_in_color == METER_COLOR_GREEN) {
            standard_metadata.egress_spec = CPU_PORT;
            hdr.packet_in.setValid();
            hdr.packet_in.ingress_port = (bit<16>) meta.ingress_port;
            hdr.packet_in.reason = PACKET_IN_REASON_NEW_CONNECTION;
            meta.sent_to_controller = true;
        } else {
            meta.drop_reason = DROP_PACKET_IN_METERED;
        }
    }
}

#endif  /* LB_CONTROLLER_P4 */
