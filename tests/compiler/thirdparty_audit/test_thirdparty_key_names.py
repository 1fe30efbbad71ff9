"""Audit: control-plane names of table keys (p4c frontends/p4/tableKeyNames.cpp).

p4c names a key ``h.isValid()`` as ``h.$valid$`` ("this is what P4Runtime expects"), in
P4Info and in the BMv2 JSON key; p4c's own front-end dumps show
``hdr.ipv4.isValid(): exact @name("hdr.ipv4.$valid$")``.  Keys other than paths, members,
array indices, slices, constants, ``&`` with a constant and ``isValid()`` need an explicit
``@name`` ("Complex key expression requires a @name annotation").
"""

from __future__ import annotations

import pytest

from p4sim.compiler import CompiledProgram, CompileError, compile_source

PROGRAM = """#include <core.p4>
#include <v1model.p4>
header eth_t {{ bit<48> dst; bit<48> src; bit<16> type; }}
header vlan_t {{ bit<16> tci; bit<16> type; }}
struct headers_t {{ eth_t eth; vlan_t vlan; }}
struct meta_t {{ }}
parser ParseEth(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t std) {{
    state start {{ pkt.extract(hdr.eth); transition accept; }}
}}
control NoVerify(inout headers_t hdr, inout meta_t meta) {{ apply {{ }} }}
control Classify(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {{
    action to_port(bit<9> port) {{ std.egress_spec = port; }}
    table acl {{
        key = {{ {key} }}
        actions = {{ to_port; NoAction; }}
    }}
    apply {{ acl.apply(); }}
}}
control NoEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {{
    apply {{ }}
}}
control NoUpdate(inout headers_t hdr, inout meta_t meta) {{ apply {{ }} }}
control EmitEth(packet_out pkt, in headers_t hdr) {{ apply {{ pkt.emit(hdr.eth); }} }}
V1Switch(ParseEth(), NoVerify(), Classify(), NoEgress(), NoUpdate(), EmitEth()) main;
"""


def compile_key(key: str) -> CompiledProgram:
    return compile_source(PROGRAM.format(key=key), filename="keys.p4")


def test_validity_key_is_named_with_valid_marker() -> None:
    program = compile_key("hdr.vlan.isValid(): exact; hdr.eth.type: ternary;")
    fields = [field.name for field in program.p4info.tables[0].match_fields]
    assert fields == ["hdr.vlan.$valid$", "hdr.eth.type"]
    json_table = next(table for table in program.bmv2_json["pipelines"][0]["tables"]
                      if table["name"] == "Classify.acl")
    assert json_table["key"][0]["name"] == "hdr.vlan.$valid$"


def test_slice_and_mask_keys_keep_their_source_names() -> None:
    program = compile_key("hdr.eth.dst[47:24]: exact; hdr.eth.type & 0xff00: ternary;")
    fields = [field.name for field in program.p4info.tables[0].match_fields]
    assert fields == ["hdr.eth.dst[47:24]", "hdr.eth.type & 0xff00"]


@pytest.mark.parametrize("key", ["(bit<8>)hdr.eth.type: exact;", "hdr.eth.type + 1: exact;"])
def test_computed_key_without_name_annotation_is_an_error(key: str) -> None:
    with pytest.raises(CompileError, match="@name"):
        compile_key(key)
