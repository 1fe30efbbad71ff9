// One sub-parser instance applied from two states: each application is inlined with its own
// states (p4c's inliner names the second copy's states with a _0 suffix), so the second
// application extracts into its own argument and continues where it was called from.
#include <core.p4>
#include <v1model.p4>

header tag_t {
    bit<8> kind;
    bit<8> value;
}

header total_t {
    bit<8> sum;
    bit<8> count;
}

struct headers {
    tag_t   first;
    tag_t   second;
    total_t total;
}

struct metadata {
    bit<8> sum;
    bit<8> count;
}

parser Tag(packet_in pk, out tag_t tag, inout metadata meta) {
    state start {
        pk.extract(tag);
        transition select(tag.kind) {
            1: add;
            default: accept;
        }
    }
    state add {
        meta.sum = meta.sum + tag.value;
        meta.count = meta.count + 1;
        transition accept;
    }
}

parser P(packet_in pk, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    Tag() tag;
    state start {
        tag.apply(pk, hdr.first, meta);
        transition select(hdr.first.kind) {
            0: accept;
            default: again;
        }
    }
    state again {
        tag.apply(pk, hdr.second, meta);
        transition accept;
    }
}

control VC(inout headers hdr, inout metadata meta) { apply { } }

control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    apply {
        hdr.total.setValid();
        hdr.total.sum = meta.sum;
        hdr.total.count = meta.count;
        sm.egress_spec = 1;
    }
}

control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }

control D(packet_out pk, in headers hdr) {
    apply {
        pk.emit(hdr.first);
        pk.emit(hdr.second);
        pk.emit(hdr.total);
    }
}

V1Switch(P(), VC(), I(), E(), CC(), D()) main;
