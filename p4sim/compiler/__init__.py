"""p4sim's P4_16 compiler for v1model: BMv2 JSON and P4Info, as p4c-bm2-ss makes them.

    prog = compile_file("prog.p4", include_dirs=["dir"], defines={"NAME": "VAL"})
    prog.bmv2_json   # dict
    prog.p4info      # p4.config.v1.P4Info
    prog.json_text() # what ``p4sim-compile -o`` writes
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finsy.proto import p4i

from p4sim.compiler import ast
from p4sim.compiler.backend.bmv2_json import build_bmv2_json
from p4sim.compiler.backend.json_text import to_p4c_json_text
from p4sim.compiler.backend.p4info import P4InfoError, build_p4info
from p4sim.compiler.backend.p4info_ids import IdAllocationError
from p4sim.compiler.diagnostics import CompileError, Diagnostic
from p4sim.compiler.frontend import frontend_file, frontend_source
from p4sim.compiler.midend.errors import LoweringError
from p4sim.compiler.midend.lowering import lower_program

__all__ = ["CompileError", "CompiledProgram", "Diagnostic", "compile_file", "compile_source"]


@dataclass
class CompiledProgram:
    """The outputs of one compilation."""

    bmv2_json: dict[str, Any]
    p4info: p4i.P4Info
    warnings: list[Diagnostic] = field(default_factory=list)
    # why p4c would refuse to write this program's P4Info (JSON-only use is fine);
    # ``p4sim-compile --p4runtime-files`` fails with these
    p4info_errors: list[Diagnostic] = field(default_factory=list)

    def json_text(self) -> str:
        """The BMv2 JSON exactly as written to ``-o``."""
        return to_p4c_json_text(self.bmv2_json)


def _backend(program: ast.Program, program_name: str,
             warnings: list[Diagnostic]) -> CompiledProgram:
    try:
        lowered = lower_program(program)
        p4info = build_p4info(lowered.control_plane)
    except LoweringError as err:
        diagnostic = err.diagnostic
        if diagnostic.line == 0:  # not tied to a source construct: blame the program
            diagnostic = Diagnostic(program_name, 1, 1, diagnostic.message)
        raise CompileError([diagnostic]) from None
    except (P4InfoError, IdAllocationError) as err:
        raise CompileError([Diagnostic(program_name, 1, 1, str(err))]) from None
    except (KeyError, ValueError, TypeError, AttributeError, AssertionError,
            IndexError) as err:  # a construct the midend does not handle: never a traceback
        raise CompileError([Diagnostic(
            program_name, 1, 1, f"unsupported program construct (internal error: "
                                f"{type(err).__name__}: {err})")]) from err
    return CompiledProgram(build_bmv2_json(lowered.sections, program_name), p4info, warnings,
                           lowered.p4info_errors)


def compile_file(path: str | Path, *, include_dirs: Sequence[str | Path] = (),
                 defines: Mapping[str, str | None] | None = None) -> CompiledProgram:
    """Compile the P4_16 v1model program at ``path``; raises CompileError."""
    warnings: list[Diagnostic] = []
    program = frontend_file(path, include_dirs=include_dirs, defines=defines,
                            warnings=warnings)
    return _backend(program, str(path), warnings)


def compile_source(text: str, filename: str = "<string>", *,
                   include_dirs: Sequence[str | Path] = (),
                   defines: Mapping[str, str | None] | None = None) -> CompiledProgram:
    """Compile P4_16 v1model source text; ``filename`` names it in diagnostics."""
    warnings: list[Diagnostic] = []
    program = frontend_source(text, filename, include_dirs=include_dirs, defines=defines,
                              warnings=warnings)
    return _backend(program, filename, warnings)
