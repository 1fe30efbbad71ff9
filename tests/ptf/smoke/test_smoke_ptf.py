"""pytest entry for the PTF smoke tests: runs basic_fwd.py through the launcher."""

from __future__ import annotations

from pathlib import Path

import pytest
from base.launcher import run_ptf

from topologies.switch_process import Target

HERE = Path(__file__).resolve().parent


@pytest.mark.timeout(180)
def test_basic_forwarding_ptf(ptf_target: Target, tmp_path: Path) -> None:
    result = run_ptf(HERE / "basic.p4", HERE, target=ptf_target, ports=4, log_dir=tmp_path)
    assert result.returncode == 0, f"PTF failed (logs in {result.log_dir}):\n{result.output}"
    assert "Ran 4 tests" in result.output, result.output
