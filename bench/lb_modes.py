"""HTTP through the load balancer in each mode, against the same servers reached directly.

    python -m bench.lb_modes [--target embedded|bmv2] [--duration S] [--connections N]
                             [--scheduler S] [--backends N]

One single-switch topology (topologies/single.py) runs; ``wrk`` on client c1 measures:

* keep-alive: requests/s and latency (p50, p99) over a few persistent connections, i.e. the
  packet path once connections are set up;
* new connections: requests/s with ``Connection: close``, one TCP connection per request.  With
  a controller scheduler (the default, ``rr``) every new connection to a VIP is a packet-in
  that lbd schedules and pins, so this is the controller's connection-setup rate; for the l7
  (TCP splicing) service it is the splicer's rate (handshake, request, backend connection).

"direct" is backend b1 on its direct port (:8080) through the same switch, routed without load
balancing.  Ratios are against direct.  Every run is bounded by ``--duration``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from controller.config import SCHEDULERS
from topologies.addressing import DIRECT_PORT, MODES, site_plan
from topologies.cli_options import bounded
from topologies.lb_network import (
    LbNetwork,
    NetworkOptions,
    free_tcp_ports,
    install_signal_handlers,
)
from topologies.switch_process import Target

WRK = "/usr/bin/wrk"
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


class BenchError(RuntimeError):
    """wrk is missing or its output could not be read."""


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int


def _milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise BenchError(f"unreadable wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    """Requests/s, latency percentiles and socket errors from ``wrk --latency`` output."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rate is None:
        raise BenchError(f"no Requests/sec in wrk output:\n{output}")
    percentiles = dict(re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)", output, re.MULTILINE))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return WrkResult(
        requests_per_s=float(rate.group(1)),
        p50_ms=_milliseconds(percentiles["50"]) if "50" in percentiles else None,
        p99_ms=_milliseconds(percentiles["99"]) if "99" in percentiles else None,
        errors=errors + (int(non_2xx.group(1)) if non_2xx else 0),
    )


def run_wrk(client: Any, url: str, *, duration: int, connections: int,
            new_connections: bool) -> WrkResult:
    header = "-H 'Connection: close' " if new_connections else ""
    output = client.cmd(f"timeout {duration + 15} {WRK} -t1 -c{connections} -d{duration}s "
                        f"--timeout 2s --latency {header}{url}")
    return parse_wrk(output)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ratio(value: float, reference: float) -> float | None:
    return value / reference if reference else None


def results_table(rows: dict[str, tuple[WrkResult, WrkResult]]) -> str:
    direct_keep, direct_new = rows["direct"]
    header = (f"{'path':<8}{'req/s':>10}{'ratio':>7}{'p50 ms':>9}{'p99 ms':>9}"
              f"{'new conn/s':>12}{'ratio':>7}{'errors':>8}")
    lines = [header, "-" * len(header)]
    for name, (keep, new) in rows.items():
        keep_ratio = _ratio(keep.requests_per_s, direct_keep.requests_per_s)
        new_ratio = _ratio(new.requests_per_s, direct_new.requests_per_s)
        lines.append(f"{name:<8}{keep.requests_per_s:>10.1f}{_fmt(keep_ratio, 2):>7}"
                     f"{_fmt(keep.p50_ms, 2):>9}{_fmt(keep.p99_ms, 2):>9}"
                     f"{new.requests_per_s:>12.1f}{_fmt(new_ratio, 2):>7}"
                     f"{keep.errors + new.errors:>8}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lb_modes",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=[t.value for t in Target], default="embedded")
    parser.add_argument("--duration", type=bounded(1, 60), default=4,
                        help="seconds per measurement (default 4; 8 measurements)")
    parser.add_argument("--connections", type=bounded(1, 64), default=4)
    parser.add_argument("--scheduler", choices=SCHEDULERS, default="rr",
                        help="mh schedules in the data plane, the others in lbd (default rr)")
    parser.add_argument("--backends", type=bounded(1, 16), default=3)
    args = parser.parse_args(argv)
    if not shutil.which(WRK):
        print("bench: wrk is not installed (scripts/setup.sh installs it)", file=sys.stderr)
        return 2
    install_signal_handlers()
    (grpc_port,) = free_tcp_ports(1)
    site = site_plan(0, clients=1, backends=args.backends, grpc_port=grpc_port)
    options = NetworkOptions(target=Target(args.target), modes=MODES, scheduler=args.scheduler)
    urls = {"direct": f"http://{site.backends[0].ip}:{DIRECT_PORT}/",
            **{mode: f"http://{site.vips[mode]}/" for mode in MODES}}
    rows: dict[str, tuple[WrkResult, WrkResult]] = {}
    try:
        with LbNetwork([site], options) as network:
            client = network.host(site.clients[0].name)
            for name, url in urls.items():
                keep = run_wrk(client, url, duration=args.duration,
                               connections=args.connections, new_connections=False)
                new = run_wrk(client, url, duration=args.duration,
                              connections=args.connections, new_connections=True)
                rows[name] = (keep, new)
                print(f"measured {name}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("interrupted; everything was cleaned up", file=sys.stderr)
        return 130
    print(f"target {args.target}, scheduler {args.scheduler}, {args.backends} backends, "
          f"wrk -t1 -c{args.connections} -d{args.duration}s")
    print(results_table(rows))
    setup = ("lbd schedules and pins every new connection (packet-in -> table write), so "
             "'new conn/s' through a VIP is the controller's connection-setup rate"
             if args.scheduler != "mh" else
             "Maglev schedules new connections in the data plane (no controller round trip)")
    print(f"req/s, p50, p99: keep-alive requests; new conn/s: one TCP connection per request;\n"
          f"ratios against direct (backend b1 :{DIRECT_PORT}, routed by the same switch).\n"
          f"scheduler {args.scheduler}: {setup}.\n"
          "l7: lbd's splicer answers the handshake, reads the request and opens the backend "
          "connection (several packet-ins per connection), then the switch splices the rest.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
