"""Round 4: evaluation order and short circuit of function calls (p4c's SideEffectOrdering).

The expected header is computed here with the spec's rules written out in Python."""

from __future__ import annotations

from pathlib import Path

import pytest

from p4sim.compiler import compile_file
from p4sim.engine import Engine

PROGRAM = Path(__file__).parent / "programs" / "side_effects.p4"


def _expected(a: int, b: int, c: int, d: int, e: int, f: int, g: int, k: int) -> bytes:
    if a != 0:
        b = (b + 1) & 0xFF
        if b > 2:
            c = 1
    if a == 0:
        e = 7
    else:
        e = (e + 1) & 0xFF
        e = 7 if e > 2 else 9
    f = (f * 2) & 0xFF if a == 1 else (f + 100) & 0xFF
    first = g
    g = (g * 2) & 0xFF
    g = (first + g + g) & 0xFF
    if a == 2:
        d = (d + 1) & 0xFF
        if d > 2:
            k = (k + 1) & 0xFF
    if a == 3:
        k = 2
        c = 2
    return bytes([a, b, c, d, e, f, g, k])


@pytest.mark.parametrize("fields", [
    (0, 2, 0, 2, 0, 5, 3, 0), (1, 1, 0, 2, 1, 5, 3, 9), (1, 2, 0, 2, 5, 200, 130, 0),
    (2, 0, 4, 1, 0, 5, 0, 1), (2, 0, 4, 2, 0, 5, 1, 1), (3, 255, 9, 9, 255, 1, 255, 200)])
def test_short_circuit_order_and_aliased_copy_out(fields: tuple[int, ...]) -> None:
    engine = Engine(compile_file(str(PROGRAM)).bmv2_json)
    assert engine.process(0, bytes(fields)).packets == [(1, _expected(*fields))]
