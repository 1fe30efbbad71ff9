"""The switch's allocator tuning takes on glibc (this project's platform)."""

from __future__ import annotations

import platform

import pytest

from p4sim.switch.heap import keep_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_mallopt_accepts_both_settings() -> None:
    assert keep_freed_memory()
