"""PTF test selection: ``PTF_TARGET=bmv2`` runs the PTF suites on simple_switch_grpc + p4c."""

from __future__ import annotations

import os

import pytest

from topologies.p4build import p4c_available
from topologies.switch_process import Target, bmv2_available


@pytest.fixture
def ptf_target() -> Target:
    if os.geteuid() != 0:
        pytest.skip("PTF needs root (raw sockets and network namespaces)")
    target = Target(os.environ.get("PTF_TARGET", Target.EMBEDDED.value))
    if target is Target.BMV2 and not (bmv2_available() and p4c_available()):
        pytest.skip("simple_switch_grpc or p4c is not installed")
    return target
