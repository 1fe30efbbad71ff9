"""Fixtures of the topology tests: root check; the PTF P4Runtime client and bench/ on sys.path."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent.parent
# `base.p4runtime_client` programs test switches; `bench` is not an installed package.
for directory in (TESTS_DIR / "ptf", TESTS_DIR.parent):
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))


@pytest.fixture
def as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("Mininet needs root (network namespaces, veth pairs)")
