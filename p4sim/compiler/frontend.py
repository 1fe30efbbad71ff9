"""The whole front end: preprocess, parse, check; raise CompileError on errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from p4sim.compiler import ast
from p4sim.compiler.check import check_program
from p4sim.compiler.diagnostics import CompileError, Diagnostic
from p4sim.compiler.loops import unroll_loops
from p4sim.compiler.parser import parse_preprocessed
from p4sim.compiler.preprocess import Preprocessed, preprocess_file, preprocess_source
from p4sim.compiler.sideeffects import order_side_effects
from p4sim.compiler.stack_indexes import simplify_stack_indexes


def _finish(source: Preprocessed, warnings: list[Diagnostic] | None) -> ast.Program:
    program = parse_preprocessed(source)
    diagnostics = check_program(program)
    if not any(d.severity == "error" for d in diagnostics):
        diagnostics.extend(unroll_loops(program))
        order_side_effects(program)
        simplify_stack_indexes(program)
    errors = [d for d in diagnostics if d.severity == "error"]
    if warnings is not None:
        warnings.extend(d for d in diagnostics if d.severity != "error")
    if errors:
        raise CompileError(errors)
    return program


def frontend_file(path: str | Path, *, include_dirs: Sequence[str | Path] = (),
                  defines: Mapping[str, str | None] | None = None,
                  warnings: list[Diagnostic] | None = None) -> ast.Program:
    """Checked AST of the P4 file at ``path`` (warnings appended to ``warnings``)."""
    source = preprocess_file(path, include_dirs=include_dirs, defines=defines)
    return _finish(source, warnings)


def frontend_source(text: str, filename: str = "<string>", *,
                    include_dirs: Sequence[str | Path] = (),
                    defines: Mapping[str, str | None] | None = None,
                    warnings: list[Diagnostic] | None = None) -> ast.Program:
    """Checked AST of P4 source text (``filename`` is used in diagnostics)."""
    source = preprocess_source(text, filename, include_dirs=include_dirs, defines=defines)
    return _finish(source, warnings)
