"""Every BMv2 JSON the compiler writes uses node types only where simple_switch's loader
takes them (issue 14), and the constructs that needed a new shape behave as P4 says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from compiler_corpus import CORPUS, compiled
from scapy.all import IP, UDP, Ether, Raw  # type: ignore[attr-defined]

from p4sim.compiler import compile_file
from p4sim.engine import ActionCall, Engine, Exact
from p4sim.engine.placement import check_placement

ROOT = Path(__file__).parents[2]
PROGRAMS = sorted(p for p in CORPUS.glob("*.p4") if p.name != "common_headers.p4") + sorted(
    (ROOT / "tests/compiler/round3/programs").glob("*.p4")) + [
    ROOT / "p4src/lb.p4", ROOT / "tests/compiler/frontend/programs/features.p4",
    ROOT / "tests/ptf/smoke/basic.p4", ROOT / "tests/p4runtime/fixtures/mini.p4",
    ROOT / "bench/basic.p4"]
FIXTURES = [ROOT / "tests/engine/fixtures/basic_ipv4.json",
            ROOT / "tests/p4runtime/fixtures/mini.json"]


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.name)
def test_compiled_json_follows_bmv2_placement_rules(path: Path) -> None:
    check_placement(compile_file(path).bmv2_json)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_stored_fixture_json_follows_bmv2_placement_rules(path: Path) -> None:
    check_placement(json.loads(path.read_text()))


def _nodes(tree: object) -> list[dict]:
    """Every typed object inside ``tree``."""
    if isinstance(tree, list):
        return [n for item in tree for n in _nodes(item)]
    if not isinstance(tree, dict):
        return []
    found = [tree] if "type" in tree else []
    return found + [n for value in tree.values() for n in _nodes(value)]


# --- lookahead (issue 14: three programs BMv2 refused) -----------------------------

def _ipv4(tos: int, options: bytes = b"", version: int = 4) -> bytes:
    packet = Ether(dst="00:00:00:00:00:01", src="00:00:00:00:00:02") / IP(
        src="10.0.0.1", dst="10.0.0.2", tos=tos, ttl=64, options=options) / UDP(
        sport=1, dport=2) / Raw(b"payload")
    data = bytearray(bytes(packet))
    data[14] = (version << 4) | (data[14] & 0x0F)
    return bytes(data)


def test_lookahead_is_only_a_whole_set_source_or_read_into_a_temporary() -> None:
    program = compiled("lookahead_expressions").bmv2_json
    states = {s["name"]: s for s in program["parsers"][0]["parse_states"]}
    for state in states.values():
        for parser_op in state["parser_ops"]:
            whole = parser_op["parameters"][1] if parser_op["op"] == "set" else None
            assert all(n["type"] != "lookahead" for n in _nodes(parser_op["parameters"])
                       if n is not whole), parser_op
    # the extract_VL length reads the temporary set from lookahead<ipv4_base_t>().ihl
    ops = states["ipv4"]["parser_ops"]
    assert ops[0] == {"parameters": [ops[0]["parameters"][0],
                                     {"type": "lookahead", "value": [4, 4]}], "op": "set"}
    assert ops[1]["op"] == "extract_VL" and ops[0]["parameters"][0] in _nodes(ops[1])


@pytest.mark.parametrize("options", [b"", b"\x94\x04\x00\x00", b"\x01" * 8])
def test_lookahead_values_reach_fields_lengths_and_the_options_checksum(options: bytes) -> None:
    engine = Engine(compiled("lookahead_expressions").bmv2_json)
    packet = _ipv4(0x28, options)
    port, data = engine.process(0, packet).packets[0]
    out = Ether(data)
    words = len(options) // 4
    assert port == 1
    assert bytes.fromhex(out.src.replace(":", "")) == bytes(
        [0, 0, 0x28 ^ 0xFF, 0x45 + words]) + (words * 32).to_bytes(2, "big")
    assert out[IP].ttl == 63 and out[IP].ihl == 5 + words
    assert bytes(out[IP])[20:20 + len(options)] == options
    assert bytes(out[UDP].payload) == b"payload"
    reference = IP(bytes(out[IP]))
    del reference.chksum
    assert out[IP].chksum == IP(bytes(reference)).chksum


def test_lookahead_in_verify_and_a_bad_options_checksum_drop() -> None:
    engine = Engine(compiled("lookahead_expressions").bmv2_json)
    assert engine.process(0, _ipv4(0, version=6)).packets == []  # verify(lookahead == 4)
    bad = bytearray(_ipv4(0, b"\x94\x04\x00\x00"))
    bad[14 + 20] ^= 0x01  # an option byte: only a checksum over the options catches it
    assert engine.process(0, bytes(bad)).packets == []


# --- action data inside expressions (issue 14: 'runtime_data' refused) -------------

def test_action_data_inside_expressions_is_local() -> None:
    program = compiled("action_data_expressions").bmv2_json
    mark = next(a for a in program["actions"] if a["name"] == "I.mark")
    inside = [n for p in mark["primitives"] for param in p["parameters"]
              if param["type"] == "expression" for n in _nodes(param["value"])]
    assert {n["value"] for n in inside if n["type"] == "local"} == {0, 1}
    assert all(n["type"] != "runtime_data" for n in inside)


def _to(dst: str) -> bytes:
    return bytes(Ether() / IP(src="10.0.0.1", dst=dst, ttl=64, tos=0, id=7) / UDP())


@pytest.mark.parametrize(("dst", "step", "port"), [
    ("10.0.0.2", 20, 3),   # const entry mark(20, 3)
    ("10.9.9.9", 5, 2),    # const default action mark(5, 2)
])
def test_action_data_from_const_entries_and_defaults(dst: str, step: int, port: int) -> None:
    engine = Engine(compiled("action_data_expressions").bmv2_json)
    out_port, data = engine.process(1, _to(dst)).packets[0]
    ip = Ether(data)[IP]
    assert out_port == port
    assert ip.ttl == 64 + step
    assert ip.tos == ((step & 0xF) << 4) | 0xF
    assert ip.id == (port ^ 0xFFFF if step > 10 else 7)
    assert engine.counter_read("I.hits", step & 0x1F)[1] == 1


def test_action_data_installed_by_the_control_plane() -> None:
    program = compile_file(CORPUS / "action_data_expressions.p4").bmv2_json
    for table in program["pipelines"][0]["tables"]:
        table.pop("entries", None)  # a mutable copy of the table: entries from outside
    engine = Engine(program)
    engine.table_add("I.classify", [Exact(0x0A000003)], ActionCall("I.mark", (11, 0x1234)))
    out_port, data = engine.process(1, _to("10.0.0.3")).packets[0]
    ip = Ether(data)[IP]
    assert (out_port, ip.ttl, ip.tos, ip.id) == (0x1234 & 0x1FF, 75, 0xBF, 0x1234 ^ 0xFFFF)
