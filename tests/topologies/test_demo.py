"""`make demo` end to end: the demo module's table, exit status and clean exit."""

from __future__ import annotations

import subprocess
import sys

import pytest

from topologies.addressing import MODES, STATIC_PATH


@pytest.mark.timeout(120)
def test_demo_spreads_requests_in_every_mode(as_root: None) -> None:
    result = subprocess.run([sys.executable, "-m", "topologies.demo", "--requests", "6"],
                            capture_output=True, text=True, timeout=110, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {}
    for line in result.stdout.splitlines():
        label, _, cells = line.partition("  ")
        if label.strip() in (*MODES, f"l7 {STATIC_PATH}"):
            rows[label.strip()] = cells.split()
    assert set(rows) == {*MODES, f"l7 {STATIC_PATH}"}, result.stdout
    for mode in MODES:
        # (count, share) per backend b1..b3, then failures, then the total
        assert rows[mode][0:6:2] == ["2", "2", "2"], f"{mode}: {rows[mode]}"
        assert rows[mode][6] == "0" and rows[mode][-1] == "6", f"{mode}: {rows[mode]}"
    assert rows[f"l7 {STATIC_PATH}"][0:6:2] == ["6", "0", "0"], rows  # the content rule
    assert "demo: all requests answered" in result.stdout
