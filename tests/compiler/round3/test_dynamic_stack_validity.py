"""``stack[i].isValid()`` with a run-time index, as a condition and as a value.

p4c accepts it (its mid end expands the index); p4sim used to refuse it ("isValid() as a
value is only supported on headers").  BMv2's ``valid`` operator on the
``dereference_header_stack`` element gives the same result for in-range indices.
"""

from __future__ import annotations

from scapy.all import Ether  # type: ignore[attr-defined]

from p4sim.compiler import compile_source
from p4sim.engine import Engine

PROGRAM = """#include <core.p4>
#include <v1model.p4>
header ethernet_t { bit<48> dst; bit<48> src; bit<16> etherType; }
header item_t { bit<8> value; }
struct headers { ethernet_t eth; item_t[3] items; }
struct metadata { bit<8> index; bool present; }
parser P(packet_in pkt, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); pkt.extract(hdr.items.next); pkt.extract(hdr.items.next);
                  transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    apply {
        meta.index = hdr.eth.dst[7:0];
        meta.present = hdr.items[meta.index].isValid();
        sm.egress_spec = 1;
        if (hdr.items[meta.index].isValid()) { sm.egress_spec = 2; }
        if (meta.present) { hdr.eth.etherType = 0xaaaa; }
    }
}
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


def _run(index: int) -> list[tuple[int, bytes]]:
    engine = Engine(compile_source(PROGRAM, filename="validity.p4").bmv2_json)
    frame = bytes(Ether(dst=f"00:00:00:00:00:{index:02x}", type=0x1234)) + b"\x07\x08"
    return engine.process(0, frame).packets


def test_valid_element_selected_at_run_time() -> None:
    [(port, data)] = _run(1)
    assert port == 2 and data[12:14] == b"\xaa\xaa"


def test_invalid_element_selected_at_run_time() -> None:
    [(port, data)] = _run(2)
    assert port == 1 and data[12:14] == b"\x12\x34"
