"""Request B4: ``x / 2^k`` and ``x % 2^k`` come out as p4c's StrengthReduction leaves them:
``x >> k`` (shift amount an untyped constant) and ``x & (2^k - 1)`` (mask of x's width)."""

from __future__ import annotations

from p4sim.compiler import compile_source
from p4sim.engine import Engine

PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; bit<8> c; }
struct headers_t { h_t h; }
struct meta_t { }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control V(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply {
        hdr.h.a = hdr.h.a / 8;
        hdr.h.b = hdr.h.b % 4;
        hdr.h.c = hdr.h.c / 1;
        std.egress_spec = 1;
    }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) { apply { } }
control U(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), V(), I(), E(), U(), D()) main;
"""


def _assigned_values() -> list[dict]:
    bmv2 = compile_source(PROGRAM, filename="div.p4").bmv2_json
    ops = [p for action in bmv2["actions"] for p in action["primitives"] if p["op"] == "assign"]
    return [p["parameters"][1] for p in ops[:3]]


def test_division_and_modulo_become_shift_and_mask() -> None:
    div, mod, by_one = _assigned_values()
    shift, mask = div["value"]["value"], mod["value"]["value"]
    assert (shift["op"], shift["right"]) == (">>", {"type": "hexstr", "value": "0x03"})
    assert (mask["op"], mask["right"]) == ("&", {"type": "hexstr", "value": "0x03"})
    assert by_one == {"type": "field", "value": ["h", "c"]}
    text = compile_source(PROGRAM, filename="div.p4").json_text()
    assert '"op" : "/"' not in text and '"op" : "%"' not in text


def test_engine_computes_quotient_and_remainder() -> None:
    engine = Engine(compile_source(PROGRAM, filename="div.p4").bmv2_json)
    assert engine.process(0, bytes([200, 203, 9])).packets == [(1, bytes([25, 3, 9]))]
