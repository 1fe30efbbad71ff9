"""Round-2 backend audit: checksum objects as p4c's simple_switch back end writes them
(``convertChecksum`` in every stored version): the condition is always converted, so
``true`` becomes ``{"type": "bool", "value": true}`` (not ``null``).
"""

from __future__ import annotations

from p4sim.compiler import compile_source
from p4sim.engine import Engine

PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<16> a; bit<16> csum; }
struct headers_t { h_t h; }
struct meta_t { }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control V(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply { std.egress_spec = 1; }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) { apply { } }
control U(inout headers_t hdr, inout meta_t meta) {
    apply {
        update_checksum(true, { hdr.h.a }, hdr.h.csum, HashAlgorithm.csum16);
        update_checksum_with_payload(hdr.h.a == 0, { hdr.h.a }, hdr.h.csum,
                                     HashAlgorithm.csum16);
    }
}
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), V(), I(), E(), U(), D()) main;
"""


def test_constant_condition_is_written_as_a_bool() -> None:
    checksums = compile_source(PROGRAM, filename="csum.p4").bmv2_json["checksums"]
    assert checksums[0]["if_cond"] == {"type": "bool", "value": True}
    assert checksums[1]["if_cond"]["type"] == "expression"


def test_always_true_condition_still_updates() -> None:
    engine = Engine(compile_source(PROGRAM, filename="csum.p4").bmv2_json)
    (port, data), = engine.process(0, bytes([0x12, 0x34, 0, 0])).packets
    assert port == 1 and data[2:] == bytes([0xED, 0xCB])
