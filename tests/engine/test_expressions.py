"""Expression operators of JSON_format.md evaluated with BMv2's semantics
(infinite precision, truncation on assignment, signed fields in two's complement)."""

from __future__ import annotations

from typing import Any

import pytest
from engine_helpers import udp_packet
from engine_jsonkit import assign, eth_ipv4_program, ex, fld, hexv, local

from p4sim.engine import Engine

SIGNED = ["m", "s8"]


def evaluate(expression: dict[str, Any], target: list[str] | None = None,
             params: list[int] | None = None) -> int:
    """Assign ``expression`` to a 16-bit field (or ``target``) and read it back."""
    b = eth_ipv4_program()
    b.metadata("m", [["s8", 8, True], ["u8", 8, False]])
    dst = target or ["ipv4", "identification"]
    prims = [assign(fld("m", "u8"), hexv(200)), assign(fld("m", "s8"), hexv(-3)),
             assign(fld(*dst), expression)]
    if target == SIGNED:
        # expose the signed field through an unsigned one
        prims.append(assign(fld("ipv4", "identification"),
                            ex("&", fld("m", "s8"), hexv(0xFFFF))))
    b.action("compute", [("a", 8), ("b", 8)], prims)
    b.table("ingress", "t", [], ["compute"], default="compute",
            default_data=params or [0, 0])
    out = Engine(b.json).process(1, udp_packet()).packets[0][1]
    return int.from_bytes(out[18:20], "big")


U8 = fld("m", "u8")
S8 = fld("m", "s8")


@pytest.mark.parametrize(("expression", "expected"), [
    (ex("+", U8, hexv(100)), 300),                       # infinite precision, 16-bit target
    (ex("-", hexv(1), hexv(2)), 0xFFFF),                  # truncated to the field width
    (ex("*", U8, hexv(400)), (200 * 400) & 0xFFFF),
    (ex("<<", U8, hexv(4)), 3200),
    (ex(">>", U8, hexv(3)), 25),
    (ex("~", None, U8), (~200) & 0xFFFF),
    (ex("&", ex("~", None, U8), hexv(0xFF)), 55),
    (ex("|", U8, hexv(0x300)), 0x3C8),
    (ex("^", U8, hexv(0xFF)), 55),
    (ex("/", U8, hexv(7)), 28),
    (ex("%", U8, hexv(7)), 4),
    (ex("b2d", None, ex("==", U8, hexv(200))), 1),
    (ex("b2d", None, ex("and", ex(">", U8, hexv(1)), ex("<", U8, hexv(100)))), 0),
    (ex("b2d", None, ex("or", ex(">", U8, hexv(1)), ex("<", U8, hexv(100)))), 1),
    (ex("b2d", None, ex("not", None, ex("!=", U8, hexv(200)))), 1),
    (ex("b2d", None, ex("d2b", None, U8)), 1),
    (ex("?", hexv(7), hexv(9), cond=ex(">=", U8, hexv(200))), 7),
    (ex("two_comp_mod", hexv(257), hexv(8)), 1),
    (ex("&", ex("two_comp_mod", hexv(-129), hexv(8)), hexv(0xFFFF)), 127),
    (ex("usat_cast", ex("+", U8, hexv(100)), hexv(8)), 255),
    (ex("usat_cast", ex("-", hexv(1), U8), hexv(8)), 0),
    (ex("&", ex("sat_cast", ex("-", S8, hexv(200)), hexv(8)), hexv(0xFFFF)), 0xFF80),
    (ex("&", S8, hexv(0xFFFF)), 0xFFFD),                   # signed field reads negative
    (ex("+", local(0), local(1)), 5 + 250),
    (ex("b2d", None, ex("valid", None, {"type": "header", "value": "udp"})), 1),
    (ex("b2d", None, ex("d2b", None, fld("tcp", "$valid$"))), 0),
    (ex("-", None, hexv(-5)), 5),
])
def test_operator(expression: dict[str, Any], expected: int) -> None:
    assert evaluate(expression, params=[5, 250]) == expected


def test_assignment_to_signed_field_wraps_in_twos_complement() -> None:
    assert evaluate(ex("+", S8, hexv(130)), target=SIGNED) == (127 & 0xFFFF)
    assert evaluate(ex("-", S8, hexv(126)), target=SIGNED) == (127 & 0xFFFF)  # -129 wraps
    assert evaluate(hexv(-1), target=SIGNED) == 0xFFFF
