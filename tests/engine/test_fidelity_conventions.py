"""JSON conventions of real p4c output (old and new) that BMv2 accepts, and BMv2 semantics
the engine must reproduce for them.  Fixtures are small hand-written programs shaped like
p4c's output (same keys and conventions); see docs/dev/engine-fidelity.md."""

from __future__ import annotations

from engine_helpers import tcp_packet
from engine_jsonkit import (
    ProgramBuilder,
    assign,
    eth_ipv4_program,
    ex,
    extract,
    fld,
    hdr,
    hexv,
    param,
    prim,
    state,
)
from scapy.layers.inet import IP
from scapy.layers.l2 import ARP, Ether

from p4sim.engine import ActionCall, Engine, Exact, MemberRef, Ternary

Json = dict


def _checksum_error_drops(b: ProgramBuilder) -> None:
    """Ingress: forward to port 2, or drop when standard_metadata.checksum_error is set."""
    b.action("to_port_2", [], [assign(fld("standard_metadata", "egress_spec"), hexv(2))])
    b.table("ingress", "MyIngress.fwd", [], ["to_port_2"], default="to_port_2")
    b.table("ingress", "MyIngress.drop_bad", [], ["drop"], default="drop")
    b.conditional("ingress", "node_1",
                  ex("==", fld("standard_metadata", "checksum_error"), hexv(1)),
                  "MyIngress.drop_bad", "MyIngress.fwd")
    b.pipeline("ingress")["init_table"] = "node_1"


def test_old_p4c_transitions_without_type_and_default_as_value() -> None:
    # p4c before JSON format 2.x wrote {"value": "default"} for the default case and left
    # "type" out of value transitions (BMv2 reads both as hexstr, "default" as default)
    b = eth_ipv4_program()
    start = b.json["parsers"][0]["parse_states"][0]
    start["transitions"] = [
        {"value": "0x0800", "mask": None, "next_state": "parse_ipv4"},
        {"value": "default", "mask": None, "next_state": None},
    ]
    b.table("ingress", "MyIngress.fwd", [("exact", ["ipv4", "$valid$"])], ["forward"])
    engine = Engine(b.json)
    engine.table_add("MyIngress.fwd", [Exact(1)], ActionCall("forward", (3,)))
    assert engine.process(1, tcp_packet()).packets[0][0] == 3
    arp = bytes(Ether() / ARP())
    assert engine.process(1, arp).packets == [(0, arp)]


def test_checksum_of_an_invalid_header_is_not_verified() -> None:
    # BMv2's Checksum::verify skips a checksum whose target header is invalid, even without
    # an if_cond (p4c only writes one for a non-constant condition)
    b = eth_ipv4_program()
    del b.json["checksums"][0]["if_cond"]
    _checksum_error_drops(b)
    engine = Engine(b.json)
    arp = bytes(Ether() / ARP())
    assert engine.process(1, arp).packets == [(2, arp)]
    good = tcp_packet()
    assert engine.process(1, good).packets[0][0] == 2
    bad = bytearray(good)
    bad[24] ^= 0xFF                      # IPv4 header checksum byte
    assert engine.process(1, bytes(bad)).packets == []


def test_legacy_ipv4_checksum_type_verifies_and_updates() -> None:
    # "type": "ipv4" (no calculation): BMv2's IPv4Checksum over the whole IPv4 header
    b = eth_ipv4_program()
    b.json["checksums"][0] = {"name": "ipv4_checksum", "id": 0, "type": "ipv4",
                              "target": ["ipv4", "hdrChecksum"]}
    b.json["calculations"] = []
    _checksum_error_drops(b)
    b.action("dec_ttl", [], [assign(fld("ipv4", "ttl"),
                                    ex("&", ex("+", fld("ipv4", "ttl"), hexv(0xFF)),
                                       hexv(0xFF)))])
    b.table("egress", "MyEgress.ttl", [], ["dec_ttl"], default="dec_ttl")
    engine = Engine(b.json)
    port, out = engine.process(1, tcp_packet(ttl=64)).packets[0]
    assert port == 2
    ip = Ether(out)[IP]
    assert ip.ttl == 63
    expected = ip.chksum
    del ip.chksum
    assert IP(bytes(ip)).chksum == expected
    bad = bytearray(tcp_packet())
    bad[25] ^= 0x01
    assert engine.process(1, bytes(bad)).packets == []


def _p4_14_redirect_program() -> Json:
    """The shape p4c gives a P4-14 program: old standard_metadata fields, intrinsic_metadata
    as a separate metadata header, a field list of standard_metadata and user metadata,
    and one "NoAction" copy per table (same name, different ids)."""
    b = ProgramBuilder()
    b.json["header_types"][1]["fields"] = [
        ["ingress_port", 9, False], ["egress_spec", 9, False], ["egress_port", 9, False],
        ["clone_spec", 32, False], ["instance_type", 32, False], ["drop", 1, False],
        ["recirculate_port", 16, False], ["packet_length", 32, False],
        ["checksum_error", 1, False], ["parser_error", 32, False], ["_padding", 3, False]]
    b.header_type("hdrA_t", [["f1", 8, False], ["f2", 8, False]])
    b.header("hdrA", "hdrA_t")
    b.header("hdrA2", "hdrA_t")
    b.metadata("intrinsic_metadata", [["mcast_grp", 4, False], ["egress_rid", 4, False],
                                      ["resubmit_flag", 16, False]])
    b.metadata("metaA", [["f1", 8, False], ["f2", 8, False]])
    b.json["field_lists"] = [{"id": 1, "name": "redirect_FL", "elements": [
        fld("standard_metadata", "ingress_port"), fld("standard_metadata", "packet_length"),
        fld("metaA", "f1"), fld("metaA", "f2")]}]
    b.parser([state("start", [extract("hdrA"), extract("hdrA2")], [],
                    [{"value": "default", "mask": None, "next_state": None}])])
    b.deparser(["hdrA", "hdrA2"])
    b.action("NoAction", [], [])
    b.action("_set_port", [("port", 9)], [
        assign(fld("standard_metadata", "egress_spec"), param(0)),
        assign(fld("metaA", "f1"), hexv(1)),
        prim("remove_header", hdr("hdrA2"))])
    b.action("_multicast", [("mgrp", 4)], [
        assign(fld("intrinsic_metadata", "mcast_grp"), param(0)),
        prim("remove_header", hdr("hdrA2"))])
    b.action("_resubmit", [], [prim("resubmit", hexv(1))])
    b.action("_drop", [], [prim("drop")])
    b.action("_clone_i2e", [("mirror_id", 32)],
             [prim("clone_ingress_pkt_to_egress", param(0), hexv(1))])
    b.action("set_hdr", [], [assign(fld("hdrA", "f2"),
                                    ex("&", fld("standard_metadata", "packet_length"),
                                       hexv(0xFF)))])
    json = b.json
    actions = json["actions"]
    noaction_ids = [a["id"] for a in actions if a["name"] == "NoAction"]
    b.table("ingress", "t_ingress_1", [("exact", ["hdrA", "f1"]), ("exact", ["metaA", "f1"])],
            ["_set_port", "_multicast"], next_tables={"_set_port": "t_ingress_2",
                                                      "_multicast": "t_ingress_2"},
            base_default_next="t_ingress_2")
    t2 = b.table("ingress", "t_ingress_2",
                 [("exact", ["hdrA", "f1"]), ("ternary", ["standard_metadata", "instance_type"])],
                 ["_resubmit", "_clone_i2e", "_drop"])
    t2["actions"].append("NoAction")
    t2["action_ids"].append(noaction_ids[1])
    t2["next_tables"]["NoAction"] = None
    t2["default_entry"]["action_id"] = noaction_ids[1]
    b.table("egress", "t_exit", [], ["set_hdr"], default="set_hdr")
    return json


def test_p4_14_program_redirects_as_bmv2_packet_redirect_test() -> None:
    # expectations of simple_switch's own test (test_packet_redirect.cpp): packet_length in
    # egress is the length after ingress removed a header (2), the ingress clone is the
    # packet as received (4), the resubmitted packet keeps the field list's metadata
    engine = Engine(_p4_14_redirect_program())
    engine.table_add("t_ingress_1", [Exact(1), Exact(0)], ActionCall("_set_port", (2,)))
    assert engine.process(1, b"\x01\x00\x00\x00").packets == [(2, b"\x01\x02")]

    engine.table_add("t_ingress_1", [Exact(2), Exact(0)], ActionCall("_multicast", (1,)))
    engine.mc_group_set(1, [(1, 0), (2, 0)])
    assert engine.process(1, b"\x02\x00\x00\x00").packets == [(1, b"\x02\x02"),
                                                               (2, b"\x02\x02")]

    engine.table_add("t_ingress_1", [Exact(3), Exact(0)], ActionCall("_set_port", (2,)))
    engine.table_add("t_ingress_2", [Exact(3), Ternary(0, 0)], ActionCall("_clone_i2e", (1,)),
                     priority=1)
    engine.clone_session_set(1, [(3, 0)])
    assert sorted(engine.process(1, b"\x03\x00\x00\x00").packets) == [
        (2, b"\x03\x02"), (3, b"\x03\x04\x00\x00")]

    engine.table_add("t_ingress_1", [Exact(5), Exact(0)], ActionCall("_set_port", (2,)))
    engine.table_add("t_ingress_1", [Exact(5), Exact(1)], ActionCall("_set_port", (3,)))
    engine.table_add("t_ingress_2", [Exact(5), Ternary(0, 0xFFFFFFFF)],
                     ActionCall("_resubmit", ()), priority=1)
    assert engine.process(1, b"\x05\x00\x00\x00").packets == [(3, b"\x05\x02")]


def test_drop_clears_the_multicast_group_of_a_p4_14_intrinsic_metadata_header() -> None:
    # simple_switch's drop/mark_to_drop zero intrinsic_metadata.mcast_grp: a packet that
    # was sent to a group and then dropped leaves nothing
    engine = Engine(_p4_14_redirect_program())
    engine.mc_group_set(1, [(1, 0), (2, 0)])
    engine.table_add("t_ingress_1", [Exact(2), Exact(0)], ActionCall("_multicast", (1,)))
    engine.table_add("t_ingress_2", [Exact(2), Ternary(0, 0)], ActionCall("_drop", ()),
                     priority=1)
    assert engine.process(1, b"\x02\x00\x00\x00").packets == []


def test_parser_error_values_come_from_the_json_errors_list() -> None:
    # p4c up to 2019 numbered the errors from 1 (NoError = 1); BMv2 writes the JSON's
    # value of NoError into standard_metadata.parser_error after a good parse
    b = eth_ipv4_program()
    b.json["errors"] = [["NoError", 1], ["PacketTooShort", 2], ["NoMatch", 3],
                        ["StackOutOfBounds", 4], ["HeaderTooShort", 5], ["ParserTimeout", 6]]
    b.action("port_from_error", [], [assign(fld("standard_metadata", "egress_spec"),
                                            fld("standard_metadata", "parser_error"))])
    b.table("ingress", "MyIngress.t", [], ["port_from_error"], default="port_from_error")
    engine = Engine(b.json)
    assert engine.process(9, tcp_packet()).packets[0][0] == 1
    truncated = tcp_packet()[:20]
    assert engine.process(9, truncated).packets[0][0] == 2


def test_action_profile_members_are_not_limited_by_the_json_max_size() -> None:
    # BMv2's ActionProfile::add_member takes a handle without any size check: the JSON
    # "max_size" of a profile (the selector's size argument) is not a member limit there
    b = eth_ipv4_program()
    table = b.table("ingress", "MyIngress.t", [("exact", ["ipv4", "protocol"])], ["forward"],
                    type="indirect", action_profile="MyIngress.prof")
    del table["default_entry"]
    b.pipeline("ingress")["action_profiles"].append(
        {"name": "MyIngress.prof", "id": 0, "max_size": 2})
    engine = Engine(b.json)
    for member in range(4):
        engine.act_prof_set_member("MyIngress.prof", member, ActionCall("forward", (member,)))
    engine.table_add("MyIngress.t", [Exact(6)], MemberRef(3))
    assert engine.process(1, tcp_packet()).packets[0][0] == 3
