"""L7 benchmark: what TCP splicing in the switch buys, in one run on one topology.

    sudo .venv/bin/python -m bench.l7_splice [--size-mb 100] [--max-time 120]
                                             [--connections 2000] [--target embedded|bmv2]

On topologies/l7.py (one switch; clients c1, c2; nginx backends b1..b4; b5 for HAProxy) it
measures, from client c1, one download of ``/big.bin`` (random bytes, SHA-256 checked)

1. direct to backend b3 (:8080, routed by the switch),
2. through the L4 NAT service (VIP .100),
3. through the spliced l7 service (VIP .103; rules choose pool web = b3, b4),
4. through HAProxy (Debian's package, in host b5) doing the same content switching,
5. through the relaying l7 service (VIP .104: ``relay: true``, lbd forwards every packet),

each bounded by ``--max-time`` (a download cut short is reported with the bytes it got),
and the new spliced connections per second (``--connections`` short requests, keep-alive
off, 16 at a time).  Prints a table with throughput, time to first byte and total time, and
the ratios spliced / relay and spliced / L4 NAT (goal: at least 5 and 0.7).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from topologies.addressing import DIRECT_PORT
from topologies.l7 import (
    API_HOST,
    BIG_FILE,
    CHUNK,
    POOL_BACKENDS,
    PROXY_HOST,
    STATIC_PREFIX,
    L7Network,
    L7Options,
)
from topologies.switch_process import Target

HAPROXY = "/usr/sbin/haproxy"
PROXY_PORT = 8090
LOAD_CONCURRENCY = 16


@dataclass(frozen=True)
class Download:
    label: str
    bytes_: int
    seconds: float
    first_byte_s: float
    complete: bool
    exact: bool | None  # SHA-256 matched (None: not complete, not checked)

    @property
    def mbit_per_s(self) -> float:
        return self.bytes_ * 8 / self.seconds / 1e6 if self.seconds > 0 else 0.0


def haproxy_config(network: L7Network, directory: Path) -> str:
    """HAProxy doing what the shop service does: /static/ -> b1, Host api.example -> b2,
    the rest round robin over b3, b4 (their direct port)."""
    backends = network.site.backends[:POOL_BACKENDS]
    proxy = network.host(PROXY_HOST)

    def servers(hosts: Sequence[Any]) -> str:
        return "\n".join(f"    server {h.name} {h.ip}:{DIRECT_PORT}" for h in hosts)

    return f"""\
global
    maxconn 4096
    pidfile {directory / "haproxy.pid"}
defaults
    mode http
    timeout connect 5s
    timeout client 300s
    timeout server 300s
frontend shop
    bind {proxy.IP()}:{PROXY_PORT}
    acl is_static path_beg {STATIC_PREFIX}
    acl is_api hdr(host) -i {API_HOST}
    use_backend static if is_static
    use_backend api if is_api
    default_backend web
backend static
{servers(backends[:1])}
backend api
{servers(backends[1:2])}
backend web
    balance roundrobin
{servers(backends[2:])}
"""


def start_haproxy(network: L7Network) -> subprocess.Popen[bytes]:
    """HAProxy in b5.  b5 and the backends share a /24 but sit on separate switch ports,
    so /32 routes through the switch replace the on-link route between them."""
    proxy_plan = next(h for h in network.site.backends if h.name == PROXY_HOST)
    proxy = network.host(PROXY_HOST)
    for plan in network.site.backends[:POOL_BACKENDS]:
        proxy.cmd(f"ip route replace {plan.ip}/32 via {proxy_plan.gateway}")
        network.host(plan.name).cmd(f"ip route replace {proxy_plan.ip}/32 via {plan.gateway}")
    directory = network.run_dir / "haproxy"
    directory.mkdir(exist_ok=True)
    config = directory / "haproxy.cfg"
    config.write_text(haproxy_config(network, directory))
    log = open(directory / "haproxy.out", "wb")  # noqa: SIM115  # kept open by the child
    process: subprocess.Popen[bytes] = proxy.popen([HAPROXY, "-db", "-f", str(config)],
                                                   stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answer = network.host("c1").cmd(f"curl -s -m 2 http://{proxy.IP()}:{PROXY_PORT}/")
        if answer.startswith("backend "):
            return process
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"HAProxy did not answer (see {directory / 'haproxy.out'})")


def download(network: L7Network, label: str, url: str, max_time: float) -> Download:
    """One curl download in c1, checked with SHA-256 after the transfer."""
    return fetch(network.host("c1"), label, url, max_time, network.l7_options.big_file_bytes,
                 network.big_sha256)


SCRATCH = Path("/dev/shm")


def fetch(client: Any, label: str, url: str, max_time: float, size: int,
          sha256: str) -> Download:
    """One curl download from ``client`` (a host with ``cmd``) checked against ``size``
    bytes with SHA-256 ``sha256``.

    curl writes to a file in tmpfs and the file is hashed once curl has exited: hashing on
    the fly (``curl | sha256sum``) runs at about 1.7 Gbit/s on this machine and would cap
    every path at that rate, hiding the differences the benchmarks measure.
    """
    target = SCRATCH / f"p4lb-bench-{os.getpid()}-{time.monotonic_ns()}.bin"
    out = client.cmd(
        f"curl -s --max-time {max_time:.0f} -o {target} -w '%{{size_download}} "
        f"%{{time_total}} %{{time_starttransfer}}\\n' '{url}'; sha256sum {target}; "
        f"rm -f {target}")
    figures, _, hashed = out.strip().partition("\n")
    got, total, first = figures.split()[-3:]
    complete = int(got) == size
    digest = hashed.split()[0] if hashed.strip() else ""
    return Download(label, int(got), float(total), float(first), complete,
                    (digest == sha256) if complete else None)


def new_connections(network: L7Network, connections: int) -> dict[str, Any]:
    client = network.host("c1")
    out = client.cmd(f"{sys.executable} -m topologies.l7_load --address {network.vip('shop')}"
                     f" --connections {connections} --concurrency {LOAD_CONCURRENCY}")
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def table(downloads: Sequence[Download], rate: dict[str, Any]) -> str:
    by_label = {d.label: d for d in downloads}
    lines = [f"{'path':<22}{'bytes':>12}{'Mbit/s':>10}{'TTFB ms':>10}{'total s':>10}  exact",
             "-" * 72]
    for d in downloads:
        exact = {True: "yes", False: "NO", None: "cut short"}[d.exact]
        lines.append(f"{d.label:<22}{d.bytes_:>12}{d.mbit_per_s:>10.1f}"
                     f"{d.first_byte_s * 1000:>10.1f}{d.seconds:>10.2f}  {exact}")
    spliced = by_label["spliced l7"].mbit_per_s
    lines.append("")
    for other in ("relay (controller)", "L4 NAT", "direct", "HAProxy"):
        base = by_label[other].mbit_per_s
        ratio = spliced / base if base else float("inf")
        lines.append(f"spliced / {other:<20} {ratio:6.2f}")
    lines.append(f"\nnew spliced connections: {rate['ok']} in {rate['elapsed_s']} s = "
                 f"{rate['per_second']}/s ({rate['failed']} failed, {LOAD_CONCURRENCY} "
                 "concurrent, keep-alive off)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.l7_splice",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=[t.value for t in Target],
                        default=Target.EMBEDDED.value)
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--max-time", type=float, default=120.0,
                        help="bound of each download, seconds")
    parser.add_argument("--connections", type=int, default=2000)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("error: Mininet needs root", file=sys.stderr)
        return 2
    if not Path(HAPROXY).exists():
        print(f"error: {HAPROXY} missing (apt-get install haproxy)", file=sys.stderr)
        return 2
    options = L7Options(target=Target(args.target), big_file_bytes=args.size_mb * CHUNK,
                        new_connection_limit=None)
    network = L7Network(options)
    with network:
        proxy = start_haproxy(network)
        try:
            b3 = network.site.backends[2]
            proxy_ip = network.host(PROXY_HOST).IP()
            paths = [("direct", f"http://{b3.ip}:{DIRECT_PORT}/{BIG_FILE}"),
                     ("L4 NAT", f"http://{network.vip('web-nat')}/{BIG_FILE}"),
                     ("spliced l7", f"http://{network.vip('shop')}/{BIG_FILE}"),
                     ("HAProxy", f"http://{proxy_ip}:{PROXY_PORT}/{BIG_FILE}"),
                     ("relay (controller)", f"http://{network.vip('shop-relay')}/{BIG_FILE}")]
            downloads = []
            for label, url in paths:
                downloads.append(download(network, label, url, args.max_time))
                print(f"{label}: {downloads[-1]}", flush=True)
            rate = new_connections(network, args.connections)
        finally:
            proxy.terminate()
            proxy.wait(5)
    print(f"\nL7 benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{os.cpu_count()} CPUs, target {args.target}, {args.size_mb} MiB download")
    print(table(downloads, rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
