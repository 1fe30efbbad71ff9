"""Controller takeover time: two lbd instances, the primary killed with SIGKILL, against
one lbd restarted at once (what a supervisor such as systemd does without HA).

    python -m bench.ha_failover [--failovers N] [--restarts N]

The L7 topology (topologies/l7.py) with lbd-a primary and lbd-b backup.  During each round
a client opens a new connection to web-mh (L4 NAT, scheduled in the data plane), web-nat
(L4 NAT, scheduled by lbd) and shop (spliced L7) every 50 ms, each given 0.5 s.  The
primary is killed; measured are the takeover (SIGKILL -> the backup reports the switch as
primary and synchronised) and, per service, how long new connections failed.  The killed
instance then returns as a backup and is the next round's backup.  The peer, in the same
network afterwards: the backup is stopped, and ``--restarts`` times the lone lbd is
killed and started again straight away.  Printed: median and max of each figure, and the
ratio of the restart's median to the takeover's.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from topologies.cli_options import bounded
from topologies.failover import kill_primary, restart_as_backup
from topologies.l7 import CHUNK, L7Network, L7Options
from topologies.lb_network import install_signal_handlers
from topologies.new_connections import outage

SERVICES = ("web-mh", "web-nat", "shop")
BEFORE_KILL_S = 1.0
AFTER_KILL_S = 3.0
PROBE_INTERVAL_S = 0.05  # per service; faster overloads the spliced path on 2 cores


def probed_round(network: L7Network, kill: Callable[[], float]) -> dict[str, float]:
    """Run ``kill`` (returns its takeover seconds) while new connections are probed;
    returns the takeover and each service's outage, in seconds."""
    targets = [f"{s}={network.vip(s)}:80" for s in SERVICES]
    prober = network.host("c2").popen(
        [sys.executable, "-m", "topologies.new_connections", *targets,
         "--interval", str(PROBE_INTERVAL_S), "--timeout", "0.5",
         "--duration", str(BEFORE_KILL_S + AFTER_KILL_S + 30)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(BEFORE_KILL_S)
        killed_at = time.time()
        figures = {"takeover": kill()}
        time.sleep(AFTER_KILL_S)
        out, err = prober.communicate("stop\n", timeout=30)
    finally:
        if prober.poll() is None:
            prober.kill()
            prober.wait()
    attempts: dict[str, Any] = json.loads(out or "{}")
    if set(attempts) != set(SERVICES):
        raise RuntimeError(f"prober failed: {err}")
    for service in SERVICES:
        figures[service] = outage([tuple(a) for a in attempts[service]["attempts"]],
                                  killed_at)[0]
        failed = [round(t - killed_at, 2) for t, ok in attempts[service]["attempts"] if not ok]
        if failed:
            print(f"  {service}: failed at {failed} s after the kill", file=sys.stderr)
    return figures


def restart_in_place(network: L7Network) -> float:
    """SIGKILL the lone lbd and start it again; seconds until it synchronised again."""
    lbd = network.controller
    assert lbd is not None
    started = time.monotonic()
    lbd.stop(signum=signal.SIGKILL)
    lbd.start([site.switch for site in network.sites])
    return time.monotonic() - started


def summary(rounds: list[dict[str, float]], key: str) -> tuple[float, float]:
    values = [r[key] for r in rounds]
    return statistics.median(values), max(values)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ha_failover",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--failovers", type=bounded(1, 30), default=10)
    parser.add_argument("--restarts", type=bounded(1, 10), default=3)
    args = parser.parse_args(argv)
    install_signal_handlers()
    takeovers: list[dict[str, float]] = []
    restarts: list[dict[str, float]] = []
    try:
        with L7Network(L7Options(big_file_bytes=CHUNK, controllers=2)) as network:
            for round_ in range(args.failovers):
                def fail_over() -> float:
                    return kill_primary(network).seconds

                takeovers.append(probed_round(network, fail_over))
                (killed,) = network.standbys
                restart_as_backup(network, killed)
                print(f"failover {round_ + 1}: {takeovers[-1]}", file=sys.stderr, flush=True)
            for standby in network.standbys:
                standby.stop()
            network.standbys = []
            for round_ in range(args.restarts):
                restarts.append(probed_round(network, lambda: restart_in_place(network)))
                print(f"restart {round_ + 1}: {restarts[-1]}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("interrupted; everything was cleaned up", file=sys.stderr)
        return 130
    print(f"lbd failover: {args.failovers} SIGKILLs of the primary with a backup running, "
          f"{args.restarts} of a lone lbd restarted at once; new connections every "
          f"{PROBE_INTERVAL_S * 1000:.0f} ms, "
          "0.5 s each")
    print(f"{'figure':<34}{'HA median':>11}{'HA max':>9}{'restart median':>16}"
          f"{'restart max':>13}{'restart/HA':>12}")
    rows = [("takeover (lbd synchronised)", "takeover")] + [
        (f"new connections fail: {s}", s) for s in SERVICES]
    for label, key in rows:
        ha_median, ha_max = summary(takeovers, key)
        re_median, re_max = summary(restarts, key)
        ratio = f"{re_median / ha_median:.1f}x" if ha_median > 0 else "-"
        print(f"{label:<34}{ha_median * 1000:>9.0f}ms{ha_max * 1000:>7.0f}ms"
              f"{re_median * 1000:>14.0f}ms{re_max * 1000:>11.0f}ms{ratio:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
