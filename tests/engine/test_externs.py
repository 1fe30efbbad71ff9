"""Counters, meters, registers, hash calculations and action selectors."""

from __future__ import annotations

import zlib

import pytest
from engine_helpers import FakeClock, tcp_packet, udp_packet
from engine_jsonkit import assign, eth_ipv4_program, ex, fld, hexv, param, prim

from p4sim.engine import (
    ActionCall,
    ConfigError,
    Engine,
    Exact,
    GroupRef,
    InvalidEntryError,
    MemberRef,
    NotFoundError,
)
from p4sim.engine.hashing import HashFn, make_hash

SM = "standard_metadata"


def algo(name: str) -> HashFn:
    fn = make_hash(name)
    assert fn is not None
    return fn


def test_hash_algorithms_match_reference_check_values() -> None:
    check = b"123456789"
    assert algo("crc32")(check) == zlib.crc32(check) == 0xCBF43926
    assert algo("crc16")(check) == 0xBB3D         # CRC-16/ARC
    assert algo("crc16_custom")(check) == 0xBB3D
    assert algo("crcCCITT")(check) == 0x29B1      # CRC-16/CCITT-FALSE
    assert algo("csum16")(bytes.fromhex("4500003c1c46400040060000ac100a63ac100a0c")) == 0xB1E6
    assert algo("identity")(b"\x01\x02\x03") == 0x010203
    assert algo("xor16")(b"\x12\x34\x56\x78\x9a") == 0x1234 ^ 0x5678 ^ 0x9A00
    assert make_hash("no_such_algo") is None


def test_meter_two_rate_three_colour_with_fake_clock() -> None:
    clock = FakeClock()
    b = eth_ipv4_program()
    b.json["meter_arrays"].append({"name": "m", "id": 0, "is_direct": False, "size": 4,
                                   "rate_count": 2, "type": "packets"})
    b.action("meter_it", [], [
        prim("execute_meter", {"type": "meter_array", "value": "m"}, hexv(1),
             fld("ipv4", "diffserv"))])
    b.table("ingress", "t", [], ["meter_it"], default="meter_it")
    engine = Engine(b.json, clock_ns=clock)

    def colour() -> int:
        return engine.process(1, udp_packet()).packets[0][1][15]

    assert colour() == 0 and engine.meter_get("m", 1) is None   # unconfigured: green
    engine.meter_set("m", 1, [(1.0, 2), (2.0, 3)])
    assert engine.meter_get("m", 1) == [(1.0, 2), (2.0, 3)]
    assert [colour() for _ in range(4)] == [0, 0, 1, 2]
    clock.advance_ms(1000)
    assert colour() == 0
    with pytest.raises(InvalidEntryError):
        engine.meter_set("m", 1, [(2.0, 1), (1.0, 1)])
    with pytest.raises(NotFoundError):
        engine.meter_set("m", 4, None)


def test_registers_and_indirect_counters() -> None:
    b = eth_ipv4_program()
    b.json["register_arrays"].append({"name": "r", "id": 0, "size": 8, "bitwidth": 16})
    b.json["counter_arrays"].append({"name": "c", "id": 0, "is_direct": False, "size": 8})
    b.metadata("meta", [["v", 16, False]])
    reg = {"type": "register_array", "value": "r"}
    b.action("bump", [("idx", 3)], [
        prim("register_read", fld("meta", "v"), reg, param(0)),
        prim("register_write", reg, param(0),
             ex("&", ex("+", fld("meta", "v"), hexv(1)), hexv(0xFFFF))),
        prim("count", {"type": "counter_array", "value": "c"}, param(0)),
        assign(fld("ipv4", "identification"), fld("meta", "v")),
    ])
    b.table("ingress", "t", [], ["bump"], default="bump", default_data=[5])
    engine = Engine(b.json)
    engine.register_write("r", 5, 0xFFFF)
    data = udp_packet()
    out = engine.process(1, data).packets[0][1]
    assert out[18:20] == b"\xff\xff"
    assert engine.register_read("r", 5) == 0
    engine.process(1, data)
    assert engine.register_read("r", 5) == 1
    assert engine.counter_read("c", 5) == (2 * len(data), 2)
    engine.counter_write("c", 5, 1, 1)
    assert engine.counter_read("c", 5) == (1, 1)
    with pytest.raises(NotFoundError):
        engine.register_read("r", 8)
    with pytest.raises(InvalidEntryError):
        engine.register_write("r", 0, 1 << 16)
    with pytest.raises(NotFoundError):
        engine.counter_read("nope", 0)


def test_hash_primitive_base_plus_modulo() -> None:
    b = eth_ipv4_program()
    b.calculation("h", "identity", [fld("ipv4", "dstAddr")])
    b.action("hash_it", [], [
        prim("modify_field_with_hash_based_offset", fld("ipv4", "identification"), hexv(100),
             {"type": "calculation", "value": "h"}, hexv(16))])
    b.table("ingress", "t", [], ["hash_it"], default="hash_it")
    engine = Engine(b.json)
    out = engine.process(1, udp_packet(dst="10.0.1.23")).packets[0][1]
    assert int.from_bytes(out[18:20], "big") == 100 + (0x0A000117 % 16)


def selector_program(algo: str) -> dict:
    b = eth_ipv4_program()
    table = b.table("ingress", "t", [("exact", ["ipv4", "protocol"])], ["forward", "drop"],
                    type="indirect_ws", action_profile="sel")
    del table["default_entry"]      # BMv2 allows none on tables with an action profile
    b.pipeline("ingress")["action_profiles"].append({
        "name": "sel", "id": 0, "max_size": 64,
        "selector": {"algo": algo, "input": [fld("ipv4", "srcAddr")]}})
    return b.json


def test_action_selector_picks_member_by_hash_modulo_group_size() -> None:
    engine = Engine(selector_program("identity"))
    for member, port in ((10, 1), (11, 2), (12, 3)):
        engine.act_prof_set_member("sel", member, ActionCall("forward", (port,)))
    engine.act_prof_set_group("sel", 1, [(12, 1), (10, 1), (11, 1)])
    engine.table_add("t", [Exact(17)], GroupRef(1))
    ports = [engine.process(1, udp_packet(src=f"10.0.0.{i}")).packets[0][0] for i in range(6)]
    # members in handle (creation) order: 10 -> port 1, 11 -> 2, 12 -> 3
    assert ports == [(0x0A000000 + i) % 3 + 1 for i in range(6)]
    # weight 2, as PI does it: a second target member (handle 3) with member 10's action
    engine.act_prof_set_group("sel", 1, [(10, 2), (11, 1)])
    assert [engine.process(1, udp_packet(src=f"10.0.0.{i}")).packets[0][0]
            for i in range(3)] == [[1, 2, 1][(0x0A000000 + i) % 3] for i in range(3)]
    with pytest.raises(InvalidEntryError):
        engine.act_prof_delete_member("sel", 10)
    engine.table_modify("t", engine.table_entries("t")[0].handle, MemberRef(12))
    assert engine.process(1, udp_packet()).packets[0][0] == 3
    engine.act_prof_delete_group("sel", 1)
    with pytest.raises(InvalidEntryError):
        engine.table_add("t", [Exact(6)], ActionCall("forward", (1,)))
    with pytest.raises(NotFoundError):
        engine.table_add("t", [Exact(6)], GroupRef(1))
    assert engine.act_prof_members("sel")[12] == ActionCall("forward", (3,))
    assert engine.info.action_profiles["sel"].has_selector
    assert engine.process(1, tcp_packet()).packets[0][0] == 0   # miss: no action at all


def test_default_entry_on_an_action_profile_table_is_rejected_like_bmv2() -> None:
    cfg = selector_program("crc16")
    cfg["pipelines"][0]["tables"][0]["default_entry"] = {"action_id": 0, "action_data": []}
    with pytest.raises(ConfigError, match="cannot specify a 'default_entry'"):
        Engine(cfg)


def test_action_selector_with_crc16_spreads_flows() -> None:
    engine = Engine(selector_program("crc16"))
    for member in range(4):
        engine.act_prof_set_member("sel", member, ActionCall("forward", (member,)))
    engine.act_prof_set_group("sel", 7, [(m, 1) for m in range(4)])
    engine.table_add("t", [Exact(17)], GroupRef(7))
    crc16 = algo("crc16")
    for i in range(8):
        src = bytes([10, 0, 0, i])
        port = engine.process(1, udp_packet(src=f"10.0.0.{i}")).packets[0][0]
        assert port == crc16(src) % 4


def test_out_of_range_register_read_and_meter_leave_destination_alone() -> None:
    b = eth_ipv4_program()
    b.json["register_arrays"].append({"name": "r", "id": 0, "size": 2, "bitwidth": 8})
    b.json["meter_arrays"].append({"name": "m", "id": 0, "is_direct": False, "size": 2,
                                   "rate_count": 2, "type": "bytes"})
    b.action("oob", [], [
        prim("register_read", fld("ipv4", "ttl"), {"type": "register_array", "value": "r"},
             hexv(7)),
        prim("execute_meter", {"type": "meter_array", "value": "m"}, hexv(9),
             fld("ipv4", "diffserv")),
        prim("modify_field_rng_uniform", fld("ipv4", "identification"), hexv(5), hexv(5))])
    b.table("ingress", "t", [], ["oob"], default="oob")
    engine = Engine(b.json)
    out = engine.process(1, udp_packet()).packets[0][1]
    assert out[22] == 64 and out[15] == 0 and out[18:20] == b"\x00\x05"


def test_log_msg_formats_values(caplog: pytest.LogCaptureFixture) -> None:
    b = eth_ipv4_program()
    b.action("log", [], [prim("log_msg", {"type": "string", "value": "ttl={} proto={}"},
                              {"type": "parameters_vector",
                               "value": [fld("ipv4", "ttl"), fld("ipv4", "protocol")]})])
    b.table("ingress", "t", [], ["log"], default="log")
    engine = Engine(b.json)
    with caplog.at_level("INFO", logger="p4sim.engine.log_msg"):
        engine.process(1, udp_packet())
    assert "ttl=64 proto=17" in caplog.text


@pytest.mark.parametrize(("fields", "payload"), [
    (["ttl"], False),                              # 1 byte: padded with a zero byte
    (["ttl", "totalLen"], False),                  # 3 bytes
    (["flags", "fragOffset", "protocol"], False),  # 3 bytes across a 3/13-bit split
    (["ttl", "identification"], True),             # 3 bytes, then the payload
])
def test_csum16_calculation_matches_the_bytes_it_covers(fields: list[str], payload: bool) -> None:
    """csum16 over fields runs as integer arithmetic: the same value as csum16 of the packed
    bytes (odd lengths zero-padded, an all-zero input, the payload after the fields)."""
    b = eth_ipv4_program()
    inputs = [fld("ipv4", f) for f in fields] + ([{"type": "payload"}] if payload else [])
    b.calculation("h", "csum16", inputs)
    b.action("hash_it", [], [
        prim("modify_field_with_hash_based_offset", fld("ipv4", "identification"), hexv(0),
             {"type": "calculation", "value": "h"}, hexv(1 << 16))])
    b.table("ingress", "t", [], ["hash_it"], default="hash_it")
    engine = Engine(b.json)
    csum16 = algo("csum16")
    for ttl in (0, 1, 64, 255):
        frame = bytearray(udp_packet(dst="10.0.1.23"))
        frame[22] = ttl
        if ttl == 0:
            frame[16:22] = bytes(6)  # totalLen, identification, flags/fragment offset zero
        ip = frame[14:34]
        packed = {"ttl": ip[8:9], "totalLen": ip[2:4], "identification": ip[4:6],
                  "protocol": ip[9:10]}
        covered = (ip[6:8] + ip[9:10] if fields[0] == "flags"
                   else b"".join(packed[f] for f in fields))
        expected = csum16(bytes(covered) + (bytes(frame[42:]) if payload else b""))  # after UDP
        out = engine.process(1, bytes(frame)).packets[0][1]
        assert int.from_bytes(out[18:20], "big") == expected
