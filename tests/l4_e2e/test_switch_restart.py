"""A switch restarted (its process killed, a new empty one started on the same interfaces
and gRPC port) is repaired by lbd's reconciliation.

lbd sees the P4Runtime stream go down, reconnects, pushes the pipeline and writes every
entry again: the tables read over P4Runtime equal those before the restart, lbd reports the
switch connected and synchronised, and every L4 VIP answers again from every backend.  The
connections pinned before the crash are written again too, so persistent connections only
wait (TCP retransmits) while the switch is away: none of their requests fails.

finsy waits 10 s before reconnecting to a switch whose session lasted under 2 s; the tests
let the first session run longer than that, as any real one does.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from l4_network import IDLE_TIMEOUT_S, NetworkFactory
from lb_checks import (
    connection_entries,
    lbd,
    lbd_log,
    settled_entries,
    try_switch_entries,
    wait_until,
)
from load_driver import KeepaliveLoad, failures

from topologies.lb_network import LbNetwork
from topologies.traffic import FAILED, spread

MODES = ("nat", "dr", "tun")
REQUESTS = 9
FIRST_SESSION_S = 3.0  # beyond finsy's 2 s "failed too quickly" threshold (see above)
CONNECTIONS = 6
REQUEST_TIMEOUT_S = 10.0  # TCP retransmits at about 0.2, 0.6, 1.4, 3 and 6.2 s


def check_every_mode_answers(network: LbNetwork) -> None:
    site = network.sites[0]
    client = network.host(site.clients[0].name)
    for mode in MODES:
        counts = spread([client], site.vips[mode], REQUESTS)
        assert counts.get(FAILED, 0) == 0 and set(counts) == {"b1", "b2", "b3"}, \
            f"{mode}: {counts}\n{lbd_log(network)}"


@pytest.mark.timeout(90)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["term", "kill"])
def test_switch_restart_is_reprogrammed_to_the_same_tables(lb_network: NetworkFactory,
                                                           signum: signal.Signals) -> None:
    network = lb_network(modes=MODES)
    started = time.monotonic()
    check_every_mode_answers(network)
    # Compare once the requests' connections have ended: the rest is lbd's desired state.
    before = wait_until(lambda: settled_entries(network), IDLE_TIMEOUT_S + 15,
                        "the connections ended")
    assert {"IngressPipe.service.service_table", "IngressPipe.backends.backend_table",
            "IngressPipe.nat_reverse.nat_reverse_table"} <= {e.table for e in before}
    old_process = network.switch("s1").process
    assert old_process is not None and old_process.pid is not None
    time.sleep(max(0.0, FIRST_SESSION_S - (time.monotonic() - started)))
    network.restart_switch("s1", signum)
    assert not Path(f"/proc/{old_process.pid}").exists()
    assert network.switch("s1").connected()
    wait_until(lambda: try_switch_entries(network) == before, 30,
               "the restarted switch holds the tables it held before",
               lambda: f"{try_switch_entries(network)}\n{lbd_log(network)}")
    wait_until(lambda: lbd(network).synchronised(["s1"]), 10, "lbd reports s1 synchronised",
               lambda: str(lbd(network).switch_status()))
    assert lbd(network).switch_status()["s1"]["connected"]
    assert "s1: P4Runtime channel down" in lbd_log(network, 200)
    check_every_mode_answers(network)


@pytest.mark.timeout(90)
def test_switch_crash_under_load_fails_no_pinned_connection(
        lb_network: NetworkFactory) -> None:
    network = lb_network(modes=("nat",))
    started = time.monotonic()
    site = network.sites[0]
    with KeepaliveLoad(network.host(site.clients[0].name), f"http://{site.vips['nat']}/",
                       CONNECTIONS, interval=0.05, request_timeout=REQUEST_TIMEOUT_S) as load:
        ready = load.ready()
        assert not failures(ready), failures(ready)
        pinned = {r.port: r.backends for r in ready}
        time.sleep(max(0.0, FIRST_SESSION_S - (time.monotonic() - started)))
        network.restart_switch("s1", signal.SIGKILL)
        restarted_at = time.time()

        def pinned_again() -> bool:
            entries = try_switch_entries(network) or []  # none while it has no pipeline
            return len(connection_entries(entries)) == CONNECTIONS

        wait_until(pinned_again, 30, "the pinned connections back in the restarted switch",
                   lambda: lbd_log(network))
        time.sleep(1.0)
        reports = load.finish()
    assert not failures(reports), f"{failures(reports)}\n{lbd_log(network)}"
    assert {r.port: r.backends for r in reports} == pinned
    assert all(r.answered_after(restarted_at) > 0 for r in reports), reports
