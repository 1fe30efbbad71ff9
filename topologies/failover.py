"""Controller failover in a running network with several lbd instances (docs/ha.md): kill
the primary with SIGKILL, time how long until a backup holds every switch as primary and
has synchronised it, and bring the killed instance back (it returns as a backup).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from controller.api import ApiError, call
from topologies import runs
from topologies.controller_process import LbdProcess
from topologies.lb_network import LbNetwork

POLL_S = 0.01


@dataclass(frozen=True)
class Takeover:
    killed: LbdProcess
    primary: LbdProcess
    seconds: float  # SIGKILL sent -> the new primary reports every switch synchronised


def _primary_of_all(lbd: LbdProcess, switches: Sequence[str]) -> bool:
    try:
        listed: Any = call("switch.list", {}, unix_socket=lbd.api_socket, timeout=1.0)
    except ApiError:
        return False
    status = {s["name"]: s for s in listed}
    return all(status.get(name, {}).get("role") == "primary"
               and status[name].get("synchronised") for name in switches)


def kill_primary(network: LbNetwork, timeout: float = 20.0) -> Takeover:
    """SIGKILL the primary lbd; returns once a backup took over every switch.  The
    network's ``controller`` is the new primary afterwards, the killed one a standby."""
    killed = network.controller
    assert killed is not None and network.standbys, "no primary, or no backup to take over"
    switches = [site.switch for site in network.sites]
    started = time.monotonic()
    killed.stop(signum=signal.SIGKILL)
    deadline = started + timeout
    while time.monotonic() < deadline:
        for standby in network.standbys:
            if _primary_of_all(standby, switches):
                seconds = time.monotonic() - started
                network.standbys = [s for s in network.standbys if s is not standby] + [killed]
                network.controller = standby
                return Takeover(killed, standby, seconds)
        time.sleep(POLL_S)
    raise AssertionError(f"no backup took over within {timeout:.0f}s")


def restart_as_backup(network: LbNetwork, lbd: LbdProcess) -> None:
    """Start a stopped instance again; returns once it is a backup of every switch."""
    lbd.start([site.switch for site in network.sites], backup=True)
    if lbd.pid is not None:
        runs.record_pid(network.run_dir, lbd.pid)
