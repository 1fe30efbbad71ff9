"""Focused checks of the BMv2 JSON for each corpus feature (p4c's encoding)."""

from __future__ import annotations

import json

import pytest
from compiler_corpus import CORPUS, action, compiled, table

ALL_PROGRAMS = sorted(p.stem for p in CORPUS.glob("*.p4") if p.stem != "common_headers")


@pytest.mark.parametrize("name", ALL_PROGRAMS)
def test_every_program_has_p4c_top_level_layout(name: str) -> None:
    program = compiled(name)
    document = program.bmv2_json
    assert list(document)[:3] == ["header_types", "headers", "header_stacks"]
    assert list(document)[-2:] == ["program", "__meta__"]
    assert document["header_types"][0]["name"] == "scalars_0"
    assert document["headers"][0] == {"name": "scalars", "id": 0, "header_type": "scalars_0",
                                      "metadata": True, "pi_omit": True}
    assert document["headers"][1]["name"] == "standard_metadata"
    assert [p["name"] for p in document["pipelines"]] == ["ingress", "egress"]
    assert json.loads(program.json_text()) == document
    scalar_bits = sum(f[1] for f in document["header_types"][0]["fields"])
    assert scalar_bits % 8 == 0


def test_basic_forwarding_encoding() -> None:
    program = compiled("basic_ipv4")
    document = program.bmv2_json
    assert document["errors"][0] == ["NoError", 0]
    assert document["enums"] == []
    # p4c collapses start -> parse_ethernet (its only predecessor) into "start"
    parse_ethernet, parse_ipv4 = document["parsers"][0]["parse_states"]
    assert parse_ethernet["name"] == "start"
    assert parse_ethernet["parser_ops"] == [
        {"parameters": [{"type": "regular", "value": "ethernet"}], "op": "extract"}]
    assert parse_ethernet["transition_key"] == [{"type": "field",
                                                 "value": ["ethernet", "etherType"]}]
    assert parse_ethernet["transitions"][0] == {"type": "hexstr", "value": "0x0800",
                                                "mask": None, "next_state": "parse_ipv4"}
    assert parse_ipv4["transitions"] == [{"type": "default", "value": None, "mask": None,
                                          "next_state": None}]
    lpm = table(program, "MyIngress.ipv4_lpm")
    assert lpm["key"] == [{"match_type": "lpm", "name": "hdr.ipv4.dstAddr",
                           "target": ["ipv4", "dstAddr"], "mask": None}]
    assert lpm["actions"] == ["MyIngress.ipv4_forward", "MyIngress.drop", "NoAction"]
    assert lpm["default_entry"]["action_id"] == action(program, "MyIngress.drop")["id"]
    ingress = document["pipelines"][0]
    assert ingress["init_table"] == "node_2"
    condition = ingress["conditionals"][0]
    assert condition["expression"] == {"type": "expression", "value": {
        "op": "d2b", "left": None,
        "right": {"type": "field", "value": ["ipv4", "$valid$"]}}}
    assert condition["true_next"] == "MyIngress.ipv4_lpm" and condition["false_next"] is None
    forward = action(program, "MyIngress.ipv4_forward")
    assert forward["runtime_data"] == [{"name": "dstAddr", "bitwidth": 48},
                                       {"name": "port", "bitwidth": 9}]
    # expression parameters are doubly wrapped, as JSON_format.md and p4c write them
    ttl_parameter = forward["primitives"][3]["parameters"][1]
    assert ttl_parameter["type"] == "expression"
    assert ttl_parameter["value"]["type"] == "expression"
    ttl = ttl_parameter["value"]["value"]
    assert ttl["op"] == "&" and ttl["right"] == {"type": "hexstr", "value": "0xff"}
    checksum = document["checksums"][0]
    assert checksum["target"] == ["ipv4", "hdrChecksum"] and checksum["update"] is True
    calculation = document["calculations"][0]
    assert calculation["name"] == checksum["calculation"] and calculation["algo"] == "csum16"
    assert len(calculation["input"]) == 11
    assert document["deparsers"][0]["order"] == ["ethernet", "ipv4"]
    assert ["intrinsic_metadata.mcast_grp", ["standard_metadata", "mcast_grp"]] in \
        document["field_aliases"]


def test_stateful_externs() -> None:
    program = compiled("externs_stateful")
    document = program.bmv2_json
    counters = {c["name"]: c for c in document["counter_arrays"]}
    assert counters["MyIngress.flow_counter"]["size"] == 1024
    assert counters["MyIngress.flow_counter"]["is_direct"] is False
    assert counters["MyIngress.port_counter"]["binding"] == "MyIngress.port_table"
    meters = {m["name"]: m for m in document["meter_arrays"]}
    assert meters["MyIngress.flow_meter"]["type"] == "bytes"
    assert meters["MyIngress.port_meter"]["result_target"] == ["scalars",
                                                               "metadata.direct_color"]
    assert document["register_arrays"][0]["bitwidth"] == 32
    port_table = table(program, "MyIngress.port_table")
    assert port_table["with_counters"] is True
    assert port_table["direct_meters"] == "MyIngress.port_meter"
    ops = [p["op"] for a in document["actions"] for p in a["primitives"]]
    for expected in ("modify_field_with_hash_based_offset", "count", "execute_meter",
                     "register_read", "register_write"):
        assert expected in ops
    assert document["calculations"][0]["algo"] == "crc32"


def test_action_selector() -> None:
    program = compiled("ecmp_selector")
    ecmp = table(program, "MyIngress.ecmp")
    assert ecmp["type"] == "indirect_ws"
    assert ecmp["action_profile"] == "MyIngress.ecmp_selector"
    assert [k["target"] for k in ecmp["key"]] == [["ipv4", "dstAddr"]]
    profile = program.bmv2_json["pipelines"][0]["action_profiles"][0]
    assert profile["max_size"] == 128
    assert profile["selector"]["algo"] == "crc16"
    assert profile["selector"]["input"][0] == {"type": "field", "value": ["ipv4", "srcAddr"]}
    assert len(profile["selector"]["input"]) == 4


def test_const_entries_and_switch() -> None:
    program = compiled("acl_const_entries")
    acl = table(program, "MyIngress.acl_table")
    assert acl["match_type"] == "range"
    assert [k["match_type"] for k in acl["key"]] == ["ternary", "ternary", "range", "ternary"]
    assert acl["key"][1]["name"] == "dst"
    first = acl["entries"][0]
    assert first["priority"] == 1
    assert first["match_key"][0] == {"match_type": "ternary", "key": "0x0a000000",
                                     "mask": "0xff000000"}
    assert first["match_key"][2] == {"match_type": "range", "start": "0x0000",
                                     "end": "0x03ff"}
    assert first["action_entry"]["action_data"] == ["0x1"]
    assert [e["priority"] for e in acl["entries"]] == [1, 2, 3]
    assert acl["default_entry"]["action_const"] is True
    assert acl["next_tables"] == {"MyIngress.permit": "MyIngress.static_routes",
                                  "MyIngress.deny": None}
    routes = table(program, "MyIngress.static_routes")
    assert routes["entries"][0]["match_key"] == [{"match_type": "lpm", "key": "0x0a000000",
                                                  "prefix_length": 8}]


def test_digest_clone_and_packet_io() -> None:
    program = compiled("mac_learning")
    document = program.bmv2_json
    learn = document["learn_lists"][0]
    assert learn["id"] == 1 and learn["name"] == "learn_digest_t"
    # list data is copied at the call into the temporaries the learn list reads
    copies = action(program, "MyIngress.learn")["primitives"]
    assert [p["op"] for p in copies] == ["assign", "assign", "generate_digest"]
    assert [p["parameters"][0] for p in copies[:2]] == learn["elements"]
    assert [p["parameters"][1] for p in copies[:2]] == [
        {"type": "field", "value": ["ethernet", "srcAddr"]},
        {"type": "field", "value": ["standard_metadata", "ingress_port"]}]
    assert document["field_lists"] == [{"id": 1, "name": "field_list1", "elements": [
        {"type": "field", "value": ["scalars", "metadata.original_port"]}]}]
    dmac = table(program, "MyIngress.dmac")
    assert set(dmac["next_tables"]) == {"__HIT__", "__MISS__"}
    assert table(program, "MyIngress.smac")["support_timeout"] is True
    clone_ops = [p for a in document["actions"] for p in a["primitives"]
                 if p["op"] == "clone_ingress_pkt_to_egress"]
    assert clone_ops[0]["parameters"] == [{"type": "hexstr", "value": "0x00000064"},
                                          {"type": "hexstr", "value": "0x00000001"}]
    exit_ops = [p for a in document["actions"] for p in a["primitives"] if p["op"] == "exit"]
    assert exit_ops


def test_header_operations_and_stacks() -> None:
    program = compiled("tunnel_encap")
    document = program.bmv2_json
    assert document["header_stacks"] == [{"name": "mpls", "id": 0, "header_type": "mpls_t",
                                          "size": 2, "header_ids": [3, 4]}]
    states = {s["name"]: s for s in document["parsers"][0]["parse_states"]}
    assert states["parse_mpls"]["parser_ops"][0]["parameters"] == [{"type": "stack",
                                                                   "value": "mpls"}]
    assert states["parse_mpls"]["transition_key"] == [{"type": "stack_field",
                                                       "value": ["mpls", "bos"]}]
    tunnel = table(program, "MyIngress.tunnel")
    assert tunnel["key"][1]["target"] == ["inner", "$valid$"]
    encap_ops = [p["op"] for p in action(program, "MyIngress.encap")["primitives"]]
    assert encap_ops[:2] == ["assign_header", "add_header"]
    push_ops = [p["op"] for p in action(program, "MyIngress.push_label")["primitives"]]
    assert push_ops[0] == "push"
    assert document["deparsers"][0]["order"] == ["ethernet", "mpls[0]", "mpls[1]", "outer",
                                                 "inner"]


def test_checksum_with_payload_and_verify() -> None:
    program = compiled("udp_checksum")
    document = program.bmv2_json
    verify, update = document["checksums"]
    assert verify["verify"] is True and verify["update"] is False
    assert update["verify"] is False and update["update"] is True
    calc = next(c for c in document["calculations"] if c["name"] == update["calculation"])
    assert calc["input"][-1] == {"type": "payload", "value": None}
    assert calc["input"][2] == {"type": "hexstr", "value": "0x00", "bitwidth": 8}
    ops = document["parsers"][0]["parse_states"][1]["parser_ops"]
    assert ops[1]["op"] == "verify"
    assert ops[1]["parameters"][1] == {"type": "hexstr", "value": "0x00000004"}


def test_inlining_and_control_flow() -> None:
    program = compiled("inlining")
    document = program.bmv2_json
    names = [t["name"] for t in document["pipelines"][0]["tables"]]
    assert "MyIngress.by_src.seen" in names and "MyIngress.by_dst.seen" in names
    assert table(program, "MyIngress.by_src.seen")["key"][0]["target"] == ["ipv4", "srcAddr"]
    assert table(program, "MyIngress.by_dst.seen")["key"][0]["target"] == ["ipv4", "dstAddr"]
    assert document["enums"] == [{"name": "Verdict", "entries": [["PASS", 0], ["DROP", 1]]}]
    assert document["parse_vsets"] == [{"name": "MyParser.ipv4_types", "id": 0,
                                        "compressed_bitwidth": 16, "max_size": 4}]
    start = document["parsers"][0]["parse_states"][0]
    assert start["transitions"][0]["type"] == "parse_vset"
    # the lookahead is read whole into a temporary, then sliced
    peek, sliced = start["parser_ops"][:2]
    assert peek["op"] == "set" and peek["parameters"][1] == {"type": "lookahead",
                                                             "value": [0, 112]}
    assert sliced["parameters"][1]["value"]["value"]["left"] == peek["parameters"][0]
    route_ops = [p["op"] for p in action(program, "MyIngress.route")["primitives"]]
    assert route_ops[0] == "assign" and "_jump_if_zero" in route_ops
    # `return` in the apply block: the drop branch ends the pipeline.
    ingress = document["pipelines"][0]
    # p4c numbers CFG nodes in preorder: entry 0, exit 1, the local's initialization 2
    first = next(c for c in ingress["conditionals"] if c["name"] == "node_3")
    drop_table = table(program, first["true_next"])
    assert drop_table["base_default_next"] is None


def test_sliced_keys_use_temporaries_and_masked_keys_a_mask() -> None:
    program = compiled("expressions")
    by_prefix = table(program, "MyIngress.by_prefix")
    first, second = by_prefix["key"]
    # p4c's key simplification copies a slice into a temporary as wide as the slice
    assert first["name"] == "first_octet" and first["target"][0] == "scalars"
    assert first["mask"] is None
    widths = {f[0]: f[1] for f in program.bmv2_json["header_types"][0]["fields"]}
    assert widths[first["target"][1]] == 8
    assert second == {"match_type": "ternary", "name": "hdr.ipv4.srcAddr & 0xffff0000",
                      "target": ["ipv4", "srcAddr"], "mask": "0xffff0000"}
    setup = next(t for t in program.bmv2_json["pipelines"][0]["tables"]
                 if t["base_default_next"] == "MyIngress.by_prefix")
    primitive = action(program, setup["actions"][0])["primitives"][0]
    assert primitive["parameters"][0] == {"type": "field", "value": first["target"]}
    assert [f.bitwidth for f in program.p4info.tables[0].match_fields] == [8, 32]


def test_header_unions_errors_and_switch_fall_through() -> None:
    program = compiled("names_and_types")
    document = program.bmv2_json
    assert document["header_union_types"] == [
        {"name": "either_t", "id": 0, "headers": [["small", "small_t"], ["wide", "wide_t"]]}]
    assert document["header_unions"][0]["name"] == "either"
    assert [h["name"] for h in document["headers"]][2:] == ["eth", "either.small",
                                                            "either.wide"]
    union_test = [c for c in document["pipelines"][0]["conditionals"]
                  if c["expression"]["value"]["op"] == "valid_union"]
    assert union_test[0]["expression"]["value"]["right"] == {"type": "header_union",
                                                             "value": "either"}
    classifier = table(program, "MyIngress.classifier")
    targets = classifier["next_tables"]
    assert targets["MyIngress.to_port"] == targets["MyIngress.keep"] != targets["shared_drop"]
    drop_ops = [p["op"] for p in action(program, "shared_drop")["primitives"]]
    assert drop_ops[:2] == ["mark_to_drop", "exit"]


def test_hit_miss_tables_have_no_base_default_next_and_profiles_no_default_entry() -> None:
    dmac = table(compiled("mac_learning"), "MyIngress.dmac")
    assert set(dmac["next_tables"]) == {"__HIT__", "__MISS__"}
    assert dmac["base_default_next"] is None
    ecmp = table(compiled("ecmp_selector"), "MyIngress.ecmp")
    assert "default_entry" not in ecmp


def test_tables_never_applied_are_removed_with_their_actions() -> None:
    from p4sim.compiler import compile_source
    source = (CORPUS / "basic_ipv4.p4").read_text().replace(
        "    apply {\n        if (hdr.ipv4.isValid()) {\n            ipv4_lpm.apply();\n        }\n"
        "    }", "    apply { }")
    program = compile_source(source, str(CORPUS / "unused.p4"))
    assert program.bmv2_json["pipelines"][0]["tables"] == []
    assert len(program.p4info.tables) == 0 and len(program.p4info.actions) == 0


def test_select_ranges_become_masked_transitions() -> None:
    from p4sim.compiler import compile_source
    source = (CORPUS / "acl_const_entries.p4").read_text().replace(
        "            17: parse_udp;", "            17: parse_udp;\n            1 .. 5: accept;")
    program = compile_source(source, str(CORPUS / "ranges.p4"))
    states = {s["name"]: s for s in program.bmv2_json["parsers"][0]["parse_states"]}
    masked = [t for t in states["parse_ipv4"]["transitions"] if t["mask"] is not None]
    assert [(t["value"], t["mask"]) for t in masked] == [("0x01", "0xff"), ("0x02", "0xfe"),
                                                         ("0x04", "0xfe")]


def test_parser_states_split_and_inlined() -> None:
    program = compiled("parser_features")
    states = {s["name"]: s for s in program.bmv2_json["parsers"][0]["parse_states"]}
    assert states["start"]["transitions"][0]["next_state"] == "start_true"
    assert states["tagged"]["transitions"] == [{"type": "default", "value": None, "mask": None,
                                                "next_state": "tags_start"}]
    assert states["tags_small"]["transitions"][0]["next_state"] == "tagged_after"
    extract = states["options"]["parser_ops"][1]
    assert extract["op"] == "extract_VL"
    opts = next(h for h in program.bmv2_json["header_types"] if h["name"] == "opts_t")
    assert opts["fields"][1] == ["data", "*"] and opts["max_length"] == 9


def test_top_level_extern_instances_have_unprefixed_names() -> None:
    from p4sim.compiler import compile_source
    source = (CORPUS / "basic_ipv4.p4").read_text()
    source = source.replace("control MyIngress(", "counter(64, CounterType.packets) hits;\n"
                            "control MyIngress(", 1)
    source = source.replace("        if (hdr.ipv4.isValid()) {",
                            "        hits.count(0);\n        if (hdr.ipv4.isValid()) {", 1)
    program = compile_source(source, str(CORPUS / "global.p4"))
    assert program.bmv2_json["counter_arrays"][0]["name"] == "hits"
    assert [c.preamble.name for c in program.p4info.counters] == ["hits"]


def test_digest_of_a_struct_expression_follows_the_struct_field_order() -> None:
    from p4sim.compiler import compile_source
    source = (CORPUS / "mac_learning.p4").read_text().replace(
        "digest<learn_digest_t>(1, { hdr.ethernet.srcAddr, standard_metadata.ingress_port });",
        "digest(1, (learn_digest_t){ ingress_port = standard_metadata.ingress_port, "
        "src_mac = hdr.ethernet.srcAddr });")
    program = compile_source(source, str(CORPUS / "digest_struct.p4"))
    copies = action(program, "MyIngress.learn")["primitives"][:2]
    assert [p["parameters"][1] for p in copies] == [
        {"type": "field", "value": ["ethernet", "srcAddr"]},
        {"type": "field", "value": ["standard_metadata", "ingress_port"]}]


def test_direct_control_invocation_instantiates_in_place() -> None:
    from p4sim.compiler import compile_source
    source = (CORPUS / "inlining.p4").read_text().replace(
        "        by_dst.apply(meta, hdr.ipv4.dstAddr);",
        "        by_dst.apply(meta, hdr.ipv4.dstAddr);\n"
        "        Counting.apply(meta, hdr.ipv4.ttl ++ hdr.ipv4.ttl ++ 16w0);")
    program = compile_source(source, str(CORPUS / "direct_invocation.p4"))
    names = [t.preamble.name for t in program.p4info.tables]
    # p4c's DirectCalls names the instance after the type (@name("Counting"))
    assert "MyIngress.Counting.seen" in names
