"""Audit: field lists of *_preserving_field_list calls as BMv2 uses them.

simple_switch keeps the field list id of a resubmit/recirculate request in the packet's
resubmit/recirculate flag and acts only when that flag is non-zero, so p4c never emits a
field list with id 0 (p4lang/p4c pull request 1183, "field list ids ... need to be
non-zero").  ``@field_list(0)`` is the index most real programs use (e.g. the
nsg-ethz/p4-learning resubmit example).
"""

from __future__ import annotations

from p4sim.compiler import compile_source
from p4sim.engine import Engine

PROGRAM = """#include <core.p4>
#include <v1model.p4>
header eth_t { bit<48> dst; bit<48> src; bit<16> type; }
struct headers_t { eth_t eth; }
struct pass_t { @field_list(0) bit<8> passes; }
struct meta_t { pass_t state; }
parser ParseEth(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t std) {
    state start { pkt.extract(hdr.eth); transition accept; }
}
control NoVerify(inout headers_t hdr, inout meta_t meta) { apply { } }
control Loop(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply {
        if (meta.state.passes < 2) {
            meta.state.passes = meta.state.passes + 1;
            resubmit_preserving_field_list(0);
        } else {
            std.egress_spec = (bit<9>)meta.state.passes;
        }
    }
}
control NoEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply { }
}
control NoUpdate(inout headers_t hdr, inout meta_t meta) { apply { } }
control EmitEth(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.eth); } }
V1Switch(ParseEth(), NoVerify(), Loop(), NoEgress(), NoUpdate(), EmitEth()) main;
"""


def test_field_list_zero_still_resubmits() -> None:
    document = compile_source(PROGRAM, filename="field_lists.p4").bmv2_json
    assert all(field_list["id"] != 0 for field_list in document["field_lists"])
    frame = bytes.fromhex("000000000002" "000000000001" "88b5")
    assert [port for port, _ in Engine(document).process(0, frame).packets] == [2]
