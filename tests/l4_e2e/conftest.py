"""Fixtures of the L4 end-to-end tests: root check, and networks (l4_network.py) that are
always stopped, with every process and interface, when the test ends."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

if str(Path(__file__).parent) not in sys.path:  # the helper modules beside the tests
    sys.path.insert(0, str(Path(__file__).parent))

from l4_network import IDLE_TIMEOUT_S, NetworkFactory, plan  # noqa: E402

from topologies.lb_network import LbNetwork, NetworkOptions, free_tcp_ports  # noqa: E402


@pytest.fixture
def as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("Mininet needs root (network namespaces, veth pairs)")


@pytest.fixture
def lb_network(as_root: None, tmp_path: Path) -> Iterator[NetworkFactory]:
    """``lb_network(modes=..., scheduler=..., health_check=...)`` starts a network, stopped
    after the test."""
    started: list[LbNetwork] = []

    def start(modes: tuple[str, ...] = ("nat",), scheduler: str = "rr",
              health_check: dict[str, Any] | None = None) -> LbNetwork:
        (grpc_port,) = free_tcp_ports(1)
        network = LbNetwork([plan(grpc_port)], NetworkOptions(
            modes=modes, scheduler=scheduler, run_dir=tmp_path / f"run{len(started)}",
            connection_idle_timeout=IDLE_TIMEOUT_S, health_check=health_check))
        network.run_dir.mkdir(parents=True, exist_ok=True)
        started.append(network)
        network.__enter__()
        return network

    try:
        yield start
    finally:
        for network in started:
            network.__exit__(None, None, None)
