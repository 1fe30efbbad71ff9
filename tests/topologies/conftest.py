"""Fixtures of the topology tests: root check, and the PTF P4Runtime client on sys.path."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

PTF_DIR = Path(__file__).resolve().parent.parent / "ptf"
if str(PTF_DIR) not in sys.path:
    sys.path.insert(0, str(PTF_DIR))  # `base.p4runtime_client` for programming test switches


@pytest.fixture
def as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("Mininet needs root (network namespaces, veth pairs)")
