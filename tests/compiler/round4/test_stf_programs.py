"""Round 4: programs in p4c's bmv2 STF style, each ``programs/NAME.p4`` with its packet test
``programs/NAME.stf`` (expected packets written by hand from the P4_16 spec's rules), compiled
by p4sim and run on the engine as p4c's ``bmv2stf.py`` runs them on simple_switch."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from p4sim.compiler import compile_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stf import run_stf  # noqa: E402

PROGRAMS = Path(__file__).parent / "programs"
STF_PROGRAMS = sorted(p.stem for p in PROGRAMS.glob("*.stf"))


@pytest.mark.parametrize("name", STF_PROGRAMS)
def test_program_passes_its_stf(name: str) -> None:
    compiled = compile_file(str(PROGRAMS / f"{name}.p4"))
    result = run_stf(compiled.bmv2_json, (PROGRAMS / f"{name}.stf").read_text())
    assert result.failures == []
