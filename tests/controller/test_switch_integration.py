"""lbd against a real P4Runtime switch (p4sim-switch running p4src/lb.p4).

The switch runs as a subprocess (gRPC on 127.0.0.1), its two data ports are veth ends
whose peers live in a network namespace this module creates (``p4c-<pid>``), where the
test sends client packets and watches what reaches the servers.  lbd runs as a
subprocess too, so the tests can kill and restart it; switch contents are checked with
P4Runtime Reads.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address
from pathlib import Path

import grpc
import pytest
import yaml
from finsy import P4Schema, P4TableEntry
from finsy.proto import p4r, p4r_grpc

from controller.api import call
from controller.dataplane import Entry

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                       reason="needs root and iproute2 (network namespaces)"),
    pytest.mark.skipif(importlib.util.find_spec("p4sim.compiler.cli") is None,
                       reason="p4sim-compile is not in this tree yet"),
]

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


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


# ----- fixtures: compiled program, namespace with veths, switch, lbd -------------------
@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    compiler = BIN / "p4sim-compile"
    out = tmp_path_factory.mktemp("lb")
    json_path, p4info_path = out / "lb.json", out / "lb.p4info.txtpb"
    result = subprocess.run([str(compiler), str(REPO / "p4src" / "lb.p4"), "-o", str(json_path),
                             "--p4runtime-files", str(p4info_path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"p4sim-compile failed:\n{result.stderr}"
    return json_path, p4info_path


@pytest.fixture(scope="module")
def namespace() -> Iterator[str]:
    subprocess.run(["ip", "netns", "del", NS], capture_output=True, check=False)
    sh("ip", "netns", "add", NS)
    try:
        for name in (CLIENT_IF, SERVER_IF):
            sh("ip", "link", "add", name, "type", "veth", "peer", "name", f"{name}p")
            sh("ip", "link", "set", f"{name}p", "netns", NS)
            # no IPv6 autoconfiguration chatter on the test links
            sh("sysctl", "-qw", f"net.ipv6.conf.{name}.disable_ipv6=1")
            sh("ip", "netns", "exec", NS, "sysctl", "-qw",
               f"net.ipv6.conf.{name}p.disable_ipv6=1")
            sh("ip", "link", "set", name, "up")
            sh("ip", "netns", "exec", NS, "ip", "link", "set", f"{name}p", "up")
        yield NS
    finally:
        for name in (CLIENT_IF, SERVER_IF):
            subprocess.run(["ip", "link", "del", name], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", NS], capture_output=True, check=False)


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
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


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
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

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


@pytest.fixture(scope="module", params=["p4sim-switch", "simple_switch_grpc"])
def rig(request: pytest.FixtureRequest, pipeline: tuple[Path, Path], namespace: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """The whole module runs against the embedded switch, and against BMv2 if installed."""
    program = str(BIN / "p4sim-switch") if request.param == "p4sim-switch" \
        else shutil.which(request.param)
    if program is None:
        pytest.skip(f"{request.param} is not installed")
    rig = Rig(program, pipeline, tmp_path_factory.mktemp("rig"))
    try:
        rig.switch.start()
        rig.switch2.start()
        rig.lbd.start()
        wait_for(lambda: rig.synced() and rig.synced(rig.switch2), 30,
                 "lbd to program the switches")
        yield rig
    finally:
        rig.lbd.stop()
        rig.switch.stop()
        rig.switch2.stop()


# ----- packets in the namespace -----------------------------------------------------
_libc = ctypes.CDLL(None, use_errno=True)


def ns_socket(interface: str) -> socket.socket:
    """An AF_PACKET socket on ``interface`` inside the test namespace."""
    made: list[socket.socket] = []

    def open_in_namespace() -> None:
        fd = os.open(f"/run/netns/{NS}", os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns failed")
        finally:
            os.close(fd)
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        sock.bind((interface, 0))
        sock.settimeout(0.2)
        made.append(sock)

    thread = threading.Thread(target=open_in_namespace)  # setns changes this thread only
    thread.start()
    thread.join()
    assert made, "could not open a socket in the test namespace"
    return made[0]


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


# ----- tests ------------------------------------------------------------------------------
def test_switch_is_programmed_from_the_config(rig: Rig) -> None:
    counts: dict[str, int] = {}
    for e in rig.entries():
        counts[e.table] = counts.get(e.table, 0) + 1
    assert counts == {"router_mac_table": 1, "arp_table": 3, "vip_table": 1,
                      "service_table": 2, "backend_table": 4, "nat_reverse_table": 2,
                      "maglev_table": 251, "nexthop_table": 3, "ipv4_lpm_table": 3}
    services = {dict(e.match)["port"]: dict(e.params) for e in rig.table("service_table")}
    assert services[80]["forwarding_mode"] == 1 and services[80]["scheduler"] == 1
    assert services[443]["forwarding_mode"] == 2 and services[443]["scheduler"] == 2
    # s2 gets the same services except tls, which is scoped to s1
    on_s2 = [dict(e.match)["port"] for e in rig.entries(rig.switch2)
             if e.table == "service_table"]
    assert on_s2 == [80]


@pytest.mark.parametrize("scheduler", ["wrr", "lc", "wlc", "sh", "sed", "nq"])
def test_every_controller_scheduler_pins_connections(rig: Rig, scheduler: str) -> None:
    port = 5000 + ["wrr", "lc", "wlc", "sh", "sed", "nq"].index(scheduler)
    added = rig.lbd.lbctl("service", "add", f"t-{scheduler}", "--vip", VIP, "--port",
                          str(port), "--mode", "dr", "--scheduler", scheduler, "--pool", "tls",
                          "--switch", "s1")
    assert added.returncode == 0, added.stderr
    try:
        assert send_and_capture(tcp_syn(port, 43000)), "the SYN did not reach the server side"
        (conn,) = rig.lbd.lbctl_json("conns", "--service", f"t-{scheduler}")
        assert (conn["backend"], conn["origin"]) == ("b1", "controller")  # b2 is drained
    finally:
        assert rig.lbd.lbctl("service", "del", f"t-{scheduler}").returncode == 0
    assert (43000, port) not in connection_entries(rig)


def test_controller_scheduled_connection(rig: Rig) -> None:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    seen = send_and_capture(tcp_syn(443, 41000))
    assert seen, "the SYN did not reach the server side"
    out = Ether(seen[0])
    # rr over the tls pool: b2 is drained (weight 0), so b1; DR keeps the IP packet
    assert (out.dst, out.src) == (B1_MAC, ROUTER_MAC)
    assert (out[IP].dst, out[TCP].dport, out[IP].ttl) == (VIP, 443, 63)
    conns = rig.lbd.lbctl_json("conns", "--service", "tls")
    assert [(c["client_port"], c["backend"], c["origin"]) for c in conns] == [
        (41000, "b1", "controller")]
    assert (41000, 443) in connection_entries(rig)


def test_new_connection_limit_meters_packet_ins(rig: Rig) -> None:
    added = rig.lbd.lbctl("service", "add", "limited", "--vip", VIP, "--port", "6000",
                          "--mode", "dr", "--scheduler", "rr", "--pool", "tls", "--switch",
                          "s1", "--new-connection-rate", "1", "--new-connection-burst", "1")
    assert added.returncode == 0, added.stderr
    try:
        service_id = next(dict(e.params)["service_id"] for e in rig.table("service_table")
                          if dict(e.match)["port"] == 6000)
        assert rig.meter_config("packet_in_meter", service_id) == (1, 1, 1, 1)
        client = ns_socket(f"{CLIENT_IF}p")
        with client:
            for sport in (44000, 44001, 44002):  # back to back: only the first is green
                client.send(tcp_syn(6000, sport))
        wait_for(lambda: rig.lbd.lbctl_json("conns", "--service", "limited"), 5,
                 "the first connection")
        time.sleep(0.5)
        conns = rig.lbd.lbctl_json("conns", "--service", "limited")
        assert [c["client_port"] for c in conns] == [44000]
    finally:
        assert rig.lbd.lbctl("service", "del", "limited").returncode == 0
    assert rig.meter_config("packet_in_meter", service_id) is None  # reset: always green


def test_maglev_connection_is_pinned_from_the_digest(rig: Rig) -> None:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    seen = send_and_capture(tcp_syn(80, 42000))
    assert seen, "the SYN did not reach the server side"
    out = Ether(seen[0])
    assert out[IP].dst in ("10.0.2.11", "10.0.2.12") and out[TCP].dport == 8080
    wait_for(lambda: (42000, 80) in connection_entries(rig), 5, "the pinned connection")
    (conn,) = rig.lbd.lbctl_json("conns", "--service", "http")
    assert conn["origin"] == "dataplane"
    assert {"10.0.2.11": "b1", "10.0.2.12": "b2"}[out[IP].dst] == conn["backend"]
    (http,) = rig.lbd.lbctl_json("stats", "http")
    backend = next(b for b in http["backends"] if b["name"] == conn["backend"])
    assert http["packets"] == backend["packets"] == 1 and http["bytes"] == len(out) > 0
    assert (http["active"], backend["active"]) == (1, 1)


def test_change_reaches_the_switch_within_100ms(rig: Rig) -> None:
    def b2_buckets() -> int:
        ids = {dict(e.params)["addr"]: dict(e.match)["backend_id"]
               for e in rig.table("backend_table") if dict(e.params)["port"] == 8080}
        b2 = ids[int(IPv4Address("10.0.2.12"))]
        return sum(1 for e in rig.table("maglev_table") if dict(e.params)["backend_id"] == b2)

    assert b2_buckets() > 100
    start = time.monotonic()
    call("backend.drain", {"service": "http", "backend": "b2"}, unix_socket=rig.lbd.socket)
    elapsed = time.monotonic() - start
    assert b2_buckets() == 0
    # The API answers once lbd has written the change to both switches (251-bucket Maglev
    # table rewritten): the round trip bounds the delay.  Budget 100 ms, with slack for a
    # loaded CI machine.
    print(f"drain round trip: {elapsed * 1000:.1f} ms")
    assert elapsed < 0.5
    stats = rig.lbd.lbctl_json("stats", "http")
    assert [b["state"] for b in stats[0]["backends"]] == ["active", "draining"]
    assert rig.lbd.lbctl("backend", "weight", "http", "b2", "1").returncode == 0


def test_controller_restart_adopts_connections_and_repairs(rig: Rig) -> None:
    before = connection_entries(rig)
    assert before, "earlier tests pinned connections"
    rig.lbd.stop()
    # Established connections keep working without the controller: pinned in the switch.
    from scapy.layers.l2 import Ether
    seen = send_and_capture(tcp_syn(443, 41000))
    assert seen and Ether(seen[0]).dst == B1_MAC
    # While lbd is down: a stale VIP appears and a service entry is lost.
    sh(str(BIN / "python"), "-c", _TAMPER, str(rig.switch.port), str(rig.config["pipeline"]
                                                                       ["p4info"]))
    assert any(dict(e.match)["vip"] == int(IPv4Address("10.9.9.9"))
               for e in rig.table("vip_table"))
    rig.lbd.start()
    wait_for(lambda: len(rig.table("service_table")) == 2 and len(rig.table("vip_table")) == 1,
             20, "lbd to repair the switch")
    assert connection_entries(rig) == before
    origins = {c["origin"] for c in rig.lbd.lbctl_json("conns")}
    assert origins == {"adopted"}


def test_removed_backend_serves_its_connections_until_they_end(rig: Rig) -> None:
    (conn,) = rig.lbd.lbctl_json("conns", "--service", "http")
    backend = conn["backend"]
    assert rig.lbd.lbctl("backend", "del", "http", backend).returncode == 0
    (http,) = rig.lbd.lbctl_json("stats", "http")
    assert {b["name"]: b["state"] for b in http["backends"]}[backend] == "retiring"
    assert len(rig.table("backend_table")) == 4  # still reachable for its connection
    assert all(dict(e.params)["backend_id"] != dict(_pinned(rig, 42000).params)["backend_id"]
               for e in rig.table("maglev_table"))
    # The connection ends (idle timeout): the backend goes with it.
    wait_for(lambda: not connection_entries(rig), 35, "idle connections to expire")
    assert rig.lbd.lbctl_json("conns") == []
    wait_for(lambda: len(rig.table("backend_table")) == 3, 5, "the retired backend to go")
    (http,) = rig.lbd.lbctl_json("stats", "http")
    assert [b["name"] for b in http["backends"]] == [n for n in ("b1", "b2") if n != backend]


def _pinned(rig: Rig, client_port: int) -> Entry:
    return next(e for e in rig.table("connection_table")
                if dict(e.match)["client_port"] == client_port)


def test_switch_restart_is_reprogrammed(rig: Rig) -> None:
    rig.switch.stop()
    rig.switch.start()
    wait_for(rig.synced, 30, "lbd to reprogram the restarted switch")
    assert len(rig.table("maglev_table")) == 251


def test_sighup_reapplies_the_config_file(rig: Rig) -> None:
    original = rig.lbd.config.read_text()
    changed = yaml.safe_load(original)
    changed["pools"]["tls"][1]["weight"] = 3
    broken = yaml.safe_load(original)
    broken["services"][0]["vip"] = "10.0.0.300"

    def tls_weights() -> list[int]:
        (tls,) = [s for s in rig.lbd.lbctl_json("service", "list") if s["name"] == "tls"]
        return [b["weight"] for b in tls["backends"]]

    assert rig.lbd.proc is not None
    try:
        rig.lbd.config.write_text(yaml.safe_dump(broken))
        rig.lbd.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload of" in rig.lbd.log.read_text(), 5, "the refusal")
        assert "services[0].vip: '10.0.0.300' is not an IPv4 address" in rig.lbd.log.read_text()
        assert tls_weights() == [1, 0]
        rig.lbd.config.write_text(yaml.safe_dump(changed))
        rig.lbd.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: tls_weights() == [1, 3], 5, "the reloaded weights")
    finally:
        rig.lbd.config.write_text(original)
        rig.lbd.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: tls_weights() == [1, 0], 5, "the original weights")


# Run as a separate process: a primary P4Runtime client that damages the switch state.
_TAMPER = """
import asyncio, sys
from pathlib import Path
from finsy import Switch, SwitchOptions, P4TableEntry, P4TableMatch, P4TableAction

async def main(port, p4info):
    opts = SwitchOptions(p4info=Path(p4info), device_id=1, initial_election_id=20)
    async with Switch("tamper", f"127.0.0.1:{port}", opts) as sw:
        await sw.insert([P4TableEntry("vip_table", match=P4TableMatch(vip="10.9.9.9"),
                                      action=P4TableAction("NoAction"))])
        entries = [e async for e in sw.read(P4TableEntry("service_table"))]
        await sw.delete(entries[:1])

asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
"""
