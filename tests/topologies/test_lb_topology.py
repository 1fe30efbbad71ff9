"""End to end: Mininet, the embedded switch running p4src/lb.p4, lbd, nginx backends.

Requests through every VIP (NAT, DR, TUN, L7 splicing) must be answered, by every backend
(round robin), and the l7 content rule must hold; the backends stay reachable directly on
:8080; and leaving the network removes all its processes and interfaces.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from topologies import runs
from topologies.addressing import DIRECT_PORT, MODES, STATIC_PATH, site_plan
from topologies.controller_process import ControllerError
from topologies.lb_network import LbNetwork, NetworkOptions, free_tcp_ports
from topologies.switch_process import log_tail
from topologies.traffic import FAILED, fetch_many, spread


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z"


def diagnosis(network: LbNetwork) -> str:
    """lbd's log tail and its connection table, for a failed request."""
    assert network.controller is not None
    try:
        conns = network.controller.lbctl("conns")
    except ControllerError as error:
        conns = str(error)
    return f"lbd log:\n{log_tail(network.run_dir / 'lbd.log', 40)}\nlbctl conns:\n{conns}"


def our_interfaces(tag: str) -> list[str]:
    listing = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                             check=True).stdout
    return [line for line in listing.splitlines() if f"lb{tag}" in line]


@pytest.mark.timeout(150)
def test_single_switch_balances_every_mode_and_cleans_up(as_root: None, tmp_path: Path) -> None:
    (grpc_port,) = free_tcp_ports(1)
    site = site_plan(0, clients=1, backends=2, grpc_port=grpc_port)
    network = LbNetwork([site], NetworkOptions(modes=MODES, scheduler="rr", run_dir=tmp_path))
    with network:
        client = network.host("c1")
        for mode in MODES:
            counts = spread([client], site.vips[mode], 8)
            assert counts.get(FAILED, 0) == 0, f"{mode}: {counts}\n{diagnosis(network)}"
            assert set(counts) == {"b1", "b2"}, f"{mode}: {counts}"
        # The l7 service's content rule: /static/ is served by b1 alone.
        assert spread([client], site.vips["l7"], 4, path=STATIC_PATH) == {"b1": 4}
        direct = fetch_many(client, f"http://{site.backends[1].ip}:{DIRECT_PORT}/", 2)
        assert direct == ["b2", "b2"]
        pids = [server.pid for server in network.servers[0].processes]
        switch_process = network.switch("s1").process
        assert switch_process is not None and switch_process.pid is not None
        pids.append(switch_process.pid)
        tag = network.tag
        assert our_interfaces(tag)
    assert not our_interfaces(tag)
    assert not any(alive(pid) for pid in pids)
    assert not (runs.REGISTRY / f"{tag}.json").exists()


@pytest.mark.timeout(150)
def test_dual_switches_under_one_controller(as_root: None, tmp_path: Path) -> None:
    first, second = free_tcp_ports(2)
    sites = [site_plan(0, 1, 2, first), site_plan(1, 1, 2, second, name_prefix="s2")]
    with LbNetwork(sites, NetworkOptions(modes=MODES, run_dir=tmp_path)) as network:
        for site in sites:
            for mode in MODES:
                counts = spread([network.host(site.clients[0].name)], site.vips[mode], 4)
                assert counts.get(FAILED, 0) == 0, f"{site.switch} {mode}: {counts}"
                assert set(counts) == {h.name for h in site.backends}, f"{site.switch}: {counts}"
