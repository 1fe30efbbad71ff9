"""Controller failover end to end in Mininet (topologies/l7.py with two lbd instances,
docs/ha.md): the primary is killed with SIGKILL while wrk loads, over keep-alive
connections, an L4 NAT service scheduled in the data plane (web-mh), one scheduled by
lbd (web-nat) and a spliced L7 service (shop), and while another client opens new
connections to each at a steady pace.  Root only; about a minute.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.lb_modes import WRK, parse_wrk

pytestmark = pytest.mark.timeout(240)
SERVICES = ("web-mh", "web-nat", "shop")
WRK_CONNECTIONS = 4
WRK_DURATION_S = 8
KILL_AFTER_S = 2.5
MAX_OUTAGE_S = 2.0  # new connections; the benchmark prints the figure (target < 1 s)


def _why_not_runnable() -> str | None:
    if os.geteuid() != 0:
        return "Mininet needs root"
    for tool in ("/usr/sbin/nginx", WRK):
        if not Path(tool).exists():
            return f"{tool} is not installed"
    if shutil.which("ip") is None:
        return "iproute2 is not installed"
    return None


@pytest.fixture(scope="module")
def ha_net() -> Iterator[Any]:
    reason = _why_not_runnable()
    if reason is not None:
        pytest.skip(reason)
    from topologies.l7 import CHUNK, L7Network, L7Options

    with L7Network(L7Options(big_file_bytes=CHUNK, controllers=2)) as network:
        yield network


def start_wrk(network: Any, service: str) -> subprocess.Popen[str]:
    process: subprocess.Popen[str] = network.host("c1").popen(
        [WRK, "-t1", f"-c{WRK_CONNECTIONS}", f"-d{WRK_DURATION_S}s", "--timeout", "3s",
         "--latency", f"http://{network.vip(service)}/"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return process


def start_prober(network: Any, duration: float) -> subprocess.Popen[str]:
    targets = [f"{service}={network.vip(service)}:80" for service in SERVICES]
    process: subprocess.Popen[str] = network.host("c2").popen(
        [sys.executable, "-m", "topologies.new_connections", *targets, "--interval", "0.05",
         "--timeout", "0.5", "--duration", str(duration)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process


def test_kill_primary_under_load(ha_net: Any) -> None:
    from topologies.failover import kill_primary
    from topologies.new_connections import outage

    first = ha_net.controller
    assert [s["role"] for s in ha_net.standbys[0].lbctl_json("switch", "list")] == ["backup"]
    prober = start_prober(ha_net, WRK_DURATION_S)
    loads = {service: start_wrk(ha_net, service) for service in SERVICES}
    try:
        time.sleep(KILL_AFTER_S)
        assert all(load.poll() is None for load in loads.values()), "wrk ended early"
        killed_at = time.time()
        takeover = kill_primary(ha_net)
        print(f"takeover: {takeover.seconds * 1000:.0f} ms")
        outputs = {service: load.communicate(timeout=WRK_DURATION_S + 20)[0]
                   for service, load in loads.items()}
        probed, errors = prober.communicate(timeout=WRK_DURATION_S + 20)
    finally:
        for process in (prober, *loads.values()):
            if process.poll() is None:
                process.kill()
                process.wait()
    assert takeover.killed is first and ha_net.controller is takeover.primary
    # Established keep-alive connections: not one failed request on any service.
    for service, output in outputs.items():
        result = parse_wrk(output)
        assert result.errors == 0 and result.requests_per_s > 0, f"{service}:\n{output}"
    # New connections: refused or lost only while no instance was primary.
    attempts = json.loads(probed or "{}")
    assert set(attempts) == set(SERVICES), errors
    for service, log in attempts.items():
        seconds, failed = outage([tuple(a) for a in log["attempts"]], killed_at)
        print(f"{service}: new connections failed for {seconds * 1000:.0f} ms "
              f"({failed} attempts) {log['errors'][:2]}")
        assert seconds <= MAX_OUTAGE_S, log["errors"]
        after = [ok for started, ok in log["attempts"] if started > killed_at + MAX_OUTAGE_S]
        assert after and all(after), f"{service}: {log['errors']}"


def test_old_primary_returns_as_backup_and_does_not_write(ha_net: Any) -> None:
    from topologies.failover import restart_as_backup

    (killed,) = ha_net.standbys
    primary = ha_net.controller
    restart_as_backup(ha_net, killed)
    (switch,) = killed.lbctl_json("switch", "list")
    assert switch["role"] == "backup" and switch["primary"].endswith(str(primary.api_socket))
    refused = subprocess.run(
        [str(Path(sys.executable).parent / "lbctl"), "--socket", str(killed.api_socket),
         "backend", "drain", "web-nat", "b1"], capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and "is a backup" in refused.stderr
    # The primary still serves; a change made there reaches the returned backup.
    primary.lbctl("backend", "weight", "web-nat", "b2", "2")

    def weight_on_backup() -> int:
        services = killed.lbctl_json("service", "list")
        (web,) = [s for s in services if s["name"] == "web-nat"]
        return int({b["name"]: b["weight"] for b in web["backends"]}["b2"])

    deadline = time.monotonic() + 5
    while weight_on_backup() != 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert weight_on_backup() == 2
    page = ha_net.host("c1").cmd(f"curl -s -m 5 http://{ha_net.vip('shop')}/")
    assert page.startswith("backend "), page
