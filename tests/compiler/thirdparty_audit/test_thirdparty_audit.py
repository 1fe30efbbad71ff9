"""Regression tests for differences found by auditing p4sim-compile against the real p4c.

Each test is a small program written for this audit that isolates one construct seen in
real-world v1model programs (P4 tutorials, p4c samples).  The expected values are what
p4c/p4c-bm2-ss produce; see docs/dev/compiler-audit.md for the sources.  A test stays
``xfail(strict=True)`` while the compiler still differs, so it fails loudly once fixed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from p4sim.compiler import CompiledProgram, compile_source
from p4sim.compiler.cli import main as cli_main
from p4sim.engine import ActionCall, Engine, Exact

PIPELINE_TEMPLATE = """#include <core.p4>
#include <v1model.p4>
{prelude}
header eth_t {{ bit<48> dst; bit<48> src; bit<16> type; }}
header tag_t {{ bit<8> kind; bit<8> value; }}
struct headers_t {{ eth_t eth; tag_t tag; }}
struct meta_t {{ {metadata} }}
parser ParseAll(packet_in pkt, out headers_t hdr, inout meta_t meta,
                inout standard_metadata_t std) {{
{parser_states}
}}
control NoVerify(inout headers_t hdr, inout meta_t meta) {{ apply {{ }} }}
control MyIngress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {{
{ingress}
}}
control MyEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {{
    apply {{ }}
}}
control NoUpdate(inout headers_t hdr, inout meta_t meta) {{ apply {{ }} }}
control Emit(packet_out pkt, in headers_t hdr) {{
    apply {{ pkt.emit(hdr.eth); pkt.emit(hdr.tag); }}
}}
V1Switch(ParseAll(), NoVerify(), MyIngress(), MyEgress(), NoUpdate(), Emit()) main;
"""

SINGLE_STATE_PARSER = """    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.type) { 0x88b5: parse_tag; default: accept; }
    }
    state parse_tag { pkt.extract(hdr.tag); transition accept; }"""

FORWARD_ON_PORT = "    apply { std.egress_spec = std.ingress_port; }"


def build(*, prelude: str = "", metadata: str = "bit<8> unused;",
          parser_states: str = SINGLE_STATE_PARSER, ingress: str = FORWARD_ON_PORT) -> str:
    return PIPELINE_TEMPLATE.format(prelude=prelude, metadata=metadata,
                                    parser_states=parser_states, ingress=ingress)


def compile_text(text: str) -> CompiledProgram:
    return compile_source(text, filename="audit.p4")


def parse_states(program: CompiledProgram) -> dict[str, dict[str, Any]]:
    return {state["name"]: state for state in program.bmv2_json["parsers"][0]["parse_states"]}


def ingress_tables(program: CompiledProgram) -> dict[str, dict[str, Any]]:
    return {table["name"]: table for table in program.bmv2_json["pipelines"][0]["tables"]}


def test_program_may_declare_its_own_port_id_type() -> None:
    program = compile_text(build(prelude="typedef bit<9> PortId_t;",
                                 metadata="PortId_t in_port;",
                                 ingress="    apply { meta.in_port = std.ingress_port;"
                                         " std.egress_spec = meta.in_port; }"))
    scalars = program.bmv2_json["header_types"][0]["fields"]
    assert [width for _, width, _ in scalars if width == 9] == [9]


def test_field_list_annotation_accepts_a_named_constant() -> None:
    """p4c constant-folds @field_list arguments (tutorials' flowcache uses a const int)."""
    program = compile_text(build(
        prelude="const bit<8> KEEP_ON_RESUBMIT = 2;",
        metadata="@field_list(KEEP_ON_RESUBMIT) bit<8> saved;",
        ingress="    apply { meta.saved = hdr.eth.dst[7:0];"
                " resubmit_preserving_field_list(KEEP_ON_RESUBMIT); }"))
    (field_list,) = program.bmv2_json["field_lists"]
    assert len(field_list["elements"]) == 1
    resubmits = [primitive for action in program.bmv2_json["actions"]
                 for primitive in action["primitives"] if primitive["op"] == "resubmit"]
    assert [int(call["parameters"][0]["value"], 16) for call in resubmits] == [field_list["id"]]


def test_unconditional_parser_chain_is_collapsed_into_its_head() -> None:
    chained = """    state start { transition parse_eth; }
    state parse_eth {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.type) { 0x88b5: parse_tag; default: accept; }
    }
    state parse_tag { pkt.extract(hdr.tag); transition accept; }"""
    states = parse_states(compile_text(build(parser_states=chained)))
    assert list(states) == ["start", "parse_tag"]
    assert states["start"]["parser_ops"][0]["parameters"] == [
        {"type": "regular", "value": "eth"}]


def test_direct_action_call_runs_through_tbl_named_after_the_action() -> None:
    ingress = """    action bounce() { std.egress_spec = std.ingress_port; }
    action discard() { mark_to_drop(std); }
    table by_kind {
        key = { hdr.tag.kind: exact; }
        actions = { bounce; discard; }
        default_action = discard();
    }
    apply { if (hdr.tag.isValid()) { by_kind.apply(); } else { discard(); } }"""
    tables = ingress_tables(compile_text(build(ingress=ingress)))
    assert "tbl_discard" in tables
    assert tables["tbl_discard"]["actions"] == ["MyIngress.discard"]


def test_p4info_always_carries_type_info() -> None:
    program = compile_text(build())
    assert program.p4info.HasField("type_info")


def test_header_stack_accepts_a_run_time_index() -> None:
    """p4c compiles run-time stack indices for BMv2 (sample runtime-index-2-bmv2.p4): its
    mid end (HSIndexContretizer) turns each statement into a chain of conditionals over the
    constant indexes (``hsiVar == 0``, ...), so no ``dereference_header_stack`` remains."""
    labels = """    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.type) { 0x88b5: parse_tag; default: accept; }
    }
    state parse_tag { pkt.extract(hdr.tag); pkt.extract(hdr.hops[0]); pkt.extract(hdr.hops[1]);
                      transition accept; }"""
    text = build(parser_states=labels,
                 ingress="    apply { hdr.hops[hdr.tag.value[0:0]].kind = hdr.tag.kind;"
                         " meta.unused = hdr.hops[hdr.tag.kind[0:0]].value; }")
    text = text.replace("struct headers_t { eth_t eth; tag_t tag; }",
                        "struct headers_t { eth_t eth; tag_t tag; tag_t[2] hops; }")
    program = compile_text(text)
    encoded = str(program.bmv2_json["actions"])
    assert "dereference_header_stack" not in encoded
    assert "hdr.hops[1].kind = hdr.tag.kind" in encoded
    conditions = str(program.bmv2_json["pipelines"][0]["conditionals"])
    assert "hsiVar" in conditions


@pytest.mark.parametrize(("marker", "winner"), [("priority={}:", 5), ("@priority({})", 1)])
def test_const_entry_priorities_follow_p4c(marker: str, winner: int) -> None:
    """``priority = N`` (P4 1.2.4): the larger wins.  The older ``@priority(N)``
    annotation reaches BMv2 unchanged in p4c's back end (control.cpp), so the smaller wins
    there, as p4c's table-entries-priority-bmv2 STF test expects."""
    ingress = f"""    action to_port(bit<9> port) {{ std.egress_spec = port; }}
    table classify {{
        key = {{ hdr.eth.dst: ternary; }}
        actions = {{ to_port; }}
        default_action = to_port(9);
        const entries = {{
            {marker.format(1)} 0x000000000000 &&& 0x000000000000: to_port(1);
            {marker.format(5)} 0x0000000000aa &&& 0x0000000000ff: to_port(5);
        }}
    }}
    apply {{ classify.apply(); }}"""
    program = compile_text(build(ingress=ingress))
    engine = Engine(program.bmv2_json)
    frame = bytes.fromhex("0000000000aa" "000000000001" "0800") + bytes(20)
    assert [port for port, _ in engine.process(0, frame).packets] == [winner]


def test_package_arguments_bind_by_name() -> None:
    """p4c's sample basic_routing-bmv2.p4 passes 'ig = ingress(), vr = verifyChecksum()'."""
    text = build()
    text = text.replace(
        "V1Switch(ParseAll(), NoVerify(), MyIngress(), MyEgress(), NoUpdate(), Emit()) main;",
        "V1Switch(p = ParseAll(), ig = MyIngress(), vr = NoVerify(), eg = MyEgress(),"
        " ck = NoUpdate(), dep = Emit()) main;")
    pipelines = compile_text(text).bmv2_json["pipelines"]
    assert pipelines[0]["source_info"]["source_fragment"] == "MyIngress"


def test_table_action_list_binds_directional_parameters() -> None:
    """p4c's sample v1model-special-ops-bmv2.p4 lists my_drop(standard_metadata)."""
    text = build(prelude="action drop_it(inout standard_metadata_t meta_std) {"
                         " mark_to_drop(meta_std); }",
                 ingress="""    action bounce() { std.egress_spec = std.ingress_port; }
    table by_kind {
        key = { hdr.tag.kind: exact; }
        actions = { bounce; drop_it(std); }
        default_action = drop_it(std);
    }
    apply { by_kind.apply(); }""")
    program = compile_text(text)
    table = ingress_tables(program)["MyIngress.by_kind"]
    assert table["actions"] == ["MyIngress.bounce", "drop_it"]
    actions = [action.preamble.name for action in program.p4info.actions]
    assert "drop_it" in actions
    frame = bytes.fromhex("000000000002" "000000000001" "88b5" "0101")
    assert Engine(program.bmv2_json).process(3, frame).packets == []


def test_anonymous_implementation_compiles_without_p4runtime_files(tmp_path: Path) -> None:
    """p4c reports the anonymous implementation only when P4Runtime files are requested."""
    source = tmp_path / "selector.p4"
    spread = """    action to_port(bit<9> port) { std.egress_spec = port; }
    table spread {
        key = { hdr.tag.kind: exact; meta.pick: selector; }
        actions = { to_port; }
        implementation = action_selector(HashAlgorithm.identity, 16, 4);
    }
    apply { meta.pick = (bit<16>)hdr.tag.value; spread.apply(); }"""
    source.write_text(build(metadata="bit<16> pick;", ingress=spread))
    output = tmp_path / "selector.json"
    assert cli_main([str(source), "-o", str(output)]) == 0
    profiles = json.loads(output.read_text())["pipelines"][0]["action_profiles"]
    assert len(profiles) == 1 and "selector" in profiles[0]


def test_table_hits_combined_in_a_condition_short_circuit() -> None:
    ingress = """    action mark(bit<8> v) { hdr.tag.value = v; }
    table first { key = { hdr.tag.kind: exact; } actions = { mark; NoAction; }
                  default_action = NoAction(); }
    table second { key = { hdr.eth.type: exact; } actions = { mark; NoAction; }
                   default_action = NoAction(); }
    apply {
        if (first.apply().hit && second.apply().hit) { std.egress_spec = 1; }
        else { std.egress_spec = 2; }
    }"""
    engine = Engine(compile_text(build(ingress=ingress)).bmv2_json)
    engine.table_add("MyIngress.first", [Exact(7)], ActionCall("MyIngress.mark", (1,)))
    engine.table_add("MyIngress.second", [Exact(0x88b5)], ActionCall("MyIngress.mark", (2,)))

    def run(kind: int) -> tuple[int, int]:
        frame = bytes.fromhex("000000000002" "000000000001" "88b5") + bytes([kind, 0])
        ((port, data),) = engine.process(0, frame).packets
        return port, data[15]

    assert run(7) == (1, 2)   # both hit: second's action ran last
    assert run(8) == (2, 0)   # first missed: second was not applied


def test_sliced_key_is_copied_into_a_temporary() -> None:
    ingress = """    action mark(bit<8> v) { hdr.tag.value = v; }
    table by_oui { key = { hdr.eth.dst[15:8]: exact; } actions = { mark; NoAction; }
                   default_action = NoAction(); }
    apply { by_oui.apply(); }"""
    program = compile_text(build(ingress=ingress))
    (key,) = ingress_tables(program)["MyIngress.by_oui"]["key"]
    assert key["name"] == "hdr.eth.dst[15:8]" and key["mask"] is None
    assert key["target"][0] == "scalars"
    scalars = program.bmv2_json["header_types"][0]["fields"]
    scalar_widths = {name: width for name, width, _ in scalars}
    assert scalar_widths[key["target"][1]] == 8
    engine = Engine(program.bmv2_json)
    engine.table_add("MyIngress.by_oui", [Exact(0x21)], ActionCall("MyIngress.mark", (5,)))
    frame = bytes.fromhex("000000002100" "000000000001" "88b5" "0100")
    assert engine.process(0, frame).packets[0][1][15] == 5


def test_parameter_and_key_documentation_reach_p4info() -> None:
    ingress = """    @brief("to a port")
    action to_port(@brief("egress port") bit<9> port) { std.egress_spec = port; }
    table by_kind {
        key = { hdr.tag.kind: exact @brief("tag kind"); }
        actions = { to_port; NoAction; }
    }
    apply { by_kind.apply(); }"""
    p4info = compile_text(build(ingress=ingress)).p4info
    action = next(a for a in p4info.actions if a.preamble.name == "MyIngress.to_port")
    assert action.preamble.doc.brief == "to a port"
    assert action.params[0].doc.brief == "egress port"
    assert p4info.tables[0].match_fields[0].doc.brief == "tag kind"
