"""Compiling a P4 program for a target: ``p4sim-compile`` (embedded) or p4c (BMv2).

Both are run as commands with the same outputs (BMV2 JSON and a text P4Info), so what the
embedded target gets is exactly what a user of the real toolchain would get from p4c.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from topologies.switch_process import Target

REPO_ROOT = Path(__file__).resolve().parent.parent
LB_PROGRAM = REPO_ROOT / "p4src" / "lb.p4"


class BuildError(RuntimeError):
    """The compiler is missing or rejected the program (message holds its diagnostics)."""


@dataclass(frozen=True)
class CompiledFiles:
    json_path: Path
    p4info_path: Path


def venv_tool(name: str) -> str:
    """A console script of the project's venv (next to the interpreter), else from PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise BuildError(f"{name} not found (run scripts/setup.sh)")
    return found


def p4c_available() -> bool:
    return shutil.which("p4c-bm2-ss") is not None or shutil.which("p4c") is not None


def compile_program(p4_path: Path, out_dir: Path, target: Target,
                    include_dirs: Sequence[Path] = (),
                    defines: Sequence[str] = ()) -> CompiledFiles:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / p4_path.stem
    # ".txt": text format for every p4c version (".txtpb" is only known to recent ones).
    files = CompiledFiles(stem.with_suffix(".json"), stem.with_suffix(".p4info.txt"))
    includes = [arg for directory in include_dirs for arg in ("-I", str(directory))]
    includes += [arg for define in defines for arg in ("-D", define)]
    common = ["-o", str(files.json_path), "--p4runtime-files", str(files.p4info_path), *includes]
    if target is Target.EMBEDDED:
        argv = [venv_tool("p4sim-compile"), str(p4_path), *common]
    elif shutil.which("p4c-bm2-ss"):
        argv = ["p4c-bm2-ss", "--arch", "v1model", *common, str(p4_path)]
    elif shutil.which("p4c"):
        argv = ["p4c", "--target", "bmv2", "--arch", "v1model", *common, str(p4_path)]
    else:
        raise BuildError("p4c is not installed")
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildError(f"compiling {p4_path} failed:\n{result.stderr}{result.stdout}")
    return files
