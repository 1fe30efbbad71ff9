"""Front-end fixes found by running p4c's positive and negative test corpora (round 2).

Each case is a small program of our own reproducing one construct where p4sim differed
from p4c: a program p4c rejects that p4sim accepted, or the reverse.
"""

from collections.abc import Callable

import pytest

from p4sim.compiler import ast

# (decls, locals, body, marker, column offset in the marker, message)
REJECTED = [
    pytest.param("", "table t { key = { meta.x: exact; }\n key = { meta.y: exact; }\n"
                 " actions = { NoAction; } }", "", "key = { meta.y", 0,
                 "key: Duplicates declaration key", id="duplicate-table-property"),
    pytest.param("", "action a(inout bit<8> v, bit<8> d) { v = d; }\n"
                 "table t { actions = { a(meta.z); }\n default_action = a(hdr.ipv4.ttl, 1); }",
                 "", "hdr.ipv4.ttl", 0,
                 "hdr.ipv4.ttl: argument does not match declaration in actions list: meta.z",
                 id="default-action-rebinds-argument"),
    pytest.param("action b() { }", "action a() { } action b() { }\n"
                 "table t { actions = { a; b; }\n default_action = .b(); }", "", ".b()", 0,
                 "b not present in action list", id="default-action-other-declaration"),
    pytest.param("", "table t { actions = { NoAction; } }\naction a() { t.apply(); }", "",
                 "t.apply", 0, "t.apply: tables cannot be invoked from actions",
                 id="table-applied-in-action"),
    pytest.param("extern E { void E(); }", "", "", "E();", 0,
                 "E: Invalid E: Constructor cannot have a return type",
                 id="constructor-with-return-type"),
    pytest.param("control Inner(inout metadata m) { apply { } }", "",
                 "Inner() inner; inner.apply(meta);", "inner;", 0,
                 "inner: Invalid inner: instances cannot be in a control 'apply' block",
                 id="instance-in-apply-block"),
    pytest.param("", "", "meta.z = meta.z / 0;", "meta.z /", 0,
                 "meta.z / 0: Division by zero", id="division-by-zero"),
    pytest.param("", "", "meta.z = meta.z % -3;", "meta.z %", 0,
                 "%: not defined on negative numbers", id="modulo-negative"),
    pytest.param("", "", "meta.z = -6 / 2;", "-6 /", 0,
                 "/: not defined on negative numbers", id="division-negative-literal"),
    pytest.param("enum bit<8> Colour { red = 1, green = 2 }", "", "Colour c = 2;", "2;", 0,
                 "2: values of type 'int' cannot be implicitly cast to type 'Colour'",
                 id="int-literal-initializes-serenum"),
    pytest.param("enum bit<8> Colour { red = 1, green = 2 }", "",
                 "Colour c = Colour.red; c = 1;", "c = 1", 0,
                 "c = 1: values of type 'int' cannot be implicitly cast to type 'Colour'",
                 id="int-literal-assigned-to-serenum"),
    pytest.param("extern Acc { Acc(); void add(in bit<8> v); void add<T>(in T v); }", "", "",
                 "add<T>", 0, "Ambiguous method add with 1 parameters",
                 id="ambiguous-extern-overload"),
    pytest.param("", "table t { key = { meta.x: exact; } }", "",
                 "t { key = { meta.x: exact; } }", 0,
                 "t: Expected Table t does not have an `actions' property",
                 id="table-without-actions"),
    pytest.param("extern Pair<K, K> { Pair(); }", "", "", "K> {", 0,
                 "K: Duplicates declaration K", id="duplicate-type-parameter"),
    pytest.param("extern void take(in bit<8> v);\n"
                 "control Generic<T>(in T value) { apply { take(value); } }", "", "",
                 "value);", 0, "value: Cannot unify T to bit<8>", id="type-variable-to-bits"),
    pytest.param("", "action a() { }\ntable t { key = { meta.z: lpm; } actions = { a; }\n"
                 "const entries = { 0x10 &&& 0x0F: a(); } }", "", "0x10 &&&", 0,
                 "0x10 &&& 0x0F: invalid mask for LPM key", id="lpm-entry-mask-not-prefix"),
    pytest.param("", "action a() { }\ntable t { key = { meta.z: exact; } actions = { a; }\n"
                 "const entries = { 0x10 &&& 0xF0: a(); } }", "", "0x10 &&&", 0,
                 "0x10 &&& 0xF0: invalid key expression for exact match",
                 id="exact-entry-with-mask"),
    pytest.param("", "action a() { }\ntable t { key = { meta.z: ternary; } actions = { a; }\n"
                 "const entries = { 1 .. 4: a(); } }", "", "1 .. 4", 0,
                 "1 .. 4: invalid key expression for ternary match",
                 id="ternary-entry-with-range"),
    pytest.param("", "", "bit<4096> wide = 0;", "4096", 0,
                 "4096: this implementation does not support bitstrings this large",
                 id="width-beyond-p4c-limit"),
    pytest.param("", "", "meta.z = 5000w3[7:0];", "5000w3", 0,
                 "5000: this implementation does not support bitstrings this large",
                 id="literal-width-beyond-p4c-limit"),
    pytest.param("", "", "meta.z = (bit<8>)(1 << 99999999999);", "1 <<", 0,
                 "1 << 99999999999: shift amount too large", id="huge-literal-shift"),
    pytest.param("", "action touch(inout bit<8> v) { v = v + 1; }", "touch(_);", "_)", 0,
                 "_: don't care argument is only allowed for out parameters",
                 id="dont-care-for-inout"),
    pytest.param("struct pair_t<T> { T a; T b; }\nconst pair_t<_> P = { a = 1, b = 2 };", "",
                 "", "P =", 0, "P: the type of a constant cannot contain '_'",
                 id="constant-type-with-dont-care"),
    pytest.param("extern void fill(out bit<8> v = 3);", "", "", "v = 3", 0,
                 "v: out parameters cannot have default values", id="out-parameter-default"),
    pytest.param("extern void pick(@optional bit<8> v = 3);", "", "", "v = 3", 0,
                 "v: optional parameters cannot have default values",
                 id="optional-parameter-default"),
    pytest.param("control Twice<w>(inout bit<8> w) { apply { } }", "", "", "w) {", 0,
                 "w: Invalid w: Duplicated parameter name w",
                 id="type-parameter-named-like-parameter"),
    pytest.param("error { Oops }", "", "verify(meta.flag, error.Oops);", "verify(", 0,
                 "verify: may only be invoked in parsers", id="verify-in-control"),
    pytest.param("control Part();\npackage Twin(Part one, Part one);", "", "", "one);", 0,
                 "one: Duplicate declaration of one", id="prototype-duplicate-parameter"),
    pytest.param("extern Box { Box(bool full = 3); }", "", "", "3);", 0,
                 "3: cannot convert an integer to bool", id="parameter-default-of-wrong-type"),
    pytest.param("struct choice_t { bit<8> a; }", "action pick(choice_t c) { meta.z = c.a; }",
                 "", "c) {", 0, "Action parameter c has a type which is not bit<>, int<>, bool, "
                 "type or serializable enum", id="struct-action-data"),
    pytest.param("extern void spread<T>(in T value);", "", "spread(0xFFFF);", "0xFFFF", 0,
                 "0xFFFF: could not infer a width", id="generic-bound-to-int-literal"),
    pytest.param("", "", "meta.z = meta.z % meta.z;", "meta.z %", 0,
                 "meta.z % meta.z: could not evaluate expression at compilation time",
                 id="modulo-at-run-time"),
    pytest.param("", "", "meta.z = meta.z / 3;", "meta.z /", 0,
                 "meta.z / 3: could not evaluate expression at compilation time",
                 id="division-not-by-power-of-two"),
    pytest.param("type bit<8> tag_t;", "", "tag_t g = (tag_t)meta.z; meta.z = (bit<8>)(g + 1);",
                 "g + 1", 0, "+: cannot be applied to expression 'g' with type 'tag_t'",
                 id="arithmetic-on-new-type"),
    pytest.param("type bit<8> tag_t;", "", "tag_t g = (tag_t)meta.z; g = ~g;", "~g", 1,
                 "~: cannot be applied to expression 'g' with type 'tag_t'",
                 id="complement-of-new-type"),
    pytest.param("", "", "bit<8>[4] bytes;", "bit<8>[4]", 0,
                 "bit<8>[4]: arrays of bit<8> are not supported by p4sim (only header stacks: "
                 "arrays of headers or header unions)", id="array-of-bits-unsupported"),
    pytest.param("", "", "meta.z <<= meta.flag;", "meta.flag;", 0,
                 "meta.flag: shift amount must be an integer", id="compound-shift-by-bool"),
]


@pytest.mark.parametrize(("decls", "locals_", "body", "marker", "offset", "message"), REJECTED)
def test_rejected_as_p4c_does(expect_first_error: Callable[..., None], decls: str, locals_: str,
                              body: str, marker: str, offset: int, message: str) -> None:
    expect_first_error(decls, locals_, body, marker, offset, message)


def test_compound_assignments_desugar_to_binary_operations(
        program: Callable[..., str], check_ok: Callable[[str], ast.Program]) -> None:
    source = program("", "", "meta.x += 3; meta.z <<= 2; meta.y |-|= meta.y; meta.x ^= 1;")
    checked = check_ok(source)
    ingress = next(d for d in checked.declarations
                   if isinstance(d, ast.ControlDecl) and d.name == "MyIngress")
    assignments = [s for s in ingress.body.statements if isinstance(s, ast.AssignStatement)]
    assert [s.rhs.op for s in assignments if isinstance(s.rhs, ast.BinaryOp)] == \
        ["+", "<<", "|-|", "^"]
    first = assignments[0]
    assert isinstance(first.rhs, ast.BinaryOp) and first.rhs.left is not first.lhs
    assert str(first.rhs.type) == "bit<32>"


def test_parameter_of_a_prototype_does_not_hide_a_later_control(
        check_ok: Callable[[str], ast.Program]) -> None:
    # p4c scopes a parameter to its own declaration: "c" below is the control again.
    source = """#include <core.p4>
control proto(inout bit<8> v);
package top(proto c);
control c(inout bit<8> v) { apply { v = 1; } }
top(c()) main;
"""
    checked = check_ok(source)
    assert any(isinstance(d, ast.ControlDecl) and d.name == "c" for d in checked.declarations)


def test_literal_still_matches_a_serenum_in_select_and_switch(
        program: Callable[..., str], check_ok: Callable[[str], ast.Program]) -> None:
    source = program("enum bit<8> Colour { red = 1, green = 2 }", "",
                     "Colour c = Colour.green; switch (c) { Colour.red: { meta.z = 1; } "
                     "default: { } }")
    check_ok(source)


def test_lpm_prefix_mask_and_value_set_of_one_field_struct_are_accepted(
        program: Callable[..., str], check_ok: Callable[[str], ast.Program]) -> None:
    source = program("struct one_field_t { bit<16> kind; }", "action a() { }\n"
                     "table t { key = { meta.z: lpm; } actions = { a; }\n"
                     "const entries = { 0x10 &&& 0xF0: a(); _: a(); } }", "")
    source = source.replace(
        "    state start {",
        "    value_set<one_field_t>(4) kinds;\n    state start {", 1).replace(
        "transition accept; }",
        "transition select(hdr.ethernet.etherType) { kinds: accept; default: accept; } }", 1)
    check_ok(source)


def test_shift_of_a_sized_value_by_a_huge_amount_folds_to_zero(
        program: Callable[..., str], check_ok: Callable[[str], ast.Program]) -> None:
    source = program("const bit<8> GONE = 8w1 << 4000000000000;", "", "meta.z = GONE;")
    checked = check_ok(source)
    gone = next(d for d in checked.declarations
                if isinstance(d, ast.ConstDecl) and d.name == "GONE")
    assert gone.value.const_value == 0


def test_select_on_a_nested_list_with_per_element_keysets(
        program: Callable[..., str], check_ok: Callable[[str], ast.Program]) -> None:
    source = program().replace(
        "pkt.extract(hdr.ethernet); transition accept;",
        "pkt.extract(hdr.ethernet); transition select(meta.z, {meta.z, meta.y}) {"
        " (1, {2, 3}): accept; (4, {6, 5}): accept; default: reject; }", 1)
    check_ok(source)


def test_direct_action_calls_with_constants_and_run_time_values_are_accepted(
        program: Callable[..., str], check_ok: Callable[[str], ast.Program]) -> None:
    source = program("const bit<8> SEVEN = 7;",
                     "action set_z(bit<8> v) { meta.z = v; }\n"
                     "action forward(bit<8> w) { set_z(w); }\n"
                     "table t { key = { meta.x: exact; } actions = { forward; } }",
                     "set_z(3); set_z(SEVEN + 1); set_z(hdr.ipv4.ttl); t.apply();")
    check_ok(source)


def test_division_by_a_power_of_two_and_constant_division_are_accepted(
        program: Callable[..., str], check_ok: Callable[[str], ast.Program]) -> None:
    check_ok(program("const bit<8> HALF = 200 / 2;", "",
                     "meta.z = meta.z / 8; meta.y = meta.y % 16; meta.z = HALF % 7;"))


def test_typedef_of_a_struct_declared_in_place(
        program: Callable[..., str], check_ok: Callable[[str], ast.Program]) -> None:
    # spec example: "typedef struct Point { int<32> x; int<32> y; } Pt;"
    source = program("typedef struct pair_s { bit<8> lo; bit<8> hi; } pair_t;", "",
                     "pair_t p = { lo = 1, hi = 2 }; pair_s q = p; meta.z = q.hi;")
    checked = check_ok(source)
    names = [d.name for d in checked.declarations if isinstance(d, ast.Declaration)]
    assert names.index("pair_s") + 1 == names.index("pair_t")


def test_constant_initialized_by_a_cast_structure_expression(
        program: Callable[..., str], check_ok: Callable[[str], ast.Program]) -> None:
    source = program("struct pair_t<T> { T lo; T hi; }\n"
                     "const pair_t<bit<8>> P = (pair_t<bit<8>>){ lo = 1, hi = 2 };", "",
                     "meta.z = P.hi;")
    checked = check_ok(source)
    constant = next(d for d in checked.declarations
                    if isinstance(d, ast.ConstDecl) and d.name == "P")
    assert constant.value.const_value is not None


def test_new_type_values_compare_and_cast(
        program: Callable[..., str], check_ok: Callable[[str], ast.Program]) -> None:
    check_ok(program("type bit<8> tag_t;", "",
                     "tag_t g = (tag_t)meta.z; tag_t h = g; "
                     "if (g == h) { meta.z = (bit<8>)g + 1; }"))


def test_width_given_by_a_constant_name(
        program: Callable[..., str], check_ok: Callable[[str], ast.Program]) -> None:
    # p4c accepts bit<W> with a constant W (no parentheses), also inside type arguments
    source = program("const bit<8> W = 12;\ntypedef bit<W> narrow_t;", "register<bit<W>>(4) r;",
                     "narrow_t n = 5; bit<W> m = n; r.write(0, m);")
    checked = check_ok(source)
    alias = next(d for d in checked.declarations
                 if isinstance(d, ast.TypedefDecl) and d.name == "narrow_t")
    assert str(alias.type_ref.type) == "bit<12>"


def test_indexed_part_select_is_a_slice(
        program: Callable[..., str], check_ok: Callable[[str], ast.Program]) -> None:
    source = program("", "", "meta.z = meta.x[8 +: 8]; meta.y[4 +: 4] = 4w3;")
    checked = check_ok(source)
    slices = [n for n in ast.walk(checked) if isinstance(n, ast.Slice)]
    assert [(s.hi.const_value, s.lo.const_value) for s in slices] == [(15, 8), (7, 4)]
