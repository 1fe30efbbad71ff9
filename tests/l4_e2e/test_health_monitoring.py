"""Server monitoring end to end: lbd checks three nginx backends over HTTP from the site's
monitoring leg (interval 200 ms, fall 3, rise 2) while clients use the NAT VIP.

One after the other, a backend's nginx is killed, another backend's interface goes down and
the last one's nginx hangs (SIGSTOP).  Each time lbd must mark it down within a second,
new connections must avoid it and keep-alive connections to the healthy backends must not
fail.  With all three down a new connection is refused at once (RST, not a time-out); when
the hung server resumes it comes back after ``rise`` checks and takes the new connections.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from l4_network import NetworkFactory
from lb_checks import lbd_log
from load_driver import KeepaliveLoad, failures

from controller.api import call
from topologies.failures import Failure, inject, repair
from topologies.lb_network import LbNetwork
from topologies.lbd_config import service_name
from topologies.traffic import FAILED, spread

CHECK = {"kind": "http", "interval": 0.2, "timeout": 0.15, "rise": 2, "fall": 3,
         "expect_body": "backend"}
DETECTION_LIMIT_S = 1.0
NEW_CONNECTIONS = 15


def health(network: LbNetwork) -> dict[str, dict[str, Any]]:
    """Backend name -> its row of ``lbctl backend list`` (through the API, no subprocess)."""
    assert network.controller is not None
    rows = call("backend.list", {"service": service_name(network.sites[0], "nat")},
                unix_socket=network.controller.api_socket, timeout=5.0)
    return {row["name"]: row for row in rows}


def wait_health(network: LbNetwork, backend: str, state: str, timeout: float) -> float:
    """Seconds until ``backend`` shows ``state``; fails after ``timeout``."""
    started = time.monotonic()
    while health(network)[backend]["health"] != state:
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{backend} not {state} after {timeout} s: "
                                 f"{health(network)[backend]}\n{lbd_log(network)}")
        time.sleep(0.01)
    return time.monotonic() - started


def new_connections(network: LbNetwork) -> dict[str, int]:
    site = network.sites[0]
    return dict(spread([network.host(site.clients[1].name)], site.vips["nat"],
                       NEW_CONNECTIONS))


@pytest.mark.timeout(120)
def test_failed_servers_leave_within_a_second_and_come_back(lb_network: NetworkFactory
                                                            ) -> None:
    network = lb_network(modes=("nat",), health_check=CHECK)
    site = network.sites[0]
    deadline = time.monotonic() + 10
    while not all(row["health"] == "up" and row.get("checks", 0) >= 3
                  for row in health(network).values()):
        assert time.monotonic() < deadline, f"{health(network)}\n{lbd_log(network)}"
        time.sleep(0.1)

    detections: dict[str, float] = {}
    with KeepaliveLoad(network.host(site.clients[0].name), f"http://{site.vips['nat']}/",
                       6, interval=0.05) as load:
        ready = load.ready()
        assert not failures(ready), failures(ready)
        pinned = {r.port: r.backends[0] for r in ready}
        assert sorted(pinned.values()) == ["b1", "b1", "b2", "b2", "b3", "b3"]

        inject(network, "b1", Failure.KILLED)
        detections[Failure.KILLED.value] = wait_health(network, "b1", "down", 3.0)
        counts = new_connections(network)
        assert counts.get(FAILED, 0) == 0 and set(counts) == {"b2", "b3"}, counts

        inject(network, "b2", Failure.UNPLUGGED)
        detections[Failure.UNPLUGGED.value] = wait_health(network, "b2", "down", 3.0)
        counts = new_connections(network)
        assert counts == {"b3": NEW_CONNECTIONS}, counts
        time.sleep(0.5)
        reports = load.finish()
    healthy = [r for r in reports if r.backends == ["b3"]]
    assert len(healthy) == 2 and not failures(healthy), \
        f"{failures(healthy)}\n{lbd_log(network)}"

    inject(network, "b3", Failure.HUNG)
    try:
        detections[Failure.HUNG.value] = wait_health(network, "b3", "down", 3.0)
        client = network.host(site.clients[1].name)
        started = time.monotonic()
        out = client.cmd(f"curl -s -o /dev/null -w '%{{http_code}}' -m 5 "
                         f"http://{site.vips['nat']}/; echo \" exit=$?\"")
        refused_after = time.monotonic() - started
        assert "exit=7" in out and refused_after < 1.0, out  # curl 7: connection refused
    finally:
        repair(network, "b3", Failure.HUNG)
    wait_health(network, "b3", "up", 3.0)
    counts = new_connections(network)
    assert counts == {"b3": NEW_CONNECTIONS}, counts
    for kind, seconds in detections.items():
        print(f"{kind}: detected in {seconds:.3f} s")
    assert all(seconds <= DETECTION_LIMIT_S for seconds in detections.values()), detections
    log = (network.run_dir / "lbd.log").read_text()
    assert "server b1 (10.0.1.1:80) is DOWN" in log and "server b3 (10.0.1.3:80) is UP" in log


@pytest.mark.timeout(120)
def test_every_mode_and_the_l7_pools_follow_the_checks(lb_network: NetworkFactory) -> None:
    """DR and TUN services and the spliced l7 service share the backends: a killed nginx
    leaves all of their pools (the l7 pools are checked on their own port)."""
    network = lb_network(modes=("dr", "tun", "l7"), health_check=CHECK)
    site = network.sites[0]
    assert network.controller is not None
    deadline = time.monotonic() + 10
    while True:
        rows = call("backend.list", {}, unix_socket=network.controller.api_socket, timeout=5.0)
        if all(row["health"] == "up" and row.get("checks", 0) >= 3 for row in rows):
            break
        assert time.monotonic() < deadline, f"{rows}\n{lbd_log(network)}"
        time.sleep(0.1)
    inject(network, "b2", Failure.KILLED)
    deadline = time.monotonic() + 3
    while True:
        rows = call("backend.list", {}, unix_socket=network.controller.api_socket, timeout=5.0)
        b2 = {row["service"]: row["health"] for row in rows if row["name"] == "b2"}
        if set(b2.values()) == {"down"}:
            break
        assert time.monotonic() < deadline, f"{rows}\n{lbd_log(network)}"
        time.sleep(0.02)
    assert set(b2) == {service_name(site, mode) for mode in ("dr", "tun", "l7")}
    client = [network.host(site.clients[1].name)]
    for mode in ("dr", "tun", "l7"):
        counts = dict(spread(client, site.vips[mode], NEW_CONNECTIONS))
        assert counts.get(FAILED, 0) == 0 and set(counts) == {"b1", "b3"}, (mode, counts)
