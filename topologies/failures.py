"""Server failures for tests and benchmarks of the server monitor: a backend's web server
dies, its interface goes down, or it hangs (SIGSTOP); and each one undone."""

from __future__ import annotations

import signal
import subprocess
from enum import Enum

from topologies.lb_network import LbNetwork
from topologies.webserver import WebServer


class Failure(Enum):
    KILLED = "nginx killed"
    UNPLUGGED = "interface down"
    HUNG = "server hung"


def _server(network: LbNetwork, backend: str) -> WebServer:
    (server,) = [s for s in network.servers if s.name == backend]
    return server


def _signal(server: WebServer, signum: signal.Signals) -> None:
    """Signal the server's processes and their children (nginx's workers)."""
    for process in server.processes:
        children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True,
                                  text=True, check=False).stdout.split()
        for pid in [process.pid, *map(int, children)]:
            subprocess.run(["kill", f"-{signum.name}", str(pid)], check=False,
                           capture_output=True)


def inject(network: LbNetwork, backend: str, failure: Failure) -> None:
    if failure is Failure.KILLED:
        _signal(_server(network, backend), signal.SIGKILL)
    elif failure is Failure.UNPLUGGED:
        host = network.host(backend)
        host.cmd(f"ip link set {host.defaultIntf().name} down")
    else:
        _signal(_server(network, backend), signal.SIGSTOP)


def repair(network: LbNetwork, backend: str, failure: Failure) -> None:
    """Undo ``inject``: the server answers again (a killed one is started afresh)."""
    if failure is Failure.KILLED:
        server = _server(network, backend)
        server.stop()
        server.start()
    elif failure is Failure.UNPLUGGED:
        host = network.host(backend)
        interface = host.defaultIntf().name
        plan = next(p for site in network.sites for p in site.backends if p.name == backend)
        host.cmd(f"ip link set {interface} up; "
                 f"ip route replace default via {plan.gateway} dev {interface}")
    else:
        _signal(_server(network, backend), signal.SIGCONT)
