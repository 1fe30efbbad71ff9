"""Round-2 backend audit: BMv2 conditional names follow p4c's control-flow-graph
numbering (backends/bmv2/common/controlFlowGraph.cpp: one counter over each pipeline's
entry and exit nodes, table applications and if statements, in preorder).

Checked against p4c-generated JSON: p4c 2.23 names the ifs of a student program
``node_2, node_3, node_4, node_6, node_8, node_10`` (nested ifs with a direct action call
in each branch) and p4c 2.18 names an egress ``if`` after a one-table ingress ``node_5``.
"""

from __future__ import annotations

from p4sim.compiler import compile_source

PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; }
struct headers_t { h_t h; }
struct meta_t { }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control V(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    action mark(bit<8> v) { hdr.h.b = v; }
    table t { key = { hdr.h.a: exact; } actions = { mark; NoAction; } }
    apply {
        if (hdr.h.isValid()) {
            if (hdr.h.a == 1) { mark(1); }
            else if (hdr.h.a == 2) { mark(2); }
            if (hdr.h.b == 3) { mark(3); }
            t.apply();
        }
    }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply { if (std.egress_port == std.ingress_port) { mark_to_drop(std); } }
}
control U(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), V(), I(), E(), U(), D()) main;
"""


def test_conditionals_are_numbered_like_p4c_cfg_nodes() -> None:
    bmv2 = compile_source(PROGRAM, filename="cfg.p4").bmv2_json
    ingress, egress = bmv2["pipelines"]
    fragments = {c["source_info"]["source_fragment"]: c["name"]
                 for c in ingress["conditionals"]}
    # ingress: entry 0, exit 1, ifs 2 3 (tbl 4) 5 (tbl 6) 7 (tbl 8), table t 9
    assert fragments == {"hdr.h.isValid()": "node_2", "hdr.h.a == 1": "node_3",
                         "hdr.h.a == 2": "node_5", "hdr.h.b == 3": "node_7"}
    # egress: entry 10, exit 11, if 12
    assert [c["name"] for c in egress["conditionals"]] == ["node_12"]


def test_tables_and_conditionals_are_listed_in_cfg_order_with_ids_to_match() -> None:
    bmv2 = compile_source(PROGRAM, filename="cfg.p4").bmv2_json
    ingress, egress = bmv2["pipelines"]
    # p4c 2.23 lists the direct-call tables before the user table applied after them,
    # and the conditionals outer first; ids follow that order, program-wide
    assert [(t["name"], t["id"]) for t in ingress["tables"]] == [
        ("tbl_mark", 0), ("tbl_mark_0", 1), ("tbl_mark_1", 2), ("I.t", 3)]
    assert [(c["name"], c["id"]) for c in ingress["conditionals"]] == [
        ("node_2", 0), ("node_3", 1), ("node_5", 2), ("node_7", 3)]
    assert [c["id"] for c in egress["conditionals"]] == [4]
    assert [t["id"] for t in egress["tables"]] == [4]


KEYED = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<32> a; bit<32> index; }
struct headers_t { h_t[2] h; }
struct meta_t { }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    state start { pkt.extract(hdr.h[0]); pkt.extract(hdr.h[1]); transition accept; }
}
control V(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    action set_data() { }
    table t { actions = { set_data; } key = { hdr.h[hdr.h[0].index].a: exact; } }
    apply { t.apply(); }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) { apply { } }
control U(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), V(), I(), E(), U(), D()) main;
"""


def test_key_computation_table_comes_before_its_table() -> None:
    # p4c's SimplifyKey puts the key assignment before the apply (sample
    # control-hs-index-test6: a run-time stack index in a key)
    ingress = compile_source(KEYED, filename="keyed.p4").bmv2_json["pipelines"][0]
    names = [t["name"] for t in ingress["tables"]]
    assert names[-1] == "I.t" and ingress["init_table"] == names[0] != "I.t"
