"""A real P4Runtime switch for controller tests: p4sim-switch (or simple_switch_grpc) as a
subprocess on 127.0.0.1, two data ports on veths whose peers live in a network namespace
(``p4c-<pid>``) where tests send client packets and watch what reaches the servers, and
lbd as a subprocess so tests can kill and restart it.  Switch contents are read with
P4Runtime.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import yaml
from finsy import P4Schema, P4TableEntry
from finsy.proto import p4r, p4r_grpc

from controller.dataplane import Entry

REPO = Path(__file__).parents[2]
BIN = Path(sys.executable).parent
NS = f"p4c-{os.getpid()}"
CLIENT_IF, SERVER_IF = f"p4c{os.getpid()}c", f"p4c{os.getpid()}s"
ROUTER_MAC = "00:00:00:00:01:00"
CLIENT_MAC = "00:00:00:00:00:10"
B1_MAC, B2_MAC = "00:00:00:00:00:11", "00:00:00:00:00:12"
VIP = "10.0.0.100"
CLONE_NEWNET = 0x40000000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


SWITCH_PROGRAMS = ["p4sim-switch", "simple_switch_grpc"]


def switch_program(name: str) -> str:
    """The executable of the switch ``name``; the test is skipped if it is not installed."""
    import pytest

    program = str(BIN / name) if name == "p4sim-switch" else shutil.which(name)
    if program is None:
        pytest.skip(f"{name} is not installed")
    return program


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)




def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class SwitchProcess:
    """p4sim-switch, or BMv2's simple_switch_grpc: same command line."""

    def __init__(self, program: str, log: Path, interfaces: list[str]) -> None:
        self.program = program
        self.port = free_port()
        self.thrift_port = free_port()
        self.log = log
        self.interfaces = [arg for spec in interfaces for arg in ("-i", spec)]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.program, "--no-p4", "--device-id", "1", "--thrift-port",
                 str(self.thrift_port), *self.interfaces, "--", "--grpc-server-addr",
                 f"127.0.0.1:{self.port}", "--cpu-port", "255"], stdout=log, stderr=log)
        wait_for(self._listening, 20, "p4sim-switch gRPC")

    def _listening(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"p4sim-switch exited:\n{self.log.read_text()}")
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        stop_process(self.proc)


class LbdProcess:
    def __init__(self, config: Path, socket_path: Path, log: Path) -> None:
        self.config, self.socket, self.log = config, socket_path, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([str(BIN / "lbd"), "--config", str(self.config)],
                                         stdout=log, stderr=log)
        wait_for(self.socket.exists, 20, "lbd API socket")

    def stop(self) -> None:
        stop_process(self.proc)

    def lbctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "lbctl"), "--socket", str(self.socket), *args],
                              capture_output=True, text=True, timeout=30, check=False)

    def lbctl_json(self, *args: str) -> object:
        result = self.lbctl("--json", *args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


def lb_config(pipeline: tuple[Path, Path], grpc_ports: list[int], api_socket: Path) -> dict:
    json_path, p4info_path = pipeline
    return {
        "pipeline": {"p4info": str(p4info_path), "bmv2_json": str(json_path)},
        "api": {"unix_socket": str(api_socket)},
        "connection_idle_timeout": 10,
        "switches": [{
            "name": f"s{i}", "address": f"127.0.0.1:{port}", "device_id": 1,
            "router_mac": ROUTER_MAC, "addresses": ["10.0.1.1", "10.0.2.1"],
            "ports": {"client": 1, "server": 2},
            "routes": [{"prefix": "10.0.1.0/24", "egress_port": "client", "mac": CLIENT_MAC}],
        } for i, port in enumerate(grpc_ports, start=1)],
        "pools": {
            "web": [{"name": "b1", "address": "10.0.2.11", "port": 8080, "mac": B1_MAC,
                     "egress_port": "server"},
                    {"name": "b2", "address": "10.0.2.12", "port": 8080, "mac": B2_MAC,
                     "egress_port": "server"}],
            "tls": [{"name": "b1", "address": "10.0.2.11", "port": 443, "mac": B1_MAC,
                     "egress_port": "server"},
                    {"name": "b2", "address": "10.0.2.12", "port": 443, "mac": B2_MAC,
                     "egress_port": "server", "weight": 0}],
        },
        "services": [
            {"name": "http", "vip": VIP, "port": 80, "mode": "nat", "scheduler": "mh",
             "pool": "web"},
            {"name": "tls", "vip": VIP, "port": 443, "mode": "dr", "scheduler": "rr",
             "pool": "tls", "switches": ["s1"]},
        ],
    }


class Rig:
    """Two switches (s1 with the test links, s2 without ports) + lbd + helpers to read the
    switches and send packets."""

    def __init__(self, program: str, pipeline: tuple[Path, Path], workdir: Path) -> None:
        self.switch = SwitchProcess(program, workdir / "s1.log",
                                    [f"1@{CLIENT_IF}", f"2@{SERVER_IF}"])
        self.switch2 = SwitchProcess(program, workdir / "s2.log", [])
        self.schema = P4Schema(pipeline[1])
        config_path = workdir / "lb.yaml"
        self.config = lb_config(pipeline, [self.switch.port, self.switch2.port],
                                workdir / "lbd.sock")
        config_path.write_text(yaml.safe_dump(self.config))
        self.lbd = LbdProcess(config_path, workdir / "lbd.sock", workdir / "lbd.log")

    def entries(self, switch: SwitchProcess | None = None) -> list[Entry]:
        port = (switch or self.switch).port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = p4r_grpc.P4RuntimeStub(channel)
            request = p4r.ReadRequest(device_id=1, entities=[
                p4r.Entity(table_entry=p4r.TableEntry())])
            try:
                return [Entry.from_p4(P4TableEntry.decode(entity, self.schema))
                        for reply in stub.Read(request, timeout=10)
                        for entity in reply.entities]
            except grpc.RpcError:
                return []  # no pipeline yet

    def meter_config(self, meter: str, index: int) -> tuple[int, int, int, int] | None:
        """(cir, cburst, pir, pburst) of one indirect meter cell, None if unconfigured."""
        with grpc.insecure_channel(f"127.0.0.1:{self.switch.port}") as channel:
            stub = p4r_grpc.P4RuntimeStub(channel)
            request = p4r.ReadRequest(device_id=1, entities=[p4r.Entity(
                meter_entry=p4r.MeterEntry(meter_id=self.schema.meters[meter].id,
                                           index=p4r.Index(index=index)))])
            for reply in stub.Read(request, timeout=10):
                for entity in reply.entities:
                    c = entity.meter_entry.config
                    if c.cir or c.pir:  # unconfigured cells read back unset or all zero
                        return c.cir, c.cburst, c.pir, c.pburst
        return None

    def table(self, name: str) -> list[Entry]:
        return [e for e in self.entries() if e.table == name]

    def synced(self, switch: SwitchProcess | None = None) -> bool:
        tables = {e.table for e in self.entries(switch)}
        return {"service_table", "maglev_table", "backend_table"} <= tables




# ----- packets in the namespace -----------------------------------------------------
_libc = ctypes.CDLL(None, use_errno=True)


def socket_in_namespace(namespace: str, family: int, kind: int, proto: int = 0) -> socket.socket:
    """A socket created inside ``namespace``; it stays in that namespace once made."""
    made: list[socket.socket] = []
    failed: list[BaseException] = []

    def create() -> None:
        try:
            fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns failed")
            finally:
                os.close(fd)
            made.append(socket.socket(family, kind, proto))
        except BaseException as error:  # re-raised in the caller's thread
            failed.append(error)

    thread = threading.Thread(target=create)  # setns changes this thread only
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return made[0]


def packet_socket(namespace: str, interface: str) -> socket.socket:
    """An AF_PACKET socket bound to ``interface`` inside ``namespace``."""
    sock = socket_in_namespace(namespace, socket.AF_PACKET, socket.SOCK_RAW,
                               socket.htons(0x0003))
    sock.bind((interface, 0))
    return sock


def ns_socket(interface: str) -> socket.socket:
    """An AF_PACKET socket on ``interface`` inside the test namespace."""
    sock = packet_socket(NS, interface)
    sock.settimeout(0.2)
    return sock


def tcp_syn(dport: int, sport: int) -> bytes:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    return bytes(Ether(dst=ROUTER_MAC, src=CLIENT_MAC) / IP(src="10.0.1.10", dst=VIP)
                 / TCP(sport=sport, dport=dport, flags="S"))


def send_and_capture(frame: bytes, timeout: float = 5.0) -> list[bytes]:
    """Send on the client side, return the frames seen on the server side meanwhile."""
    client, server = ns_socket(f"{CLIENT_IF}p"), ns_socket(f"{SERVER_IF}p")
    seen: list[bytes] = []
    with client, server:
        client.send(frame)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not seen:
            try:
                data = server.recv(65536)
            except TimeoutError:
                continue
            if data[12:14] == b"\x08\x00":  # IPv4 only
                seen.append(data)
    return seen


def connection_entries(rig: Rig) -> dict[tuple[int, int], int]:
    """(client port, vip port) -> backend id of the switch's connection_table."""
    out = {}
    for e in rig.table("connection_table"):
        match = dict(e.match)
        out[(match["client_port"], match["vip_port"])] = dict(e.params)["backend_id"]
    return out  # type: ignore[return-value]
