"""Draining or removing a backend while persistent connections keep asking.

Six keep-alive connections (round robin: two per backend) send a request every 50 ms
through the NAT VIP (for the drain also through DR and TUN, and with wrk's keep-alive
connections at full speed as a second load).  Draining (``lbctl backend drain``) or
removing (``lbctl backend del``) a backend must fail none of their requests (no socket
error, no non-2xx; the drained backend's connections keep being answered by it), new
connections must never reach that backend, and a removed backend's entries must leave the
switch once its connections ended.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections import Counter

import pytest
from l4_network import IDLE_TIMEOUT_S, NetworkFactory
from lb_checks import (
    BACKEND_TABLES,
    backend_entries,
    backend_states,
    connection_entries,
    lbd,
    lbd_log,
    switch_entries,
    wait_until,
)
from load_driver import ConnectionReport, KeepaliveLoad, failures

from bench.lb_modes import WRK, parse_wrk
from topologies.lb_network import LbNetwork
from topologies.lbd_config import service_name
from topologies.traffic import FAILED, spread

CONNECTIONS = 6
INTERVAL_S = 0.05
NEW_CONNECTIONS = 60
WRK_CONNECTIONS = 6
WRK_DURATION_S = 6
AFTER_CHANGE_S = 1.5  # the pinned connections keep asking this long after the change


def keepalive_load(network: LbNetwork, mode: str = "nat") -> KeepaliveLoad:
    site = network.sites[0]
    return KeepaliveLoad(network.host(site.clients[0].name), f"http://{site.vips[mode]}/",
                         CONNECTIONS, interval=INTERVAL_S)


def check_round_robin(ready: list[ConnectionReport]) -> None:
    assert not failures(ready), failures(ready)
    assert Counter(r.backends[0] for r in ready) == {"b1": 2, "b2": 2, "b3": 2}, ready


def check_pinned_connections_survived(load: KeepaliveLoad, changed_at: float,
                                      backend: str, network: LbNetwork) -> None:
    """No failure; each connection stayed with its backend, including ``backend``'s ones,
    which were still answered after the change."""
    assert load.running(), "the load ended before the change was checked"
    reports = load.finish()
    assert not failures(reports), f"{failures(reports)}\n{lbd_log(network)}"
    assert all(len(r.backends) == 1 for r in reports), reports
    ports = {r.port: r.answered_after(changed_at) for r in reports if r.backends == [backend]}
    assert len(ports) == 2 and all(
        count >= AFTER_CHANGE_S / INTERVAL_S / 3 for count in ports.values()), ports


def new_connections_avoid(network: LbNetwork, backend: str, mode: str = "nat") -> None:
    site = network.sites[0]
    counts = spread([network.host(site.clients[1].name)], site.vips[mode], NEW_CONNECTIONS)
    assert counts.get(FAILED, 0) == 0 and backend not in counts, counts
    assert set(counts) == {"b1", "b2", "b3"} - {backend}, counts


@pytest.mark.timeout(90)
@pytest.mark.parametrize("mode", ["nat", "dr", "tun"])
def test_drain_fails_no_open_connection_and_gets_no_new_one(lb_network: NetworkFactory,
                                                            mode: str) -> None:
    network = lb_network(modes=(mode,))
    service = service_name(network.sites[0], mode)
    with keepalive_load(network, mode) as load:
        check_round_robin(load.ready())
        drained_at = time.time()
        lbd(network).lbctl("backend", "drain", service, "b1")
        assert backend_states(network, service)["b1"] == "draining"
        new_connections_avoid(network, "b1", mode)
        time.sleep(AFTER_CHANGE_S)
        check_pinned_connections_survived(load, drained_at, "b1", network)
    new_connections_avoid(network, "b1", mode)


@pytest.mark.timeout(90)
@pytest.mark.skipif(shutil.which(WRK) is None, reason="wrk is not installed")
def test_drain_under_wrk_keepalive_load_has_no_error(lb_network: NetworkFactory) -> None:
    """wrk's keep-alive connections, opened before the drain, run on through it."""
    network = lb_network(modes=("nat",))
    site = network.sites[0]
    url = f"http://{site.vips['nat']}/"
    wrk = network.host(site.clients[0].name).popen(
        [WRK, "-t1", f"-c{WRK_CONNECTIONS}", f"-d{WRK_DURATION_S}s", "--timeout", "2s",
         "--latency", url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(WRK_DURATION_S / 3)  # its connections are open and busy
        wrk_backends = {c["backend"] for c in lbd(network).lbctl_json("conns")
                        if c["client"] == site.clients[0].ip}
        assert wrk_backends == {"b1", "b2", "b3"}, wrk_backends
        lbd(network).lbctl("backend", "drain", service_name(site, "nat"), "b1")
        new_connections_avoid(network, "b1")
        assert wrk.poll() is None, "wrk ended before the drain was checked"
        output, _ = wrk.communicate(timeout=WRK_DURATION_S + 15)
    finally:
        if wrk.poll() is None:
            wrk.kill()
            wrk.wait()
    result = parse_wrk(output)
    assert result.errors == 0 and result.requests_per_s > 0, output


@pytest.mark.timeout(90)
def test_removal_keeps_open_connections_then_leaves_the_switch(
        lb_network: NetworkFactory) -> None:
    network = lb_network(modes=("nat",))
    site = network.sites[0]
    service = service_name(site, "nat")
    address = site.backends[1].ip  # b2
    with keepalive_load(network) as load:
        check_round_robin(load.ready())
        removed_at = time.time()
        lbd(network).lbctl("backend", "del", service, "b2")
        assert backend_states(network, service)["b2"] == "retiring"
        # Its pinned connections still need its entries (backend, NAT reverse).
        assert {e.table for e in backend_entries(switch_entries(network), address)} == \
            set(BACKEND_TABLES)
        new_connections_avoid(network, "b2")
        time.sleep(AFTER_CHANGE_S)
        check_pinned_connections_survived(load, removed_at, "b2", network)
    # Closed connections go idle; lbd then drops them and the retired backend with them.
    timeout = IDLE_TIMEOUT_S + 15
    wait_until(lambda: "b2" not in backend_states(network, service), timeout,
               "b2 gone from lbd's service list")

    def settled() -> bool:
        entries = switch_entries(network)
        return not backend_entries(entries, address) and not connection_entries(entries)

    def remaining() -> str:
        entries = switch_entries(network)
        left = backend_entries(entries, address) + connection_entries(entries)
        return "\n".join(map(str, left)) + "\n" + lbd_log(network)

    wait_until(settled, timeout, "b2's entries and the ended connections gone from the switch",
               remaining)
    new_connections_avoid(network, "b2")
