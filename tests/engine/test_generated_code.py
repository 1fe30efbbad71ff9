"""The engine's specialised code paths against their plain definitions.

* the parser inlined into one function against the same parser run state by state, on the
  compiler's corpus programs, p4src/lb.p4 and bench/basic.p4, with well-formed, truncated and
  corrupted frames;
* header extraction and emission with ``struct`` (byte units) against the header's bits
  taken one field at a time, for random header layouts;
* csum16 computed as a word sum against csum16 over the bytes BMv2's BufBuilder packs;
* the pipelines with fixed tables (p4c's tables for statements) compiled into the node code
  against the same pipelines applying those tables, on the same programs and frames.
"""

from __future__ import annotations

import random
import time
from functools import cache
from pathlib import Path
from typing import Any

from engine_jsonkit import ProgramBuilder, assign, extract, fld, hexv, state, transition
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether

from p4sim.compiler import compile_file
from p4sim.engine import Engine
from p4sim.engine.codegen import CodeGen, Resources
from p4sim.engine.hashing import csum16
from p4sim.engine.layout import build_layout
from p4sim.engine.loader import Loader, Program, load_json
from p4sim.engine.packet import Packet
from p4sim.engine.parsergen import build_calculation

REPO = Path(__file__).resolve().parents[2]
PROGRAMS = sorted(path for path in (REPO / "tests" / "compiler" / "corpus").glob("*.p4")
                  if path.name != "common_headers.p4") + [  # an include, not a program
    REPO / "p4src" / "lb.p4", REPO / "bench" / "basic.p4"]


@cache
def _json(path: Path) -> dict[str, Any]:
    return compile_file(str(path)).bmv2_json


def _frames() -> list[bytes]:
    eth = Ether(dst="00:00:00:00:01:00", src="00:00:00:00:01:10")
    options = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 2)), ("NOP", None),
               ("WScale", 7)]
    sack = [("NOP", None), ("NOP", None), ("Timestamp", (5, 6)), ("NOP", None),
            ("NOP", None), ("SAck", (10, 20, 30, 40))]
    base = [
        eth / IP(src="10.0.0.1", dst="10.0.1.5") / UDP(sport=1234, dport=53) / b"payload",
        eth / IP(src="10.0.0.1", dst="10.0.1.5") / TCP(sport=1, dport=80, flags="S",
                                                        options=options),
        eth / IP(dst="10.0.2.9") / TCP(flags="A", options=sack) / b"data",
        eth / IP(dst="10.0.2.9") / TCP(flags="A", options=[("SAck", (1, 2, 3, 4, 5, 6))]),
        eth / IP(dst="10.0.2.9") / ICMP(),
        eth / Dot1Q(vlan=5) / IP(dst="10.0.0.7") / UDP() / b"x",
        eth / IPv6(dst="2001:db8::1") / TCP() / b"six",
        eth / ARP(pdst="10.0.0.1"),
    ]
    frames = [bytes(frame) for frame in base]
    rng = random.Random(13)
    out = []
    for frame in frames:
        out.append(frame)
        out.extend(frame[:cut] for cut in range(len(frame)))
        for _ in range(20):
            corrupted = bytearray(frame)
            for _ in range(3):
                corrupted[rng.randrange(len(corrupted))] = rng.randrange(256)
            out.append(bytes(corrupted))
    return out


def _program(path: Path, inline: bool, inline_fixed_tables: bool = True) -> Program:
    return Loader(load_json(_json(path)), time.monotonic_ns, inline_parser=inline,
                  inline_fixed_tables=inline_fixed_tables).load()


def _parse(program: Program, port: int, data: bytes) -> tuple[int, int, bytes, list[int]]:
    f = program.layout.template.copy()
    slot = program.layout.field_slot("standard_metadata.ingress_port")
    assert slot is not None
    f[slot] = port
    p = Packet(f, data)
    code = program.parse(p)
    return code, p.off, p.payload, f


def test_inlined_parsers_parse_as_state_by_state() -> None:
    frames = _frames()
    inlined_somewhere = False
    for path in PROGRAMS:
        inlined = _program(path, True)
        per_state = _program(path, False)
        inlined_somewhere |= inlined.parse.__name__.startswith("parse_")
        for port in (1, 255):
            for data in frames:
                assert _parse(inlined, port, data) == _parse(per_state, port, data), \
                    (path.name, port, data.hex())
    assert inlined_somewhere


def _pipelines(program: Program, port: int, data: bytes) -> tuple[object, ...]:
    """The field vector and packet registers after parsing, ingress and egress."""
    _, _, _, f = _parse(program, port, data)
    p = Packet(f, data)
    program.parse(p)
    program.ingress(p, f)
    program.egress(p, f)
    return (f, p.exit, p.clone_session, p.resubmit_field_list, p.recirculate_field_list,
            p.learn_id, p.truncate_length, p.length_reg)


def _has_fixed_table(path: Path) -> bool:
    return any(not t.get("key") and (t.get("default_entry") or {}).get("action_entry_const")
               for pipe in _json(path)["pipelines"] for t in pipe["tables"])


def test_fixed_tables_inlined_run_as_applied() -> None:
    frames = _frames()[::3]
    with_fixed = [path for path in PROGRAMS if _has_fixed_table(path)]
    assert REPO / "p4src" / "lb.p4" in with_fixed
    for path in with_fixed:
        inlined, applied = _program(path, True), _program(path, True, inline_fixed_tables=False)
        for port in (1, 2):
            for data in frames:
                assert _pipelines(inlined, port, data) == _pipelines(applied, port, data), \
                    f"{path.name}: frame {data.hex()} from port {port}"


def test_parser_with_a_loop_stays_state_by_state() -> None:
    """A parser state that loops (here: skip one-byte labels up to a zero) needs the step
    count of ParserTimeout: it is not inlined, and still parses."""
    b = ProgramBuilder()
    b.header_type("byte_t", [["v", 8, False]])
    b.header("label", "byte_t")
    b.parser([state("start", [extract("label")], [fld("label", "v")],
                    [transition(None, 0), transition("start")])])
    b.deparser(["label"])
    b.action("fwd", [], [assign(fld("standard_metadata", "egress_spec"), hexv(1))])
    b.table("ingress", "t", [], ["fwd"], default="fwd")
    engine = Engine(b.json)
    assert not engine.program.parse.__name__.startswith("parse_")
    assert engine.process(0, bytes([3, 2, 0, 9])).packets == [(1, bytes([0, 9]))]


@st.composite
def _header_types(draw: st.DrawFn) -> list[tuple[int, bool]]:
    """Field (width, signed) lists whose total is a whole number of bytes."""
    fields = draw(st.lists(st.tuples(st.integers(1, 70), st.booleans()), min_size=1,
                           max_size=8))
    total = sum(w for w, _ in fields)
    if total % 8:
        fields.append((8 - total % 8, False))
    return fields


def _field_values(fields: list[tuple[int, bool]], data: bytes) -> list[int]:
    value = int.from_bytes(data, "big")
    shift = len(data) * 8
    out = []
    for width, signed in fields:
        shift -= width
        v = (value >> shift) & ((1 << width) - 1)
        out.append(v - (1 << width) if signed and v >> (width - 1) else v)
    return out


@settings(max_examples=150, deadline=None)
@given(_header_types(), st.randoms(use_true_random=False))
def test_struct_extraction_and_emission_match_the_header_bits(
        fields: list[tuple[int, bool]], rng: random.Random) -> None:
    size = sum(w for w, _ in fields) // 8
    b = ProgramBuilder()
    b.header_type("h_t", [[f"f{i}", w, s] for i, (w, s) in enumerate(fields)])
    b.header("h", "h_t")
    b.parser([state("start", [extract("h")], [], [transition(None)])])
    b.deparser(["h"])
    b.action("fwd", [], [assign(fld("standard_metadata", "egress_spec"), hexv(1))])
    b.table("ingress", "t", [], ["fwd"], default="fwd")
    engine = Engine(b.json)
    header = engine.program.layout.header("h")
    for _ in range(5):
        data = bytes(rng.randrange(256) for _ in range(size)) + b"rest"
        p = Packet(engine.program.layout.template.copy(), data)
        assert engine.program.parse(p) == 0
        assert p.f[header.base + 1:header.base + 1 + len(fields)] == \
            _field_values(fields, data[:size])
        assert engine.process(0, data).packets == [(1, data)]


@settings(max_examples=200, deadline=None)
@given(st.lists(_header_types(), min_size=1, max_size=3), st.data())
def test_csum16_word_sum_matches_csum16_of_the_packed_bytes(
        headers: list[list[tuple[int, bool]]], data: st.DataObject) -> None:
    cfg: dict[str, Any] = {"header_types": [], "headers": []}
    for i, fields in enumerate(headers):
        cfg["header_types"].append({"name": f"h{i}_t", "id": i,
                                    "fields": [[f"f{j}", w, s] for j, (w, s) in
                                               enumerate(fields)]})
        cfg["headers"].append({"name": f"h{i}", "id": i, "header_type": f"h{i}_t",
                               "metadata": False})
    layout = build_layout(cfg)
    inputs: list[dict[str, Any]] = []
    picked: list[tuple[int, int] | tuple[int, int, int]] = []
    """(header, field) or (-1, value, width) for a constant, in input order."""
    for _ in range(data.draw(st.integers(1, 6))):
        if data.draw(st.booleans()):
            h = data.draw(st.integers(0, len(headers) - 1))
            j = data.draw(st.integers(0, len(headers[h]) - 1))
            inputs.append({"type": "field", "value": [f"h{h}", f"f{j}"]})
            picked.append((h, j))
        else:
            width = data.draw(st.integers(1, 24))
            value = data.draw(st.integers(0, (1 << width) - 1))
            inputs.append({"type": "hexstr", "value": hex(value), "bitwidth": width})
            picked.append((-1, value, width))
    calc = build_calculation(CodeGen(layout, Resources()), layout,
                             {"name": "c", "algo": "csum16", "input": inputs})
    f = layout.template.copy()
    values: dict[tuple[int, int], int] = {}
    for h, fields in enumerate(headers):
        hdr = layout.headers[h]
        f[hdr.base] = int(data.draw(st.booleans()))
        for j, (width, signed) in enumerate(fields):
            low = -(1 << (width - 1)) if signed else 0
            high = (1 << (width - 1)) - 1 if signed else (1 << width) - 1
            values[h, j] = f[hdr.base + 1 + j] = data.draw(st.integers(low, high))
    acc = nb = 0
    for item in picked:
        if item[0] == -1:
            _, value, width = item
        else:
            h, j = item[0], item[1]
            if not f[layout.headers[h].base]:
                continue
            width = headers[h][j][0]
            value = values[h, j] & ((1 << width) - 1)
        acc = (acc << width) | value
        nb += width
    pad = -nb % 8
    packed = (acc << pad).to_bytes((nb + pad) // 8, "big")
    assert calc(Packet(f, b""), f) == csum16(packed)
