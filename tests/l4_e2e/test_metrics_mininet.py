"""lbd's /metrics with real traffic: clients fetch pages through the NAT VIP of a Mininet
network, and the Prometheus text (parsed with prometheus_client) moves with it."""

from __future__ import annotations

import pytest
from l4_network import NetworkFactory

from topologies.controller_process import metric
from topologies.lb_network import LbNetwork
from topologies.lbd_config import service_name
from topologies.traffic import FAILED, spread

REQUESTS = 30


def metrics(network: LbNetwork) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    assert network.controller is not None
    return network.controller.metrics()


@pytest.mark.timeout(90)
def test_metrics_move_as_traffic_flows(lb_network: NetworkFactory) -> None:
    network = lb_network(modes=("nat",))
    site = network.sites[0]
    service = service_name(site, "nat")
    before = metrics(network)
    assert metric(before, "p4lb_switch_connected", switch=site.switch) == 1
    counts = spread([network.host(site.clients[0].name)], site.vips["nat"], REQUESTS)
    assert counts.get(FAILED, 0) == 0, counts
    after = metrics(network)
    for backend in ("b1", "b2", "b3"):
        assert metric(after, "p4lb_backend_connections_total", service=service,
                     backend=backend) - metric(before, "p4lb_backend_connections_total",
                                              service=service, backend=backend) == \
            counts[backend]
        assert metric(after, "p4lb_backend_packets_total", service=service, backend=backend) > \
            metric(before, "p4lb_backend_packets_total", service=service, backend=backend)
    assert metric(after, "p4lb_service_bytes_total", service=service) > \
        metric(before, "p4lb_service_bytes_total", service=service)
    assert metric(after, "p4lb_packet_ins_total", switch=site.switch) >= REQUESTS
    assert metric(after, "p4lb_p4runtime_write_duration_seconds_count",
                 switch=site.switch) > metric(before, "p4lb_p4runtime_write_duration_seconds_count",
                                             switch=site.switch)
