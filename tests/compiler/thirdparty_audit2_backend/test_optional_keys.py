"""Request B2: ``optional`` match keys in BMv2 JSON.

BMv2's JSON loader (P4Objects.cpp ``match_name_to_match_type``, JSON format up to 2.19)
knows only exact/lpm/ternary/valid/range and refuses a const entry whose match type
differs from its key's; behavioral-model PR #845, which would have added ``"optional"``,
was closed unmerged.  So the key, its const entries (value with a full mask, ``_`` as 0/0)
and the table are ternary; P4Info keeps ``OPTIONAL`` and the P4Runtime layer turns an
optional field into a full or empty mask, as PI does.
"""

from __future__ import annotations

from finsy.proto import p4i

from p4sim.compiler import compile_source
from p4sim.engine import ActionCall, Engine, Ternary

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
    action fwd(bit<9> port) { std.egress_spec = port; }
    table t {
        key = { hdr.h.a: exact; hdr.h.b: optional; }
        actions = { fwd; NoAction; }
        const entries = {
            (1, 7) : fwd(3);
            (1, _) : fwd(4);
        }
    }
    table u {
        key = { hdr.h.a: optional; }
        actions = { fwd; NoAction; }
    }
    apply { if (!t.apply().hit) { u.apply(); } }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) { apply { } }
control U(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), V(), I(), E(), U(), D()) main;
"""


def _tables() -> dict[str, dict]:
    bmv2 = compile_source(PROGRAM, filename="optional.p4").bmv2_json
    return {table["name"]: table for table in bmv2["pipelines"][0]["tables"]}


def test_optional_key_and_its_table_are_ternary() -> None:
    tables = _tables()
    t, u = tables["I.t"], tables["I.u"]
    assert [k["match_type"] for k in t["key"]] == ["exact", "ternary"]
    assert t["match_type"] == "ternary"
    assert [k["match_type"] for k in u["key"]] == ["ternary"]
    assert u["match_type"] == "ternary"


def test_const_entries_on_optional_keys_are_ternary() -> None:
    entries = _tables()["I.t"]["entries"]
    assert entries[0]["match_key"][1] == {"match_type": "ternary", "key": "0x07",
                                          "mask": "0xff"}
    assert entries[1]["match_key"][1] == {"match_type": "ternary", "key": "0x00",
                                          "mask": "0x00"}


def test_engine_runs_optional_keys() -> None:
    engine = Engine(compile_source(PROGRAM, filename="optional.p4").bmv2_json)
    assert engine.process(0, bytes([1, 7])).packets == [(3, bytes([1, 7]))]
    assert engine.process(0, bytes([1, 8])).packets == [(4, bytes([1, 8]))]
    engine.table_add("I.u", [Ternary(0, 0)], ActionCall("I.fwd", (6,)), priority=1)
    assert engine.process(0, bytes([2, 0])).packets == [(6, bytes([2, 0]))]


def test_p4info_keeps_the_optional_match_type() -> None:
    info = compile_source(PROGRAM, filename="optional.p4").p4info
    table = next(t for t in info.tables if t.preamble.name == "I.t")
    assert [f.match_type for f in table.match_fields] == [p4i.MatchField.EXACT,
                                                          p4i.MatchField.OPTIONAL]
