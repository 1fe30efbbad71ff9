"""C preprocessing of P4 sources, run the way p4c-bm2-ss runs it.

p4c invokes ``cpp -C -undef -nostdinc -x assembler-with-cpp -I<p4include>
-D__TARGET_BMV2__``: comments are kept (the P4 lexer skips them), no system
macros or headers leak in, and ``<core.p4>``/``<v1model.p4>`` come from the
compiler's own include directory.  The output keeps GNU line markers
(``# 12 "file.p4" 2``); ``LineMap`` turns them back into original positions.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from p4sim.compiler.diagnostics import CompileError, Diagnostic

P4INCLUDE_DIR = Path(__file__).resolve().parent / "p4include"
TARGET_DEFINES: dict[str, str | None] = {"__TARGET_BMV2__": None}
_MARKER = re.compile(r'^#\s*(?:line\s+)?(\d+)\s+"((?:[^"\\]|\\.)*)"')
_CPP_DIAG = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:(?P<col>\d+):)?\s*"
                       r"(?:fatal )?error:\s*(?P<msg>.*)$")


@dataclass
class LineMap:
    """Maps lines of the preprocessed text to (file, line) of the sources."""

    files: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    def locate(self, line: int) -> tuple[str, int]:
        """Original (file, line) of 1-based preprocessed line ``line``."""
        if not self.lines:
            return "<unknown>", line
        index = min(max(line - 1, 0), len(self.lines) - 1)
        return self.files[index], self.lines[index]


@dataclass
class Preprocessed:
    text: str  # line markers replaced by empty lines, so line numbers stay aligned
    line_map: LineMap


def strip_line_markers(cpp_output: str, default_file: str) -> Preprocessed:
    """Blank out GNU/``#line`` markers and record where each line came from."""
    out_lines: list[str] = []
    line_map = LineMap()
    current_file, current_line = default_file, 1
    for raw in cpp_output.split("\n"):
        match = _MARKER.match(raw)
        if match:
            current_line = int(match.group(1))
            current_file = bytes(match.group(2), "utf-8").decode("unicode_escape")
            out_lines.append("")
            line_map.files.append(current_file)
            line_map.lines.append(current_line)
            continue
        out_lines.append(raw)
        line_map.files.append(current_file)
        line_map.lines.append(current_line)
        current_line += 1
    return Preprocessed("\n".join(out_lines), line_map)


def cpp_command(include_dirs: Sequence[str | Path], defines: Mapping[str, str | None]) -> list[str]:
    cpp = shutil.which("cpp")
    if cpp is None:
        raise CompileError([Diagnostic("<cpp>", 0, 0, "the C preprocessor 'cpp' is not installed")])
    command = [cpp, "-C", "-undef", "-nostdinc", "-x", "assembler-with-cpp"]
    for directory in include_dirs:
        command.append(f"-I{directory}")
    command.append(f"-I{P4INCLUDE_DIR}")
    for name, value in {**TARGET_DEFINES, **defines}.items():
        command.append(f"-D{name}" if value is None else f"-D{name}={value}")
    return command


def _cpp_errors(stderr: str, fallback_file: str) -> list[Diagnostic]:
    diagnostics = []
    for line in stderr.splitlines():
        match = _CPP_DIAG.match(line)
        if match:
            diagnostics.append(Diagnostic(match["file"], int(match["line"]),
                                          int(match["col"] or 1), match["msg"]))
    if not diagnostics:
        message = stderr.strip() or "preprocessing failed"
        diagnostics.append(Diagnostic(fallback_file, 1, 1, message))
    return diagnostics


def preprocess_source(text: str, filename: str = "<string>", *,
                      include_dirs: Sequence[str | Path] = (),
                      defines: Mapping[str, str | None] | None = None) -> Preprocessed:
    """Run cpp on ``text`` (as if read from ``filename``); raise CompileError on failure."""
    command = cpp_command(include_dirs, defines or {})
    source_dir = Path(filename).parent if filename and not filename.startswith("<") else None
    if source_dir is not None:
        # Quoted includes resolve relative to the source file, as for a file argument.
        command.insert(1, f"-iquote{source_dir}")
    command.append("-")
    result = subprocess.run(command, input=text, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CompileError(_cpp_errors(result.stderr.replace("<stdin>", filename), filename))
    output = result.stdout.replace('"<stdin>"', '"' + filename.replace('"', '\\"') + '"')
    return strip_line_markers(output, filename)


def preprocess_file(path: str | Path, *, include_dirs: Sequence[str | Path] = (),
                    defines: Mapping[str, str | None] | None = None) -> Preprocessed:
    """Run cpp on the file at ``path``; raise CompileError on failure."""
    path = Path(path)
    if not path.is_file():
        raise CompileError([Diagnostic(str(path), 0, 0, f"{path}: No such file or directory")])
    command = cpp_command(include_dirs, defines or {})
    command.append(str(path))
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CompileError(_cpp_errors(result.stderr, str(path)))
    return strip_line_markers(result.stdout, str(path))
