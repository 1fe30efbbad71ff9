"""The network of the L4 end-to-end tests: one switch (embedded p4sim running p4src/lb.p4),
two clients, three nginx backends and lbd with a short connection idle timeout, so that
ended connections leave the switch within seconds."""

from __future__ import annotations

from collections.abc import Callable

from topologies.addressing import SitePlan, site_plan
from topologies.lb_network import LbNetwork

IDLE_TIMEOUT_S = 2.0

NetworkFactory = Callable[..., LbNetwork]


def plan(grpc_port: int) -> SitePlan:
    return site_plan(0, clients=2, backends=3, grpc_port=grpc_port)
