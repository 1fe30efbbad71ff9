"""Request B8: a digest of a struct with ``error`` and plain ``enum`` fields.

P4Info describes them as p4c's type-spec converter does: the field's spec is ``error {}``
or ``enum { name }``, and ``type_info`` lists every error name (declaration order, core.p4
first) and the enum's member names.
"""

from __future__ import annotations

from google.protobuf import text_format

from p4sim.compiler import compile_source
from p4sim.engine import Engine

PROGRAM = """#include <core.p4>
#include <v1model.p4>
error { BadKind }
enum Kind { SMALL, LARGE }
enum bit<8> Color { RED = 1, BLUE = 2 }
header h_t { bit<8> a; }
struct headers_t { h_t h; }
struct meta_t { }
struct report_t { error err; Kind kind; Color color; bit<8> a; }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control V(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply {
        Kind kind = hdr.h.a > 100 ? Kind.LARGE : Kind.SMALL;
        digest<report_t>(1, {std.parser_error, kind, Color.BLUE, hdr.h.a});
        std.egress_spec = 1;
    }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) { apply { } }
control U(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), V(), I(), E(), U(), D()) main;
"""


def test_p4info_describes_error_and_enum_fields() -> None:
    info = compile_source(PROGRAM, filename="digest_enum.p4").p4info
    members = {m.name: m.type_spec for m in info.type_info.structs["report_t"].members}
    assert members["err"].HasField("error")
    assert members["kind"].enum.name == "Kind"
    assert members["color"].serializable_enum.name == "Color"
    assert [m.name for m in info.type_info.enums["Kind"].members] == ["SMALL", "LARGE"]
    assert list(info.type_info.error.members) == [
        "NoError", "PacketTooShort", "NoMatch", "StackOutOfBounds", "HeaderTooShort",
        "ParserTimeout", "ParserInvalidArgument", "BadKind"]
    assert info.digests[0].type_spec.struct.name == "report_t"
    text_format.MessageToString(info)  # the whole message serializes


def test_engine_reports_enum_and_error_codes() -> None:
    engine = Engine(compile_source(PROGRAM, filename="digest_enum.p4").bmv2_json)
    digests = engine.process(0, bytes([200])).digests
    assert [d.values for d in digests] == [(0, 1, 2, 200)]
