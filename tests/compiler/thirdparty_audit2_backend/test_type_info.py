"""Round-2 backend audit: P4Info ``type_info`` of a type declared on another type (p4c
sample ``issue1739-bmv2.p4``: ``type IPv4Address_t IPv4Address2_t;``).

p4c describes such a type's ``original_type`` by the bits underneath, not by a reference
to the intermediate type.
"""

from __future__ import annotations

from p4sim.compiler import compile_source

PROGRAM = """#include <core.p4>
#include <v1model.p4>
type bit<32> Addr_t;
type Addr_t OtherAddr_t;
header h_t { OtherAddr_t src; Addr_t dst; }
struct headers_t { h_t h; }
struct meta_t { }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control V(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    table filter { key = { hdr.h.src: ternary; hdr.h.dst: exact; } actions = { NoAction; } }
    apply { filter.apply(); }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) { apply { } }
control U(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), V(), I(), E(), U(), D()) main;
"""


def test_type_of_a_type_is_described_by_its_bits() -> None:
    info = compile_source(PROGRAM, filename="types.p4").p4info
    new_types = info.type_info.new_types
    assert sorted(new_types) == ["Addr_t", "OtherAddr_t"]
    for name in ("Addr_t", "OtherAddr_t"):
        assert new_types[name].original_type.bitstring.bit.bitwidth == 32
    fields = info.tables[0].match_fields
    assert [(f.name, f.type_name.name) for f in fields] == [("hdr.h.src", "OtherAddr_t"),
                                                           ("hdr.h.dst", "Addr_t")]
