"""Round-2 backend audit: control-plane names under a directly applied control type
(p4c sample ``issue1107.p4``: ``myc.apply(hdr, meta, smeta);`` without an instance).

p4c's DirectCalls pass instantiates the type as ``@name("myc") myc() myc_inst``, so the
table is ``IngressI.myc.myt`` and its action ``IngressI.myc.set_eg`` (ids follow).
"""

from __future__ import annotations

from p4sim.compiler import compile_source

PROGRAM = """#include <core.p4>
#include <v1model.p4>
struct H { }
struct M { bit<32> f1; }
parser P(packet_in pk, out H hdr, inout M meta, inout standard_metadata_t smeta) {
    state start { transition accept; }
}
control myc(inout H hdr, inout M meta, inout standard_metadata_t smeta) {
    action set_eg(bit<9> eg) { smeta.egress_spec = eg; }
    table myt { key = { meta.f1: exact; } actions = { set_eg; } }
    apply { myt.apply(); }
}
control IngressI(inout H hdr, inout M meta, inout standard_metadata_t smeta) {
    apply { myc.apply(hdr, meta, smeta); }
}
control EgressI(inout H hdr, inout M meta, inout standard_metadata_t smeta) { apply { } }
control DeparserI(packet_out pk, in H hdr) { apply { } }
control VerifyChecksumI(inout H hdr, inout M meta) { apply { } }
control ComputeChecksumI(inout H hdr, inout M meta) { apply { } }
V1Switch(P(), VerifyChecksumI(), IngressI(), EgressI(), ComputeChecksumI(), DeparserI()) main;
"""


def test_directly_applied_control_is_named_after_its_type() -> None:
    program = compile_source(PROGRAM, filename="direct.p4")
    table = program.p4info.tables[0].preamble
    assert (table.name, table.id) == ("IngressI.myc.myt", 48415709)
    assert [a.preamble.name for a in program.p4info.actions] == ["NoAction",
                                                                  "IngressI.myc.set_eg"]
    json_tables = [t["name"] for t in program.bmv2_json["pipelines"][0]["tables"]]
    assert "IngressI.myc.myt" in json_tables
