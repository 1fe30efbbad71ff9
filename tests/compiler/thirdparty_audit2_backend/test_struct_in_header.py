"""Request B1: a header with a struct-typed field (p4c samples bvec-hdr-bmv2,
bvec_union-bmv2).

p4c's FlattenHeaders replaces the header's fields by the struct's leaves named after the
access path plus the leaf's position (p4c's bvec-hdr-bmv2-midend.p4: ``_row_e0``,
``_row_t1``...); a table key keeps the source name (``hdr.h.p.a``).
"""

from __future__ import annotations

from p4sim.compiler import compile_source
from p4sim.engine import ActionCall, Engine, Exact

PROGRAM = """#include <core.p4>
#include <v1model.p4>
struct pair_t { bit<8> a; bit<8> b; }
struct nested_t { pair_t inner; bit<8> c; }
header h_t { bit<8> tag; pair_t p; nested_t n; }
struct headers_t { h_t h; }
struct meta_t { }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control V(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    action fwd(bit<9> port) { std.egress_spec = port; }
    table t {
        key = { hdr.h.p.a: exact; }
        actions = { fwd; NoAction; }
    }
    apply {
        t.apply();
        hdr.h.n.inner = hdr.h.p;
        hdr.h.n.c = hdr.h.p.a + hdr.h.p.b;
        h_t copy = hdr.h;
        if (copy == hdr.h && copy.n.inner.b == 7) { hdr.h.tag = 1; }
    }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) { apply { } }
control U(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), V(), I(), E(), U(), D()) main;
"""


def test_header_type_has_the_flattened_leaves_under_p4c_names() -> None:
    bmv2 = compile_source(PROGRAM, filename="nested.p4").bmv2_json
    header_type = next(h for h in bmv2["header_types"] if h["name"] == "h_t")
    assert [f[0] for f in header_type["fields"]] == [
        "_tag0", "_p_a1", "_p_b2", "_n_inner_a3", "_n_inner_b4", "_n_c5"]
    key = bmv2["pipelines"][0]["tables"][0]["key"][0]
    assert (key["name"], key["target"]) == ("hdr.h.p.a", ["h", "_p_a1"])


def test_engine_reads_and_writes_struct_fields_inside_the_header() -> None:
    engine = Engine(compile_source(PROGRAM, filename="nested.p4").bmv2_json)
    engine.table_add("I.t", [Exact(5)], ActionCall("I.fwd", (2,)))
    packet = bytes([9, 5, 7, 0, 0, 0])
    assert engine.process(0, packet).packets == [(2, bytes([1, 5, 7, 5, 7, 12]))]
