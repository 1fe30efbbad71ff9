"""Programs this target cannot run get exact ``file:line:col: error:`` diagnostics."""

from __future__ import annotations

import pytest

from p4sim.compiler import CompileError, compile_source

PRELUDE = "#include <core.p4>\n#include <v1model.p4>\n"

HEADERS = """
header h_t { bit<8> a; bit<8> b; }
struct headers { h_t h; }
struct metadata { bit<8> x; }
parser P(packet_in pk, out headers hdr, inout metadata meta,
         inout standard_metadata_t sm) {
    state start { pk.extract(hdr.h); transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
"""

MAIN = "V1Switch(P(), VC(), I(), E(), CC(), D()) main;\n"
DEPARSER = "control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr.h); } }\n"


STACK_TYPES = """
header s_t { bit<8> v; }
struct headers { s_t[2] s; }
struct metadata { bit<1> i; }
"""
STACK_CONTROLS = """
control VC(inout headers hdr, inout metadata meta) { apply { } }
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control D(packet_out pk, in headers hdr) { apply { pk.emit(hdr.s); } }
""" + MAIN
"""A V1Switch whose headers are a stack ``hdr.s`` and whose controls do nothing but emit it
(after ``STACK_TYPES`` and a parser ``P``)."""


def _error(source: str) -> str:
    with pytest.raises(CompileError) as info:
        compile_source(PRELUDE + source, "bad.p4")
    return str(info.value)


def _line_of(source: str, needle: str) -> int:
    return (PRELUDE + source).splitlines().index(next(
        line for line in (PRELUDE + source).splitlines() if needle in line)) + 1


def test_header_not_byte_aligned() -> None:
    source = ("header odd_t { bit<12> a; }\nstruct headers { odd_t h; }\n" +
              HEADERS.split("struct headers { h_t h; }\n", 1)[1] +
              "control I(inout headers hdr, inout metadata meta, "
              "inout standard_metadata_t sm) { apply { } }\n" + DEPARSER + MAIN)
    line = _line_of(source, "header odd_t")
    assert _error(source) == (
        f"bad.p4:{line}:1: error: odd_t: Found header with fields totaling 12 bits.  "
        "BMv2 target only supports headers with fields totaling a multiple of 8 bits.")


def test_table_applied_twice() -> None:
    source = HEADERS + """
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    table t { key = { hdr.h.a: exact; } actions = { NoAction; } }
    apply {
        t.apply();
        t.apply();
    }
}
""" + DEPARSER + MAIN
    line = _line_of(source, "        t.apply();") + 1
    assert _error(source) == (f"bad.p4:{line}:9: error: table I.t is applied more than once; "
                              "this target does not support that")


def test_conditional_emit_in_deparser() -> None:
    source = HEADERS + """
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control D(packet_out pk, in headers hdr) {
    apply {
        if (hdr.h.a == 1) { pk.emit(hdr.h); }
    }
}
""" + MAIN
    line = _line_of(source, "if (hdr.h.a == 1)")
    assert _error(source) == (f"bad.p4:{line}:9: error: only packet.emit calls are supported "
                              "in the deparser on this target")


def test_missing_main_blames_the_program() -> None:
    source = HEADERS + "control I(inout headers hdr, inout metadata meta, " \
        "inout standard_metadata_t sm) { apply { } }\n" + DEPARSER
    assert _error(source) == "bad.p4:1:1: error: program does not declare a 'main' " \
                             "package instance"


def test_checksum_update_outside_checksum_controls() -> None:
    source = HEADERS + """
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    apply {
        update_checksum(true, { hdr.h.a }, hdr.h.b, HashAlgorithm.csum16);
    }
}
""" + DEPARSER + MAIN
    line = _line_of(source, "update_checksum(true")
    assert _error(source) == (f"bad.p4:{line}:9: error: update_checksum is only supported in "
                              "the checksum controls of V1Switch")


def test_runtime_stack_index_assigned_in_parser() -> None:
    # p4c keeps run-time indexes in parsers and emits a parser ``set`` whose destination
    # is an expression, which BMv2 refuses to load (p4c issue 4194)
    source = STACK_TYPES + """parser P(packet_in pk, out headers hdr, inout metadata meta,
         inout standard_metadata_t sm) {
    state start {
        pk.extract(hdr.s[0]);
        pk.extract(hdr.s[1]);
        hdr.s[meta.i].v = 1;
        transition accept;
    }
}
""" + STACK_CONTROLS
    line = _line_of(source, "hdr.s[meta.i].v = 1;")
    assert _error(source) == (f"bad.p4:{line}:9: error: a field of a header-stack element at "
                              "a run-time index cannot be assigned in a parser on this target "
                              "(BMv2's parser 'set' writes fields only)")


def test_runtime_stack_index_extracted() -> None:
    source = STACK_TYPES + """parser P(packet_in pk, out headers hdr, inout metadata meta,
         inout standard_metadata_t sm) {
    state start { pk.extract(hdr.s[meta.i]); transition accept; }
}
""" + STACK_CONTROLS
    line = _line_of(source, "pk.extract(hdr.s[meta.i])")
    assert _error(source) == (f"bad.p4:{line}:30: error: hdr.s[meta.i]: extracting a "
                              "header-stack element at a run-time index is not supported on "
                              "this target (use .next)")


@pytest.mark.parametrize("name", ["resubmit", "recirculate"])
def test_deprecated_field_list_resubmit_and_recirculate(name: str) -> None:
    source = HEADERS + f"""
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {{
    apply {{
        {name}({{ meta.x }});
    }}
}}
""" + DEPARSER + MAIN
    line = _line_of(source, f"{name}({{")
    assert _error(source) == (f"bad.p4:{line}:9: error: {name} with a field list is deprecated "
                              f"and not supported; use {name}_preserving_field_list")
