"""Round-2 backend audit: ``stack.last.field`` read in a parser assignment (P4 tutorials'
link_monitor: ``meta.egress_spec = hdr.probe_fwd.last.egress_spec;``).

p4c wraps a ``stack_field`` source like an expression (``{"type": "expression", "value":
{"type": "stack_field", ...}}``, seen in p4c-generated link_monitor.json); BMv2's parser
``set`` refuses a bare ``stack_field`` source.  A select key keeps the bare form.
"""

from __future__ import annotations

from p4sim.compiler import compile_source
from p4sim.engine import Engine

PROGRAM = """#include <core.p4>
#include <v1model.p4>
header hop_t { bit<7> port; bit<1> bos; }
struct headers_t { hop_t[4] hops; }
struct meta_t { bit<7> port_out; }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    state start {
        pkt.extract(hdr.hops.next);
        meta.port_out = hdr.hops.last.port;
        transition select(hdr.hops.last.bos) { 1: accept; default: start; }
    }
}
control V(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply { std.egress_spec = (bit<9>)meta.port_out; }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) { apply { } }
control U(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.hops); } }
V1Switch(P(), V(), I(), E(), U(), D()) main;
"""


def test_stack_field_source_is_wrapped_and_select_key_is_not() -> None:
    bmv2 = compile_source(PROGRAM, filename="hops.p4").bmv2_json
    start = bmv2["parsers"][0]["parse_states"][0]
    assert start["parser_ops"][1]["parameters"][1] == {
        "type": "expression", "value": {"type": "stack_field", "value": ["hops", "port"]}}
    assert start["transition_key"] == [{"type": "stack_field", "value": ["hops", "bos"]}]


def test_last_element_is_read_after_each_extract() -> None:
    engine = Engine(compile_source(PROGRAM, filename="hops.p4").bmv2_json)
    packet = bytes([2 << 1, (5 << 1) | 1])
    assert engine.process(0, packet).packets == [(5, packet)]
