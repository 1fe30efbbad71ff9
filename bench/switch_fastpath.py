"""The switch fast path (GSO super-segments, batched I/O) against its peers, in one run.

    sudo .venv/bin/python -m bench.switch_fastpath [--size-mb 100] [--max-time 60]
                                                   [--repeat 5] [--pps-count 300000]
                                                   [--pps-rate 200000] [--entries 100000]
                                                   [--baseline REV] [--no-exact-path]
                                                   [--pps-only]

1. Downloads of ``/big.bin`` (random bytes, written by curl to tmpfs and SHA-256 checked
   after every transfer; each path ``--repeat`` times, the median counts) without any switch,
   in namespaces joined by veth pairs with the kernel's default offloads: direct (one veth
   pair), kernel routing through a middle namespace, HAProxy (Debian's, ``mode http``) in
   that middle namespace;
2. the same file through ``p4sim-switch`` on topologies/l7.py (bench/l7_splice's set-up):
   direct (routed by the switch), L4 NAT, spliced L7, HAProxy behind the switch; then the
   spliced download again with ``--no-offload`` (the exact, one-frame-per-call path) unless
   ``--no-exact-path``;
3. 64-byte UDP frames/s through ``p4sim-switch`` (bench/switch_pps, bench/basic.p4) with the
   batch path, with ``--no-offload`` (same code, one frame per system call) and as the switch
   was before the fast path (``--baseline``, a revision of this repository whose ``p4sim``
   is extracted with ``git archive``: the previous path the goal is measured against);
4. resident memory of the switch process running p4src/lb.p4 empty and with ``--entries``
   connection_table entries installed over P4Runtime.

Prints the figures and the ratios the issue asks for (spliced / HAProxy natively, goal 1.0;
batch / previous path packets/s, goal 3).  The machine has two cores shared by client,
server, proxy and switch: every figure is CPU-bound, so downloads are repeated and
interleaved (path after path, then again) and the median is reported.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import grpc
from finsy.proto import p4i, p4r, p4r_grpc
from google.protobuf import text_format

from bench import switch_pps
from bench.l7_splice import HAPROXY, PROXY_PORT, Download, download, fetch, start_haproxy
from topologies.addressing import DIRECT_PORT
from topologies.l7 import BIG_FILE, CHUNK, PROXY_HOST, L7Network, L7Options, write_big_file
from topologies.p4build import compile_program
from topologies.switch_process import OFFLOAD_ENV, Target, embedded_switch_path
from topologies.webserver import WebServer

REPO = Path(__file__).resolve().parent.parent
NATIVE = ("p4f-c", "p4f-p", "p4f-s")  # client, middle (router / HAProxy), server
BASELINE = "a0ed96fb619714af482adc8419fbaf95a12e7a09"
"""The last revision before the offload path (commit 7712d34's parent)."""


class NsHost:
    """The little of a Mininet host WebServer and fetch use, for a plain namespace."""

    def __init__(self, namespace: str) -> None:
        self.name = namespace
        self.namespace = namespace

    def cmd(self, command: str) -> str:
        return subprocess.run(["ip", "netns", "exec", self.namespace, "sh", "-c", command],
                              capture_output=True, text=True, timeout=600).stdout

    def popen(self, argv: Sequence[str], **kwargs: object) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["ip", "netns", "exec", self.namespace, *argv],
                                **kwargs)  # type: ignore[call-overload,no-any-return]


def _ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True, timeout=30)


@contextmanager
def native_lab() -> Iterator[None]:
    """c -- s directly (10.13.3.0/24) and c -- p -- s (10.13.1.0/24, 10.13.2.0/24, p routes)."""
    client, middle, server = NATIVE
    for namespace in NATIVE:
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        _ip("netns", "add", namespace)
    try:
        links = [(client, "cp", "10.13.1.1", middle, "pc", "10.13.1.2"),
                 (middle, "ps", "10.13.2.1", server, "sp", "10.13.2.2"),
                 (client, "cs", "10.13.3.1", server, "sc", "10.13.3.2")]
        for ns_a, a, addr_a, ns_b, b, addr_b in links:
            _ip("-n", ns_a, "link", "add", a, "type", "veth", "peer", "name", b, "netns", ns_b)
            for namespace, name, address in ((ns_a, a, addr_a), (ns_b, b, addr_b)):
                _ip("-n", namespace, "addr", "add", f"{address}/24", "dev", name)
                _ip("-n", namespace, "link", "set", name, "up")
        for namespace in NATIVE:
            _ip("-n", namespace, "link", "set", "lo", "up")
        subprocess.run(["ip", "netns", "exec", middle, "sysctl", "-qw", "net.ipv4.ip_forward=1"],
                       check=True, capture_output=True)
        _ip("-n", client, "route", "add", "10.13.2.0/24", "via", "10.13.1.2")
        _ip("-n", server, "route", "add", "10.13.1.0/24", "via", "10.13.2.1")
        yield
    finally:
        for namespace in NATIVE:
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)


def native_downloads(work: Path, size: int, max_time: float, repeat: int) -> list[Download]:
    client, middle, server = (NsHost(n) for n in NATIVE)
    sha256 = write_big_file(work / BIG_FILE, size)
    with native_lab():
        web = WebServer(server, "native", "10.13.2.2", work / "native-www",
                        ports=(DIRECT_PORT,))
        web.start()
        (web.directory / "www" / BIG_FILE).symlink_to(work / BIG_FILE)
        config = work / "haproxy-native.cfg"
        config.write_text(f"""\
global
    maxconn 256
    pidfile {work / "haproxy-native.pid"}
defaults
    mode http
    timeout connect 5s
    timeout client 300s
    timeout server 300s
frontend native
    bind 10.13.1.2:{PROXY_PORT}
    default_backend web
backend web
    server s 10.13.2.2:{DIRECT_PORT}
""")
        proxy = middle.popen([HAPROXY, "-db", "-f", str(config)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.STDOUT)
        try:
            time.sleep(1.0)
            paths = [("direct, no switch", f"http://10.13.3.2:{DIRECT_PORT}/{BIG_FILE}"),
                     ("kernel router, no switch", f"http://10.13.2.2:{DIRECT_PORT}/{BIG_FILE}"),
                     ("HAProxy, no switch", f"http://10.13.1.2:{PROXY_PORT}/{BIG_FILE}")]
            return [fetch(client, label, url, max_time, size, sha256)
                    for _ in range(repeat) for label, url in paths]
        finally:
            proxy.terminate()
            proxy.wait(5)
            web.stop()
            (work / BIG_FILE).unlink(missing_ok=True)


def switch_downloads(size: int, max_time: float, offload: bool, repeat: int) -> list[Download]:
    """Downloads through the switch on topologies/l7.py (offload on or off)."""
    previous = os.environ.get(OFFLOAD_ENV)
    os.environ[OFFLOAD_ENV] = "1" if offload else "0"
    suffix = "" if offload else " (--no-offload)"
    try:
        network = L7Network(L7Options(big_file_bytes=size, new_connection_limit=None))
        with network:
            if not offload:
                return [download(network, "spliced l7" + suffix,
                                 f"http://{network.vip('shop')}/{BIG_FILE}", max_time)
                        for _ in range(repeat)]
            proxy = start_haproxy(network)
            try:
                b3 = network.site.backends[2]
                proxy_ip = network.host(PROXY_HOST).IP()
                paths = [("direct, via switch", f"http://{b3.ip}:{DIRECT_PORT}/{BIG_FILE}"),
                         ("L4 NAT", f"http://{network.vip('web-nat')}/{BIG_FILE}"),
                         ("spliced l7", f"http://{network.vip('shop')}/{BIG_FILE}"),
                         ("HAProxy behind switch",
                          f"http://{proxy_ip}:{PROXY_PORT}/{BIG_FILE}")]
                return [download(network, label, url, max_time)
                        for _ in range(repeat) for label, url in paths]
            finally:
                proxy.terminate()
                proxy.wait(5)
    finally:
        if previous is None:
            os.environ.pop(OFFLOAD_ENV, None)
        else:
            os.environ[OFFLOAD_ENV] = previous


def baseline_tree(work: Path, revision: str) -> Path | None:
    """``p4sim`` as it was at ``revision`` (extracted with git archive), None without git."""
    tree = work / "baseline"
    tree.mkdir()
    try:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", revision, "p4sim"],
                                 capture_output=True, check=True, timeout=60).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as err:
        print(f"switch_fastpath: no baseline {revision}: {err}", file=sys.stderr)
        return None
    return tree


def packet_rates(work: Path, count: int, rate: int, baseline: Path | None
                 ) -> list[switch_pps.Result]:
    """The batch path, --no-offload and the baseline revision, three times each, interleaved."""
    runs: list[tuple[str, tuple[str, ...], Path | None]] = [
        ("batch", (), None), ("--no-offload", ("--no-offload",), None)]
    if baseline is not None:
        runs.append(("previous", (), baseline))
    results = []
    here = os.environ.get("PYTHONPATH")
    with switch_pps.lab():
        for _ in range(3):
            for label, args, tree in runs:
                # the switch process imports p4sim from the baseline tree when it has one
                os.environ["PYTHONPATH"] = str(tree) if tree is not None else (here or "")
                try:
                    results.append(switch_pps.measure(
                        Target.EMBEDDED, "basic", count, rate, 300, work / f"{label}-{_}",
                        switch_args=args, label=label))
                finally:
                    if here is None:
                        os.environ.pop("PYTHONPATH", None)
                    else:
                        os.environ["PYTHONPATH"] = here
    return results


def _bytes(value: int, bitwidth: int) -> bytes:
    return value.to_bytes((bitwidth + 7) // 8, "big")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise OSError(f"no VmRSS for process {pid}")


def connection_memory(work: Path, entries: int) -> tuple[int, int]:
    """RSS (KiB) of p4sim-switch on lb.p4 before and after ``entries`` connection entries."""
    files = compile_program(REPO / "p4src" / "lb.p4", work / "lb", Target.EMBEDDED,
                            defines=[f"CONNECTION_TABLE_SIZE={max(entries, 1024)}"])
    p4info = text_format.Parse(files.p4info_path.read_text(), p4i.P4Info())
    table = next(t for t in p4info.tables if t.preamble.name.endswith("connection_table"))
    action = next(a for a in p4info.actions
                  if a.preamble.name.endswith("set_connection_backend"))
    socket_path = work / "mem.sock"
    with switch_pps.lab():
        switch = subprocess.Popen(
            ["ip", "netns", "exec", switch_pps.SWITCH_NS, embedded_switch_path(),
             str(files.json_path), "-i", "1@s1", "-i", "2@s2", "--",
             "--grpc-server-addr", f"unix:{socket_path}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            address = f"unix:{socket_path}"
            switch_pps.program_switch(address, files.json_path, p4info, ())
            before = _rss_kib(switch.pid)  # ip netns exec execs the switch
            widths = [f.bitwidth for f in table.match_fields]
            with grpc.insecure_channel(address) as channel:
                stub = p4r_grpc.P4RuntimeStub(channel)
                for first in range(0, entries, 1000):
                    updates = []
                    for n in range(first, min(entries, first + 1000)):
                        entry = p4r.TableEntry(table_id=table.preamble.id)
                        values = (0x0A000000 | n, 0x0A0000FE, 6, 1024 + n % 60000, 80)
                        for field, width, value in zip(table.match_fields, widths, values,
                                                       strict=True):
                            entry.match.add(field_id=field.id, exact=p4r.FieldMatch.Exact(
                                value=_bytes(value, width)))
                        entry.action.action.action_id = action.preamble.id
                        entry.action.action.params.add(
                            param_id=action.params[0].id,
                            value=_bytes(n % 4 + 1, action.params[0].bitwidth))
                        updates.append(p4r.Update(type=p4r.Update.INSERT,
                                                  entity=p4r.Entity(table_entry=entry)))
                    stub.Write(p4r.WriteRequest(device_id=0, updates=updates), timeout=60)
            after = _rss_kib(switch.pid)  # ip netns exec execs the switch
        finally:
            switch.terminate()
            switch.wait(10)
    return before, after


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.switch_fastpath",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--max-time", type=float, default=60.0,
                        help="bound of each download, seconds")
    parser.add_argument("--repeat", type=int, default=5,
                        help="downloads per path (the median is reported)")
    parser.add_argument("--pps-count", type=int, default=300_000,
                        help="64-byte frames offered per packet-rate run")
    parser.add_argument("--pps-rate", type=int, default=200_000,
                        help="offered 64-byte frames per second (above what the switch does)")
    parser.add_argument("--baseline", default=BASELINE,
                        help="revision whose p4sim is the previous path (default: the last "
                        "one before the offload path)")
    parser.add_argument("--entries", type=int, default=100_000,
                        help="connection entries for the memory figure")
    parser.add_argument("--no-exact-path", action="store_true",
                        help="skip the spliced download with --no-offload")
    parser.add_argument("--pps-only", action="store_true",
                        help="only the 64-byte packet rates (3.): no downloads, no memory")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("error: namespaces and Mininet need root", file=sys.stderr)
        return 2
    if not args.pps_only and not Path(HAPROXY).exists():
        print(f"error: {HAPROXY} missing (apt-get install haproxy)", file=sys.stderr)
        return 2
    size = args.size_mb * CHUNK
    downloads: list[Download] = []
    with tempfile.TemporaryDirectory(prefix="p4f-") as tmp:
        work = Path(tmp)
        if not args.pps_only:
            downloads += native_downloads(work, size, args.max_time, args.repeat)
            downloads += switch_downloads(size, args.max_time, True, args.repeat)
            if not args.no_exact_path:
                downloads += switch_downloads(size, args.max_time, False, args.repeat)
        rates = packet_rates(work, args.pps_count, args.pps_rate,
                             baseline_tree(work, args.baseline))
        if args.pps_only:
            print(rate_report(rates, args))
            return 0
        before, after = connection_memory(work, args.entries)
    print(report(downloads, rates, before, after, args))
    return 0


def rate_report(rates: Sequence[switch_pps.Result], args: argparse.Namespace) -> str:
    """The 64-byte packet rates of every run and the batch path's ratio to its peers."""
    lines = [f"\n{'64-byte UDP':<14}{'sent':>9}{'received':>10}{'pkt/s':>10}{'median us':>11}"]
    for r in rates:
        lines.append(f"{r.target:<14}{r.sent:>9}{r.received:>10}{r.pps:>10.0f}"
                     f"{r.median_latency_us:>11.1f}")
    pps = _median_by_label([(r.target, r.pps) for r in rates])
    for other in ("previous", "--no-offload"):
        if pps.get(other):
            what = (f"the switch at {args.baseline[:12]}" if other == "previous"
                    else "this switch with --no-offload")
            lines.append(f"batch / {other} ({what}): {pps['batch'] / pps[other]:.2f}")
    return "\n".join(lines)


def _median_by_label(values: Sequence[tuple[str, float]]) -> dict[str, float]:
    by_label: dict[str, list[float]] = {}
    for label, value in values:
        by_label.setdefault(label, []).append(value)
    return {label: statistics.median(v) for label, v in by_label.items()}


def report(downloads: Sequence[Download], rates: Sequence[switch_pps.Result], before: int,
           after: int, args: argparse.Namespace) -> str:
    lines = [f"\nswitch fast path, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
             f"{os.cpu_count()} CPUs, {args.size_mb} MiB download, median of {args.repeat}",
             f"{'path':<32}{'Mbit/s':>10}{'runs (Mbit/s)':>32}  exact"]
    mbit = _median_by_label([(d.label, d.mbit_per_s) for d in downloads])
    for label, value in mbit.items():
        runs = [d for d in downloads if d.label == label]
        exact = ("yes" if all(d.exact for d in runs)
                 else "NO" if any(d.exact is False for d in runs) else "cut short")
        figures = " ".join(f"{d.mbit_per_s:.0f}" for d in runs)
        lines.append(f"{label:<32}{value:>10.1f}{figures:>32}  {exact}")
    spliced = mbit["spliced l7"]
    lines.append("")
    for other in ("HAProxy, no switch", "HAProxy behind switch", "direct, no switch",
                  "kernel router, no switch", "direct, via switch", "L4 NAT",
                  "spliced l7 (--no-offload)"):
        if mbit.get(other):
            lines.append(f"spliced / {other:<28}{spliced / mbit[other]:8.2f}")
    lines.append(rate_report(rates, args))
    lines.append(f"\np4sim-switch RSS on lb.p4: {before / 1024:.1f} MiB empty, "
                 f"{after / 1024:.1f} MiB with {args.entries} connection entries "
                 f"({(after - before) * 1024 / max(args.entries, 1):.0f} bytes per entry)")
    return "\n".join(lines)

if __name__ == "__main__":
    sys.exit(main())
