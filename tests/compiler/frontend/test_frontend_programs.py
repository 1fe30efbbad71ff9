"""Whole programs through the front end, and what the backend reads from the AST."""

from pathlib import Path

from p4sim.compiler import ast
from p4sim.compiler import types as t
from p4sim.compiler.frontend import frontend_file, frontend_source

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


def find_calls(program: ast.Program, file_suffix: str) -> list[ast.MethodCall]:
    return [n for n in ast.walk(program) if isinstance(n, ast.MethodCall)
            and n.pos.file.endswith(file_suffix)]


def test_feature_program_is_fully_annotated() -> None:
    program = frontend_file(HERE / "programs" / "features.p4")
    widths: set[int] = set()
    for node in ast.walk(program):
        if isinstance(node, ast.BaseTypeRef) and node.width is not None:
            widths.add(id(node.width))
    for node in ast.walk(program):
        if isinstance(node, ast.Expression) and not isinstance(node, ast.TypeNameExpression):
            in_annotation = node.pos.file.endswith("features.p4") and node.type is None
            assert node.type is not None or in_annotation, node
        if isinstance(node, ast.PathExpression):
            assert node.decl is not None, node
        if isinstance(node, ast.MethodCall):
            assert node.call_kind is not None, node
        if isinstance(node, ast.TypeRef):
            assert node.type is not None, node


def test_generic_bindings_and_literal_widths() -> None:
    program = frontend_file(HERE / "programs" / "features.p4")
    calls = {(c.callee.name if isinstance(c.callee, ast.Declaration) else c.builtin, c.pos.line):
             c for c in find_calls(program, "features.p4")}
    reg_write = next(c for (name, _), c in calls.items() if name == "write")
    assert reg_write.call_kind is ast.CallKind.EXTERN_METHOD
    assert reg_write.type_args_inferred == {"T": t.BitsType(32), "I": t.BitsType(8)}
    index = reg_write.ordered_args[0]
    assert isinstance(index, ast.IntLiteral) and index.width == 8 and index.const_value == 3
    hash_call = next(c for (name, _), c in calls.items() if name == "hash")
    assert hash_call.type_args_inferred["D"] == t.TupleType((t.BitsType(32), t.BitsType(32)))
    assert hash_call.type_args_inferred["M"] == t.BitsType(32)
    digest = next(c for (name, _), c in calls.items() if name == "digest")
    data = digest.ordered_args[1]
    assert isinstance(data, ast.ListExpression) and isinstance(data.type, t.StructType)
    assert data.type.name == "digest_t"
    extracts = [c for (name, _), c in calls.items() if name == "extract"]
    assert {str(c.type_args_inferred["T"]) for c in extracts} >= {"ethernet_t", "ipv4_t",
                                                                  "opt_t"}
    applies = [c for c in calls.values() if c.call_kind is ast.CallKind.TABLE_APPLY]
    assert {c.callee.name for c in applies if isinstance(c.callee, ast.TableDecl)} == {
        "ipv4_lpm", "t_dc", "t_sel", "t_prof"}
    sub_apply = next(c for c in calls.values() if c.call_kind is ast.CallKind.CONTROL_APPLY)
    assert isinstance(sub_apply.callee, ast.InstantiationDecl)
    builtins = {c.builtin for c in calls.values() if c.call_kind is ast.CallKind.BUILTIN}
    assert builtins == {"isValid", "setValid", "setInvalid", "push_front", "pop_front"}


def test_tables_are_resolved() -> None:
    program = frontend_file(HERE / "programs" / "features.p4")
    ingress = program.find("MyIngress")
    assert isinstance(ingress, ast.ControlDecl)
    tables = {d.name: d for d in ingress.locals if isinstance(d, ast.TableDecl)}
    t_dc = tables["t_dc"]
    assert t_dc.keys is not None
    assert [k.expr.type for k in t_dc.keys] == [t.BitsType(32), t.BitsType(16), t.BitsType(16)]
    assert [k.match_kind.const_value.member for k in t_dc.keys] == ["ternary", "range",
                                                                    "optional"]
    assert t_dc.entries is not None
    first = t_dc.entries[0].keyset
    assert isinstance(first, ast.ListExpression)
    mask = first.elements[0]
    assert isinstance(mask, ast.MaskExpression) and mask.value.type == t.BitsType(32)
    assert t_dc.entries[1].priority is not None and t_dc.entries[1].priority.const_value == 5
    action = t_dc.entries[0].action
    assert isinstance(action.expr, ast.MethodCall)
    assert action.expr.callee is action.action_path.decl
    assert action.expr.ordered_args[0].const_value == 1
    assert isinstance(t_dc.default_action.action_path.decl, ast.ActionDecl)
    with_dir = tables["t_sel"].actions[1]
    assert isinstance(with_dir.expr, ast.MethodCall)
    assert len(with_dir.expr.ordered_args) == 2 and with_dir.expr.ordered_args[1] is None


def test_enums_errors_and_constants_fold() -> None:
    program = frontend_file(HERE / "programs" / "features.p4")
    proto = program.find("Proto")
    assert isinstance(proto, ast.EnumDecl) and isinstance(proto.type, t.SerEnumType)
    assert dict(proto.type.values) == {"TCP": 6, "UDP": 17}
    const = program.find("TYPE_IPV4")
    assert isinstance(const, ast.ConstDecl) and const.value.const_value == 0x800
    version = program.find("__v1model_version")
    assert isinstance(version, ast.ConstDecl) and version.value.const_value == 20200408
    verify_calls = [c for c in find_calls(program, "features.p4")
                    if isinstance(c.callee, ast.ExternFunctionDecl) and c.callee.name == "verify"]
    assert verify_calls[0].ordered_args[1].const_value == ast.EnumValue("error",
                                                                        "StackOutOfBounds")


def test_standard_metadata_layout() -> None:
    program = frontend_file(HERE / "programs" / "features.p4")
    std = program.find("standard_metadata_t")
    assert isinstance(std, ast.StructDecl) and isinstance(std.type, t.StructType)
    assert [(n, str(ft)) for n, ft in std.type.fields] == [
        ("ingress_port", "bit<9>"), ("egress_spec", "bit<9>"), ("egress_port", "bit<9>"),
        ("instance_type", "bit<32>"), ("packet_length", "bit<32>"),
        ("enq_timestamp", "bit<32>"), ("enq_qdepth", "bit<19>"), ("deq_timedelta", "bit<32>"),
        ("deq_qdepth", "bit<19>"), ("ingress_global_timestamp", "bit<48>"),
        ("egress_global_timestamp", "bit<48>"), ("mcast_grp", "bit<16>"),
        ("egress_rid", "bit<16>"), ("checksum_error", "bit<1>"), ("parser_error", "error"),
        ("priority", "bit<3>")]
    aliases = {f.name: f.annotation("alias") for f in std.fields}
    alias = aliases["mcast_grp"]
    assert alias is not None and alias.args[0].const_value == "intrinsic_metadata.mcast_grp"


def test_load_balancer_program_checks() -> None:
    program = frontend_file(REPO / "p4src" / "lb.p4", include_dirs=[REPO / "p4src"])
    assert program.find("main") is not None


def test_sub_parsers_sub_controls_functions_and_unions() -> None:
    program = frontend_file(HERE / "programs" / "subblocks.p4")
    calls = find_calls(program, "subblocks.p4")
    kinds = {c.call_kind for c in calls}
    assert {ast.CallKind.PARSER_APPLY, ast.CallKind.CONTROL_APPLY,
            ast.CallKind.FUNCTION} <= kinds
    direct = [c for c in calls if c.call_kind is ast.CallKind.CONTROL_APPLY
              and isinstance(c.callee, ast.ControlDecl)]
    assert [c.callee.name for c in direct] == ["Count"]
    pick = next(c for c in calls if isinstance(c.callee, ast.FunctionDecl)
                and c.callee.name == "pick")
    assert pick.type_args_inferred == {"T": t.BitsType(8)} and pick.type == t.BitsType(8)
    count = program.find("Ing")
    assert isinstance(count, ast.ControlDecl)
    instance = count.locals[0]
    assert isinstance(instance, ast.InstantiationDecl) and isinstance(instance.callee,
                                                                      ast.ControlDecl)
    assert instance.args[0].value.const_value == 2
    calc = program.find("CALC")
    assert isinstance(calc, ast.ConstDecl) and calc.value.const_value == 19
    neg = program.find("NEG")
    assert isinstance(neg, ast.ConstDecl) and neg.value.const_value == -3
    extract_var = next(c for c in calls if isinstance(c.callee, ast.MethodDecl)
                       and c.callee.name == "extract" and len(c.args) == 2)
    assert str(extract_var.type_args_inferred["T"]) == "var_t"


def test_serializable_enums_convert_to_their_underlying_type() -> None:
    program = frontend_file(HERE / "programs" / "serenum.p4")
    const = program.find("K")
    assert isinstance(const, ast.ConstDecl) and const.value.const_value == 0x807
    control = program.find("C")
    assert isinstance(control, ast.ControlDecl)
    increment = control.body.statements[1]
    assert isinstance(increment, ast.AssignStatement)
    assert isinstance(increment.rhs, ast.BinaryOp)
    cast = increment.rhs.left
    assert isinstance(cast, ast.Cast) and cast.type == t.BitsType(16)
    assert isinstance(cast.expr.type, t.SerEnumType)


def test_constructor_parameters_are_compile_time_values() -> None:
    program = frontend_file(HERE / "programs" / "constructor_params.p4")
    top = program.find("Top")
    assert isinstance(top, ast.ControlDecl)
    instance = top.locals[0]
    assert isinstance(instance, ast.InstantiationDecl)
    assert [a.value.type for a in instance.args] == [t.BitsType(32), t.BitsType(8)]


def test_literal_arguments_take_the_width_of_a_generic_bound_later() -> None:
    program = frontend_source("""
        extern void pick3<T>(in T lo, in T hi, out T result);
        control C(inout bit<16> x) { apply { pick3(1, 100, x); } }
    """, "generic.p4")
    call = next(n for n in ast.walk(program) if isinstance(n, ast.MethodCall))
    assert call.type_args_inferred == {"T": t.BitsType(16)}
    assert [a.type for a in call.ordered_args] == [t.BitsType(16)] * 3


def test_v1model_version_selects_the_extern_interface() -> None:
    old = frontend_source("#include <v1model.p4>\ntypedef bit<9> PortId_t;\n"
                          "control C() { register<bit<8>>(4) r; counter(4, CounterType.packets) c;"
                          " apply { } }", "old.p4")
    version = old.find("__v1model_version")
    assert isinstance(version, ast.ConstDecl) and version.value.const_value == 20180101
    new = frontend_source("#define V1MODEL_VERSION 20200408\n#include <v1model.p4>\n"
                          "control C(inout bit<8> i) { register<bit<8>, bit<8>>(4) r;"
                          " apply { r.write(i, 1); } }", "new.p4")
    version = new.find("__v1model_version")
    assert isinstance(version, ast.ConstDecl) and version.value.const_value == 20200408
    std = new.find("standard_metadata_t")
    assert isinstance(std, ast.StructDecl) and isinstance(std.type, t.StructType)
    assert std.type.field_type("egress_spec") == t.BitsType(9)


def test_table_keys_get_p4c_control_plane_names() -> None:
    program = frontend_source("""#include <v1model.p4>
        header h_t { bit<16> a; @name(".renamed") bit<8> b; @name("inner") bit<8> c; }
        struct s_t { h_t h; h_t[2] hs; }
        control C(inout s_t s) {
            action a() { }
            table t {
                key = {
                    s.h.isValid(): exact;
                    s.h.a & 0xFF00: ternary;
                    s.h.b: exact;
                    s.h.c: exact;
                    s.hs[1].a[15:8]: exact;
                    s.h.a + 1: exact @name("computed");
                }
                actions = { a; }
            }
            apply { t.apply(); }
        }""", "keys.p4")
    control = program.find("C")
    assert isinstance(control, ast.ControlDecl)
    table = control.locals[1]
    assert isinstance(table, ast.TableDecl) and table.keys is not None
    assert [k.name_annotation() for k in table.keys] == [
        "s.h.$valid$", "s.h.a & 0xff00", "renamed", "s.h.inner", "s.hs[1].a[15:8]", "computed"]


def test_named_package_arguments_are_put_in_parameter_order() -> None:
    text = (HERE / "programs" / "subblocks.p4").read_text().replace(
        "V1Switch(P(), V(), Ing(), E(), CC(), D()) main;",
        "V1Switch(ig = Ing(), p = P(), dep = D(), vr = V(), eg = E(), ck = CC()) main;")
    program = frontend_source(text, str(HERE / "programs" / "named.p4"))
    main = program.find("main")
    assert isinstance(main, ast.InstantiationDecl)
    assert [a.name for a in main.args] == ["p", "vr", "ig", "eg", "ck", "dep"]
    assert [e.callee.name for e in main.ordered_args] == ["P", "V", "Ing", "E", "CC", "D"]
