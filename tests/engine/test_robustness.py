"""Bad input never escapes as anything but ConfigError; random packets never raise."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from engine_helpers import tcp_packet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_parser import mpls_program

from p4sim.engine import ActionCall, ConfigError, Engine, Lpm

BASIC = json.loads((Path(__file__).parent / "fixtures" / "basic_ipv4.json").read_text())


def _engines() -> list[Engine]:
    basic = Engine(BASIC)
    basic.table_add("MyIngress.ipv4_lpm", [Lpm(0, 0)],
                    ActionCall("MyIngress.ipv4_forward", (1, 2)))
    return [basic, Engine(mpls_program())]


ENGINES = _engines()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(port=st.integers(0, 511), data=st.binary(max_size=120))
def test_random_packets_never_raise(port: int, data: bytes) -> None:
    for engine in ENGINES:
        result = engine.process(port, data)
        assert all(isinstance(p, int) and isinstance(b, bytes) for p, b in result.packets)


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(0, 80), flip=st.integers(0, 60), bit=st.integers(0, 7))
def test_truncated_and_corrupted_valid_packets(cut: int, flip: int, bit: int) -> None:
    data = bytearray(tcp_packet())
    data[flip] ^= 1 << bit
    for engine in ENGINES:
        packets = engine.process(1, bytes(data[:cut])).packets
        # unicast programs: at most one copy, on a port the program can choose
        assert len(packets) <= 1 and all(port in (0, 1, 2) for port, _ in packets)


def _broken(mutate: str) -> dict:
    cfg = copy.deepcopy(BASIC)
    if mutate == "unknown header type":
        cfg["headers"][2]["header_type"] = "nope_t"
    elif mutate == "unknown primitive":
        cfg["actions"][1]["primitives"][0]["op"] = "teleport"
    elif mutate == "unknown next node":
        cfg["pipelines"][0]["conditionals"][0]["true_next"] = "nowhere"
    elif mutate == "bad field":
        cfg["actions"][2]["primitives"][0]["parameters"][0]["value"] = ["ipv4", "nope"]
    elif mutate == "bad algo":
        cfg["calculations"][0]["algo"] = "md5"
    elif mutate == "bad version":
        cfg["__meta__"]["version"] = [3, 0]
    elif mutate == "no pipelines":
        cfg["pipelines"] = []
    elif mutate == "bad transition":
        cfg["parsers"][0]["parse_states"][0]["transitions"][0]["next_state"] = "zzz"
    elif mutate == "bad op":
        cfg["pipelines"][0]["conditionals"][0]["expression"]["value"]["op"] = "**"
    elif mutate == "headers not a list":
        cfg["headers"] = {"a": 1}
    return cfg


@pytest.mark.parametrize("mutate", [
    "unknown header type", "unknown primitive", "unknown next node", "bad field", "bad algo",
    "bad version", "no pipelines", "bad transition", "bad op", "headers not a list"])
def test_malformed_json_raises_config_error_naming_the_problem(mutate: str) -> None:
    with pytest.raises(ConfigError) as err:
        Engine(_broken(mutate))
    assert str(err.value)


def test_unparseable_json_text() -> None:
    with pytest.raises(ConfigError, match="not valid JSON"):
        Engine("{not json")
    with pytest.raises(ConfigError, match="object"):
        Engine("[1, 2]")


def test_failed_assert_drops_only_that_packet() -> None:
    from engine_helpers import udp_packet
    from engine_jsonkit import assign, eth_ipv4_program, ex, fld, hexv, prim

    b = eth_ipv4_program()
    b.action("check", [], [
        assign(fld("standard_metadata", "egress_spec"), hexv(3)),
        prim("assert", ex("!=", fld("ipv4", "ttl"), hexv(1)))])
    b.table("ingress", "t", [], ["check"], default="check")
    engine = Engine(b.json)
    assert engine.process(1, udp_packet()).packets[0][0] == 3
    bad = bytearray(udp_packet())
    bad[22] = 1                                    # ttl 1: the assert fails
    assert engine.process(1, bytes(bad)).packets == []
    assert engine.process(1, udp_packet()).packets[0][0] == 3


_JUNK = [None, 0, -1, 1.5, "x", "", [], {}, [1], {"a": 1}, True, "0xzz", [None, None],
         {"type": "field", "value": ["nope", "x"]}, {"type": "expression", "value": {"op": "+"}}]


def _paths(node: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_paths(value, prefix + (key,)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.extend(_paths(value, prefix + (index,)))
    return out


_MUTABLE_PATHS = _paths(BASIC)


@settings(max_examples=300, deadline=None)
@given(where=st.sampled_from(_MUTABLE_PATHS), junk=st.sampled_from(_JUNK),
       data=st.binary(max_size=60))
def test_mutated_json_is_rejected_with_config_error_or_runs(where: tuple[object, ...],
                                                            junk: object, data: bytes) -> None:
    cfg = copy.deepcopy(BASIC)
    node = cfg
    for key in where[:-1]:
        node = node[key]  # type: ignore[index]
    node[where[-1]] = copy.deepcopy(junk)  # type: ignore[index]
    try:
        engine = Engine(cfg)
    except ConfigError as err:
        assert str(err)
        return
    assert isinstance(engine.process(1, data).packets, list)


def test_control_plane_junk_raises_engine_errors_only() -> None:
    from engine_jsonkit import eth_ipv4_program

    from p4sim.engine import EngineError, Exact, GroupRef

    b = eth_ipv4_program()
    b.json["register_arrays"].append({"name": "r", "id": 0, "size": 2, "bitwidth": 8})
    b.json["counter_arrays"].append({"name": "c", "id": 0, "is_direct": False, "size": 2})
    b.json["meter_arrays"].append({"name": "m", "id": 0, "is_direct": False, "size": 2,
                                   "rate_count": 2, "type": "bytes"})
    b.table("ingress", "t", [("exact", ["ipv4", "dstAddr"])], ["forward"])
    engine = Engine(b.json)
    calls = [
        lambda: engine.table_add("t", [Exact("x")], ActionCall("forward", (1,))),  # type: ignore[arg-type]
        lambda: engine.table_add("t", [Exact(1)], ActionCall("forward", ("1",))),  # type: ignore[arg-type]
        lambda: engine.table_add("t", [Exact(1)], GroupRef(1)),
        lambda: engine.table_add("t", ["junk"], ActionCall("forward", (1,))),  # type: ignore[list-item]
        lambda: engine.table_modify("t", 99, ActionCall("forward", (1,))),
        lambda: engine.register_write("r", "0", 1),  # type: ignore[arg-type]
        lambda: engine.register_read("r", -1),
        lambda: engine.counter_write("c", 0, None, 1),  # type: ignore[arg-type]
        lambda: engine.meter_set("m", 0, [(1.0,)]),  # type: ignore[list-item]
        lambda: engine.meter_set("m", 0, [(1.0, 1)]),
        lambda: engine.mc_group_set(1, [(1,)]),  # type: ignore[list-item]
        lambda: engine.mc_group_set(1, [("a", 0)]),  # type: ignore[list-item]
        lambda: engine.clone_session_set(70000, []),
        lambda: engine.table_set_timeout("t", 0, 5),
        lambda: engine.direct_counter_read("t", 0),
    ]
    for call in calls:
        with pytest.raises(EngineError):
            call()
