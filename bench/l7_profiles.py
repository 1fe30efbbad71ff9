"""L7 benchmark: the splice profiles ``basic`` and ``full`` on a clean and on a lossy link.

    sudo .venv/bin/python -m bench.l7_profiles [--size-mb 32] [--repetitions 3]
                                               [--drop-one-in 64] [--max-time 30]
                                               [--target embedded|bmv2]

``basic`` negotiates timestamps, SACK and window scaling off in both handshakes of a
spliced connection; ``full`` keeps what the client offers and the switch translates SACK
blocks, timestamps and windows (docs/l7.md, "Options: translated or negotiated off").  On
topologies/l7.py, client c1 downloads ``/static/big.bin`` (random bytes) from backend b1
through the spliced ``shop`` service, once per profile and link in every repetition (the
order alternates between repetitions so that drift of the machine's load hits both
profiles alike).  The profile is switched with ``lbctl config apply`` on one running
network, and every download checks that the client's connection really negotiated what
the profile promises (``TCP_INFO`` options) and that the bytes are exact (SHA-256).

The lossy link is the switch's port towards c1 (its egress qdisc, in the root namespace,
so losses happen after translation and no sender learns of them locally).  The kernel has
no ``sch_netem``, so htb and u32 do it (``IMPAIR``): 1 data segment in ``--drop-one-in``
(default 64: 1.56 %) is lost, chosen by IP identification so that the rate does not
depend on how fast the sender sends, and about one in eight is delayed behind later ones
(reordering).  tests/l7_e2e impairs the backend's own egress instead, where a full queue
is congestion the sender is told about rather than loss, and whose drop rate grows with
the sending rate (the window the profile allows).

Per download the table shows throughput, time, the backend's TCP counters (retransmitted
segments, SACK / Reno recoveries, retransmission timeouts, tail-loss probes) as deltas of
``/proc/net/snmp`` and ``/proc/net/netstat`` in its namespace, PAWS rejections in the
client / backend, the segments c1 received out of order, what the link delayed and lost;
then medians and the ratios full / basic.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import platform
import re
import socket
import statistics
import struct
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from topologies.addressing import DIRECT_PORT, SERVICE_PORT
from topologies.l7 import BIG_FILE, CHUNK, STATIC_PREFIX, L7Network, L7Options, l7_config
from topologies.lbd_config import write_lbd_config
from topologies.switch_process import Target

PROFILES = ("basic", "full")
PATHS = ("spliced", "direct")  # direct: c1 -> b1 routed by the switch, no splice (control)
LINKS = ("clean", "lossy")
SERVICE = "shop"
BACKEND = "b1"  # the pool of STATIC_PREFIX
CLIENT = "c1"
# htb + u32 only (no netem, no tc actions here).  Data segments (IPv4 total length
# 1024-2047) whose IP identification is a multiple of N (a power of two) go to a class
# whose queue holds nothing: 1 in N is lost, whatever the sending rate.  Linux numbers a
# socket's segments consecutively, so a retransmission has another identification and is
# lost again with the same probability only.  Segments whose sequence number has bits
# 12-14 clear (about one in eight) take a 50 Mbit/s class: later segments overtake them.
IMPAIR = ("tc qdisc add dev {dev} root handle 1: htb default 10 && "
          "tc class add dev {dev} parent 1: classid 1:10 htb rate 10gbit && "
          "tc class add dev {dev} parent 1: classid 1:20 htb rate 50mbit ceil 50mbit && "
          "tc qdisc add dev {dev} parent 1:20 handle 20: pfifo limit 1000 && "
          "tc class add dev {dev} parent 1: classid 1:30 htb rate 10gbit && "
          "tc qdisc add dev {dev} parent 1:30 handle 30: pfifo limit 0 && "
          "tc filter add dev {dev} parent 1: protocol ip prio 1 u32 match u8 6 0xff at 9 "
          "match u16 0x0400 0xfc00 at 2 match u16 0 {id_mask:#06x} at 4 flowid 1:30 && "
          "tc filter add dev {dev} parent 1: protocol ip prio 2 u32 match u8 6 0xff at 9 "
          "match u32 0 0x7000 at 24 flowid 1:20 && echo impaired")
# Backend counters reported per download ("Group.Name" of /proc/net/snmp and netstat).
BACKEND_COUNTERS = ("Tcp.RetransSegs", "TcpExt.TCPSackRecovery", "TcpExt.TCPRenoRecovery",
                    "TcpExt.TCPTimeouts", "TcpExt.TCPLossProbes", "TcpExt.PAWSEstab")
# linux/tcp.h: tcpi_options bits, and the offsets of the fields read from struct tcp_info.
TCPI_OPT_TIMESTAMPS, TCPI_OPT_SACK, TCPI_OPT_WSCALE = 1, 2, 4
OPTIONS_MASK = TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE
TCP_INFO_LENGTH = 232
MAX_RESPONSE_HEAD = 1 << 16
RCV_OOOPACK_OFFSET = 224
EXPECTED_OPTIONS = {"basic": 0, "full": OPTIONS_MASK}
# The client's sysctls (per namespace) for the direct path: the options of each profile.
CLIENT_OPTION_SYSCTLS = ("net.ipv4.tcp_timestamps", "net.ipv4.tcp_sack",
                         "net.ipv4.tcp_window_scaling")


# ---------------------------------------------------------------- client side (in c1)

def fetch(address: str, port: int, path: str, timeout: float) -> dict[str, Any]:
    """One HTTP/1.1 GET (``Connection: close``), body hashed as it arrives; returns the
    body's size and SHA-256, whether it ended within ``timeout`` (else it is cut short
    there), the elapsed time and what the connection negotiated."""
    start = time.monotonic()
    with socket.create_connection((address, port), timeout=timeout) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
                     .encode())
        received = b""
        while b"\r\n\r\n" not in received:
            data = conn.recv(65536)
            if not data or len(received) > MAX_RESPONSE_HEAD:
                raise RuntimeError(f"no complete response head: {received[:200]!r}")
            received += data
        head, _, body = received.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 200 " not in status + b" ":
            raise RuntimeError(f"status line {status!r}")
        digest, size = hashlib.sha256(body), len(body)
        buffer = bytearray(1 << 20)
        complete = False
        while (left := timeout - (time.monotonic() - start)) > 0:
            conn.settimeout(left)
            try:
                count = conn.recv_into(buffer)
            except TimeoutError:
                break
            if count == 0:
                complete = True
                break
            digest.update(memoryview(buffer)[:count])
            size += count
        elapsed = time.monotonic() - start
        info = conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_LENGTH)
    options, wscales = info[5] & OPTIONS_MASK, info[6]
    (out_of_order,) = (struct.unpack_from("I", info, RCV_OOOPACK_OFFSET)
                       if len(info) >= RCV_OOOPACK_OFFSET + 4 else (0,))  # kernels < 5.4
    return {"bytes": size, "complete": complete, "sha256": digest.hexdigest(),
            "seconds": elapsed,
            "options": options, "snd_wscale": wscales & 0xF, "rcv_wscale": wscales >> 4,
            "out_of_order_received": out_of_order}


# ---------------------------------------------------------------- orchestration (root)

@dataclass(frozen=True)
class Transfer:
    profile: str
    path: str
    link: str
    bytes_: int
    seconds: float
    exact: bool | None  # SHA-256 and size matched (None: cut short at --max-time)
    options: int
    out_of_order: int  # data segments c1 received out of order
    backend: dict[str, int]  # BACKEND_COUNTERS deltas
    client_paws_drops: int
    offered: int  # frames the switch sent towards the client (lossy link only)
    slowed: int  # of which took the slow class, arriving behind later ones
    dropped: int  # of which the slow class dropped

    @property
    def mbit_per_s(self) -> float:
        return self.bytes_ * 8 / self.seconds / 1e6 if self.seconds > 0 else 0.0

    @property
    def loss_percent(self) -> float:
        return 100 * self.dropped / self.offered if self.offered else 0.0


def tcp_counters(host: Any) -> dict[str, int]:
    """``Group.Name`` -> value from /proc/net/snmp and /proc/net/netstat of ``host``'s
    namespace (header line then value line per group)."""
    counters: dict[str, int] = {}
    lines = host.cmd("cat /proc/net/snmp /proc/net/netstat").splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        group, _, keys = names.partition(":")
        for key, value in zip(keys.split(), values.partition(":")[2].split(), strict=False):
            if value.lstrip("-").isdigit():
                counters[f"{group}.{key}"] = int(value)
    return counters


def set_profile(network: L7Network, profile: str) -> None:
    """Rewrite lbd's configuration with ``profile`` and apply it; returns once a new
    spliced connection negotiates what the profile promises."""
    assert network.program is not None
    config = l7_config(network.site, replace(network.l7_options, splice_profile=profile),
                       p4info=network.program.p4info_path, bmv2_json=network.program.json_path,
                       api_socket=network.lbd.api_socket)
    path = write_lbd_config(network.run_dir / f"lbd-{profile}.yaml", config)
    network.lbd.lbctl("config", "apply", str(path))
    deadline = time.monotonic() + 10
    while True:
        probe = run_fetch(network, "spliced", STATIC_PREFIX, timeout=5)
        if probe.get("options") == EXPECTED_OPTIONS[profile]:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"profile {profile} not in force after applying {path}: {probe}")
        time.sleep(0.3)


def run_fetch(network: L7Network, via: str, path: str, timeout: float) -> dict[str, Any]:
    """One ``fetch`` in the client, through the spliced service or ``direct`` to b1."""
    address, port = ((network.vip(SERVICE), SERVICE_PORT) if via == "spliced"
                     else (network.host(BACKEND).IP(), DIRECT_PORT))
    out = network.host(CLIENT).cmd(
        f"{sys.executable} -m bench.l7_profiles --fetch {address} {port} {path} "
        f"--max-time {timeout:.0f}")
    try:
        return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]
    except (ValueError, IndexError):
        return {"error": out.strip()[-500:]}


def client_port(network: L7Network) -> tuple[Any, str]:
    """(switch node, interface) of the switch's port towards the client, in the root
    namespace: its egress qdisc sees the server -> client segments after translation."""
    link = network.host(CLIENT).defaultIntf().link
    switch_end = link.intf2 if link.intf1.node is network.host(CLIENT) else link.intf1
    return switch_end.node, switch_end.name


def qdisc_packets(node: Any, device: str, handle: str) -> tuple[int, int]:
    """(packets sent, packets dropped) of one qdisc of ``device``."""
    stats = node.cmd(f"tc -s qdisc show dev {device} handle {handle}")
    sent = re.search(r"Sent \d+ bytes (\d+) pkt \(dropped (\d+)", stats)
    if sent is None:
        raise RuntimeError(f"no qdisc statistics in {stats!r}")
    return int(sent.group(1)), int(sent.group(2))


def set_client_options(network: L7Network, enabled: bool) -> None:
    network.host(CLIENT).cmd(" && ".join(f"sysctl -qw {name}={int(enabled)}"
                                         for name in CLIENT_OPTION_SYSCTLS))


def transfer(network: L7Network, profile: str, via: str, link: str, max_time: float,
             drop_one_in: int) -> Transfer:
    """One download; on the direct path the client itself offers the profile's options
    (the spliced path always gets a client offering everything)."""
    backend, client = network.host(BACKEND), network.host(CLIENT)
    set_client_options(network, via == "spliced" or profile == "full")
    switch, device = client_port(network)
    if link == "lossy" and "impaired" not in switch.cmd(IMPAIR.format(dev=device,
                                                                      id_mask=drop_one_in - 1)):
        raise RuntimeError(f"could not impair {device}")
    try:
        before, client_before = tcp_counters(backend), tcp_counters(client)
        result = run_fetch(network, via, f"{STATIC_PREFIX}{BIG_FILE}", max_time)
        after, client_after = tcp_counters(backend), tcp_counters(client)
        if link == "lossy":
            (sent, _), (slowed, _), (_, dropped) = (
                qdisc_packets(switch, device, handle) for handle in ("1:", "20:", "30:"))
        else:
            sent = slowed = dropped = 0
    finally:
        if link == "lossy":
            switch.cmd(f"tc qdisc del dev {device} root")
        set_client_options(network, True)
    if "error" in result:
        raise RuntimeError(f"{profile}/{via}/{link} download failed: {result['error']}")
    if result["options"] != EXPECTED_OPTIONS[profile]:
        raise RuntimeError(f"{profile}/{via}/{link}: connection negotiated options "
                           f"{result['options']:#x}, expected "
                           f"{EXPECTED_OPTIONS[profile]:#x}")
    exact = ((result["bytes"] == network.l7_options.big_file_bytes
              and result["sha256"] == network.big_sha256) if result["complete"] else None)
    return Transfer(profile, via, link, result["bytes"], result["seconds"], exact,
                    result["options"], result["out_of_order_received"],
                    {name: after.get(name, 0) - before.get(name, 0)
                     for name in BACKEND_COUNTERS},
                    client_after.get("TcpExt.PAWSEstab", 0)
                    - client_before.get("TcpExt.PAWSEstab", 0),
                    sent + dropped, slowed, dropped)


EXACT_LABELS = {True: "yes", False: "NO", None: "cut short"}


def table(transfers: Sequence[Transfer]) -> str:
    header = (f"{'profile':<8}{'path':<8}{'link':<6}{'Mbit/s':>8}{'time s':>8}{'retrans':>8}"
              f"{'SACKrec':>8}{'Renorec':>8}{'RTOs':>5}{'TLPs':>5}{'PAWS c/b':>9}"
              f"{'ooo rx':>7}{'slowed':>7}{'lost %':>7}  exact")
    lines = [header, "-" * len(header)]
    for t in transfers:
        b = t.backend
        paws = f"{t.client_paws_drops}/{b['TcpExt.PAWSEstab']}"
        lines.append(
            f"{t.profile:<8}{t.path:<8}{t.link:<6}{t.mbit_per_s:>8.1f}{t.seconds:>8.2f}"
            f"{b['Tcp.RetransSegs']:>8}{b['TcpExt.TCPSackRecovery']:>8}"
            f"{b['TcpExt.TCPRenoRecovery']:>8}{b['TcpExt.TCPTimeouts']:>5}"
            f"{b['TcpExt.TCPLossProbes']:>5}{paws:>9}{t.out_of_order:>7}"
            f"{t.slowed:>7}{t.loss_percent:>7.2f}  {EXACT_LABELS[t.exact]}")
    lines += ["", "medians and full / basic (direct: the same client and server, not spliced, "
              "the client offering the profile's options):"]
    for via, link in itertools.product(PATHS, LINKS):
        medians = {}
        for profile in PROFILES:
            runs = [t for t in transfers
                    if (t.profile, t.path, t.link) == (profile, via, link)]
            medians[profile] = (statistics.median(t.mbit_per_s for t in runs),
                                statistics.median(t.seconds for t in runs),
                                statistics.median(t.backend["Tcp.RetransSegs"] for t in runs),
                                statistics.median(t.backend["TcpExt.TCPTimeouts"]
                                                  for t in runs))
            rate, seconds, retrans, timeouts = medians[profile]
            lines.append(f"  {via:<7} {link:<5} {profile:<5} {rate:7.1f} Mbit/s {seconds:7.2f} s"
                         f" {retrans:6.0f} retransmitted {timeouts:4.0f} RTOs ({len(runs)} runs)")
        basic, full = medians["basic"], medians["full"]
        lines.append(f"  {via:<7} {link:<5} full/basic: throughput {full[0] / basic[0]:.2f}, "
                     f"time {full[1] / basic[1]:.2f}, retransmissions "
                     + (f"{full[2] / basic[2]:.2f}" if basic[2] else "n/a (basic: 0)"))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.l7_profiles",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=[t.value for t in Target],
                        default=Target.EMBEDDED.value)
    parser.add_argument("--size-mb", type=int, default=32)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--drop-one-in", type=int, default=64,
                        help="lossy link: 1 data segment in N is lost (N a power of two)")
    parser.add_argument("--max-time", type=float, default=30.0,
                        help="bound of each download, seconds")
    parser.add_argument("--fetch", nargs=3, metavar=("ADDRESS", "PORT", "PATH"),
                        help="(run inside a Mininet host) one download; prints JSON")
    args = parser.parse_args(argv)
    if args.size_mb < 1 or args.repetitions < 1 or args.max_time <= 0:
        parser.error("size-mb >= 1, repetitions >= 1 and max-time > 0 are required")
    if not 2 <= args.drop_one_in <= 1 << 15 or args.drop_one_in & (args.drop_one_in - 1):
        parser.error("--drop-one-in must be a power of two between 2 and 32768")
    if args.fetch:
        try:
            address, port, path = args.fetch
            print(json.dumps(fetch(address, int(port), path, timeout=args.max_time)))
        except (OSError, RuntimeError, ValueError) as error:
            print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
        return 0
    if os.geteuid() != 0:
        print("error: Mininet needs root", file=sys.stderr)
        return 2
    options = L7Options(target=Target(args.target), big_file_bytes=args.size_mb * CHUNK,
                        new_connection_limit=None)
    transfers: list[Transfer] = []
    network = L7Network(options)
    with network:
        for repetition in range(args.repetitions):
            order = PROFILES if repetition % 2 == 0 else PROFILES[::-1]
            for profile in order:
                set_profile(network, profile)
                for via, link in itertools.product(PATHS, LINKS):
                    transfers.append(transfer(network, profile, via, link, args.max_time,
                                              args.drop_one_in))
                    t = transfers[-1]
                    print(f"run {repetition + 1} {profile:<5} {via:<7} {link:<5} "
                          f"{t.mbit_per_s:7.1f} "
                          f"Mbit/s {t.seconds:6.2f} s retrans {t.backend['Tcp.RetransSegs']}"
                          f" exact {t.exact}", flush=True)
    print(f"\nL7 splice profiles, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{os.cpu_count()} CPUs, kernel {platform.release()}, target {args.target}, "
          f"{args.size_mb} MiB from {BACKEND} via the spliced service, "
          f"{args.repetitions} repetitions, lossy link: 1 in {args.drop_one_in} lost")
    print(table(transfers))
    return 1 if any(t.exact is False for t in transfers) else 0


if __name__ == "__main__":
    sys.exit(main())
