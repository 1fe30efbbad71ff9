"""Server monitoring: the health_checks config, hysteresis and weights in LbState, and the
probes and monitor against real servers on loopback (and in a network namespace)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.config import Backend, ConfigError, LbConfig, parse_config
from controller.health import HealthMonitor
from controller.health_config import AgentCheck, HealthPolicy
from controller.health_probes import SocketFactory, agent_probe, parse_agent_reply, probe
from controller.state import FlowKey, LbState

EXAMPLE = Path(__file__).parents[2] / "controller" / "examples" / "lb.yaml"


def config_with(health: Any) -> LbConfig:
    raw = yaml.safe_load(EXAMPLE.read_text())
    raw["health_checks"] = health
    return parse_config(raw, EXAMPLE.parent)


def problems(health: Any) -> list[str]:
    with pytest.raises(ConfigError) as err:
        config_with(health)
    return err.value.problems


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def flow(client: str, sport: int = 40000, vip: str = "10.0.0.100") -> FlowKey:
    return FlowKey(IPv4Address(client), sport, IPv4Address(vip), 80, 6)


# ----- config -----------------------------------------------------------------------------
def test_a_full_policy_parses() -> None:
    config = config_with({"web": {
        "kind": "http", "interval": 0.2, "timeout": 0.15, "rise": 2, "fall": 3,
        "path": "/health", "expect_status": [200, 204], "expect_body": "ok",
        "slow_start": 10, "on_down": "reset", "when_all_down": "sorry",
        "sorry_server": {"name": "sorry", "address": "10.0.1.9", "port": 80,
                         "mac": "00:00:00:00:01:09", "egress_port": "servers"},
        "agent": {"port": 9999, "interval": 1, "timeout": 0.5}, "netns": "mon"}})
    policy = config.health["web"]
    assert (policy.kind, policy.interval_s, policy.timeout_s, policy.rise, policy.fall) == \
        ("http", 0.2, 0.15, 2, 3)
    assert policy.expect_status == (200, 204) and policy.netns == Path("/run/netns/mon")
    assert policy.sorry_server is not None and policy.sorry_server.name == "sorry"
    assert policy.agent == AgentCheck(9999, 1.0, 0.5)


@pytest.mark.parametrize(("health", "expected"), [
    ({"web": {"kind": "tcp", "interval": -1}}, "health_checks.web.interval: -1 is not an "
     "interval of at least 0.05 seconds"),
    ({"web": {"kind": "ping"}}, "health_checks.web.kind: 'ping' is not one of tcp, http, "
     "https, tls, command"),
    ({"web": {"kind": "tcp", "interval": 1, "timeout": 2}}, "health_checks.web.timeout: 2.0 "
     "must be above 0 and at most the interval (1.0)"),
    ({"nopool": {"kind": "tcp"}}, "health_checks.nopool: unknown pool 'nopool'"),
    ({"web": {"kind": "tcp", "path": "/x"}}, "health_checks.web.path: only applies to kinds "
     "http and https"),
    ({"web": {"kind": "command"}}, "health_checks.web.command: None is not a command"),
    ({"web": {"kind": "command", "command": ["check", "{host}"]}},
     "health_checks.web.command: 'check {host}'"),
    ({"web": {"kind": "tcp", "when_all_down": "sorry"}}, "health_checks.web.sorry_server: "
     "is required with when_all_down: sorry"),
    ({"web": {"kind": "http", "expect_status": 42}}, "health_checks.web.expect_status: 42 "
     "is not an HTTP status code"),
    ({"web": {"kind": "tcp", "rise": 0}}, "health_checks.web.rise: 0 is not an integer"),
    ({"web": {"kind": "tcp", "netns": "../x"}}, "health_checks.web.netns: '../x' is not a "
     "network namespace"),
    ({"web": {"kind": "tcp", "colour": 1}}, "health_checks.web.colour: unknown key"),
    ("yes", "health_checks: expected a mapping"),
])
def test_bad_policies_are_clear_errors(health: Any, expected: str) -> None:
    found = problems(health)
    assert any(p.startswith(expected.split("'check {host}'")[0]) for p in found), found


# ----- state: hysteresis and the weights every scheduler sees ----------------------------
@pytest.fixture
def clock() -> Clock:
    return Clock()


def checked_state(clock: Clock, **policy: Any) -> LbState:
    return LbState(config_with({"web": {"kind": "tcp", "interval": 0.2, "timeout": 0.1,
                                        **policy}}), clock=clock)


def fail(state: LbState, backend: str, times: int, pool: str = "web") -> list[bool | None]:
    return [state.check_result(pool, backend, False, "refused") for _ in range(times)]


def test_fall_then_rise_with_hysteresis(clock: Clock) -> None:
    state = checked_state(clock, rise=2, fall=3)
    version = state.version
    assert fail(state, "web1", 2) == [None, None]
    assert state.check_result("web", "web1", True, "ok") is None  # streak broken
    assert fail(state, "web1", 3) == [None, None, False]
    assert state.version > version
    assert {b.name: b.weight for b in state.schedulable("web")} == {"web1": 0, "web2": 2}
    assert state.check_result("web", "web1", True, "ok") is None
    assert state.check_result("web", "web1", True, "ok") is True
    assert {b.name: b.weight for b in state.schedulable("web")} == {"web1": 1, "web2": 2}


def test_a_down_server_gets_no_new_connection_from_any_scheduler(clock: Clock) -> None:
    state = checked_state(clock, fall=1)
    pinned = state.schedule("s1", flow("192.0.2.1"))
    fail(state, pinned.backend, 1)
    chosen = {state.schedule("s1", flow(f"198.51.100.{i}")).backend for i in range(1, 20)}
    assert chosen == {"web1", "web2"} - {pinned.backend}
    assert state.connections[("s1", pinned.flow)].backend == pinned.backend  # kept
    # the same for the Maglev table of the data plane (the cache pool is mh)
    cache = LbState(config_with({"cache": {"kind": "tcp", "fall": 1}}), clock=clock)
    fail(cache, "cache1", 1, pool="cache")
    assert set(cache.maglev(cache.service("cache"))) == {"cache2"}


def test_on_down_reset_drops_the_servers_connections(clock: Clock) -> None:
    state = checked_state(clock, fall=1, on_down="reset")
    pinned = state.schedule("s1", flow("192.0.2.1"))
    fail(state, pinned.backend, 1)
    assert ("s1", pinned.flow) not in state.connections


def test_all_down_then_sorry_server(clock: Clock) -> None:
    state = checked_state(clock, fall=1, when_all_down="sorry", sorry_server={
        "name": "sorry", "address": "10.0.1.9", "port": 80,
        "mac": "00:00:00:00:01:09", "egress_port": "servers"})
    service = state.service("http")
    assert "sorry" in {b.name for b in state.backends_in_use(service)}  # entries ready
    fail(state, "web1", 1)
    assert state.schedule("s1", flow("192.0.2.1", 1)).backend == "web2"
    fail(state, "web2", 1)
    assert state.schedule("s1", flow("203.0.113.1", 2)).backend == "sorry"
    state.check_result("web", "web2", True, "ok")
    state.check_result("web", "web2", True, "ok")
    assert state.schedule("s1", flow("203.0.113.2", 3)).backend == "web2"


def test_all_down_without_sorry_schedules_nothing(clock: Clock) -> None:
    state = checked_state(clock, fall=1)
    fail(state, "web1", 1)
    fail(state, "web2", 1)
    assert not state.can_serve(state.service("http"))
    assert state.schedule("s1", flow("192.0.2.1")) is None


def test_slow_start_ramps_in_steps(clock: Clock) -> None:
    state = LbState(config_with({"web": {"kind": "tcp", "fall": 1, "rise": 1,
                                         "slow_start": 10}}), clock=clock)
    state.set_weight("http", "web2", 100)
    fail(state, "web2", 1)
    state.check_result("web", "web2", True, "ok")
    weights = []
    for _ in range(12):
        weights.append({b.name: b.weight for b in state.schedulable("web")}["web2"])
        clock.now += 1
    assert weights[0] == 10 and weights[5] == 60 and weights[-1] == 100
    assert weights == sorted(weights)
    assert state.refresh_weights() in (True, False)  # bumps only when a step moved
    version = state.version
    assert not state.refresh_weights() and state.version == version


def test_agent_drain_percent_and_down(clock: Clock) -> None:
    state = checked_state(clock)
    state.set_weight("http", "web2", 10)
    assert state.agent_result("web", "web2", None, 50, "busy")
    assert {b.name: b.weight for b in state.schedulable("web")}["web2"] == 5
    assert state.agent_result("web", "web2", "drain", None, "maintenance")
    assert {b.name: b.weight for b in state.schedulable("web")}["web2"] == 0
    assert not state.agent_result("web", "web2", "drain", None, "maintenance")
    state.agent_result("web", "web2", "up", 100, "")
    assert {b.name: b.weight for b in state.schedulable("web")}["web2"] == 10


def test_set_health_policy_through_state(clock: Clock) -> None:
    state = LbState(config_with(None), clock=clock)
    state.set_health_policy("web", HealthPolicy("tcp", fall=1))
    fail(state, "web1", 1)
    assert {b.name: b.weight for b in state.schedulable("web")}["web1"] == 0
    state.set_health_policy("web", None)  # unchecked again: counted up
    assert {b.name: b.weight for b in state.schedulable("web")}["web1"] == 1
    assert state.health.get("web", "web1") is None


# ----- probes against real servers -------------------------------------------------------
class Server:
    """A TCP server on 127.0.0.1 answering each connection with ``handler``."""

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.handler = handler
        self.open: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.open.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            self.handler(conn)
        except OSError:
            pass

    def close(self) -> None:
        self.listener.close()
        for conn in self.open:
            conn.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[socket.socket], None]], Server]]:
    servers: list[Server] = []

    def start(handler: Callable[[socket.socket], None]) -> Server:
        servers.append(Server(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def http_reply(reply: bytes) -> Callable[[socket.socket], None]:
    def handle(conn: socket.socket) -> None:
        conn.recv(4096)
        conn.sendall(reply)
        conn.close()
    return handle


def backend(port: int) -> Backend:
    return Backend("b", IPv4Address("127.0.0.1"), port, None, None)


def run_probe(policy: HealthPolicy, port: int, netns: Path | None = None) -> tuple[bool, str]:
    async def go() -> tuple[bool, str]:
        sockets = SocketFactory(netns)
        try:
            result = await probe(policy, backend(port), sockets)
        finally:
            sockets.close()
        return result.ok, result.detail
    return asyncio.run(go())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_tcp_probe_connects_or_reports_refusal(serve: Any) -> None:
    server = serve(lambda conn: conn.close())
    assert run_probe(HealthPolicy("tcp"), server.port) == (True, "connected")
    ok, detail = run_probe(HealthPolicy("tcp"), free_port())
    assert not ok and "Connection refused" in detail


def test_http_probe_checks_status_and_body(serve: Any) -> None:
    good = serve(http_reply(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nall ok\n"))
    assert run_probe(HealthPolicy("http"), good.port) == (True, "HTTP 200")
    assert run_probe(HealthPolicy("http", expect_body="ok"), good.port)[0]
    ok, detail = run_probe(HealthPolicy("http", expect_body="ready"), good.port)
    assert not ok and "lacks 'ready'" in detail
    bad = serve(http_reply(b"HTTP/1.1 503 Service Unavailable\r\n\r\n"))
    assert run_probe(HealthPolicy("http"), bad.port) == (False, "HTTP 503, expected 200")
    assert run_probe(HealthPolicy("http", expect_status=(200, 503)), bad.port)[0]


@pytest.mark.parametrize(("reply", "detail"), [
    (b"\x16\x03\x01\x00\xffgarbage\n", "not an HTTP/1.x status line"),
    (b"", "connection closed before a status line"),
    (b"HTTP/1.1 200", "connection closed inside the status line"),
    (b"HTTP/1.1 200 " + b"x" * 70000, "status line too long"),
])
def test_garbage_from_a_server_is_a_failed_check(serve: Any, reply: bytes,
                                                 detail: str) -> None:
    server = serve(http_reply(reply))
    ok, found = run_probe(HealthPolicy("http"), server.port)
    assert not ok and found.startswith(detail), found


def test_a_hung_server_fails_within_the_timeout(serve: Any) -> None:
    server = serve(lambda conn: time.sleep(5))
    started = time.monotonic()
    ok, detail = run_probe(HealthPolicy("http", timeout_s=0.2, interval_s=0.5), server.port)
    assert not ok and detail == "no answer within 0.2 s"
    assert time.monotonic() - started < 1.0


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=health.test", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return key, cert


def test_tls_and_https_probes(serve: Any, certificate: tuple[Path, Path]) -> None:
    key, cert = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def tls_http(conn: socket.socket) -> None:
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(4096)
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    server = serve(tls_http)
    assert run_probe(HealthPolicy("tls"), server.port) == (True, "TLS handshake done")
    assert run_probe(HealthPolicy("https", expect_body="ok"), server.port) == \
        (True, "HTTP 200, body matches")
    plain = serve(http_reply(b"HTTP/1.1 200 OK\r\n\r\n"))
    ok, detail = run_probe(HealthPolicy("tls"), plain.port)
    assert not ok and detail.startswith(("TLS handshake failed", "connect to")), detail


def test_command_probe_exit_status_placeholders_and_timeout(tmp_path: Path) -> None:
    marker = tmp_path / "seen"
    policy = HealthPolicy("command", command=(sys.executable, "-c",
                          f"open({str(marker)!r}, 'w').write('{{address}} {{port}}')"))
    assert run_probe(policy, 8080) == (True, "command exited 0")
    assert marker.read_text() == "127.0.0.1 8080"
    failing = HealthPolicy("command", command=(sys.executable, "-c",
                           "import sys; sys.exit('disk full')"))
    assert run_probe(failing, 80) == (False, "command exited 1: disk full")
    slow = HealthPolicy("command", timeout_s=0.3, command=("sleep", "30"))
    started = time.monotonic()
    assert run_probe(slow, 80) == (False, "no answer within 0.3 s")
    assert time.monotonic() - started < 2
    missing = HealthPolicy("command", command=("/nonexistent/check",))
    ok, detail = run_probe(missing, 80)
    assert not ok and detail.startswith("cannot run /nonexistent/check")


@pytest.mark.parametrize(("raw", "expected"), [
    (b"75%\n", (None, 75)), (b"drain\n", ("drain", None)), (b"up, 50%\n", ("up", 50)),
    (b"down #disk failed\n", ("down", None)), (b"ready 100%", ("up", 100)),
    (b"\xff\xfe\n", None), (b"weird\n", None), (b"", None), (b"5000%\n", None),
])
def test_agent_replies(raw: bytes, expected: tuple[str | None, int | None] | None) -> None:
    reply = parse_agent_reply(raw)
    assert (None if reply is None else (reply.state, reply.percent)) == expected


def test_agent_probe_reads_one_line(serve: Any) -> None:
    server = serve(lambda conn: conn.sendall(b"drain #going away\n"))

    async def ask() -> Any:
        sockets = SocketFactory()
        return await agent_probe(AgentCheck(server.port, 1.0, 0.5), backend(0), sockets)
    reply = asyncio.run(ask())
    assert (reply.state, reply.detail) == ("drain", "going away")
    silent = serve(lambda conn: time.sleep(3))
    assert asyncio.run(agent_probe(AgentCheck(silent.port, 1.0, 0.2), backend(0),
                                   SocketFactory())) is None


needs_root = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                                reason="network namespaces need root and iproute2")


@needs_root
def test_checks_run_inside_the_configured_network_namespace() -> None:
    name = f"p4lbhc{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        port = free_port()
        server = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c",
                                   "import socket, time; s = socket.socket(); "
                                   f"s.bind(('127.0.0.1', {port})); s.listen(); "
                                   "print('ready', flush=True); time.sleep(30)"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None and server.stdout.readline() == "ready\n"
            netns = Path("/run/netns") / name
            assert run_probe(HealthPolicy("tcp"), port, netns) == (True, "connected")
            assert not run_probe(HealthPolicy("tcp"), port)[0]  # not in lbd's namespace
            command = HealthPolicy("command", command=(
                sys.executable, "-c", "import socket; socket.create_connection("
                "('{address}', {port}), 1)"))
            assert run_probe(command, port, netns)[0]
        finally:
            server.kill()
            server.wait()
    finally:
        subprocess.run(["ip", "netns", "del", name], check=True)
    ok, detail = run_probe(HealthPolicy("tcp"), 80, Path("/run/netns") / name)
    assert not ok and detail.startswith("network namespace")


# ----- the monitor ----------------------------------------------------------------------------
def test_monitor_takes_a_dead_server_out_and_back(serve: Any) -> None:
    """A real server dies: within fall x interval it is down, and the switches are told."""
    alive = serve(lambda conn: conn.close())
    raw = yaml.safe_load(EXAMPLE.read_text())
    raw["pools"]["web"] = [{"name": "web1", "address": "127.0.0.1", "port": alive.port},
                           {"name": "web2", "address": "127.0.0.1", "port": free_port()}]
    raw["health_checks"] = {"web": {"kind": "tcp", "interval": 0.1, "timeout": 0.05,
                                    "rise": 2, "fall": 3}}
    state = LbState(parse_config(raw, EXAMPLE.parent))
    pushes: list[float] = []

    async def push() -> None:
        pushes.append(time.monotonic())

    async def scenario() -> tuple[float, float]:
        lock = asyncio.Lock()
        monitor = HealthMonitor(state, lock, push)
        task = asyncio.create_task(monitor.run())
        try:
            await _until(lambda: _up(state, "web2") is False, 2.0)  # never listened
            assert _up(state, "web1") is True
            alive.close()
            killed = time.monotonic()
            await _until(lambda: _up(state, "web1") is False, 2.0)
            down_after = time.monotonic() - killed
            assert pushes and pushes[-1] >= killed
            revived = Server(lambda conn: conn.close())
            try:
                raw["pools"]["web"][0]["port"] = revived.port
                state.apply_config(parse_config(raw, EXAMPLE.parent))
                back = time.monotonic()
                await _until(lambda: _up(state, "web1") is True, 2.0)
                return down_after, time.monotonic() - back
            finally:
                revived.close()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    down_after, up_after = asyncio.run(scenario())
    assert down_after <= 0.3 + 0.2  # fall 3 x interval 0.1, plus one timeout and slack
    assert up_after <= 1.0


def _up(state: LbState, name: str) -> bool | None:
    health = state.health.get("web", name)
    return None if health is None or health.checks < 3 else health.up


async def _until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


# ----- lbctl ----------------------------------------------------------------------------------
def test_lbctl_sets_checks_and_lists_health(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from controller.config import ApiConfig
    from tests.controller.test_api_cli import Daemon, lbctl

    with Daemon(ApiConfig(unix_socket=tmp_path / "lbd.sock")) as daemon:
        code, out, _ = lbctl(daemon, capsys, "health", "set", "web", "--kind", "http",
                             "--interval", "0.5", "--timeout", "0.2", "--fall", "1",
                             "--path", "/health", "--expect-status", "200",
                             "--expect-status", "204", "--slow-start", "5")
        assert code == 0 and out.startswith("ok")
        policy = daemon.state.config.health["web"]
        assert (policy.kind, policy.path, policy.expect_status, policy.slow_start_s) == \
            ("http", "/health", (200, 204), 5.0)
        daemon.state.check_result("web", "web1", False, "HTTP 503, expected 200 or 204")
        code, out, _ = lbctl(daemon, capsys, "backend", "list", "http")
        lines = out.splitlines()
        assert lines[0].split() == ["SERVICE", "BACKEND", "ADDRESS", "WEIGHT", "NOW", "STATE",
                                    "HEALTH", "SINCE(s)", "LAST", "CHECK"]
        web1 = next(line for line in lines if " web1 " in line).split()
        assert web1[:7] == ["http", "web1", "10.0.1.1:80", "1", "0", "active", "down"]
        assert "HTTP 503, expected 200 or 204" in out
        code, out, _ = lbctl(daemon, capsys, "--json", "stats")
        web1_stats = next(b for b in json.loads(out)[0]["backends"] if b["name"] == "web1")
        assert (web1_stats["health"], web1_stats["effective_weight"]) == ("down", 0)
        code, _, err = lbctl(daemon, capsys, "health", "set", "web", "--kind", "tcp",
                             "--interval", "1", "--timeout", "3")
        assert code == 1 and "check.timeout: 3.0 must be above 0 and at most the interval" \
            in err.replace("health_checks.web.", "check.")
        assert lbctl(daemon, capsys, "health", "del", "web")[0] == 0
        assert "web" not in daemon.state.config.health
        code, _, err = lbctl(daemon, capsys, "health", "del", "nopool")
        assert code == 1 and "unknown pool 'nopool'" in err


def test_passive_failures_count_like_failed_checks(clock: Clock) -> None:
    """What the splicer reports (a backend refusing it) feeds the same hysteresis."""
    state = checked_state(clock, fall=2)
    assert state.check_result("web", "web1", False, "splicer: refused") is None
    assert state.check_result("web", "web1", False, "splicer: refused") is False
    assert state.health.get("web", "web1").last_detail == "splicer: refused"
    assert state.check_result("unchecked-pool", "web1", False, "x") is None
