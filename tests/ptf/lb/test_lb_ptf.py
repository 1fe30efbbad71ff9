"""pytest entry for the load balancer PTF suite: runs tests/ptf/lb through the launcher.

PTF_TARGET=bmv2 runs the same tests on simple_switch_grpc with p4c's output.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from base.launcher import run_ptf

from topologies.switch_process import Target

HERE = Path(__file__).resolve().parent
LB_P4 = HERE.parent.parent.parent / "p4src" / "lb.p4"
CPU_PORT = 255


@pytest.mark.timeout(240)
def test_load_balancer_ptf(ptf_target: Target, tmp_path: Path) -> None:
    result = run_ptf(LB_P4, HERE, target=ptf_target, ports=4, cpu_port=CPU_PORT,
                     log_dir=tmp_path, timeout=200.0)
    assert result.returncode == 0, f"PTF failed (logs in {result.log_dir}):\n{result.output}"
    assert "Ran 18 tests" in result.output, result.output
