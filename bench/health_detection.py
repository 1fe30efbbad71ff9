"""How fast the server monitor takes a failed server out, against HAProxy's checks.

    python -m bench.health_detection [--failures N] [--interval S] [--fall N]

One single-switch topology with three nginx backends; lbd checks them over HTTP from the
site's monitoring leg (topologies/monitor.py).  HAProxy runs in the same namespace with the
same check (``option httpchk``, ``inter``, ``fall``, ``rise``, ``timeout check``) on the same
servers, so both watch every failure at once.  For each failure kind (nginx killed,
interface down, nginx hung by SIGSTOP), ``--failures`` times, a backend fails and the time
until lbd (``backend.list`` over its API) and HAProxy (``show stat`` on its stats socket)
report it down is taken; then the failure is repaired and both must see the server up
again before the next round.  Printed: median and max per kind and monitor, and the ratio
of lbd's median to HAProxy's.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from controller.api import call
from topologies.addressing import SERVICE_PORT, site_plan
from topologies.cli_options import bounded
from topologies.failures import Failure, inject, repair
from topologies.lb_network import (
    LbNetwork,
    NetworkOptions,
    free_tcp_ports,
    install_signal_handlers,
)
from topologies.lbd_config import service_name

HAPROXY = "/usr/sbin/haproxy"
POLL_S = 0.005
WAIT_S = 10.0


def haproxy_config(network: LbNetwork, interval: float, timeout: float, rise: int,
                   fall: int, stats: Path) -> str:
    site = network.sites[0]
    servers = "\n".join(
        f"    server {b.name} {b.ip}:{SERVICE_PORT} check inter {int(interval * 1000)}ms "
        f"fall {fall} rise {rise}" for b in site.backends)
    return f"""global
    stats socket {stats} mode 600 level admin
defaults
    mode http
    timeout connect {int(timeout * 1000)}ms
    timeout check {int(timeout * 1000)}ms
    timeout client 5s
    timeout server 5s
backend web
    option httpchk GET /
    http-check expect string backend
{servers}
"""


def haproxy_down(stats: Path) -> set[str]:
    """Servers HAProxy's ``show stat`` reports DOWN."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(2)
        sock.connect(str(stats))
        sock.sendall(b"show stat\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    lines = data.decode().splitlines()
    header = lines[0].lstrip("# ").split(",")
    name, status = header.index("svname"), header.index("status")
    return {row[name] for row in (line.split(",") for line in lines[1:] if line)
            if len(row) > status and row[status].startswith("DOWN")}


def lbd_down(network: LbNetwork) -> set[str]:
    assert network.controller is not None
    rows = call("backend.list", {"service": service_name(network.sites[0], "nat")},
                unix_socket=network.controller.api_socket, timeout=5.0)
    return {row["name"] for row in rows if row["health"] == "down"}


def watch(monitors: dict[str, Callable[[], set[str]]], backend: str, down: bool
          ) -> dict[str, float]:
    """Seconds until each monitor reports ``backend`` down (or up again)."""
    started = time.monotonic()
    seen: dict[str, float] = {}
    while len(seen) < len(monitors):
        now = time.monotonic()
        if now - started > WAIT_S:
            missing = sorted(set(monitors) - set(seen))
            raise RuntimeError(f"{', '.join(missing)} did not see {backend} "
                               f"{'down' if down else 'up'} within {WAIT_S} s")
        for name, poll in monitors.items():
            if name not in seen and (backend in poll()) == down:
                seen[name] = now - started
        time.sleep(POLL_S)
    return seen


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.health_detection",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--failures", type=bounded(1, 50), default=20,
                        help="failures per kind (default 20)")
    parser.add_argument("--interval", type=float, default=0.2, help="check interval (0.2)")
    parser.add_argument("--timeout", type=float, default=0.15, help="check timeout (0.15)")
    parser.add_argument("--fall", type=bounded(1, 10), default=3)
    parser.add_argument("--rise", type=bounded(1, 10), default=2)
    args = parser.parse_args(argv)
    if not 0.05 <= args.interval <= 5 or not 0 < args.timeout <= args.interval:
        parser.error("need 0.05 <= interval <= 5 and 0 < timeout <= interval")
    if not shutil.which(HAPROXY):
        print("bench: haproxy is not installed (scripts/setup.sh installs it)", file=sys.stderr)
        return 2
    install_signal_handlers()
    (grpc_port,) = free_tcp_ports(1)
    site = site_plan(0, clients=1, backends=3, grpc_port=grpc_port)
    check = {"kind": "http", "interval": args.interval, "timeout": args.timeout,
             "rise": args.rise, "fall": args.fall, "expect_body": "backend"}
    times: dict[tuple[Failure, str], list[float]] = {}
    try:
        with LbNetwork([site], NetworkOptions(modes=("nat",), health_check=check)) as network:
            stats = network.run_dir / "haproxy.sock"
            config = network.run_dir / "haproxy.cfg"
            config.write_text(haproxy_config(network, args.interval, args.timeout, args.rise,
                                             args.fall, stats))
            netns = network.monitors[site.switch].name
            haproxy = subprocess.Popen(["ip", "netns", "exec", netns, HAPROXY, "-db", "-f",
                                        str(config)], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + WAIT_S
                while not stats.exists() or haproxy_down(stats) or lbd_down(network):
                    if time.monotonic() > deadline or haproxy.poll() is not None:
                        raise RuntimeError("haproxy or lbd did not see every server up")
                    time.sleep(0.1)
                monitors = {"lbd": lambda: lbd_down(network),
                            "haproxy": lambda: haproxy_down(stats)}
                for failure in Failure:
                    for round_ in range(args.failures):
                        backend = site.backends[round_ % len(site.backends)].name
                        inject(network, backend, failure)
                        try:
                            for name, seconds in watch(monitors, backend, True).items():
                                times.setdefault((failure, name), []).append(seconds)
                        finally:
                            repair(network, backend, failure)
                        watch(monitors, backend, False)
                    print(f"measured {failure.value}", file=sys.stderr, flush=True)
            finally:
                haproxy.terminate()
                haproxy.wait(5)
    except KeyboardInterrupt:
        print("interrupted; everything was cleaned up", file=sys.stderr)
        return 130
    print(f"HTTP check every {args.interval:g} s, timeout {args.timeout:g} s, fall "
          f"{args.fall}, rise {args.rise}; {args.failures} failures per kind, 3 backends")
    print(f"{'failure':<16}{'lbd median':>12}{'lbd max':>10}{'haproxy median':>16}"
          f"{'haproxy max':>13}{'lbd/haproxy':>13}")
    for failure in Failure:
        lbd, peer = times[(failure, "lbd")], times[(failure, "haproxy")]
        ratio = statistics.median(lbd) / statistics.median(peer)
        print(f"{failure.value:<16}{statistics.median(lbd):>11.3f}s{max(lbd):>9.3f}s"
              f"{statistics.median(peer):>15.3f}s{max(peer):>12.3f}s{ratio:>12.2f}x")
    print("time from the failure until the monitor reports the server down; once lbd does, "
          "no new connection is scheduled to it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
