"""Round 4: P4_16 1.2.5 ``for`` loops compiled (unrolled, or jumps inside actions) and run.

The expected output headers are computed here by plain Python from the input values, so
the test pins the loop semantics (break, continue, updates, nested bounds), not p4sim's
own output.  Loops that can be neither unrolled nor run as jumps get a positioned error.
"""

from __future__ import annotations

import copy
import struct
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from p4sim.compiler import CompileError, compile_file, compile_source
from p4sim.engine import ActionCall, Engine, Exact

PROGRAMS = Path(__file__).parent / "programs"


@cache
def _json() -> dict[str, Any]:
    return compile_file(str(PROGRAMS / "loops.p4")).bmv2_json


def _engine() -> Engine:
    return Engine(copy.deepcopy(_json()))


def _packet(n: int, op: int, values: list[int]) -> bytes:
    return bytes([n, op, *values]) + bytes(12)


def _expected(n: int, op: int, values: list[int]) -> bytes:
    cnt = 0
    for v in values:
        if v == 0:
            break
        cnt += 1
    tri = 0
    last = 0
    if op == 0:
        for i in range(1, n + 1):
            if i == 3:
                continue
            tri += i
            if i == 10:
                break
    else:
        last = max([i for i in range(0, n, 2)], default=0)
    res = struct.pack("!IBBBBBHB", sum(values), cnt, sum(v & 1 for v in values),
                      sum(1 for m in (1, 4, 16) if n & m), 6, max(values), tri, last)
    return bytes([n, op, *values]) + res


@pytest.mark.parametrize(("n", "values"), [
    (12, [5, 2, 0, 9]), (0, [0, 0, 0, 0]), (21, [255, 255, 1, 3]), (3, [2, 4, 6, 8]),
    (200, [7, 0, 0, 1])])
def test_unrolled_loops_and_runtime_loop_in_default_action(n: int, values: list[int]) -> None:
    engine = _engine()
    assert engine.process(0, _packet(n, 0, values)).packets == [
        (1, _expected(n, 0, values))]


@pytest.mark.parametrize("n", [0, 1, 2, 7, 8, 254])
def test_runtime_loop_whose_body_changes_the_variable(n: int) -> None:
    engine = _engine()
    engine.table_add("Ing.pick", [Exact(1)], ActionCall("Ing.evens", ()))
    values = [1, 2, 3, 4]
    assert engine.process(0, _packet(n, 1, values)).packets == [
        (1, _expected(n, 1, values))]


def test_unrolled_stack_loop_indexes_are_constants() -> None:
    """After unrolling, ``hdr.vals[i]`` is ``hdr.vals[0]`` ... ``hdr.vals[3]``: no run-time
    stack index remains in the JSON (as after p4c's unrolling)."""
    assert "dereference_header_stack" not in str(_json())


_BODY = """
header h_t { bit<8> a; bit<8> b; }
struct headers { h_t h; }
struct metadata { }
parser P(packet_in pk, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start { pk.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr.h); } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    table t { key = { hdr.h.a : exact; } actions = { NoAction; } }
    apply {
        LOOP
    }
}
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


def _error(loop: str) -> str:
    source = "#include <core.p4>\n#include <v1model.p4>\n" + _BODY.replace("LOOP", loop)
    with pytest.raises(CompileError) as info:
        compile_source(source, "loop.p4")
    return str(info.value)


def test_loop_applying_a_table_with_a_runtime_bound_is_refused_with_its_position() -> None:
    message = _error("for (bit<8> i = 0; i < hdr.h.b; i = i + 1) { t.apply(); }")
    assert message == ("loop.p4:17:32: error: cannot unroll this loop: i < hdr.h.b: hdr is "
                       "not a compile-time constant (loop variables must be set to constants "
                       "in the loop's initialiser); a loop that applies a table or returns "
                       "must be unrolled on this target")


def test_range_with_runtime_bound_is_refused() -> None:
    message = _error("for (bit<8> i in 1 .. hdr.h.b) { hdr.h.a = i; }")
    assert message == ("loop.p4:17:31: error: cannot unroll this loop: hdr.h.b: the bounds "
                       "of a range must be compile-time constants")


def test_too_many_iterations_and_break_outside_a_loop() -> None:
    assert "more than 1000 iterations" in _error(
        "for (bit<16> i = 0; i < 5000; i = i + 1) { t.apply(); }")
    assert _error("break;") == "loop.p4:17:9: error: break: not inside a loop"
    assert "cannot iterate over a value of type bit<8>" in _error(
        "for (bit<8> x in hdr.h.a) { }")
