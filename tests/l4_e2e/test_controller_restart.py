"""lbd restarted (SIGTERM, and SIGKILL: no clean shutdown) while persistent connections
keep asking through the NAT VIP.

The connections are pinned in the switch's connection table, so none of their requests may
fail while lbd is away; the new lbd adopts them from the switch, new connections are
scheduled again, and once the connections end no entry is left behind (lbd's table and the
switch's agree, both empty).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from l4_network import IDLE_TIMEOUT_S, NetworkFactory
from lb_checks import connection_entries, lbd, lbd_log, switch_entries, wait_until
from load_driver import KeepaliveLoad, failures

from topologies.lbd_config import service_name
from topologies.traffic import FAILED, spread

CONNECTIONS = 6
INTERVAL_S = 0.05
AWAY_S = 1.0  # lbd stays down this long while the load runs
NEW_CONNECTIONS = 30


@pytest.mark.timeout(90)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["term", "kill"])
def test_controller_restart_under_load_fails_no_request(lb_network: NetworkFactory,
                                                        signum: signal.Signals) -> None:
    network = lb_network(modes=("nat",))
    site = network.sites[0]
    service = service_name(site, "nat")
    controller = lbd(network)
    old_pid = controller.pid
    with KeepaliveLoad(network.host(site.clients[0].name), f"http://{site.vips['nat']}/",
                       CONNECTIONS, interval=INTERVAL_S) as load:
        ready = load.ready()
        assert not failures(ready), failures(ready)
        pinned = {r.port: r.backends[0] for r in ready}
        network.restart_controller(signum, away=AWAY_S)
        restarted_at = time.time()
        assert load.running()
        assert controller.pid != old_pid and not Path(f"/proc/{old_pid}").exists()
        # The new lbd found the pinned connections in the switch and adopted them.
        conns = {c["client_port"]: c for c in controller.lbctl_json("conns")
                 if c["client"] == site.clients[0].ip}
        assert {port: c["backend"] for port, c in conns.items()} == pinned, conns
        assert {c["origin"] for c in conns.values()} == {"adopted"}
        counts = spread([network.host(site.clients[1].name)], site.vips["nat"],
                        NEW_CONNECTIONS)
        assert counts.get(FAILED, 0) == 0 and set(counts) == {"b1", "b2", "b3"}, \
            f"{counts}\n{lbd_log(network)}"
        time.sleep(0.5)
        reports = load.finish()
    assert not failures(reports), f"{failures(reports)}\n{lbd_log(network)}"
    assert {r.port: r.backends for r in reports} == {p: [b] for p, b in pinned.items()}
    assert all(r.answered_after(restarted_at) > 0 for r in reports), reports
    # Ended connections leave both lbd's table and the switch.
    wait_until(lambda: not controller.lbctl_json("conns")
               and not connection_entries(switch_entries(network)),
               IDLE_TIMEOUT_S + 15, "no connection left in lbd or the switch",
               lambda: f"{controller.lbctl('conns')}\n{lbd_log(network)}")
    assert controller.lbctl_json("stats", service)[0]["active"] == 0
