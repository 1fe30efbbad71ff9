"""Parsing P4_16 text into the AST: constructs, positions, precedence, errors."""

import pytest

from p4sim.compiler import ast
from p4sim.compiler.diagnostics import CompileError
from p4sim.compiler.parser import parse_integer, parse_text


def parse_decl(text: str) -> ast.Node:
    return parse_text(text, "t.p4").declarations[-1]


def expr_of(text: str) -> ast.Expression:
    decl = parse_decl(f"const bit<8> c = {text};")
    assert isinstance(decl, ast.ConstDecl)
    return decl.value


@pytest.mark.parametrize(("text", "expected"), [
    ("10", (10, None, False)),
    ("8w255", (255, 8, False)),
    ("4s3", (3, 4, True)),
    ("0x1F", (31, None, False)),
    ("0b1010_1010", (170, None, False)),
    ("0o17", (15, None, False)),
    ("0d99", (99, None, False)),
    ("16w0xABCD", (0xABCD, 16, False)),
    ("1_000", (1000, None, False)),
])
def test_integer_literals(text: str, expected: tuple[int, int | None, bool]) -> None:
    assert parse_integer(text) == expected


def test_precedence_follows_the_spec() -> None:
    # Bitwise operators bind tighter than comparisons in P4 (unlike C).
    e = expr_of("a & b == c")
    assert isinstance(e, ast.BinaryOp) and e.op == "=="
    assert isinstance(e.left, ast.BinaryOp) and e.left.op == "&"
    e = expr_of("a + b * c << 2")
    assert isinstance(e, ast.BinaryOp) and e.op == "<<"
    assert isinstance(e.left, ast.BinaryOp) and e.left.op == "+"
    e = expr_of("a || b && c")
    assert isinstance(e, ast.BinaryOp) and e.op == "||"
    e = expr_of("x ? y : z ? 1 : 2")
    assert isinstance(e, ast.Ternary) and isinstance(e.otherwise, ast.Ternary)
    e = expr_of("-a |+| b ++ c")
    assert isinstance(e, ast.BinaryOp) and e.op == "++"
    assert isinstance(e.left, ast.BinaryOp) and e.left.op == "|+|"


def test_casts_slices_and_members() -> None:
    e = expr_of("(bit<4>)h.f[7:4]")
    assert isinstance(e, ast.Cast) and isinstance(e.expr, ast.Slice)
    assert isinstance(e.type_ref, ast.BaseTypeRef) and e.type_ref.kind == "bit"
    e = expr_of("hs[1].f")
    assert isinstance(e, ast.Member) and isinstance(e.expr, ast.ArrayIndex)


def test_type_names_versus_values() -> None:
    program = parse_text("typedef bit<8> T; enum E { A } const T c = (T)E.A;"
                         " const bit<8> d = c < 3 ? 1 : 2;", "t.p4")
    cast = program.declarations[2].value  # type: ignore[attr-defined]
    assert isinstance(cast, ast.Cast) and isinstance(cast.type_ref, ast.NamedTypeRef)
    assert isinstance(cast.expr, ast.Member) and isinstance(cast.expr.expr,
                                                            ast.TypeNameExpression)
    cond = program.declarations[3].value.cond  # type: ignore[attr-defined]
    assert isinstance(cond, ast.BinaryOp) and cond.op == "<"


def test_generic_calls_and_specialised_types() -> None:
    program = parse_text("""
        extern E<T> { E(bit<32> n); T get<U>(in U u); }
        control C() {
            E<bit<8>>(4) e;
            apply { bit<8> v = e.get<bit<16>>(1); f<bit<8>>(v); if (v < 2 && v > 1) {} }
        }""", "t.p4")
    control = program.declarations[1]
    assert isinstance(control, ast.ControlDecl)
    inst = control.locals[0]
    assert isinstance(inst, ast.InstantiationDecl)
    assert isinstance(inst.type_ref, ast.NamedTypeRef) and len(inst.type_ref.type_args) == 1
    decl, call_stmt, if_stmt = control.body.statements
    assert isinstance(decl, ast.VariableDecl) and isinstance(decl.init, ast.MethodCall)
    assert len(decl.init.type_args) == 1
    assert isinstance(call_stmt, ast.MethodCallStatement) and len(call_stmt.call.type_args) == 1
    assert isinstance(if_stmt, ast.IfStatement)


def test_parser_states_select_and_keysets() -> None:
    program = parse_text("""
        extern packet_in { }
        parser P(packet_in p) {
            value_set<bit<16>>(4) vs;
            state start {
                transition select(a, b) {
                    (1, 2 &&& 3): s1;
                    (4 .. 5, _): s1;
                    vs: accept;
                    default: reject;
                }
            }
            state s1 { }
        }""", "t.p4")
    parser = program.declarations[1]
    assert isinstance(parser, ast.ParserDecl)
    assert isinstance(parser.locals[0], ast.ValueSetDecl)
    select = parser.states[0].transition
    assert isinstance(select, ast.SelectExpression) and len(select.keys) == 2
    first, second, third, fourth = (c.keyset for c in select.cases)
    assert isinstance(first, ast.ListExpression)
    assert isinstance(first.elements[1], ast.MaskExpression)
    assert isinstance(second, ast.ListExpression)
    assert isinstance(second.elements[0], ast.RangeExpression)
    assert isinstance(second.elements[1], ast.DontCare)
    assert isinstance(third, ast.PathExpression)
    assert isinstance(fourth, ast.DefaultExpression)
    assert parser.states[1].transition is None


def test_table_properties() -> None:
    program = parse_text("""
        control C() {
            table t {
                key = { a: exact @name("A"); b: lpm; }
                actions = { x; @defaultonly y(1); }
                const default_action = y(2);
                size = 64;
                implementation = ap;
                counters = dc;
                meters = dm;
                support_timeout = true;
                const entries = {
                    (1, 2): x();
                    priority = 3: (_, 4 &&& 5): y(1);
                    @priority(7) (6, _): x;
                }
                my_property = 5;
            }
            apply { }
        }""", "t.p4")
    control = program.declarations[0]
    assert isinstance(control, ast.ControlDecl)
    table = control.locals[0]
    assert isinstance(table, ast.TableDecl)
    assert table.keys is not None and [k.match_kind.name for k in table.keys] == ["exact", "lpm"]
    assert table.keys[0].name_annotation() == "A"
    assert [a.action_path.name for a in table.actions] == ["x", "y"]
    assert table.actions[1].annotation("defaultonly") is not None
    assert table.default_action is not None and table.default_action_const
    assert table.default_action.action_path.name == "y"
    assert table.size is not None and table.implementation is not None
    assert table.counters is not None and table.meters is not None
    assert table.support_timeout is not None
    assert table.entries is not None and table.entries_const and len(table.entries) == 3
    assert table.entries[1].priority is not None
    assert table.entries[2].annotation("priority") is not None
    assert [p.name for p in table.other_properties] == ["my_property"]


def test_switch_with_fallthrough_and_default() -> None:
    program = parse_text("control C() { apply { switch (t.apply().action_run) {"
                         " a: b: { } default: { } } } }", "t.p4")
    control = program.declarations[0]
    assert isinstance(control, ast.ControlDecl)
    switch = control.body.statements[0]
    assert isinstance(switch, ast.SwitchStatement)
    assert [c.body is None for c in switch.cases] == [True, False, False]
    assert isinstance(switch.cases[2].label, ast.DefaultExpression)


def test_annotations_structured_and_unstructured() -> None:
    decl = parse_decl('@name(".x") @id(3) @hidden @my_tool(a + , weird) '
                      '@kv[k="v", n=1] action a() {}')
    assert isinstance(decl, ast.ActionDecl)
    names = [a.name for a in decl.annotations]
    assert names == ["name", "id", "hidden", "my_tool", "kv"]
    assert decl.name_annotation() == ".x"
    weird = decl.annotations[3]
    assert weird.args == [] and weird.tokens == ["a", "+", ",", "weird"]
    kv = decl.annotations[4]
    assert kv.structured and [k for k, _ in kv.kv] == ["k", "n"]


def test_positions_point_at_the_construct() -> None:
    program = parse_text("header h_t {\n  bit<8> f;\n}\ncontrol C() {\n  apply {\n"
                         "    x = 1;\n  }\n}\n", "pos.p4")
    header = program.declarations[0]
    assert header.pos == ast.SourcePos("pos.p4", 1, 1)
    assert isinstance(header, ast.HeaderDecl)
    assert header.fields[0].pos == ast.SourcePos("pos.p4", 2, 10)
    control = program.declarations[1]
    assert isinstance(control, ast.ControlDecl)
    assert control.body.statements[0].pos == ast.SourcePos("pos.p4", 6, 5)


@pytest.mark.parametrize(("text", "message"), [
    ("control C() { apply { x = ; } }", 't.p4:1:27: error: syntax error, unexpected ";"'),
    ("header h { bit<8> f }", 't.p4:1:21: error: syntax error, unexpected "}"'),
    ("control C() { apply {", "t.p4:1:21: error: syntax error, unexpected end of file"),
    ("const bit<8> x = 1 $ 2;", "t.p4:1:20: error: syntax error, unexpected character '$'"),
])
def test_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(CompileError) as info:
        parse_text(text, "t.p4")
    assert str(info.value) == message


def test_values_named_like_types_shadow_them_in_their_scope() -> None:
    program = parse_text("""
        extern counter { counter(bit<32> n); void count(in bit<32> i); }
        struct m_t { bit<32> counter; }
        control C(inout m_t meta) {
            counter(4) hits;
            apply {
                bit<32> counter = 1;
                counter = counter + meta.counter;
                hits.count(counter);
            }
        }""", "t.p4")
    control = program.declarations[2]
    assert isinstance(control, ast.ControlDecl)
    assign = control.body.statements[1]
    assert isinstance(assign, ast.AssignStatement)
    assert isinstance(assign.lhs, ast.PathExpression) and assign.lhs.name == "counter"


@pytest.mark.parametrize("text", [
    "control C(inout bit<8> varbit) { apply { } }",
    "control C() { table t { switch = 1; } apply { } }",
])
def test_keywords_are_reserved(text: str) -> None:
    with pytest.raises(CompileError, match="syntax error"):
        parse_text(text, "t.p4")


def test_comparisons_that_look_like_type_arguments() -> None:
    program = parse_text("control C() { apply { f(a < b, c > (d)); g<bit<8>>(e); h<_>(e); } }",
                         "t.p4")
    control = program.declarations[0]
    assert isinstance(control, ast.ControlDecl)
    first, second, third = control.body.statements
    assert isinstance(third, ast.MethodCallStatement)
    assert isinstance(third.call.type_args[0], ast.DontCareTypeRef)
    assert isinstance(first, ast.MethodCallStatement) and not first.call.type_args
    assert [a.value.op for a in first.call.args] == ["<", ">"]  # type: ignore[attr-defined]
    assert isinstance(second, ast.MethodCallStatement) and len(second.call.type_args) == 1


def test_pragma_annotations_run_to_the_end_of_the_line() -> None:
    program = parse_text("@pragma my_thing a b(c)\naction a() {}\n", "t.p4")
    action = program.declarations[0]
    assert isinstance(action, ast.ActionDecl)
    pragma = action.annotation("pragma")
    assert pragma is not None and pragma.tokens == ["my_thing", "a", "b", "(", "c", ")"]


def test_annotations_of_standard_table_properties_are_kept() -> None:
    program = parse_text("""control C() {
        table t {
            key = { a: exact; }
            actions = { x; }
            @name("ap") implementation = action_profile(128);
            @hidden size = 4;
            @my_note const default_action = x;
            @noWarn("x") const entries = { 1: x; }
        }
        apply { } }""", "t.p4")
    control = program.declarations[0]
    assert isinstance(control, ast.ControlDecl)
    table = control.locals[0]
    assert isinstance(table, ast.TableDecl)
    names = {prop: [a.name for a in anns] for prop, anns in table.property_annotations.items()}
    assert names == {"implementation": ["name"], "size": ["hidden"],
                     "default_action": ["my_note"], "entries": ["noWarn"]}
    assert table.property_annotations["implementation"][0] in list(ast.walk(table))
