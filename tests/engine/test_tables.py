"""Table semantics: match kinds, priorities, defaults, const entries and entry errors."""

from __future__ import annotations

from typing import Any

import pytest
from engine_helpers import FakeClock, tcp_packet, udp_packet
from engine_jsonkit import eth_ipv4_program, fld, hexv

from p4sim.engine import (
    DEFAULT_ENTRY,
    ActionCall,
    AlreadyExistsError,
    Engine,
    Exact,
    InvalidEntryError,
    Lpm,
    NotFoundError,
    Optional,
    Range,
    Ternary,
)

FWD = "forward"


def engine_with(key: list[tuple[str, Any]], **table_kw: Any) -> Engine:
    b = eth_ipv4_program()
    b.table("ingress", "t", key, [FWD, "drop", "NoAction"], default="drop", **table_kw)
    return Engine(b.json)


def out_port(engine: Engine, data: bytes) -> int | None:
    packets = engine.process(1, data).packets
    return packets[0][0] if packets else None


def test_exact_on_two_fields() -> None:
    engine = engine_with([("exact", ["ipv4", "dstAddr"]), ("exact", ["tcp", "dstPort"])])
    engine.table_add("t", [Exact(0x0A000105), Exact(80)], ActionCall(FWD, (4,)))
    assert out_port(engine, tcp_packet(dport=80)) == 4
    assert out_port(engine, tcp_packet(dport=81)) is None


def test_ternary_priority_lower_value_wins_and_ties_go_to_older_entry() -> None:
    engine = engine_with([("ternary", ["ipv4", "dstAddr"])])
    engine.table_add("t", [Ternary(0x0A000000, 0xFF000000)], ActionCall(FWD, (1,)), priority=20)
    engine.table_add("t", [Ternary(0x0A000100, 0xFFFFFF00)], ActionCall(FWD, (2,)), priority=10)
    assert out_port(engine, udp_packet(dst="10.0.1.1")) == 2
    assert out_port(engine, udp_packet(dst="10.9.9.9")) == 1
    engine.table_add("t", [Ternary(0x0A000101, 0xFFFFFFFF)], ActionCall(FWD, (3,)), priority=10)
    assert out_port(engine, udp_packet(dst="10.0.1.1")) == 2


def test_range_and_optional() -> None:
    engine = engine_with([("range", ["tcp", "dstPort"]), ("optional", ["ipv4", "srcAddr"])])
    engine.table_add("t", [Range(80, 90), Optional(None)], ActionCall(FWD, (5,)), priority=2)
    engine.table_add("t", [Range(85, 85), Optional(0x0A000001)], ActionCall(FWD, (6,)),
                     priority=1)
    assert out_port(engine, tcp_packet(dport=80)) == 5
    assert out_port(engine, tcp_packet(dport=85)) == 6
    assert out_port(engine, tcp_packet(dport=85, src="10.0.0.2")) == 5
    assert out_port(engine, tcp_packet(dport=91)) is None


def test_lpm_with_exact_field() -> None:
    engine = engine_with([("exact", ["ipv4", "protocol"]), ("lpm", ["ipv4", "dstAddr"])])
    engine.table_add("t", [Exact(17), Lpm(0x0A000000, 8)], ActionCall(FWD, (1,)))
    engine.table_add("t", [Exact(6), Lpm(0x0A000100, 24)], ActionCall(FWD, (2,)))
    engine.table_add("t", [Exact(6), Lpm(0, 0)], ActionCall(FWD, (3,)))
    assert out_port(engine, udp_packet(dst="10.0.1.1")) == 1
    assert out_port(engine, tcp_packet(dst="10.0.1.1")) == 2
    assert out_port(engine, tcp_packet(dst="11.0.1.1")) == 3


def test_valid_key_and_static_mask() -> None:
    b = eth_ipv4_program()
    t = b.table("ingress", "t", [("exact", "tcp"), ("exact", ["ipv4", "dstAddr"])],
                [FWD, "NoAction"])
    t["key"][0]["match_type"] = "valid"
    t["key"][1]["mask"] = "0xffffff00"
    engine = Engine(b.json)
    engine.table_add("t", [Exact(1), Exact(0x0A000100)], ActionCall(FWD, (9,)))
    assert out_port(engine, tcp_packet(dst="10.0.1.77")) == 9
    assert out_port(engine, udp_packet(dst="10.0.1.77")) == 0


def test_entry_errors() -> None:
    engine = engine_with([("ternary", ["ipv4", "dstAddr"])])
    with pytest.raises(InvalidEntryError, match="priority"):
        engine.table_add("t", [Ternary(1, 1)], ActionCall(FWD, (1,)))
    with pytest.raises(InvalidEntryError, match="does not fit"):
        engine.table_add("t", [Ternary(1 << 32, 1)], ActionCall(FWD, (1,)), priority=1)
    with pytest.raises(InvalidEntryError, match="expected 1 key fields"):
        engine.table_add("t", [], ActionCall(FWD, (1,)), priority=1)
    with pytest.raises(InvalidEntryError, match="ternary match expected"):
        engine.table_add("t", [Exact(1)], ActionCall(FWD, (1,)), priority=1)
    with pytest.raises(InvalidEntryError, match="not one of its actions"):
        engine.table_add("t", [Ternary(1, 1)], ActionCall("nope", ()), priority=1)
    with pytest.raises(InvalidEntryError, match="takes 1 parameters"):
        engine.table_add("t", [Ternary(1, 1)], ActionCall(FWD, ()), priority=1)
    with pytest.raises(InvalidEntryError, match="does not fit in 9 bits"):
        engine.table_add("t", [Ternary(1, 1)], ActionCall(FWD, (512,)), priority=1)
    handle = engine.table_add("t", [Ternary(1, 1)], ActionCall(FWD, (1,)), priority=1)
    with pytest.raises(AlreadyExistsError):
        engine.table_add("t", [Ternary(1, 1)], ActionCall(FWD, (2,)), priority=1)
    engine.table_add("t", [Ternary(1, 1)], ActionCall(FWD, (2,)), priority=2)
    with pytest.raises(NotFoundError):
        engine.table_delete("t", handle + 100)
    with pytest.raises(NotFoundError):
        engine.table_add("missing", [], ActionCall(FWD, (1,)))
    lpm_engine = engine_with([("lpm", ["ipv4", "dstAddr"])])
    with pytest.raises(InvalidEntryError, match="prefix length"):
        lpm_engine.table_add("t", [Lpm(0, 33)], ActionCall(FWD, (1,)))


def test_modify_clear_entries_and_handle_reuse() -> None:
    engine = engine_with([("exact", ["ipv4", "dstAddr"])])
    h1 = engine.table_add("t", [Exact(0x0A000105)], ActionCall(FWD, (1,)))
    h2 = engine.table_add("t", [Exact(0x0A000106)], ActionCall(FWD, (2,)))
    assert (h1, h2) == (0, 1)
    engine.table_modify("t", h1, ActionCall(FWD, (8,)))
    assert out_port(engine, udp_packet(dst="10.0.1.5")) == 8
    view = engine.table_get_entry("t", h1)
    assert view.key == (Exact(0x0A000105),) and view.action == ActionCall(FWD, (8,))
    assert [v.handle for v in engine.table_entries("t")] == [0, 1]
    engine.table_delete("t", h1)
    assert engine.table_add("t", [Exact(7)], ActionCall(FWD, (1,))) == 0
    engine.table_clear("t")
    assert engine.table_entries("t") == []


def test_default_action_set_reset_and_const() -> None:
    engine = engine_with([("exact", ["ipv4", "dstAddr"])])
    assert engine.table_get_default("t") == ActionCall("drop", ())
    engine.table_set_default("t", ActionCall(FWD, (12,)))
    assert out_port(engine, udp_packet()) == 12
    engine.table_reset_default("t")
    assert out_port(engine, udp_packet()) is None
    const = engine_with([("exact", ["ipv4", "dstAddr"])], default_const=True)
    with pytest.raises(InvalidEntryError, match="default entry is const"):
        const.table_set_default("t", ActionCall(FWD, (1,)))
    assert const.info.tables["t"].has_const_default


def test_const_default_action_accepts_new_data_for_the_same_action() -> None:
    b = eth_ipv4_program()
    table = b.table("ingress", "t", [("exact", ["ipv4", "dstAddr"])], [FWD, "drop"],
                    default=FWD, default_data=[1])
    table["default_entry"]["action_const"] = True
    engine = Engine(b.json)
    engine.table_set_default("t", ActionCall(FWD, (6,)))
    assert out_port(engine, udp_packet()) == 6
    with pytest.raises(InvalidEntryError, match="default action is const"):
        engine.table_set_default("t", ActionCall("drop", ()))


def test_const_entries_from_json_are_immutable() -> None:
    entries = [
        {"match_key": [{"match_type": "ternary", "key": "0x0a000105", "mask": "0xffffffff"}],
         "action_entry": {"action_id": 2, "action_data": ["0x3"]}, "priority": 1},
        {"match_key": [{"match_type": "ternary", "key": "0x0a000000", "mask": "0xff000000"}],
         "action_entry": {"action_id": 2, "action_data": ["0x4"]}, "priority": 2},
    ]
    b = eth_ipv4_program()
    b.table("ingress", "t", [("ternary", ["ipv4", "dstAddr"])], [FWD, "drop"],
            default="drop", entries=entries)
    assert b.action_id(FWD) == 2
    engine = Engine(b.json)
    assert out_port(engine, udp_packet(dst="10.0.1.5")) == 3
    assert out_port(engine, udp_packet(dst="10.7.7.7")) == 4
    assert engine.info.tables["t"].is_const
    views = engine.table_entries("t")
    assert all(v.is_const for v in views) and [v.priority for v in views] == [1, 2]
    with pytest.raises(InvalidEntryError, match="const"):
        engine.table_add("t", [Ternary(1, 1)], ActionCall(FWD, (1,)), priority=5)
    with pytest.raises(InvalidEntryError, match="const"):
        engine.table_delete("t", views[0].handle)


def test_hit_miss_next_tables_and_conditionals() -> None:
    b = eth_ipv4_program()
    b.action("mark", [("v", 16)], [{"op": "assign", "parameters": [
        fld("tcp", "window"), {"type": "runtime_data", "value": 0}]}])
    b.table("ingress", "first", [("exact", ["tcp", "dstPort"])], ["NoAction"],
            next_tables={"__HIT__": "second", "__MISS__": None})
    b.table("ingress", "second", [], ["mark"], default="mark", default_data=[0x77],
            next_tables={"mark": "cond"})
    b.conditional("ingress", "cond",
                  {"type": "expression", "value": {
                      "op": "==", "left": fld("tcp", "window"), "right": hexv(0x77)}},
                  "third", None)
    b.table("ingress", "third", [], [FWD], default=FWD, default_data=[5])
    engine = Engine(b.json)
    engine.table_add("first", [Exact(80)], ActionCall("NoAction", ()))
    port, data = engine.process(1, tcp_packet(dport=80)).packets[0]
    assert port == 5 and data[14 + 20 + 14:14 + 20 + 16] == b"\x00\x77"
    assert engine.process(1, tcp_packet(dport=81)).packets[0][0] == 0


def test_idle_timeout_reports_once_and_rearms_on_hit() -> None:
    clock = FakeClock()
    b = eth_ipv4_program()
    b.table("ingress", "t", [("exact", ["ipv4", "dstAddr"])], [FWD], support_timeout=True)
    engine = Engine(b.json, clock_ns=clock)
    handle = engine.table_add("t", [Exact(0x0A000105)], ActionCall(FWD, (1,)), timeout_ms=100)
    clock.advance_ms(50)
    assert engine.expired_entries() == []
    engine.process(1, udp_packet(dst="10.0.1.5"))
    clock.advance_ms(99)
    assert engine.expired_entries() == []
    assert engine.table_get_entry("t", handle).time_since_hit_ns == 99_000_000
    clock.advance_ms(1)
    assert engine.expired_entries() == [("t", handle)]
    assert engine.expired_entries() == []
    engine.process(1, udp_packet(dst="10.0.1.5"))
    clock.advance_ms(100)
    assert engine.expired_entries() == [("t", handle)]
    with pytest.raises(InvalidEntryError):
        engine_with([("exact", ["ipv4", "dstAddr"])]).table_add(
            "t", [Exact(1)], ActionCall(FWD, (1,)), timeout_ms=5)


def test_direct_counter_counts_hits_with_ingress_length() -> None:
    b = eth_ipv4_program()
    b.table("ingress", "t", [("exact", ["ipv4", "dstAddr"])], [FWD], with_counters=True)
    b.json["counter_arrays"].append({"name": "t_counter", "id": 0, "is_direct": True,
                                     "binding": "t", "size": 1024})
    engine = Engine(b.json)
    handle = engine.table_add("t", [Exact(0x0A000105)], ActionCall(FWD, (1,)))
    data = udp_packet(dst="10.0.1.5")
    engine.process(1, data)
    engine.process(1, data)
    engine.process(1, udp_packet(dst="10.0.1.6"))
    assert engine.direct_counter_read("t", handle) == (2 * len(data), 2)
    assert engine.direct_counter_read("t", DEFAULT_ENTRY) == (0, 0)
    engine.direct_counter_write("t", handle, 0, 0)
    assert engine.direct_counter_read("t", handle) == (0, 0)
    assert engine.info.tables["t"].direct_counter == "t_counter"
