"""Constant folding with the spec's semantics (wrap-around, saturation, slices, casts)."""

from collections.abc import Callable

import pytest

from p4sim.compiler import ast
from p4sim.compiler import types as t
from p4sim.compiler.folding import wrap


def const_value(check_ok: Callable[[str], ast.Program], decl: str) -> object:
    program = check_ok(f"enum bit<8> E {{ A = 1, B = 2 }}\n{decl}\n")
    const = program.declarations[-1]
    assert isinstance(const, ast.ConstDecl)
    return const.value.const_value


@pytest.mark.parametrize(("decl", "value"), [
    ("const bit<8> c = 8w250 + 8w10;", 4),
    ("const bit<8> c = 8w3 - 8w5;", 254),
    ("const int<8> c = 8s127 + 8s1;", -128),
    ("const bit<8> c = 8w250 |+| 8w10;", 255),
    ("const bit<8> c = 8w3 |-| 8w5;", 0),
    ("const int<8> c = 8s100 |+| 8s100;", 127),
    ("const int<8> c = -8s100 |-| 8s100;", -128),
    ("const bit<8> c = 8w1 << 9;", 0),
    ("const bit<8> c = 8w0xF0 >> 4;", 0x0F),
    ("const int<8> c = -8s16 >> 2;", -4),
    ("const bit<16> c = 8w0xAB ++ 8w0xCD;", 0xABCD),
    ("const bit<4> c = 16w0xABCD[7:4];", 0xC),
    ("const bit<8> c = ~8w0x0F;", 0xF0),
    ("const bit<8> c = (bit<8>)16w0x1234;", 0x34),
    ("const bit<16> c = (bit<16>)(int<16>)-16s2;", 0xFFFE),
    ("const int<8> c = (int<8>)8w255;", -1),
    ("const bit<8> c = -1;", 255),
    ("const bit<32> c = 7 / 2 + 7 % 2;", 4),
    ("const bit<8> c = (bit<8>)E.B + 1;", 3),
    ("const bool c = 8w1 < 8w2 && !(8w3 == 8w4);", True),
    ("const bit<8> c = true ? 8w1 : 8w2;", 1),
    ("const bit<1> c = (bit<1>)true;", 1),
    ("const bit<8> c = 2 + 3 * 4;", 14),
    ("const bit<8> c = 0x1_0 & 0b11_1111 ^ 0o7 | 0d64;", 0x57),
])
def test_folding(check_ok: Callable[[str], ast.Program], decl: str, value: object) -> None:
    assert const_value(check_ok, decl) == value


def test_literal_takes_the_width_of_its_context(check_ok: Callable[[str], ast.Program]) -> None:
    program = check_ok("const bit<12> c = 300;")
    const = program.declarations[-1]
    assert isinstance(const, ast.ConstDecl) and isinstance(const.value, ast.IntLiteral)
    assert (const.value.width, const.value.signed) == (12, False)
    assert const.value.type == t.BitsType(12)


def test_serializable_enum_constant(check_ok: Callable[[str], ast.Program]) -> None:
    assert const_value(check_ok, "const E c = E.B;") == ast.EnumValue("E", "B", 2)
    assert const_value(check_ok, "const E c = (E)8w1;") == ast.EnumValue("E", "A", 1)


def test_wrap_helper() -> None:
    assert wrap(256, t.BitsType(8)) == 0
    assert wrap(128, t.BitsType(8, signed=True)) == -128
    assert wrap(-1, t.BitsType(4)) == 15


def test_non_constant_initializer_is_rejected(check_errors: Callable[[str], list[str]],
                                              where: Callable[..., str]) -> None:
    source = "struct s { bit<8> f; }\ncontrol C(in s v) {\n  apply { const bit<8> k = v.f; }\n}\n"
    assert check_errors(source) == [
        f"{where(source, 'v.f')}: error: k: Cannot evaluate initializer to a compile-time "
        "constant"]
