"""Forwarding rate (packets/s) and median latency of a switch process, over veth pairs.

A sender and a receiver sit on the host ends of two veth pairs (namespace ``p4b-h``); the
switch runs in namespace ``p4b-sw`` with the other ends as ports 1 and 2, and is programmed
over P4Runtime (on a Unix socket) to route 10.0.2.0/24 out of port 2.  Throughput: ``--count``
UDP frames offered at ``--rate`` frames/s, forwarding rate = frames received / time between
the first and the last received.  Latency: ``--latency-count`` frames, one per millisecond,
median of receive time - send time (both clocks are this process's).

    python -m bench.switch_pps [--program basic|lb|mini] [--count N] [--rate PPS] [--no-bmv2]

``simple_switch_grpc`` (with p4c's JSON) is measured in the same run when installed, and the
ratio printed.
"""

from __future__ import annotations

import argparse
import ctypes
import multiprocessing
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path

import grpc
from finsy.proto import p4i, p4r, p4r_grpc
from google.protobuf import text_format

from p4sim.switch.mmsg import BatchSender
from topologies.p4build import BuildError, compile_program
from topologies.switch_process import BMV2_SWITCH, Target, bmv2_available, embedded_switch_path

REPO = Path(__file__).resolve().parent.parent
SWITCH_NS, HOSTS_NS = "p4b-sw", "p4b-h"
MAGIC = b"P4BN"
ROUTER_MAC = bytes.fromhex("000000000100")
NEXT_HOP_MAC = bytes.fromhex("0000000002aa")
SENDER_MAC = bytes.fromhex("000000000110")
FRAME_BYTES = 64
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


# --- namespaces --------------------------------------------------------------------------

def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns failed")


def host_socket(interface: str) -> socket.socket:
    """A raw socket on an interface of the hosts namespace (opened from this thread)."""
    with open("/proc/thread-self/ns/net") as original, \
            open(f"/var/run/netns/{HOSTS_NS}") as hosts:
        _setns(hosts.fileno())
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        finally:
            _setns(original.fileno())
    sock.bind((interface, 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    return sock


@contextmanager
def lab() -> Iterator[None]:
    for namespace in (SWITCH_NS, HOSTS_NS):
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        _run("ip", "netns", "add", namespace)
    try:
        for i in (1, 2):
            _run("ip", "-n", SWITCH_NS, "link", "add", f"s{i}", "type", "veth", "peer",
                 "name", f"h{i}", "netns", HOSTS_NS)
            for namespace, name in ((SWITCH_NS, f"s{i}"), (HOSTS_NS, f"h{i}")):
                subprocess.run(["ip", "netns", "exec", namespace, "sysctl", "-qw",
                                f"net.ipv6.conf.{name}.disable_ipv6=1"], capture_output=True)
                _run("ip", "-n", namespace, "link", "set", name, "up")
        yield
    finally:
        for namespace in (SWITCH_NS, HOSTS_NS):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)


# --- programs ----------------------------------------------------------------------------

@dataclass(frozen=True)
class EntrySpec:
    """A table entry by P4Info names; match values in P4Info field order, (value, len) = LPM."""

    table: str
    match: tuple[int | tuple[int, int], ...]
    action: str
    params: tuple[int, ...] = ()


ROUTE = (0x0A000200, 24)
PROGRAMS: dict[str, tuple[Path, tuple[EntrySpec, ...]]] = {
    "basic": (REPO / "bench" / "basic.p4", (
        EntrySpec("BasicIngress.ipv4_lpm", (ROUTE,), "BasicIngress.ipv4_forward",
                  (int.from_bytes(NEXT_HOP_MAC), 2)),)),
    "lb": (REPO / "p4src" / "lb.p4", (
        EntrySpec("IngressPipe.router_mac.router_mac_table", (int.from_bytes(ROUTER_MAC),),
                  "NoAction"),
        EntrySpec("IngressPipe.routing.ipv4_lpm_table", (ROUTE,),
                  "IngressPipe.routing.set_nexthop", (1,)),
        EntrySpec("IngressPipe.routing.nexthop_table", (1,), "IngressPipe.routing.forward",
                  (2, int.from_bytes(NEXT_HOP_MAC), int.from_bytes(ROUTER_MAC))),
    )),
    "mini": (REPO / "tests" / "p4runtime" / "fixtures" / "mini.p4", (
        EntrySpec("MyIngress.ipv4_lpm", (ROUTE,), "MyIngress.set_nhop",
                  (int.from_bytes(NEXT_HOP_MAC), 2)),)),
}


def build(program: str, target: Target, out_dir: Path) -> tuple[Path, p4i.P4Info]:
    source, _ = PROGRAMS[program]
    if program == "mini" and target is Target.EMBEDDED:
        # The hand-written fixture JSON of the P4Runtime tests (no compiler needed).
        fixtures = source.parent
        json_path, p4info_path = fixtures / "mini.json", fixtures / "mini.p4info.txtpb"
    else:
        files = compile_program(source, out_dir, target)
        json_path, p4info_path = files.json_path, files.p4info_path
    p4info = text_format.Parse(p4info_path.read_text(), p4i.P4Info())
    return json_path, p4info


def _bytes(value: int, bitwidth: int) -> bytes:
    return value.to_bytes((bitwidth + 7) // 8, "big")


def table_entry(p4info: p4i.P4Info, spec: EntrySpec) -> p4r.TableEntry:
    table = next(t for t in p4info.tables if t.preamble.name == spec.table)
    action = next(a for a in p4info.actions if a.preamble.name == spec.action)
    entry = p4r.TableEntry(table_id=table.preamble.id)
    for field, value in zip(table.match_fields, spec.match, strict=True):
        if isinstance(value, tuple):
            entry.match.add(field_id=field.id, lpm=p4r.FieldMatch.LPM(
                value=_bytes(value[0], field.bitwidth), prefix_len=value[1]))
        else:
            entry.match.add(field_id=field.id, exact=p4r.FieldMatch.Exact(
                value=_bytes(value, field.bitwidth)))
    entry.action.action.action_id = action.preamble.id
    for param, value in zip(action.params, spec.params, strict=True):
        entry.action.action.params.add(param_id=param.id, value=_bytes(value, param.bitwidth))
    return entry


def program_switch(address: str, json_path: Path, p4info: p4i.P4Info,
                   entries: Sequence[EntrySpec]) -> None:
    with grpc.insecure_channel(address) as channel:
        stub = p4r_grpc.P4RuntimeStub(channel)
        grpc.channel_ready_future(channel).result(timeout=20)
        config = p4r.ForwardingPipelineConfig(p4info=p4info,
                                              p4_device_config=json_path.read_bytes())
        stub.SetForwardingPipelineConfig(p4r.SetForwardingPipelineConfigRequest(
            device_id=0, config=config,
            action=p4r.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT), timeout=30)
        updates = [p4r.Update(type=p4r.Update.INSERT,
                              entity=p4r.Entity(table_entry=table_entry(p4info, spec)))
                   for spec in entries]
        stub.Write(p4r.WriteRequest(device_id=0, updates=updates), timeout=30)


# --- traffic -----------------------------------------------------------------------------

def _checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def frame(sequence: int, sent_ns: int) -> bytes:
    payload = MAGIC + struct.pack("!IQ", sequence, sent_ns)
    payload += bytes(FRAME_BYTES - 14 - 20 - 8 - len(payload))
    udp = struct.pack("!HHHH", 40000, 9, 8 + len(payload), 0)
    total = 20 + len(udp) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0, 64, 17, 0,
                     bytes([10, 0, 1, 10]), bytes([10, 0, 2, 10]))
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return ROUTER_MAC + SENDER_MAC + b"\x08\x00" + ip + udp + payload


def _receive(interface: str, ready: Event, stop: Event, results: Connection) -> None:
    """Receiver process: (sequence, send time, receive time) of every benchmark frame."""
    sock = host_socket(interface)
    sock.settimeout(0.1)
    offset = 14 + 20 + 8
    samples: list[tuple[int, int, int]] = []
    buffer = bytearray(2048)
    ready.set()
    while not stop.is_set():
        try:
            size = sock.recv_into(buffer)
        except TimeoutError:
            continue
        now = time.monotonic_ns()
        if size >= offset + 16 and buffer[offset:offset + 4] == MAGIC:
            sequence, sent_ns = struct.unpack_from("!IQ", buffer, offset + 4)
            samples.append((sequence, sent_ns, now))
    results.send(samples)


class Receiver:
    """A receiver process on a host interface; :meth:`collect` stops it and returns samples."""

    def __init__(self, interface: str) -> None:
        context = multiprocessing.get_context("fork")
        self._stop = context.Event()
        ready = context.Event()
        self._results, child_end = context.Pipe(duplex=False)
        self._process = context.Process(target=_receive,
                                        args=(interface, ready, self._stop, child_end))
        self._process.start()
        if not ready.wait(10):
            raise OSError("the receiver process did not start")

    def collect(self, quiet_s: float) -> list[tuple[int, int, int]]:
        time.sleep(quiet_s)
        self._stop.set()
        samples: list[tuple[int, int, int]] = self._results.recv()
        self._process.join()
        return samples


class RxCounter:
    """Frames received by an interface of the hosts namespace, from its kernel counter
    (``/proc/net/dev`` opened inside the namespace): counting costs no CPU per frame, so the
    receiving side does not compete with the switch for the machine's cores."""

    def __init__(self, interface: str) -> None:
        self._interface = interface
        with open("/proc/thread-self/ns/net") as original, \
                open(f"/var/run/netns/{HOSTS_NS}") as hosts:
            _setns(hosts.fileno())
            try:
                self._file = open("/proc/thread-self/net/dev", "rb")  # noqa: SIM115
            finally:
                _setns(original.fileno())

    def read(self) -> int:
        self._file.seek(0)
        for line in self._file.read().splitlines():
            name, sep, figures = line.partition(b":")
            if sep and name.strip().decode() == self._interface:
                return int(figures.split()[1])  # rx packets
        raise OSError(f"no counters for {self._interface}")

    def close(self) -> None:
        self._file.close()


def offer(sender: socket.socket, frames: Sequence[bytes], rate: int, counter: RxCounter,
          settle_s: float) -> tuple[int, float]:
    """Send ``frames`` at ``rate`` per second (sendmmsg, a 1 ms slice per call) and watch the
    receiving interface's counter, read every 2 ms: (frames received, forwarding rate from
    the first reading that saw frames to the last one that saw more)."""
    per_slice = max(1, rate // 1000)
    batch = BatchSender(sender.fileno(), per_slice)
    messages = list(frames)
    baseline = counter.read()
    samples: list[tuple[float, int]] = []
    start = time.monotonic()
    next_read = start
    for first in range(0, len(messages), per_slice):
        batch.send(messages[first:first + per_slice])
        now = time.monotonic()
        if now >= next_read:
            samples.append((now, counter.read()))
            next_read = now + 0.002
        pause = start + (first + per_slice) / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    quiet_until = time.monotonic() + settle_s
    while time.monotonic() < quiet_until:
        samples.append((time.monotonic(), counter.read()))
        time.sleep(0.002)
    counter.close()
    seen = [(at, n) for at, n in samples if n > baseline]
    if not seen:
        return 0, 0.0
    first_at, first_n = seen[0]
    last_at, last_n = next((at, n) for at, n in seen if n == seen[-1][1])  # the last rise
    rate_seen = (last_n - first_n) / (last_at - first_at) if last_at > first_at else 0.0
    return last_n - baseline, rate_seen


@dataclass(frozen=True)
class Result:
    target: str
    program: str
    sent: int
    received: int
    pps: float
    median_latency_us: float
    p99_latency_us: float


def measure(target: Target, program: str, count: int, rate: int, latency_count: int,
            work_dir: Path, settle_s: float = 2.0, switch_args: Sequence[str] = (),
            label: str | None = None) -> Result:
    """``switch_args``: more options of the embedded switch (e.g. ``--no-offload``)."""
    json_path, p4info = build(program, target, work_dir / target.value)
    socket_path = work_dir / f"{target.value}.sock"
    if target is Target.EMBEDDED:
        argv = [embedded_switch_path(), str(json_path), "-i", "1@s1", "-i", "2@s2",
                *switch_args, "--", "--grpc-server-addr", f"unix:{socket_path}"]
    else:
        argv = [BMV2_SWITCH, str(json_path), "-i", "1@s1", "-i", "2@s2", "--",
                "--grpc-server-addr", f"unix:{socket_path}"]
    log = (work_dir / f"{target.value}.log").open("wb")
    switch = subprocess.Popen(["ip", "netns", "exec", SWITCH_NS, *argv], stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        program_switch(f"unix:{socket_path}", json_path, p4info, PROGRAMS[program][1])
        sender = host_socket("h1")
        sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 * 1024 * 1024)
        warm_up = Receiver("h2")
        sender.send(frame(0, time.monotonic_ns()))
        warm_up.collect(0.5)
        counter = RxCounter("h2")
        burst = offer(sender, [frame(sequence, 0) for sequence in range(count)], rate, counter,
                      settle_s)
        receiver = Receiver("h2")
        for sequence in range(latency_count):
            sender.send(frame(sequence, time.monotonic_ns()))
            time.sleep(0.001)
        samples = receiver.collect(0.5)
        latencies = sorted((rx - tx) / 1000 for _, tx, rx in samples)
    finally:
        switch.terminate()
        switch.wait(timeout=10)
        log.close()
    received, pps = burst
    return Result(
        label or target.value, program, count, received, pps,
        statistics.median(latencies) if latencies else float("nan"),
        latencies[int(len(latencies) * 0.99)] if latencies else float("nan"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--program", choices=sorted(PROGRAMS), action="append",
                        help="program(s) to measure (default: basic and lb)")
    parser.add_argument("--count", type=int, default=100_000,
                        help="frames of the throughput phase")
    parser.add_argument("--rate", type=int, default=100_000,
                        help="offered load of the throughput phase, frames/s")
    parser.add_argument("--latency-count", type=int, default=300,
                        help="frames of the latency phase (1 per ms)")
    parser.add_argument("--no-bmv2", action="store_true",
                        help="skip simple_switch_grpc even when it is installed")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("switch_pps: needs root (network namespaces, raw sockets)", file=sys.stderr)
        return 1
    targets = [Target.EMBEDDED]
    if bmv2_available() and not args.no_bmv2:
        targets.append(Target.BMV2)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="p4b-") as tmp, lab():
        for program in args.program or ["basic", "lb"]:
            for target in targets:
                try:
                    results.append(measure(target, program, args.count, args.rate,
                                           args.latency_count, Path(tmp)))
                except (BuildError, grpc.RpcError, OSError) as err:
                    print(f"switch_pps: {target.value}/{program}: {err}", file=sys.stderr)
    print(f"{'target':<10}{'program':<9}{'sent':>8}{'received':>10}{'pkt/s':>10}"
          f"{'median us':>11}{'p99 us':>9}")
    for r in results:
        print(f"{r.target:<10}{r.program:<9}{r.sent:>8}{r.received:>10}{r.pps:>10.0f}"
              f"{r.median_latency_us:>11.1f}{r.p99_latency_us:>9.1f}")
    by_key = {(r.target, r.program): r for r in results}
    for program in args.program or ["basic", "lb"]:
        ours, theirs = by_key.get(("embedded", program)), by_key.get(("bmv2", program))
        if ours is not None and theirs is not None and theirs.pps > 0:
            print(f"{program}: p4sim-switch / simple_switch_grpc = {ours.pps / theirs.pps:.2f}")
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
