"""`make demo` end to end: the demo module's table, exit status and clean exit."""

from __future__ import annotations

import subprocess
import sys

import pytest

from topologies.addressing import MODES


@pytest.mark.timeout(120)
def test_demo_spreads_requests_in_every_mode(as_root: None) -> None:
    result = subprocess.run([sys.executable, "-m", "topologies.demo", "--requests", "6"],
                            capture_output=True, text=True, timeout=110, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()
            if line.split() and line.split()[0] in MODES}
    assert set(rows) == set(MODES), result.stdout
    for mode, cells in rows.items():
        # mode, then (count, share) per backend b1..b3, then failures, then the total
        assert cells[1:7:2] == ["2", "2", "2"], f"{mode}: {cells}"
        assert cells[7] == "0" and cells[-1] == "6", f"{mode}: {cells}"
    assert "demo: all requests answered" in result.stdout
