"""Fixtures of the L4 end-to-end tests: root check, and one load-balancer network per test.

Each network is one switch (embedded p4sim running p4src/lb.p4), two clients, three nginx
backends and lbd, with a short connection idle timeout so that ended connections leave the
switch within seconds.  Leaving the fixture always stops every process and removes every
interface (LbNetwork's own cleanup).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(Path(__file__).parent) not in sys.path:  # the helper modules beside the tests
    sys.path.insert(0, str(Path(__file__).parent))

from topologies.addressing import SitePlan, site_plan  # noqa: E402
from topologies.lb_network import LbNetwork, NetworkOptions, free_tcp_ports  # noqa: E402

IDLE_TIMEOUT_S = 2.0

NetworkFactory = Callable[..., LbNetwork]


@pytest.fixture
def as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("Mininet needs root (network namespaces, veth pairs)")


@pytest.fixture
def lb_network(as_root: None, tmp_path: Path) -> Iterator[NetworkFactory]:
    """``lb_network(modes=..., scheduler=...)`` starts a network, torn down after the test."""
    started: list[LbNetwork] = []

    def start(modes: tuple[str, ...] = ("nat",), scheduler: str = "rr") -> LbNetwork:
        (grpc_port,) = free_tcp_ports(1)
        network = LbNetwork([plan(grpc_port)], NetworkOptions(
            modes=modes, scheduler=scheduler, run_dir=tmp_path / f"run{len(started)}",
            connection_idle_timeout=IDLE_TIMEOUT_S))
        network.run_dir.mkdir(parents=True, exist_ok=True)
        started.append(network)
        network.__enter__()
        return network

    try:
        yield start
    finally:
        for network in started:
            network.__exit__(None, None, None)


def plan(grpc_port: int) -> SitePlan:
    return site_plan(0, clients=2, backends=3, grpc_port=grpc_port)
