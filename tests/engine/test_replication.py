"""Packet replication engine: multicast, I2E/E2E clones, resubmit, recirculate, digests."""

from __future__ import annotations

import pytest
from engine_helpers import udp_packet
from engine_jsonkit import assign, eth_ipv4_program, ex, fld, hexv, param, prim

from p4sim.engine import ActionCall, CloneSession, Engine, InvalidEntryError, NotFoundError
from p4sim.engine.engine import EGRESS_CLONE, INGRESS_CLONE, RECIRC, REPLICATION, RESUBMIT

SM = "standard_metadata"


def program_with_ingress(primitives: list[dict], egress: list[dict] | None = None,
                         field_lists: list[dict] | None = None) -> dict:
    """Ingress runs one action; egress records instance_type/egress_rid into the packet."""
    b = eth_ipv4_program()
    b.metadata("meta", [["tag", 8, False], ["rounds", 8, False]])
    b.action("ingress_act", [], primitives)
    b.table("ingress", "in_t", [], ["ingress_act"], default="ingress_act")
    record = [
        assign(fld("ipv4", "identification"), fld(SM, "egress_rid")),
        assign(fld("ipv4", "diffserv"), fld(SM, "instance_type")),
        assign(fld("ipv4", "ttl"), fld("meta", "tag")),
    ]
    b.action("egress_act", [], record + (egress or []))
    b.table("egress", "eg_t", [], ["egress_act"], default="egress_act")
    b.json["field_lists"] = field_lists or []
    return b.json


def decoded(packet: tuple[int, bytes]) -> tuple[int, int, int, int]:
    """(port, egress_rid, instance_type, meta.tag) as recorded by the egress action."""
    port, data = packet
    ip = data[14:34]
    return port, int.from_bytes(ip[4:6], "big"), ip[1], ip[8]


def test_multicast_replicates_with_rid_and_instance_type() -> None:
    engine = Engine(program_with_ingress([
        assign(fld(SM, "mcast_grp"), hexv(7)), assign(fld("meta", "tag"), hexv(9))]))
    assert engine.process(1, udp_packet()).packets == []  # group not configured
    engine.mc_group_set(7, [(2, 100), (3, 101), (2, 102)])
    out = [decoded(p) for p in engine.process(1, udp_packet()).packets]
    assert out == [(2, 100, REPLICATION, 9), (3, 101, REPLICATION, 9), (2, 102, REPLICATION, 9)]
    assert engine.mc_groups() == {7: [(2, 100), (3, 101), (2, 102)]}
    engine.mc_group_delete(7)
    with pytest.raises(NotFoundError):
        engine.mc_group_delete(7)
    with pytest.raises(InvalidEntryError):
        engine.mc_group_set(0, [])
    with pytest.raises(InvalidEntryError):
        engine.mc_group_set(1, [(512, 0)])


def test_mark_to_drop_clears_multicast() -> None:
    engine = Engine(program_with_ingress([
        assign(fld(SM, "mcast_grp"), hexv(7)), prim("mark_to_drop", {"type": "header",
                                                                     "value": SM})]))
    engine.mc_group_set(7, [(2, 1)])
    assert engine.process(1, udp_packet()).packets == []


def test_ingress_clone_carries_original_packet_and_field_list() -> None:
    field_lists = [{"id": 1, "name": "fl", "elements": [fld("meta", "tag")]}]
    engine = Engine(program_with_ingress([
        assign(fld("meta", "tag"), hexv(5)),
        assign(fld(SM, "egress_spec"), hexv(4)),
        assign(fld("ipv4", "protocol"), hexv(99)),
        prim("clone_ingress_pkt_to_egress", hexv(3), hexv(1)),
    ], field_lists=field_lists))
    engine.clone_session_set(3, [(6, 0)])
    # BMv2 enqueues the clone at the end of ingress, before the original
    packets = engine.process(1, udp_packet()).packets
    assert [decoded(p) for p in packets] == [(6, 0, INGRESS_CLONE, 5), (4, 0, 0, 5)]
    assert packets[0][1][14 + 9] == 17       # the clone is the packet as received
    assert packets[1][1][14 + 9] == 99       # the original was modified by ingress
    assert engine.clone_sessions() == {3: CloneSession(((6, 0),), 0, 0)}


def test_clone_without_session_is_ignored_and_truncation_applies() -> None:
    engine = Engine(program_with_ingress([
        assign(fld(SM, "egress_spec"), hexv(4)),
        prim("clone_ingress_pkt_to_egress", hexv(9), hexv(0))]))
    assert len(engine.process(1, udp_packet()).packets) == 1
    engine.clone_session_set(9, [(6, 0)], packet_length_bytes=20)
    packets = engine.process(1, udp_packet()).packets
    assert [p for p, _ in packets] == [6, 4] and len(packets[0][1]) == 20


def test_egress_clone_sees_egress_modifications() -> None:
    engine = Engine(program_with_ingress(
        [assign(fld(SM, "egress_spec"), hexv(4))],
        egress=[prim("_jump_if_zero",
                    ex("b2d", None, ex("==", fld(SM, "instance_type"), hexv(0))),
                    {"type": "hexstr", "value": "0x6"}),
                prim("clone_egress_pkt_to_egress", hexv(2), hexv(0)),
                assign(fld("ipv4", "protocol"), hexv(77))]))
    engine.clone_session_set(2, [(8, 0)])
    packets = engine.process(1, udp_packet()).packets
    assert [decoded(p)[:3] for p in packets] == [(4, 0, 0), (8, 0, EGRESS_CLONE)]
    assert packets[1][1][14 + 9] == 77


def test_resubmit_runs_ingress_again_with_preserved_fields() -> None:
    field_lists = [{"id": 1, "name": "keep", "elements": [fld("meta", "rounds")]}]
    b_prims = [
        assign(fld("meta", "rounds"), ex("&", ex("+", fld("meta", "rounds"), hexv(1)),
                                         hexv(0xFF))),
        assign(fld("meta", "tag"), fld("meta", "rounds")),
        assign(fld(SM, "egress_spec"), hexv(2)),
        prim("_jump_if_zero",
            ex("b2d", None, ex("<", fld("meta", "rounds"), hexv(3))), hexv(5)),
        prim("resubmit", hexv(1)),
    ]
    engine = Engine(program_with_ingress(b_prims, field_lists=field_lists))
    packets = engine.process(1, udp_packet()).packets
    assert [decoded(p) for p in packets] == [(2, 0, 0, 3)]


def test_recirculate_feeds_deparsed_packet_back() -> None:
    field_lists = [{"id": 1, "name": "keep", "elements": [fld("meta", "rounds")]}]
    engine = Engine(program_with_ingress(
        [assign(fld(SM, "egress_spec"), hexv(2)),
         assign(fld("meta", "tag"), fld(SM, "instance_type"))],
        # instance_type is NORMAL again in egress (BMv2 sets it when enqueuing), so the
        # program tells the passes apart by a field it preserves across recirculation
        egress=[prim("_jump_if_zero",
                    ex("b2d", None, ex("==", fld("meta", "rounds"), hexv(0))), hexv(6)),
                assign(fld("meta", "rounds"), hexv(1)),
                prim("recirculate", hexv(1))],
        field_lists=field_lists))
    packets = engine.process(1, udp_packet()).packets
    assert [decoded(p) for p in packets] == [(2, 0, 0, RECIRC)]


def test_endless_resubmission_is_cut_off() -> None:
    engine = Engine(program_with_ingress([prim("resubmit", hexv(1))],
                                         field_lists=[{"id": 1, "name": "e", "elements": []}]))
    assert engine.process(1, udp_packet()).packets == []
    assert RESUBMIT == 6


def test_digest_samples_fields_at_end_of_ingress() -> None:
    b = eth_ipv4_program()
    b.json["learn_lists"] = [{"id": 1, "name": "learn_t", "elements": [
        fld("ipv4", "srcAddr"), fld(SM, "ingress_port")]}]
    b.action("learn", [("port", 9)], [
        prim("generate_digest", hexv(1), hexv(1)),
        assign(fld(SM, "egress_spec"), param(0))])
    b.table("ingress", "t", [], ["learn"], default="learn", default_data=[3])
    engine = Engine(b.json)
    result = engine.process(5, udp_packet(src="10.0.0.9"))
    assert result.packets[0][0] == 3
    assert [(d.learn_list_id, d.name, d.values) for d in result.digests] == \
        [(1, "learn_t", (0x0A000009, 5))]
    assert engine.info.learn_lists["learn_t"].fields == (("ipv4.srcAddr", 32),
                                                        ("standard_metadata.ingress_port", 9))


def test_truncate_applies_to_the_packet_not_to_its_multicast_copies() -> None:
    # BMv2 keeps the truncated length in the Packet object (Packet::truncate); the PRE's
    # copies are new Packets (clone_with_phv) and leave at full length
    engine = Engine(program_with_ingress([
        assign(fld(SM, "mcast_grp"), hexv(3)), prim("truncate", hexv(30))]))
    engine.mc_group_set(3, [(1, 0), (2, 0)])
    data = udp_packet()
    assert [(port, len(out)) for port, out in engine.process(1, data).packets] == \
        [(1, len(data)), (2, len(data))]


def test_the_smallest_truncate_of_ingress_and_egress_wins() -> None:
    b = eth_ipv4_program()
    b.action("cut", [("length", 32)], [prim("truncate", param(0)),
                                       assign(fld(SM, "egress_spec"), hexv(2))])
    b.table("ingress", "t", [], ["cut"], default="cut", default_data=[30])
    b.action("cut_egress", [("length", 32)], [prim("truncate", param(0))])
    b.table("egress", "e", [], ["cut_egress"], default="cut_egress", default_data=[40])
    engine = Engine(b.json)
    data = udp_packet()
    assert engine.process(1, data).packets == [(2, data[:30])]
    engine.table_set_default("e", ActionCall("cut_egress", (20,)))
    assert engine.process(1, data).packets == [(2, data[:20])]


def test_replication_order_groups_by_instance_with_ports_ascending() -> None:
    engine = Engine(program_with_ingress([assign(fld(SM, "mcast_grp"), hexv(4))]))
    engine.mc_group_set(4, [(3, 7), (1, 7), (2, 5)])
    assert [decoded(p)[:2] for p in engine.process(1, udp_packet()).packets] == \
        [(1, 7), (3, 7), (2, 5)]
    assert engine.mc_groups() == {4: [(3, 7), (1, 7), (2, 5)]}
