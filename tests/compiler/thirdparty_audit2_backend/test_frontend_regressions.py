"""Front-end regressions found while re-compiling round-1 programs (requests in
docs/dev/requests-frontend.md, "round-2 backend auditor"): programs the front end once
refused although p4c accepts them.
"""

from __future__ import annotations

from p4sim.compiler import compile_source
from p4sim.engine import Engine

# The P4 tutorials' calc solution: an action calls another action with run-time values.
PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<32> a; bit<32> b; bit<32> res; }
struct headers_t { h_t h; }
struct meta_t { }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control V(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    action send_back(bit<32> result) {
        hdr.h.res = result;
        std.egress_spec = std.ingress_port;
    }
    action operation_add() { send_back(hdr.h.a + hdr.h.b); }
    table calculate {
        key = { hdr.h.a: exact; }
        actions = { operation_add; NoAction; }
        const default_action = operation_add();
    }
    apply { calculate.apply(); }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) { apply { } }
control U(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), V(), I(), E(), U(), D()) main;
"""


def test_action_calling_an_action_with_run_time_values() -> None:
    engine = Engine(compile_source(PROGRAM, filename="calc.p4").bmv2_json)
    packet = (3).to_bytes(4, "big") + (4).to_bytes(4, "big") + bytes(4)
    assert engine.process(2, packet).packets == [(2, packet[:8] + (7).to_bytes(4, "big"))]
