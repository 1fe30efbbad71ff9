"""TLS benchmark: how often returning clients resume their session through the splicer,
what resuming saves, and how many new TLS connections per second the splicer takes.

    sudo .venv/bin/python -m bench.tls_resumption [--clients 6] [--returns 10]
        [--versions 1.3,1.2] [--connections 400] [--concurrency 16] [--max-time 30]
        [--seed 1] [--target embedded|bmv2]

On topologies/l7.py with ``--clients`` client hosts (one address each) and real nginx
HTTPS servers, for the same pool of 3 servers (b2, b3, b4, SNI www.example.com):

1. **Returning clients**: one ``topologies.tls_probe --stdin`` per client host; every client
   connects once (a full handshake), then ``--returns`` rounds in which every client, in a
   random order (``--seed``), connects again offering its latest session.  Along five
   paths, for each TLS version: directly to one server (b2 :8446, routed by the switch, not
   spliced: the peer), ``secure-rr`` (round robin, no affinity), ``secure`` (affinity
   learned from ServerHellos), ``secure-shared`` (the pool shares its ticket key), and
   ``secure`` again with all the clients in c1 (many clients behind one address: the
   affinity table's known weak case).  Printed: the share of returns the server resumed,
   median handshake times (TLS handshake only, TCP connect excluded) of full and resumed
   handshakes, lbd's own view (``lbctl tls``: lookups and hit rate) and how the clients'
   last returns spread over the servers.
2. **New TLS connections per second**: ``topologies.tls_load`` in c1, ``--concurrency``
   threads, ``--connections`` connections or ``--max-time`` seconds, full handshakes and
   resumed ones, direct to b2, through ``secure-rr`` and ``secure``; and, as the splicer's
   plain-HTTP peer, ``topologies.l7_load`` on the spliced HTTP service ``shop``.

Ratios: resumption with affinity / with rr, resumed / full handshake time, spliced / direct,
TLS / HTTP through the splicer.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from topologies.cli_options import bounded
from topologies.l7 import TLS_DIRECT_PORT, TLS_SERVICE_PORT, L7Network, L7Options
from topologies.switch_process import Target

NAME = "www.example.com"  # no SNI rule: the default pool of b2, b3, b4
DIRECT_BACKEND = 1  # b2, a member of each service's pool of 3
TABLE_KEYS = ("lookups", "hits", "hints", "resumed", "full")


@dataclass(frozen=True)
class Route:
    """Where a client connects: a service, or (None) directly to b2."""

    label: str
    service: str | None  # None: direct to b2
    shared_address: bool = False  # every client in c1


@dataclass
class Returns:
    """The connections of one path and TLS version."""

    path: Route
    version: str
    first: list[dict[str, Any]] = field(default_factory=list)  # each client's first
    again: list[dict[str, Any]] = field(default_factory=list)  # the returns
    lbd: dict[str, int] | None = None  # lbctl tls counters, this run's share

    @property
    def errors(self) -> int:
        return sum("error" in r for r in self.first + self.again)

    @property
    def resumed(self) -> int:
        return sum(bool(r.get("reused")) for r in self.again)

    @property
    def rate(self) -> float:
        return self.resumed / len(self.again) if self.again else 0.0

    @property
    def last_round_servers(self) -> str:
        """How the clients' last returns spread over the servers (balance)."""
        last = self.again[-len(self.first):] if self.first else []
        return _spread(r["backend"] for r in last if "error" not in r)

    def median_ms(self, reused: bool) -> float | None:
        times = [r["handshake_ms"] for r in self.first + self.again
                 if "error" not in r and r["reused"] is reused]
        return statistics.median(times) if times else None


PATHS = (Route("direct, one server", None), Route("rr, no affinity", "secure-rr"),
         Route("affinity", "secure"), Route("shared ticket keys", "secure-shared"),
         Route("affinity, one address", "secure", shared_address=True))


def target(network: L7Network, path: Route) -> tuple[str, int]:
    if path.service is None:
        return network.site.backends[DIRECT_BACKEND].ip, TLS_DIRECT_PORT
    return network.vip(path.service), TLS_SERVICE_PORT


def affinity_counters(network: L7Network, service: str | None) -> dict[str, int] | None:
    """lbd's affinity counters of ``service`` summed over its switches (None: no table)."""
    if service is None:
        return None
    (listed,) = network.lbd.lbctl_json("tls", service)
    if not listed["tables"]:
        return None
    return {key: sum(t[key] for t in listed["tables"]) for key in TABLE_KEYS}


def start_probe(network: L7Network, host: str, path: Route,
                version: str) -> subprocess.Popen[str]:
    address, port = target(network, path)
    return network.host(host).popen(  # type: ignore[no-any-return]
        [sys.executable, "-m", "topologies.tls_probe", address, NAME, "--port", str(port),
         "--cafile", str(network.tls.ca_cert), "--tls", version, "--stdin"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, text=True, bufsize=1)


def returning_clients(network: L7Network, path: Route, version: str, returns: int,
                      rng: random.Random) -> Returns:
    """Each client once, then ``returns`` rounds of all clients in a random order."""
    hosts = [plan.name for plan in network.site.clients]
    clients = [(("c1" if path.shared_address else host), host) for host in hosts]
    probes = {host: start_probe(network, host, path, version)
              for host in {h for h, _ in clients}}
    before = affinity_counters(network, path.service)
    result = Returns(path, version)
    try:
        for round_index in range(returns + 1):
            order = clients[:]
            rng.shuffle(order)
            for host, client in order:
                probe = probes[host]
                assert probe.stdin is not None and probe.stdout is not None
                probe.stdin.write(client + "\n")
                line = probe.stdout.readline()  # the probe times out after 10 s
                if not line:
                    raise RuntimeError(f"tls_probe in {host} ended (exit {probe.poll()})")
                (result.again if round_index else result.first).append(json.loads(line))
    finally:
        for probe in probes.values():
            assert probe.stdin is not None
            probe.stdin.close()
            try:
                probe.wait(10)
            except subprocess.TimeoutExpired:
                probe.kill()
                probe.wait()
    after = affinity_counters(network, path.service)
    if before is not None and after is not None:
        result.lbd = {key: after[key] - before[key] for key in TABLE_KEYS}
    return result


def load(network: L7Network, service: str | None, version: str, args: argparse.Namespace,
         resume: bool) -> dict[str, Any]:
    address, port = target(network, Route("", service))
    out = network.host("c1").cmd(
        f"{sys.executable} -m topologies.tls_load {address} {NAME} --port {port} "
        f"--cafile {network.tls.ca_cert} --tls {version} --connections {args.connections} "
        f"--concurrency {args.concurrency} --max-time {args.max_time:g}"
        + (" --resume" if resume else ""))
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def http_load(network: L7Network, args: argparse.Namespace) -> dict[str, Any]:
    """Spliced HTTP connections (one request each) through shop, the same way."""
    out = network.host("c1").cmd(
        f"{sys.executable} -m topologies.l7_load --address {network.vip('shop')} "
        f"--connections {args.connections} --concurrency {args.concurrency}")
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _spread(backends: Iterable[str]) -> str:
    return " ".join(f"{name}:{count}" for name, count in sorted(Counter(backends).items()))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ratio(top: float | None, bottom: float | None) -> str:
    return "-" if top is None or not bottom else f"{top / bottom:.2f}"


def returns_table(runs: Sequence[Returns]) -> str:
    lines = [f"{'TLS':<5}{'path':<24}{'returns':>8}{'resumed':>8}{'rate':>8}{'full ms':>9}"
             f"{'resum. ms':>10}{'res/full':>9}{'lbd lookups':>12}{'hit rate':>9}"
             f"{'errors':>7}  last round on", "-" * 124]
    for run in runs:
        full, resumed = run.median_ms(False), run.median_ms(True)
        lookups = hit = "-"
        if run.lbd is not None:
            lookups = str(run.lbd["lookups"])
            if run.lbd["lookups"]:
                hit = f"{(run.lbd['hits'] + run.lbd['hints']) / run.lbd['lookups']:.1%}"
        lines.append(f"{run.version:<5}{run.path.label:<24}{len(run.again):>8}"
                     f"{run.resumed:>8}{run.rate:>8.1%}{_ms(full):>9}{_ms(resumed):>10}"
                     f"{_ratio(resumed, full):>9}{lookups:>12}{hit:>9}{run.errors:>7}"
                     f"  {run.last_round_servers}")
    lines.append("")
    by_key = {(r.version, r.path.label): r for r in runs}
    for version in dict.fromkeys(r.version for r in runs):
        rr, direct = by_key[(version, "rr, no affinity")], by_key[(version, "direct, one server")]
        parts = [f"TLS {version}: resumption"]
        for label in ("affinity", "shared ticket keys"):
            parts.append(f"{label} / rr {_ratio(by_key[(version, label)].rate, rr.rate)}")
        affinity = by_key[(version, "affinity")]
        parts.append(f"full handshake spliced (affinity) / direct "
                     f"{_ratio(affinity.median_ms(False), direct.median_ms(False))}")
        parts.append(f"goal affinity >= 95 %: {'met' if affinity.rate >= 0.95 else 'NOT met'}")
        lines.append(", ".join(parts))
    return "\n".join(lines)


def load_table(loads: Sequence[tuple[str, str, str, dict[str, Any]]],
               http: dict[str, Any]) -> str:
    lines = [f"{'TLS':<5}{'path':<20}{'handshakes':<12}{'ok':>6}{'failed':>7}{'resumed':>8}"
             f"{'s':>8}{'conn/s':>8}{'median ms':>10}{'/ direct':>9}  servers", "-" * 110]
    direct = {(v, h): r["per_second"] for v, p, h, r in loads if p == "direct"}
    for version, path, handshakes, r in loads:
        lines.append(f"{version:<5}{path:<20}{handshakes:<12}{r['ok']:>6}{r['failed']:>7}"
                     f"{r['resumed']:>8}{r['elapsed_s']:>8.2f}{r['per_second']:>8.1f}"
                     f"{_ms(r['handshake_ms']):>10}"
                     f"{_ratio(r['per_second'], direct.get((version, handshakes))):>9}"
                     f"  {_spread(Counter(r['backends']).elements())}")
        if r["errors"]:
            lines.append(f"     errors: {r['errors']}")
    rr_full = [r["per_second"] for v, p, h, r in loads if p.startswith("secure-rr")
               and h == "full"]
    lines.append(f"\nspliced HTTP (shop, no TLS): {http['ok']} ok, {http['failed']} failed in "
                 f"{http['elapsed_s']} s = {http['per_second']}/s; TLS full via secure-rr / "
                 f"HTTP: {', '.join(_ratio(rate, http['per_second']) for rate in rr_full)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tls_resumption",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=[t.value for t in Target],
                        default=Target.EMBEDDED.value)
    parser.add_argument("--clients", type=bounded(2, 40), default=6,
                        help="client hosts, one returning client each")
    parser.add_argument("--returns", type=bounded(1, 1000), default=10,
                        help="returns of each client")
    parser.add_argument("--versions", default="1.3,1.2", help="TLS versions, comma-separated")
    parser.add_argument("--connections", type=bounded(1, 100_000), default=400,
                        help="connections per load run")
    parser.add_argument("--concurrency", type=bounded(1, 256), default=16)
    parser.add_argument("--max-time", type=float, default=30.0, help="bound of a load run, s")
    parser.add_argument("--seed", type=int, default=1, help="order of the returning clients")
    args = parser.parse_args(argv)
    versions = [v.strip() for v in args.versions.split(",") if v.strip()]
    if not versions or any(v not in ("1.2", "1.3") for v in versions):
        parser.error("--versions: a comma-separated list of 1.2 and 1.3")
    if os.geteuid() != 0:
        print("error: Mininet needs root", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    options = L7Options(target=Target(args.target), big_file_bytes=1 << 20,
                        new_connection_limit=None, clients=args.clients)
    network = L7Network(options)
    started = time.monotonic()
    with network:
        runs = []
        for version in versions:
            for path in PATHS:
                runs.append(returning_clients(network, path, version, args.returns, rng))
                run = runs[-1]
                print(f"TLS {version} {path.label}: {run.resumed}/{len(run.again)} resumed, "
                      f"{run.errors} errors, lbd {run.lbd}", flush=True)
        loads = []
        for version in versions:
            for label, service in (("direct", None), ("secure-rr (rr)", "secure-rr"),
                                   ("secure (affinity)", "secure")):
                for resume in (False, True):
                    result = load(network, service, version, args, resume)
                    loads.append((version, label, "resumed" if resume else "full", result))
                    print(f"TLS {version} {label} {loads[-1][2]}: {result['per_second']}/s",
                          flush=True)
        http = http_load(network, args)
        print(f"HTTP shop: {http['per_second']}/s", flush=True)
        tls_listing = network.lbd.lbctl("tls")
    print(f"\nTLS benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{os.cpu_count()} CPUs, target {args.target}, {time.monotonic() - started:.0f} s")
    print(f"\nReturning clients: {args.clients} clients (one address each, except the last "
          f"path: all in c1), each 1 full connection then {args.returns} returns in random "
          f"order; pool of 3 servers (b2, b3, b4); medians")
    print(returns_table(runs))
    print(f"\nNew TLS connections per second from c1 ({args.concurrency} threads, "
          f"{args.connections} connections or {args.max_time:g} s; each GET / read):")
    print(load_table(loads, http))
    print(f"\nlbctl tls at the end:\n{tls_listing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
