"""lbd's /metrics with real traffic: clients fetch pages through the NAT VIP of a Mininet
network, and the Prometheus text (parsed with prometheus_client) moves with it."""

from __future__ import annotations

import socket

import pytest
from l4_network import NetworkFactory
from prometheus_client.parser import text_string_to_metric_families

from topologies.lb_network import LbNetwork
from topologies.lbd_config import service_name
from topologies.traffic import FAILED, spread

REQUESTS = 30


def metrics(network: LbNetwork) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Samples by (name, labels), fetched over lbd's Unix socket (no token there)."""
    assert network.controller is not None
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(str(network.controller.api_socket))
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: lbd\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body.decode())
            for sample in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return sum(v for (found, got), v in samples.items()
               if found == name and all((k, x) in got for k, x in labels.items()))


@pytest.mark.timeout(90)
def test_metrics_move_as_traffic_flows(lb_network: NetworkFactory) -> None:
    network = lb_network(modes=("nat",))
    site = network.sites[0]
    service = service_name(site, "nat")
    before = metrics(network)
    assert value(before, "p4lb_switch_connected", switch=site.switch) == 1
    counts = spread([network.host(site.clients[0].name)], site.vips["nat"], REQUESTS)
    assert counts.get(FAILED, 0) == 0, counts
    after = metrics(network)
    for backend in ("b1", "b2", "b3"):
        assert value(after, "p4lb_backend_connections_total", service=service,
                     backend=backend) - value(before, "p4lb_backend_connections_total",
                                              service=service, backend=backend) == \
            counts[backend]
        assert value(after, "p4lb_backend_packets_total", service=service, backend=backend) > \
            value(before, "p4lb_backend_packets_total", service=service, backend=backend)
    assert value(after, "p4lb_service_bytes_total", service=service) > \
        value(before, "p4lb_service_bytes_total", service=service)
    assert value(after, "p4lb_packet_ins_total", switch=site.switch) >= REQUESTS
    assert value(after, "p4lb_p4runtime_write_duration_seconds_count",
                 switch=site.switch) > value(before, "p4lb_p4runtime_write_duration_seconds_count",
                                             switch=site.switch)
