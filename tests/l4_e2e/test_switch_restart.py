"""A switch restarted (its process killed, a new empty one started on the same interfaces
and gRPC port) is repaired by lbd's reconciliation.

lbd sees the P4Runtime stream go down, reconnects, pushes the pipeline and writes every
entry again: the tables read over P4Runtime equal those before the restart, lbd reports the
switch connected and synchronised, and every L4 VIP answers again from every backend.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from conftest import IDLE_TIMEOUT_S, NetworkFactory
from lb_checks import (
    lbd,
    lbd_log,
    settled_entries,
    try_switch_entries,
    wait_until,
)

from topologies.lb_network import LbNetwork
from topologies.traffic import FAILED, spread

MODES = ("nat", "dr", "tun")
REQUESTS = 9


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
    check_every_mode_answers(network)
    # Compare once the requests' connections have ended: the rest is lbd's desired state.
    before = wait_until(lambda: settled_entries(network), IDLE_TIMEOUT_S + 15,
                        "the connections ended")
    assert {"IngressPipe.service.service_table", "IngressPipe.backends.backend_table",
            "IngressPipe.nat_reverse.nat_reverse_table"} <= {e.table for e in before}
    old_process = network.switch("s1").process
    assert old_process is not None and old_process.pid is not None
    network.restart_switch("s1", signum)
    assert not Path(f"/proc/{old_process.pid}").exists()
    assert network.switch("s1").connected()
    wait_until(lambda: try_switch_entries(network) == before, 30,
               "the restarted switch holds the tables it held before",
               lambda: f"{try_switch_entries(network)}\n{lbd_log(network)}")
    status = lbd(network).switch_status()["s1"]
    assert status["connected"] and status["synchronised"], status
    assert "s1: P4Runtime channel down" in lbd_log(network, 200)
    check_every_mode_answers(network)
