"""Corpus access for the compiler midend/backend tests (compiled once per session)."""

from __future__ import annotations

from pathlib import Path

from p4sim.compiler import CompiledProgram, compile_file

CORPUS = Path(__file__).parent / "corpus"
GOLDEN = Path(__file__).parent / "golden"
GOLDEN_PROGRAMS = ("basic_ipv4", "externs_stateful", "ecmp_selector", "acl_const_entries",
                   "mac_learning", "tunnel_encap", "udp_checksum", "inlining", "expressions",
                   "names_and_types", "parser_features")

_cache: dict[str, CompiledProgram] = {}


def compiled(name: str) -> CompiledProgram:
    """Compile ``corpus/<name>.p4`` once per test session."""
    if name not in _cache:
        _cache[name] = compile_file(CORPUS / f"{name}.p4")
    return _cache[name]


def table(program: CompiledProgram, name: str) -> dict:
    for pipeline in program.bmv2_json["pipelines"]:
        for entry in pipeline["tables"]:
            if entry["name"] == name:
                return entry
    raise KeyError(name)


def action(program: CompiledProgram, name: str) -> dict:
    for entry in program.bmv2_json["actions"]:
        if entry["name"] == name:
            return entry
    raise KeyError(name)
