/*
 * The controller path: packet-outs arriving from the controller, and the
 * packet-ins that ask the controller to schedule a new connection or to
 * handle an L7 segment (rate limited per service by a meter, the hook for
 * SYN-flood protection).
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

/*
 * Sends a packet to the controller for the reason in meta.packet_in_reason:
 * the first packet of a controller-scheduled connection, or a segment of an
 * L7 connection the splice tables do not handle.  Rate limited per service;
 * the counter shows how many packets of a service reached the controller.
 */
control PacketInSender(inout headers_t hdr,
                       inout local_metadata_t meta,
                       inout standard_metadata_t standard_metadata) {
    /* Indexed by service id; unconfigured meters let everything through. */
    meter(MAX_SERVICES, MeterType.packets) packet_in_meter;
    counter(MAX_SERVICES, CounterType.packets_and_bytes) packet_in_counter;

    apply {
        /* service_id < MAX_SERVICES: checked by the caller. */
        packet_in_meter.execute_meter((bit<32>) meta.service_id, meta.packet_in_color);
        if (meta.packet_in_color == METER_COLOR_GREEN) {
            standard_metadata.egress_spec = CPU_PORT;
            hdr.packet_in.setValid();
            hdr.packet_in.ingress_port = (bit<16>) meta.ingress_port;
            hdr.packet_in.reason = meta.packet_in_reason;
            meta.sent_to_controller = true;
            packet_in_counter.count((bit<32>) meta.service_id);
        } else {
            meta.drop_reason = DROP_PACKET_IN_METERED;
        }
    }
}

#endif  /* LB_CONTROLLER_P4 */
