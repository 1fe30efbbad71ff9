"""Round-2 backend audit: an action called directly with constant arguments
(``count_p(0); ... count_p(2);``).

p4c 2.23 (RaihanHeggi/LSTM_NB_P4_DoS-Detection ``build/basic.json``) emits one copy of
``MyIngress.count_p`` per call, specialized: ``runtime_data`` empty, the argument inlined
in the primitives (``"0x00000002"`` for a ``bit<32>`` parameter), and the hidden
``tbl_count_p*`` tables' default entries carry no action data.  P4Info is generated from
the front-end program, so the action keeps its parameter there.
"""

from __future__ import annotations

from p4sim.compiler import compile_source
from p4sim.engine import Engine

PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> kind; }
struct headers_t { h_t h; }
struct meta_t { }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control V(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    counter(4, CounterType.packets) ctr;
    action count_p(bit<32> i) { ctr.count(i); }
    apply {
        std.egress_spec = 1;
        if (hdr.h.kind == 1) { count_p(0); } else { count_p(2); }
    }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) { apply { } }
control U(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), V(), I(), E(), U(), D()) main;
"""


def test_each_direct_call_gets_a_specialized_copy() -> None:
    program = compile_source(PROGRAM, filename="direct.p4")
    copies = [a for a in program.bmv2_json["actions"] if a["name"] == "I.count_p"]
    assert [(a["runtime_data"], a["primitives"][0]["parameters"][1]) for a in copies] == [
        ([], {"type": "hexstr", "value": "0x00000000"}),
        ([], {"type": "hexstr", "value": "0x00000002"})]
    tables = program.bmv2_json["pipelines"][0]["tables"]
    assert [t["default_entry"]["action_data"] for t in tables
            if t["name"].startswith("tbl_count_p")] == [[], []]
    action = next(a for a in program.p4info.actions if a.preamble.name == "I.count_p")
    assert [p.name for p in action.params] == ["i"]


def test_specialized_copies_count_the_right_index() -> None:
    engine = Engine(compile_source(PROGRAM, filename="direct.p4").bmv2_json)
    engine.process(0, bytes([1]))
    engine.process(0, bytes([5]))
    engine.process(0, bytes([5]))
    assert [engine.counter_read("I.ctr", i)[1] for i in range(4)] == [1, 0, 2, 0]


UNUSED_LOCAL = PROGRAM.replace("    counter(4, CounterType.packets) ctr;",
                               "    counter(4, CounterType.packets) ctr;\n"
                               "    bit<32> reg_one = 0;\n    bit<8> never;")


def test_locals_nothing_uses_are_dropped() -> None:
    # the same p4c 2.23 output has no trace of `bit<32> reg_one = 0;` (never used):
    # no scalar, no initialising action or hidden table
    bmv2 = compile_source(UNUSED_LOCAL, filename="direct.p4").bmv2_json
    scalars = next(t for t in bmv2["header_types"] if t["name"] == "scalars_0")
    assert not any(f[0] in ("reg_one", "never") for f in scalars["fields"])
    baseline = compile_source(PROGRAM, filename="direct.p4").bmv2_json
    assert len(bmv2["pipelines"][0]["tables"]) == len(baseline["pipelines"][0]["tables"])
