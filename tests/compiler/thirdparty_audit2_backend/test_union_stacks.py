"""Round-2 backend audit: header union stacks (p4c sample
``header-union-field-name-collision-bmv2.p4``, ``HU[2] hus`` in headers and in metadata).

p4c (header.cpp ``addHeaderStacks``) emits one union ``hus[i]`` per element with headers
``hus[i].<member>`` and a ``header_union_stacks`` entry; members are addressed with
constant indices (``hdr.hus[1].y.b``).  Such programs were refused.
"""

from __future__ import annotations

from p4sim.compiler import compile_source
from p4sim.engine import ActionCall, Engine, Exact

PROGRAM = """#include <core.p4>
#include <v1model.p4>
header H1 { bit<8> a; }
header H2 { bit<16> b; }
header_union HU { H1 x; H2 y; }
struct headers_t { HU[2] hus; }
struct meta_t { }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    state start { pkt.extract(hdr.hus[0].x); pkt.extract(hdr.hus[1].y); transition accept; }
}
control V(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    action rewrite(bit<16> c) { hdr.hus[1].y.b = c; }
    table t {
        key = { hdr.hus[0].x.a: exact; }
        actions = { rewrite; NoAction; }
    }
    apply { std.egress_spec = 1; t.apply(); }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) { apply { } }
control U(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.hus); } }
V1Switch(P(), V(), I(), E(), U(), D()) main;
"""


def test_union_stack_json_follows_p4c() -> None:
    bmv2 = compile_source(PROGRAM, filename="union_stack.p4").bmv2_json
    unions = {u["name"]: u for u in bmv2["header_unions"]}
    assert [s["name"] for s in bmv2["header_union_stacks"]] == ["hus"]
    assert bmv2["header_union_stacks"][0]["header_union_ids"] == [unions["hus[0]"]["id"],
                                                                  unions["hus[1]"]["id"]]
    assert bmv2["deparsers"][0]["order"] == ["hus[0].x", "hus[0].y", "hus[1].x", "hus[1].y"]


def test_union_stack_members_are_keys_and_action_targets() -> None:
    engine = Engine(compile_source(PROGRAM, filename="union_stack.p4").bmv2_json)
    engine.table_add("I.t", [Exact(5)], ActionCall("I.rewrite", (0xBEEF,)))
    assert engine.process(0, bytes([5, 0, 1, 9])).packets == [(1, bytes([5, 0xBE, 0xEF, 9]))]
    assert engine.process(0, bytes([6, 0, 1])).packets == [(1, bytes([6, 0, 1]))]

