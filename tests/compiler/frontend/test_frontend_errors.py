"""Programs the front end must reject, with p4c-like messages at the right place."""

from collections.abc import Callable

import pytest

SWITCH_TABLE = ("action a() { } action b() { }\n"
                "table t { key = { meta.x: exact; } actions = { a; b; } }")

# (decls, locals, body, marker, column offset in the marker, message)
CASES = [
    pytest.param("", "", "meta.x = undefined_name;", "undefined_name", 0,
                 "undefined_name: declaration not found", id="undeclared-name"),
    pytest.param("", "", "unknown_t v;", " v;", 1, None, id="undeclared-type"),
    pytest.param("", "Undeclared() u;", "", "Undeclared", 0,
                 "Undeclared: declaration not found (expected a type)",
                 id="undeclared-instantiated-type"),
    pytest.param("", "", "meta.y = meta.x;", "meta.y", 0,
                 "meta.y = meta.x: Cannot unify type 'bit<32>' with type 'bit<16>'",
                 id="width-mismatch"),
    pytest.param("", "", "meta.x = meta.x + meta.y;", "meta.x +", 0,
                 "meta.x + meta.y: Cannot operate on values with different widths 32 and 16",
                 id="operand-widths"),
    pytest.param("", "", "meta.flag = meta.flag < meta.flag;", "meta.flag <", 0,
                 "meta.flag < meta.flag: not defined on bool and bool", id="bool-compare"),
    pytest.param("", "action a(in bit<8> v) { v = 1; }", "", "v = 1", 0,
                 "Expression v cannot be the target of an assignment", id="assign-in-param"),
    pytest.param("", "action a(bit<8> v) { v = 1; }", "", "v = 1", 0,
                 "Expression v cannot be the target of an assignment",
                 id="assign-directionless-param"),
    pytest.param("const bit<8> K = 1;", "", "K = 2;", "K = 2", 0,
                 "Expression K cannot be the target of an assignment", id="assign-constant"),
    pytest.param("", "action a(out bit<8> v) { v = 1; }", "a(3);", "3)", 0,
                 "Read-only value used for out/inout parameter 'v'", id="out-arg-not-lvalue"),
    pytest.param("", "action a(bit<8> v, bit<8> w) { }", "a(1);", "a(1)", 0,
                 "a: Not enough arguments for call to a: missing w", id="too-few-args"),
    pytest.param("", "action a(bit<8> v) { }", "a(1, 2);", "a(1, 2)", 0,
                 "a: Too many arguments for call to a", id="too-many-args"),
    pytest.param("", "", "bit<4> s = meta.x[7:4]; bit<8> t = meta.z[8:1];", "8:1", 0,
                 "Bit index 8 greater than width 8", id="slice-out-of-range"),
    pytest.param("", "", "bit<1> b = meta.flag[0:0];", "meta.flag[", 0,
                 "meta.flag[0:0]: bit extraction only defined for bit<> types",
                 id="slice-of-bool"),
    pytest.param("", "", "if (meta.x) { }", "meta.x)", 0,
                 "Condition of if statement must be bool, not bit<32>", id="if-not-bool"),
    pytest.param("", "", "meta.flag = (bool)meta.x;", "(bool)", 0,
                 "(bool)meta.x: Illegal cast from bit<32> to bool", id="illegal-cast"),
    pytest.param("", "action a() { } action b() { }\n"
                 "table t { key = { meta.x: exact; } actions = { a; } default_action = b; }",
                 "", "b;", 0, "b not present in action list", id="default-not-in-list"),
    pytest.param("", "action a(out bit<8> x, bit<8> y, inout bit<8> z) { }", "", "z)", 0,
                 "z: direction-less action parameters have to be at the end",
                 id="directionless-order"),
    pytest.param("const bit<8> D = 1;\nconst bit<8> D = 2;", "", "", "D = 2", 0,
                 "D: Duplicate declaration of D", id="duplicate-declaration"),
    pytest.param("", "table t { key = { meta.x: fuzzy; } actions = { NoAction; } }", "",
                 "fuzzy", 0, "fuzzy: declaration not found", id="unknown-match-kind"),
    pytest.param("", "", "hdr.ethernet.nofield = 1;", "hdr.ethernet.nofield", 0,
                 "Field nofield is not a member of header ethernet_t", id="unknown-field"),
    pytest.param("", "", "meta.x = error.NoSuchError == error.NoError ? 1 : 0;",
                 "error.NoSuch", 0, "error.NoSuchError: Invalid enum tag",
                 id="unknown-error"),
    pytest.param("", "table t { key = { meta.x: exact; } actions = { NoAction; }\n"
                 "const entries = { (1, 2): NoAction(); } }", "", "(1, 2)", 0,
                 "keyset: 2 elements for 1 select keys", id="entry-arity"),
    pytest.param("", "", "meta.z = 8w1 ++ 8w2;", "meta.z =", 0,
                 "meta.z = 8w1 ++ 8w2: Cannot unify type 'bit<16>' with type 'bit<8>'",
                 id="concat-width"),
    pytest.param("", "", "hdr.ethernet = { dst = 1, src = 2 };", "hdr.ethernet =", 0,
                 "{dst = 1, src = 2}: cannot initialize ethernet_t: missing field etherType",
                 id="struct-initializer-missing-field"),
    pytest.param("", "", "meta.z = meta.z << meta.flag;", "meta.flag;", 0,
                 "meta.flag: shift amount must be an integer", id="shift-by-bool"),
    pytest.param("", "", "meta.x = 1 << meta.x;", "1 <<", 0,
                 "1 << meta.x: shift of a value with unknown width by a non-constant amount",
                 id="shift-of-int-literal"),
    pytest.param("", "register<bit<32>>(4) r;", "r.read(meta.x, meta.y);", "meta.y)", 0,
                 "meta.y: Cannot unify type 'bit<16>' with type 'bit<32>'",
                 id="register-index-type"),
    pytest.param("", "register<bit<32>, bit<8>>(4) r;", "", "register<", 0,
                 "register: expected 1 type arguments, got 2", id="register-v1model-20180101"),
    pytest.param("", "", "meta.flag = hdr.ethernet.isValid;", "hdr.ethernet.isValid", 0,
                 "hdr.ethernet.isValid: method must be called", id="method-not-called"),
    pytest.param("", "ipv4_t[2] s;", "meta.y = hdr.ipv4.len + s.last.len;", "s.last", 0,
                 "s.last: 'last', and 'next' for stacks can only be used in a parser",
                 id="stack-last-in-control"),
    pytest.param("", "action a(inout bit<8> x, bit<8> y) { }\n"
                 "table t { key = { meta.x: exact; } actions = { a(meta.z, 1); } }", "", "1); }",
                 0, "1: parameter y cannot be bound: it is set by the control plane",
                 id="action-list-binds-control-plane-parameter"),
    pytest.param("", "action a(inout bit<8> x, bit<8> y) { }\n"
                 "table t { key = { meta.x: exact; } actions = { a; } }", "", "a; }", 0,
                 "a: Parameter x must be bound", id="action-list-leaves-directional-parameter"),
    pytest.param("", "", "hdr.ethernet.setValid(1);", "hdr.ethernet.setValid", 0,
                 "hdr.ethernet.setValid: expected 0 arguments, got 1", id="builtin-args"),
    pytest.param("", SWITCH_TABLE, "switch (t.apply().action_run) { default: { } b: { } }",
                 "switch", 0, "switch label b follows 'default' label, which is not allowed.",
                 id="switch-label-after-default"),
    pytest.param("", SWITCH_TABLE, "switch (t.apply().action_run) { a: { } a: { } }",
                 "a: { } }", 0, "a: 'switch' label duplicates a", id="switch-label-duplicate"),
    pytest.param("", SWITCH_TABLE, "switch (t.apply().action_run) { a: { } c: { } }", "c: {",
                 0, "c: not an action of table t", id="switch-label-not-an-action"),
    pytest.param("", "action a() { }\ntable t { actions = { a; } const entries = { 1: a(); } }",
                 "", "table t", 6, "Entries cannot be specified for a table with no key t",
                 id="entries-without-key"),
]


@pytest.mark.parametrize(("decls", "locals_", "body", "marker", "offset", "message"), CASES)
def test_rejected(expect_first_error: Callable[..., None], decls: str, locals_: str, body: str,
                  marker: str, offset: int, message: str | None) -> None:
    expect_first_error(decls, locals_, body, marker, offset, message)


def test_parser_errors(check_errors: Callable[[str], list[str]],
                       where: Callable[..., str]) -> None:
    source = """#include <core.p4>
header h_t { bit<8> f; }
struct hs { h_t h; }
parser P(packet_in p, out hs hdr) {
    state start { p.extract(hdr.h); transition select(hdr.h.f) { 1: nowhere; default: accept; } }
}
parser Q(packet_in p, out hs hdr) {
    state begin { transition accept; }
}
"""
    errors = check_errors(source)
    assert errors == [f"{where(source, 'nowhere')}: error: nowhere: declaration not found",
                      f"{where(source, 'parser Q')}: error: Q: parser has no 'start' state"]


def test_every_error_is_reported(check_errors: Callable[[str], list[str]],
                                 program: Callable[..., str]) -> None:
    source = program(body="meta.x = nope1; meta.y = nope2;")
    errors = check_errors(source)
    assert [e.split(": error: ")[1] for e in errors] == ["nope1: declaration not found",
                                                         "nope2: declaration not found"]


@pytest.mark.parametrize(("annotation", "message"), [
    ("@name(1)", "@name: expected one string literal argument"),
    ('@id("x")', "@id: expected one integer literal argument"),
    ("@field_list(a)", "@field_list: expected compile-time integer constant arguments"),
])
def test_known_annotations_are_validated(check_errors: Callable[[str], list[str]],
                                         program: Callable[..., str],
                                         where: Callable[..., str], annotation: str,
                                         message: str) -> None:
    source = program(locals_=f"{annotation} action a() {{ }}")
    assert check_errors(source) == [f"{where(source, annotation)}: error: {message}"]


def test_unknown_annotations_are_kept(check_ok: Callable[[str], object],
                                      program: Callable[..., str]) -> None:
    check_ok(program(locals_='@my_tool(anything + goes, "here") @flag action a() { }'))


def test_field_list_takes_named_constants(check_ok: Callable[[str], object],
                                          program: Callable[..., str]) -> None:
    check_ok(program(decls="const bit<8> KEEP = 2;\nstruct kept_t { @field_list(KEEP, 1 + 2) "
                           "bit<8> f; }"))


def test_accept_state_cannot_be_implemented(check_errors: Callable[[str], list[str]],
                                            where: Callable[..., str]) -> None:
    source = ("#include <core.p4>\nparser P(packet_in p) {\n"
              "    state start { transition accept; }\n    state accept { }\n}\n")
    assert check_errors(source) == [
        f"{where(source, 'state accept')}: error: accept: Invalid accept: parser state should "
        "not be implemented, it is built-in"]


def test_very_deep_expressions_are_an_error_not_a_crash(
        check_errors: Callable[[str], list[str]]) -> None:
    source = "control C(inout bit<8> x) { apply { x = " + " + ".join(["x"] * 10000) + "; } }"
    assert check_errors(source) == ["prog.p4:1:1: error: C: expressions nested too deeply"]


def test_complex_key_needs_a_name(check_errors: Callable[[str], list[str]],
                                  program: Callable[..., str],
                                  where: Callable[..., str]) -> None:
    source = program(locals_="table t { key = { (bit<8>)meta.x: exact; } actions = { } }")
    assert check_errors(source) == [
        f"{where(source, '(bit<8>)meta.x')}: error: (bit<8>)meta.x: Complex key expression "
        "requires a @name annotation"]
