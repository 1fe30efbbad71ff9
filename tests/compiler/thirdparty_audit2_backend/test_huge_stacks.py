"""Request B6: a huge header stack gets a clear error instead of an endless allocation
(BMv2 needs one header instance per element; the limit is 2^16 elements)."""

from __future__ import annotations

import time

import pytest

from p4sim.compiler import CompileError, compile_source

PROGRAM = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; }
struct headers_t { h_t[SIZE] hs; }
struct meta_t { }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    state start { pkt.extract(hdr.hs.next); transition accept; }
}
control V(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply { h_t[SIZE] copy = hdr.hs; }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) { apply { } }
control U(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.hs); } }
V1Switch(P(), V(), I(), E(), U(), D()) main;
"""


def test_huge_stack_is_refused_quickly() -> None:
    start = time.monotonic()
    with pytest.raises(CompileError) as caught:
        compile_source(PROGRAM.replace("SIZE", "100000000"), filename="huge.p4")
    assert time.monotonic() - start < 10
    assert str(caught.value) == (
        "huge.p4:4:1: error: hs: a stack of 100000000 elements is too large for this "
        "target (at most 65536: BMv2 needs one header instance per element)")


def test_small_stack_compiles() -> None:
    bmv2 = compile_source(PROGRAM.replace("SIZE", "4"), filename="small.p4").bmv2_json
    assert bmv2["header_stacks"][0]["size"] == 4
