"""Audit: values a digest reports when its data is a list/struct expression.

simple_switch builds the digest at the end of ingress from the learn list's fields
(``learn_engine->learn(learn_id, packet)`` after the pipeline).  p4c therefore copies a list
or struct-expression argument into temporaries at the call (in p4c's BMv2 JSON of a real
program, ``digest<net_report_t>(1, {hdr.net_hdr.a, ...})`` becomes ``assign scalars.tmp``...
then ``generate_digest``, and the learn list names ``scalars.tmp``...), so the controller
sees the values as they were when ``digest`` was called.  A digest of a variable
(``digest(1, meta.learn)``) is not copied and reports the final values.
"""

from __future__ import annotations

import pytest

from p4sim.compiler import compile_source
from p4sim.engine import Engine

PROGRAM = """#include <core.p4>
#include <v1model.p4>
header eth_t { bit<48> dst; bit<48> src; bit<16> type; }
struct headers_t { eth_t eth; }
struct learn_t { bit<48> mac; bit<9> port; }
struct meta_t { learn_t learn; }
parser ParseEth(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t std) {
    state start { pkt.extract(hdr.eth); transition accept; }
}
control NoVerify(inout headers_t hdr, inout meta_t meta) { apply { } }
control LearnThenRoute(inout headers_t hdr, inout meta_t meta,
                       inout standard_metadata_t std) {
    action learn() { DIGEST_CALL }
    action route() { hdr.eth.src = 0x0000000000aa; std.egress_spec = 1; }
    table source_macs { key = { hdr.eth.src: exact; } actions = { learn; NoAction; }
                        default_action = learn(); }
    table next_hop { key = { hdr.eth.dst: exact; } actions = { route; NoAction; }
                     default_action = route(); }
    apply { source_macs.apply(); next_hop.apply(); }
}
control NoEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply { }
}
control NoUpdate(inout headers_t hdr, inout meta_t meta) { apply { } }
control EmitEth(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.eth); } }
V1Switch(ParseEth(), NoVerify(), LearnThenRoute(), NoEgress(), NoUpdate(), EmitEth()) main;
"""

FRAME = bytes.fromhex("000000000002" "0000000000bb" "0800")


def reported(digest_call: str) -> tuple[int, ...]:
    text = PROGRAM.replace("DIGEST_CALL", digest_call)
    engine = Engine(compile_source(text, filename="digests.p4").bmv2_json)
    (sample,) = engine.process(3, FRAME).digests
    return sample.values


@pytest.mark.parametrize("digest_call", [
    "digest<learn_t>(1, { hdr.eth.src, std.ingress_port });",
    "digest(1, (learn_t){ mac = hdr.eth.src, port = std.ingress_port });",
])
def test_expression_digest_reports_values_at_the_call(digest_call: str) -> None:
    assert reported(digest_call) == (0xbb, 3)


def test_variable_digest_reports_values_at_the_end_of_ingress() -> None:
    call = "meta.learn.mac = hdr.eth.src; meta.learn.port = std.ingress_port;" \
           " digest(1, meta.learn); meta.learn.port = 7;"
    assert reported(call) == (0xbb, 7)
