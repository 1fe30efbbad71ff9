"""Round-2 backend audit: details of p4c's BMv2 JSON seen in a stored p4c 2.23 output
(JinLabIIT/P4-Digests ``build/central.json``, compiled from ``central.p4``):

* ``ttl - 1`` on ``bit<8>`` is written ``(ttl + 0xff) & 0xff`` (p4c's StrengthReduction
  turns ``a - c`` into ``a + (-c)``); expression parameters stay doubly wrapped;
* the jump offsets of an ``if`` inside an action are unpadded (``"0x5"``), with the
  source fragment ``"if"``; ``generate_digest``'s learn list id is unpadded (``"0x1"``);
* ``scalars`` lists temporaries and locals before the user metadata fields;
* learn lists carry only ``id``, ``name`` and ``elements``.
"""

from __future__ import annotations

from typing import Any

from p4sim.compiler import compile_source
from p4sim.engine import ActionCall, Engine, Exact

PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> ttl; bit<8> tag; }
struct headers_t { h_t h; }
struct report_t { bit<8> ttl; bit<8> tag; }
struct meta_t { bit<8> seen; }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control V(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    action forward(bit<9> port) {
        std.egress_spec = port;
        hdr.h.ttl = hdr.h.ttl - 1;
        if (hdr.h.tag == 7) {
            digest<report_t>(1, {hdr.h.ttl, hdr.h.tag});
        }
        meta.seen = 1;
    }
    table t { key = { hdr.h.tag: exact; } actions = { forward; NoAction; } }
    apply { t.apply(); }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) { apply { } }
control U(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), V(), I(), E(), U(), D()) main;
"""


def _forward() -> list[Any]:
    bmv2 = compile_source(PROGRAM, filename="details.p4").bmv2_json
    action = next(a for a in bmv2["actions"] if a["name"] == "I.forward")
    return list(action["primitives"])


def test_subtracting_a_constant_is_an_addition_of_its_negation() -> None:
    ttl = _forward()[1]["parameters"][1]
    assert ttl["type"] == "expression" and ttl["value"]["type"] == "expression"
    masked = ttl["value"]["value"]
    assert masked["op"] == "&" and masked["right"] == {"type": "hexstr", "value": "0xff"}
    assert masked["left"]["value"] == {"op": "+",
                                       "left": {"type": "field", "value": ["h", "ttl"]},
                                       "right": {"type": "hexstr", "value": "0xff"}}


def test_jump_offsets_and_learn_list_ids_are_unpadded() -> None:
    primitives = _forward()
    jump = next(p for p in primitives if p["op"] == "_jump_if_zero")
    assert jump["parameters"][1] == {"type": "hexstr", "value": hex(len(primitives) - 1)}
    assert jump["source_info"]["source_fragment"] == "if"
    digest = next(p for p in primitives if p["op"] == "generate_digest")
    assert digest["parameters"] == [{"type": "hexstr", "value": "0x00000001"},
                                    {"type": "hexstr", "value": "0x1"}]


def test_scalars_list_temporaries_before_user_metadata() -> None:
    bmv2 = compile_source(PROGRAM, filename="details.p4").bmv2_json
    scalars = next(t for t in bmv2["header_types"] if t["name"] == "scalars_0")
    names = [f[0] for f in scalars["fields"]]
    assert names[-1] == "meta_t.seen" and names[:2] == ["tmp", "tmp_0"]


def test_behaviour_is_unchanged() -> None:
    engine = Engine(compile_source(PROGRAM, filename="details.p4").bmv2_json)
    engine.table_add("I.t", [Exact(7)], ActionCall("I.forward", (2,)))
    result = engine.process(0, bytes([0, 7]))
    assert result.packets == [(2, bytes([0xFF, 7]))]
    assert [d.values for d in result.digests] == [(0xFF, 7)]


def test_learn_lists_have_no_source_info() -> None:
    bmv2 = compile_source(PROGRAM, filename="details.p4").bmv2_json
    assert [sorted(entry) for entry in bmv2["learn_lists"]] == [["elements", "id", "name"]]
