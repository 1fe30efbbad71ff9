/*
 * Statistics readable over P4Runtime: packets and bytes per service and per
 * backend (forwarded packets, both directions for NAT; packet-ins are not
 * counted until the controller re-injects them) and per drop reason.
 */
#ifndef LB_COUNTERS_P4
#define LB_COUNTERS_P4

#include "headers.p4"

control LbCounters(inout headers_t hdr, inout local_metadata_t meta) {
    counter(MAX_SERVICES, CounterType.packets_and_bytes) service_counter;
    counter(MAX_BACKENDS, CounterType.packets_and_bytes) backend_counter;
    counter(DROP_REASON_COUNT, CounterType.packets_and_bytes) drop_counter;

    apply {
        if (meta.drop_reason != DROP_NONE) {
            drop_counter.count((bit<32>) meta.drop_reason);
        } else if (meta.backend_selected && !meta.sent_to_controller) {
            if (meta.service_id < MAX_SERVICES) {
                service_counter.count((bit<32>) meta.service_id);
            }
            if (meta.backend_id < MAX_BACKENDS) {
                backend_counter.count((bit<32>) meta.backend_id);
            }
        }
    }
}

#endif  /* LB_COUNTERS_P4 */
