"""Round-2 backend audit: ``@priority(N)`` on const entries.

Every stored version of p4c's ``backends/bmv2/common/control.cpp``
(``convertTableEntries``) writes the annotation's value to BMv2 unchanged and
position + 1 for entries without one; BMv2 picks the lowest.  Round 1 had mapped it like
``priority = N`` (largest wins), the opposite of p4c's table-entries-priority-bmv2 test.
"""

from __future__ import annotations

from p4sim.compiler import compile_source

PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; }
struct headers_t { h_t h; }
struct meta_t { }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control V(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    action to_port(bit<9> port) { std.egress_spec = port; }
    table t {
        key = { hdr.h.a: ternary; }
        actions = { to_port; }
        const entries = {
            @priority(3) 0x01 &&& 0xff: to_port(1);
            0x02 &&& 0xff: to_port(2);
            @priority(1) 0x00 &&& 0x00: to_port(3);
        }
    }
    apply { t.apply(); }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) { apply { } }
control U(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), V(), I(), E(), U(), D()) main;
"""


def test_priority_annotation_reaches_bmv2_unchanged() -> None:
    bmv2 = compile_source(PROGRAM, filename="prio.p4").bmv2_json
    table = next(t for t in bmv2["pipelines"][0]["tables"] if t["name"] == "I.t")
    assert [entry["priority"] for entry in table["entries"]] == [3, 2, 1]


def test_priority_annotation_after_the_action_counts_too() -> None:
    """Request B7: p4c's table-entries-priority-bmv2 writes ``key : action(...)
    @priority(N);``; the annotation belongs to the entry wherever it is written."""
    trailing = PROGRAM.replace("@priority(3) 0x01 &&& 0xff: to_port(1);",
                               "0x01 &&& 0xff: to_port(1) @priority(3);")
    bmv2 = compile_source(trailing, filename="prio.p4").bmv2_json
    table = next(t for t in bmv2["pipelines"][0]["tables"] if t["name"] == "I.t")
    assert [entry["priority"] for entry in table["entries"]] == [3, 2, 1]
