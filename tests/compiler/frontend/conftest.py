"""Helpers for front-end tests: build small v1model programs and check them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from p4sim.compiler import ast
from p4sim.compiler.diagnostics import CompileError
from p4sim.compiler.frontend import frontend_source

PROGRAM_FILE = "prog.p4"

TEMPLATE = """#include <core.p4>
#include <v1model.p4>
header ethernet_t {{ bit<48> dst; bit<48> src; bit<16> etherType; }}
header ipv4_t {{ bit<4> version; bit<4> ihl; bit<8> tos; bit<16> len; bit<8> ttl;
                bit<8> protocol; bit<16> csum; bit<32> src; bit<32> dst; }}
struct headers {{ ethernet_t ethernet; ipv4_t ipv4; }}
struct metadata {{ bit<32> x; bit<16> y; bit<8> z; bool flag; }}
{decls}
parser MyParser(packet_in pkt, out headers hdr, inout metadata meta,
                inout standard_metadata_t standard_metadata) {{
    state start {{ pkt.extract(hdr.ethernet); transition accept; }}
}}
control MyVerify(inout headers hdr, inout metadata meta) {{ apply {{ }} }}
control MyIngress(inout headers hdr, inout metadata meta,
                  inout standard_metadata_t standard_metadata) {{
{locals}
    apply {{
{body}
    }}
}}
control MyEgress(inout headers hdr, inout metadata meta,
                 inout standard_metadata_t standard_metadata) {{ apply {{ }} }}
control MyCompute(inout headers hdr, inout metadata meta) {{ apply {{ }} }}
control MyDeparser(packet_out pkt, in headers hdr) {{
    apply {{ pkt.emit(hdr.ethernet); pkt.emit(hdr.ipv4); }}
}}
V1Switch(MyParser(), MyVerify(), MyIngress(), MyEgress(), MyCompute(), MyDeparser()) main;
"""

def v1model_program(decls: str = "", locals_: str = "", body: str = "") -> str:
    return TEMPLATE.format(decls=decls, locals=locals_, body=body)


def position(source: str, marker: str, offset: int = 0) -> str:
    """``prog.p4:LINE:COL`` of the first occurrence of ``marker`` (plus ``offset`` columns)."""
    for number, line in enumerate(source.splitlines(), 1):
        if marker in line:
            return f"{PROGRAM_FILE}:{number}:{line.index(marker) + 1 + offset}"
    raise AssertionError(f"{marker!r} not in source")


@pytest.fixture
def where() -> Callable[..., str]:
    return position


@pytest.fixture
def program() -> Callable[..., str]:
    return v1model_program


@pytest.fixture
def check_ok() -> Callable[[str], ast.Program]:
    def run(source: str) -> ast.Program:
        return frontend_source(source, PROGRAM_FILE)
    return run


@pytest.fixture
def check_errors() -> Callable[[str], list[str]]:
    """Compile ``source``, expect failure, return the error lines (prog.p4:L:C: ...)."""
    def run(source: str) -> list[str]:
        with pytest.raises(CompileError) as info:
            frontend_source(source, PROGRAM_FILE)
        return str(info.value).splitlines()
    return run


@pytest.fixture
def expect_first_error(check_errors: Callable[[str], list[str]]) -> Callable[..., None]:
    """Assert that the program built from (decls, locals_, body) fails first at ``marker``
    (plus ``offset`` columns) with ``message``; a None message accepts any message there."""
    def run(decls: str, locals_: str, body: str, marker: str, offset: int,
            message: str | None) -> None:
        source = v1model_program(decls=decls, locals_=locals_, body=body)
        first = check_errors(source)[0]
        prefix = f"{position(source, marker, offset)}: error: "
        if message is None:
            assert first.startswith(prefix)
        else:
            assert first == prefix + message
    return run
