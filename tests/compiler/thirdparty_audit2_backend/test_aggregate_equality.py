"""Request B5: equality of header stacks (p4c sample equality-bmv2), headers and structs.

p4c's RemoveComplexComparisons expands them (equality-bmv2-midend.p4): a stack compares
element by element, a header as ``!l.isValid() && !r.isValid() || l.isValid() &&
r.isValid() && l.f == r.f ...`` (two invalid headers are equal whatever their fields
hold), a struct field by field; ``!=`` negates the whole.
"""

from __future__ import annotations

from p4sim.compiler import compile_source
from p4sim.engine import Engine

PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> s; }
header out_t { bit<8> flags; }
struct pair_t { h_t first; bit<8> n; }
struct headers_t { h_t[2] a; out_t res; }
struct meta_t { }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    state start {
        pkt.extract(hdr.a.next);
        transition select(hdr.a[0].s) { 0: accept; default: second; }
    }
    state second { pkt.extract(hdr.a.next); transition accept; }
}
control V(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply {
        std.egress_spec = 1;
        hdr.res.setValid();
        hdr.res.flags = 0;
        h_t[2] tmp;
        tmp[0] = hdr.a[0];
        if (tmp == hdr.a) { hdr.res.flags = hdr.res.flags | 1; }
        if (tmp != hdr.a) { hdr.res.flags = hdr.res.flags | 2; }
        h_t unset_one;
        h_t unset_two;
        unset_two.s = 5;  // a field write leaves the header invalid
        if (unset_one == unset_two) { hdr.res.flags = hdr.res.flags | 4; }
        pair_t x = { hdr.a[0], 1 };
        pair_t y = { tmp[0], 1 };
        if (x == y) { hdr.res.flags = hdr.res.flags | 8; }
    }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) { apply { } }
control U(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.res); pkt.emit(hdr.a); } }
V1Switch(P(), V(), I(), E(), U(), D()) main;
"""


def _flags(packet: bytes) -> int:
    engine = Engine(compile_source(PROGRAM, filename="equality.p4").bmv2_json)
    [(port, data)] = engine.process(0, packet).packets
    return data[0]


def test_stack_equal_when_every_element_is() -> None:
    # one element parsed: tmp[0] copies it, tmp[1] and a[1] are both invalid
    assert _flags(bytes([0])) == 1 | 4 | 8


def test_stack_differs_when_one_element_does() -> None:
    # two elements parsed: a[1] is valid, tmp[1] is not
    assert _flags(bytes([3, 4])) == 2 | 4 | 8


def test_header_comparison_has_p4c_shape() -> None:
    bmv2 = compile_source(PROGRAM, filename="equality.p4").bmv2_json
    condition = bmv2["pipelines"][0]["conditionals"][0]["expression"]["value"]
    assert condition["op"] == "and"  # element 0 && element 1
    element = condition["left"]["value"]
    assert element["op"] == "or"
    assert element["left"]["value"]["op"] == "and"  # both invalid
    assert element["left"]["value"]["left"]["value"]["op"] == "not"
