"""Audit: priorities of entries given in the P4 source (P4_16 spec, "Entry priorities").

An entry without an explicit priority, after one with an explicit priority, gets the
previous entry's priority moved by ``priority_delta`` (default 1) towards "loses": minus
when ``largest_priority_wins`` (the default), plus otherwise.  p4c's sample
``init-entries-bmv2.p4`` spells out the expected values.  The winner is checked by running
the compiled JSON through ``p4sim.engine`` so the test does not depend on how the numbers
are encoded for BMv2 (lowest value wins there).
"""

from __future__ import annotations

from p4sim.compiler import compile_source
from p4sim.engine import Engine

PROGRAM = """#include <core.p4>
#include <v1model.p4>
header eth_t {{ bit<48> dst; bit<48> src; bit<16> type; }}
struct headers_t {{ eth_t eth; }}
struct meta_t {{ }}
parser ParseEth(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t std) {{
    state start {{ pkt.extract(hdr.eth); transition accept; }}
}}
control NoVerify(inout headers_t hdr, inout meta_t meta) {{ apply {{ }} }}
control Classify(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {{
    action to_port(bit<9> port) {{ std.egress_spec = port; }}
    table by_type {{
        key = {{ hdr.eth.type: ternary; }}
        actions = {{ to_port; }}
        default_action = to_port(9);
{properties}
        entries = {{
{entries}
        }}
    }}
    apply {{ by_type.apply(); }}
}}
control NoEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {{
    apply {{ }}
}}
control NoUpdate(inout headers_t hdr, inout meta_t meta) {{ apply {{ }} }}
control EmitEth(packet_out pkt, in headers_t hdr) {{ apply {{ pkt.emit(hdr.eth); }} }}
V1Switch(ParseEth(), NoVerify(), Classify(), NoEgress(), NoUpdate(), EmitEth()) main;
"""

# The probe frame has type 0x0801: entry 1 never matches it, entries 2 and 3 both do.
ENTRIES = """            priority={first}: 0x0900 &&& 0xff00 : to_port(1);
                              0x0800 &&& 0xff00 : to_port(2);
            priority={third}: 0x0801 &&& 0xffff : to_port(3);"""


def egress_port(properties: str, first: int, third: int) -> list[int]:
    text = PROGRAM.format(properties=properties,
                          entries=ENTRIES.format(first=first, third=third))
    engine = Engine(compile_source(text, filename="priorities.p4").bmv2_json)
    frame = bytes.fromhex("000000000002" "000000000001" "0801")
    return [port for port, _ in engine.process(0, frame).packets]


def test_implicit_priority_follows_the_previous_entry_when_largest_wins() -> None:
    # priorities 300, 299 (implicit: 300 - 1), 250: the second entry wins.
    assert egress_port("", first=300, third=250) == [2]


def test_implicit_priority_uses_priority_delta_when_smallest_wins() -> None:
    # priorities 10, 20 (implicit: 10 + 10), 15: the third entry wins.
    properties = "        largest_priority_wins = false;\n        priority_delta = 10;"
    assert egress_port(properties, first=10, third=15) == [3]
