"""L7 splicing end to end: real Linux TCP clients and servers, p4sim-switch, lbd.

Two network namespaces this module creates (``p4l7c-<pid>``: the client 10.0.1.10;
``p4l7s-<pid>``: HTTP servers on 10.0.2.11 and 10.0.2.12) are joined by veths to the
switch's ports 1 and 2.  lbd splices the l7 service 10.0.0.100:80: ``/static/`` goes to
pool ``static`` (10.0.2.11), the rest to ``web`` (10.0.2.12).  Switch state is read
over P4Runtime.
"""

from __future__ import annotations

import hashlib
import http.client
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
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml
from finsy import P4Schema, P4TableEntry
from finsy.proto import p4r, p4r_grpc
from switch_rig import free_port, packet_socket, sh, socket_in_namespace, wait_for

from controller.dataplane import Entry

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None
                       or shutil.which("ethtool") is None,
                       reason="needs root, iproute2 and ethtool (network namespaces)"),
    pytest.mark.skipif(importlib.util.find_spec("p4sim.compiler.cli") is None,
                       reason="p4sim-compile is not in this tree"),
]

REPO = Path(__file__).parents[2]
BIN = Path(sys.executable).parent
PID = os.getpid()
CLIENT_NS, SERVER_NS = f"p4l7c-{PID}", f"p4l7s-{PID}"
CLIENT_IF, SERVER_IF = f"p4l7c{PID}", f"p4l7s{PID}"
ROUTER_MAC, CLIENT_MAC, SERVER_MAC = "00:00:00:00:01:00", "00:00:00:00:00:10", \
    "00:00:00:00:00:20"
VIP = "10.0.0.100"
BIG = bytes(i % 251 for i in range(300_000))
SPLICE_TABLES = ("splice_to_server_table", "splice_to_client_table")

SERVER_CODE = """
import hashlib, http.server, socketserver
BIG = bytes(i % 251 for i in range(300_000))
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        me = self.connection.getsockname()[0]
        peer = self.client_address[0]
        self.reply(BIG if self.path.endswith("/big") else f"{me} {peer} {self.path}".encode())
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        me = self.connection.getsockname()[0]
        self.reply(f"{me} {len(body)} {hashlib.sha256(body).hexdigest()}".encode())
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
Server(("0.0.0.0", 8080), Handler).serve_forever()
"""


def in_ns(ns: str, *argv: str) -> None:
    sh("ip", "netns", "exec", ns, *argv)


@pytest.fixture(scope="module")
def namespaces() -> Iterator[None]:
    links = ((CLIENT_NS, CLIENT_IF, CLIENT_MAC, ["10.0.1.10/24"], "10.0.1.1"),
             (SERVER_NS, SERVER_IF, SERVER_MAC, ["10.0.2.11/24", "10.0.2.12/24"], "10.0.2.1"))
    try:
        for ns, link, mac, addresses, gateway in links:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", link, "type", "veth", "peer", "name", f"{link}p")
            sh("ip", "link", "set", f"{link}p", "netns", ns)
            sh("sysctl", "-qw", f"net.ipv6.conf.{link}.disable_ipv6=1")
            sh("ip", "link", "set", link, "up")
            in_ns(ns, "sysctl", "-qw", f"net.ipv6.conf.{link}p.disable_ipv6=1")
            in_ns(ns, "ip", "link", "set", f"{link}p", "address", mac)
            # the switch reads the frames: checksums must be complete, not left to offload
            in_ns(ns, "ethtool", "-K", f"{link}p", "tx", "off")
            for address in addresses:
                in_ns(ns, "ip", "addr", "add", address, "dev", f"{link}p")
            in_ns(ns, "ip", "link", "set", f"{link}p", "up")
            in_ns(ns, "ip", "link", "set", "lo", "up")
            in_ns(ns, "ip", "route", "add", "default", "via", gateway)
        yield
    finally:
        for ns, link, *_ in links:
            subprocess.run(["ip", "link", "del", link], capture_output=True, check=False)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


class Process:
    """A subprocess stopped with SIGTERM (then SIGKILL) at the end."""

    def __init__(self, argv: list[str], log: Path) -> None:
        with log.open("ab") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=out)
        self.log = log

    def alive(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.proc.args} exited:\n{self.log.read_text()}")
        return True

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Rig:
    def __init__(self, pipeline: tuple[Path, Path], workdir: Path) -> None:
        self.workdir = workdir
        self.grpc_port = free_port()
        self.schema = P4Schema(pipeline[1])
        self.socket = workdir / "lbd.sock"
        config = {
            "pipeline": {"p4info": str(pipeline[1]), "bmv2_json": str(pipeline[0])},
            "api": {"unix_socket": str(self.socket)},
            "connection_idle_timeout": 30,
            "switches": [{
                "name": "s1", "address": f"127.0.0.1:{self.grpc_port}", "device_id": 1,
                "router_mac": ROUTER_MAC, "addresses": ["10.0.1.1", "10.0.2.1"],
                "splice_address": "10.0.2.1", "ports": {"client": 1, "server": 2},
                "routes": [{"prefix": "10.0.1.0/24", "egress_port": "client",
                            "mac": CLIENT_MAC}],
            }],
            "pools": {
                "static": [{"name": "b1", "address": "10.0.2.11", "port": 8080,
                            "mac": SERVER_MAC, "egress_port": "server"}],
                "web": [{"name": "b2", "address": "10.0.2.12", "port": 8080,
                         "mac": SERVER_MAC, "egress_port": "server"}],
            },
            "services": [{
                "name": "shop", "vip": VIP, "port": 80, "mode": "l7", "scheduler": "lard",
                "rules": [{"path_prefix": "/static/", "pool": "static"}],
                "default_pool": "web", "request_timeout": 2,
                "new_connection_limit": {"rate": 300, "burst": 100},
            }, {
                "name": "shop-full", "vip": VIP, "port": 81, "mode": "l7",
                "scheduler": "rr", "splice_profile": "full",
                "rules": [{"path_prefix": "/static/", "pool": "static"}],
                "default_pool": "web",
            }, {
                "name": "shop-transparent", "vip": VIP, "port": 82, "mode": "l7",
                "transparent": True, "default_pool": "web",
            }],
        }
        (workdir / "lb.yaml").write_text(yaml.safe_dump(config))
        self.processes: list[Process] = []

    def start(self) -> None:
        switch = Process([str(BIN / "p4sim-switch"), "--no-p4", "--device-id", "1",
                          "--thrift-port", str(free_port()), "-i", f"1@{CLIENT_IF}", "-i",
                          f"2@{SERVER_IF}", "--", "--grpc-server-addr",
                          f"127.0.0.1:{self.grpc_port}", "--cpu-port", "255"],
                         self.workdir / "switch.log")
        self.processes.append(switch)
        wait_for(lambda: switch.alive() and _listening(self.grpc_port), 20, "switch gRPC")
        server = Process(["ip", "netns", "exec", SERVER_NS, sys.executable, "-c",
                          SERVER_CODE], self.workdir / "servers.log")
        self.processes.append(server)
        self.start_lbd()

    def start_lbd(self) -> None:
        lbd = Process([str(BIN / "lbd"), "--config", str(self.workdir / "lb.yaml")],
                      self.workdir / "lbd.log")
        self.processes.append(lbd)
        self.lbd = lbd
        wait_for(lambda: lbd.alive() and self.socket.exists()
                 and self.lbctl("service", "list").returncode == 0
                 and any(e.table == "splice_backend_table" for e in self.entries()), 30,
                 "lbd to sync")

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def _stub_call(self, entities: list[p4r.Entity]) -> list[p4r.Entity]:
        with grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}") as channel:
            stub = p4r_grpc.P4RuntimeStub(channel)
            request = p4r.ReadRequest(device_id=1, entities=entities)
            try:
                return [e for reply in stub.Read(request, timeout=10) for e in reply.entities]
            except grpc.RpcError:
                return []

    def entries(self) -> list[Entry]:
        return [Entry.from_p4(P4TableEntry.decode(e, self.schema))
                for e in self._stub_call([p4r.Entity(table_entry=p4r.TableEntry())])]

    def splices(self) -> list[Entry]:
        return [e for e in self.entries() if e.table in SPLICE_TABLES]

    def packet_ins(self) -> int:
        """Packets the switch sent to the controller for the l7 service (all reasons)."""
        service_id = next(dict(e.params)["service_id"] for e in self.entries()
                          if e.table == "service_table" and dict(e.match)["port"] == 80)
        return self.counter("packet_in_counter", service_id)

    def counter(self, name: str, index: int) -> int:
        counter = self.schema.counters[name]
        found = self._stub_call([p4r.Entity(counter_entry=p4r.CounterEntry(
            counter_id=counter.id, index=p4r.Index(index=index)))])
        return found[0].counter_entry.data.packet_count

    def lbctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "lbctl"), "--socket", str(self.socket), *args],
                              capture_output=True, text=True, timeout=30, check=False)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def rig(pipeline: tuple[Path, Path], namespaces: None,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    rig = Rig(pipeline, tmp_path_factory.mktemp("l7rig"))
    try:
        rig.start()
        yield rig
    finally:
        rig.stop()


# ----- a TCP client in the client namespace --------------------------------------------
def client_socket(timeout: float = 15.0) -> socket.socket:
    """A TCP socket created inside the client namespace (it stays there once made)."""
    sock = socket_in_namespace(CLIENT_NS, socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    return sock


class ClientConnection(http.client.HTTPConnection):
    def __init__(self, port: int = 80) -> None:
        super().__init__(VIP, port, timeout=15)

    def connect(self) -> None:
        self.sock = client_socket()
        self.sock.connect((VIP, self.port))


def raw_client_socket() -> socket.socket:
    """An AF_PACKET socket on the client's interface (to send crafted frames)."""
    return packet_socket(CLIENT_NS, f"{CLIENT_IF}p")


def fetch(method: str, path: str, body: bytes | None = None,
          port: int = 80) -> tuple[int, bytes]:
    conn = ClientConnection(port)
    try:
        conn.request(method, path, body=body, headers={"Connection": "close"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def no_splices_left(rig: Rig) -> None:
    wait_for(lambda: not rig.splices(), 15, "the splice entries to be removed")


# ----- tests ------------------------------------------------------------------------------
def test_requests_land_on_the_pool_their_rules_choose(rig: Rig) -> None:
    status, body = fetch("GET", "/static/logo.png")
    assert status == 200
    backend, peer, path = body.decode().split()
    assert (backend, peer, path) == ("10.0.2.11", "10.0.2.1", "/static/logo.png")
    status, body = fetch("GET", "/index.html")
    assert (status, body.decode().split()[0]) == (200, "10.0.2.12")
    no_splices_left(rig)


def test_large_response_and_request_body_are_byte_exact(rig: Rig) -> None:
    status, body = fetch("GET", "/static/big")
    assert status == 200 and body == BIG
    upload = os.urandom(50_000)
    status, body = fetch("POST", "/upload", upload)
    assert status == 200
    assert body.decode().split() == ["10.0.2.12", "50000", hashlib.sha256(upload).hexdigest()]
    no_splices_left(rig)


def test_keep_alive_requests_stay_in_the_pipeline_on_one_backend(rig: Rig) -> None:
    conn = ClientConnection()
    try:
        conn.request("GET", "/static/first")
        first = conn.getresponse().read().decode().split()
        assert len(rig.splices()) == 2
        stats = json.loads(rig.lbctl("--json", "stats", "shop").stdout)
        assert {b["name"]: b["active"] for b in stats[0]["backends"]} == {"b1": 1, "b2": 0}
        (listed,) = json.loads(rig.lbctl("--json", "conns", "--service", "shop").stdout)
        assert (listed["backend"], listed["origin"], listed["vport"]) == ("b1", "spliced", 80)
        before = rig.packet_ins()
        conn.request("GET", "/other")  # the rules would say "web": same connection wins
        second = conn.getresponse().read().decode().split()
        conn.request("GET", "/static/big")
        assert conn.getresponse().read() == BIG
        assert rig.packet_ins() == before  # nothing of this connection reached lbd
    finally:
        conn.close()
    assert first[0] == second[0] == "10.0.2.11"
    no_splices_left(rig)


@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(40), b"400"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n", b"400"),
    (b"GET / HTTP/3.0\r\n\r\n", b"505"),
])
def test_bad_requests_get_an_error_and_leave_nothing(rig: Rig, request_bytes: bytes,
                                                     status: bytes) -> None:
    sock = client_socket()
    with sock:
        sock.connect((VIP, 80))
        sock.sendall(request_bytes)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.split(b" ")[1] == status
    assert rig.splices() == []


def test_client_that_never_completes_its_request_is_reset(rig: Rig) -> None:
    sock = client_socket()
    with sock:
        sock.connect((VIP, 80))
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: a\r\n")
        started = time.monotonic()
        with pytest.raises(ConnectionResetError):
            sock.recv(4096)
        assert 1.5 <= time.monotonic() - started < 10
    assert rig.splices() == []


def test_many_connections_leave_the_tables_at_baseline(rig: Rig) -> None:
    """1000 connections back to back (about 15 s): packet-ins, packet-outs and teardown
    digests interleave on the P4Runtime stream; every splice goes away."""
    baseline = len(rig.entries())
    for index in range(1000):
        status, _ = fetch("GET", f"/static/{index}" if index % 2 else f"/page/{index}")
        assert status == 200
    no_splices_left(rig)
    assert len(rig.entries()) == baseline


def test_syn_flood_leaves_lbd_responsive_and_clients_served(rig: Rig) -> None:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    flood = [bytes(Ether(dst=ROUTER_MAC, src=CLIENT_MAC)
                   / IP(src=f"10.0.1.{100 + i % 150}", dst=VIP)
                   / TCP(sport=1024 + i, dport=80, flags="S" if i % 4 else "A",
                         seq=i * 7919, ack=i * 104729)) for i in range(1500)]
    metered_before = rig.counter("drop_counter", 8)
    results: list[tuple[int, bytes]] = []
    legit = threading.Thread(target=lambda: results.append(fetch("GET", "/static/during")))
    with raw_client_socket() as sock:
        legit.start()
        for frame in flood:
            sock.send(frame)
    listed = rig.lbctl("service", "list")
    assert listed.returncode == 0 and "shop" in listed.stdout  # lbd answers meanwhile
    legit.join(30)
    assert results and results[0][0] == 200
    assert rig.counter("drop_counter", 8) > metered_before  # the meter shed the excess
    status, body = fetch("GET", "/after")
    assert status == 200 and body.split()[0] == b"10.0.2.12"
    no_splices_left(rig)


def test_full_profile_splices_with_timestamps_sack_and_window_scaling(rig: Rig) -> None:
    """Linux offers all three: the splice translates TSval/TSecr, SACK blocks and windows."""
    status, body = fetch("GET", "/static/big", port=81)
    assert status == 200 and body == BIG
    upload = os.urandom(200_000)
    status, body = fetch("POST", "/upload", upload, port=81)
    assert body.decode().split() == ["10.0.2.12", "200000", hashlib.sha256(upload).hexdigest()]
    full = next(e for e in rig.entries() if e.table == "service_table"
                and dict(e.match)["port"] == 81)
    assert dict(full.params)["scheduler"] == 3
    conn = ClientConnection(81)
    try:
        conn.request("GET", "/static/a")
        conn.getresponse().read()
        entries = {e.table: dict(e.params) for e in rig.splices()}
        to_client, to_server = entries["splice_to_client_table"], \
            entries["splice_to_server_table"]
        assert to_client["tsval_delta"] != 0  # the backend's clock, shifted onto ours
        assert to_server["tsecr_delta"] == (-to_client["tsval_delta"]) % 2**32
        # Linux scales its windows: the backend's shift against the 7 lbd offered
        assert to_client["window_shift_left"] + to_client["window_shift_right"] > 0
        conn.request("GET", "/static/big")
        assert conn.getresponse().read() == BIG
    finally:
        conn.close()
    no_splices_left(rig)


def test_transparent_service_shows_backends_the_client_address(rig: Rig) -> None:
    status, body = fetch("GET", "/who", port=82)
    assert (status, body.decode().split()) == (200, ["10.0.2.12", "10.0.1.10", "/who"])
    status, body = fetch("GET", "/static/big", port=82)
    assert status == 200 and body == BIG
    no_splices_left(rig)


def test_restarted_lbd_adopts_live_splices(rig: Rig) -> None:
    conn = ClientConnection()
    try:
        conn.request("GET", "/static/before")
        assert conn.getresponse().read().split()[0] == b"10.0.2.11"
        spliced = rig.splices()
        assert len(spliced) == 2
        rig.lbd.stop()
        rig.processes.remove(rig.lbd)
        rig.start_lbd()
        assert sorted(rig.splices(), key=str) == sorted(spliced, key=str)  # kept as they were
        (listed,) = json.loads(rig.lbctl("--json", "conns", "--service", "shop").stdout)
        assert listed["backend"] == "b1"
        conn.request("GET", "/after-restart")
        assert conn.getresponse().read().split()[0] == b"10.0.2.11"
    finally:
        conn.close()
    no_splices_left(rig)  # the new lbd sees the teardown and removes the entries
