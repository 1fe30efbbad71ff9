"""Round-2 backend audit: a header or header stack in the user metadata struct (p4c sample
``pvs-bitstring-bmv2.p4``: ``struct my_metadata { data_h[2] data; }``, keyed on
``meta.data[0].da``).

p4c (backends/bmv2/common/header.cpp, ``isHeaders`` on the canonical type) converts a
struct holding a header or a stack like a headers struct: its headers and stacks are
ordinary (non-metadata) headers, so their validity is real; other fields stay ``scalars``
fields named ``<Type>.<field>``.
"""

from __future__ import annotations

from p4sim.compiler import compile_source
from p4sim.engine import Engine

PROGRAM = """#include <core.p4>
#include <v1model.p4>
header label_t { bit<8> value; }
struct headers_t { label_t first; }
struct meta_t { label_t[2] saved; bit<8> count; }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    state start { pkt.extract(hdr.first); transition accept; }
}
control V(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    action to_port(bit<9> port) { std.egress_spec = port; }
    table by_saved {
        key = { meta.saved[0].value: exact; }
        actions = { to_port; NoAction; }
        const entries = { 7: to_port(3); }
    }
    apply {
        std.egress_spec = 1;
        if (!meta.saved[0].isValid()) {
            meta.saved[0].setValid();
            meta.saved[0].value = hdr.first.value;
            meta.count = 1;
        }
        by_saved.apply();
    }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) { apply { } }
control U(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.first); } }
V1Switch(P(), V(), I(), E(), U(), D()) main;
"""


def test_stack_in_metadata_is_a_header_stack_of_real_headers() -> None:
    program = compile_source(PROGRAM, filename="meta_stack.p4")
    stacks = program.bmv2_json["header_stacks"]
    assert [(s["name"], s["size"], s["header_type"]) for s in stacks] == [
        ("saved", 2, "label_t")]
    headers = {h["name"]: h for h in program.bmv2_json["headers"]}
    assert headers["saved[0]"]["metadata"] is False
    assert [f[0] for f in next(t for t in program.bmv2_json["header_types"]
                               if t["name"] == "scalars_0")["fields"]] == ["meta_t.count"]
    assert program.p4info.tables[0].match_fields[0].name == "meta.saved[0].value"


def test_stack_in_metadata_starts_invalid_and_is_usable_as_a_key() -> None:
    engine = Engine(compile_source(PROGRAM, filename="meta_stack.p4").bmv2_json)
    assert engine.process(0, bytes([7])).packets == [(3, bytes([7]))]
    assert engine.process(0, bytes([8])).packets == [(1, bytes([8]))]


HEADER_IN_METADATA = PROGRAM.replace("struct meta_t { label_t[2] saved; bit<8> count; }",
                                     "struct meta_t { label_t saved0; bit<8> count; }") \
    .replace("meta.saved[0]", "meta.saved0")


def test_header_in_metadata_is_a_real_header_that_starts_invalid() -> None:
    program = compile_source(HEADER_IN_METADATA, filename="meta_header.p4")
    headers = {h["name"]: h for h in program.bmv2_json["headers"]}
    assert headers["saved0"]["metadata"] is False
    engine = Engine(program.bmv2_json)
    assert engine.process(0, bytes([7])).packets == [(3, bytes([7]))]
