"""Management API server and lbctl: protocol, auth, argument errors, tables and --json."""

import asyncio
import json
import os
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.api import ApiError, ApiServer
from controller.cli import main
from controller.config import ApiConfig, load_config
from controller.management import Management
from controller.state import FlowKey, LbState

EXAMPLE = Path(__file__).parents[2] / "controller" / "examples" / "lb.yaml"
TOKEN = "t0ken-for-the-tests-only"


class RecordingFabric:
    """Switch side of the management layer: counts pushes, reports fixed traffic."""

    def __init__(self) -> None:
        self.pushes = 0

    async def sync(self) -> dict[str, str]:
        self.pushes += 1
        return {"s1": "ok", "s2": "down (will reconcile on reconnect)"}

    async def traffic(self) -> dict[tuple[str, str], tuple[int, int]]:
        return {("http", ""): (10, 1500), ("http", "web1"): (4, 600)}


class Daemon:
    """An API server on its own event loop thread, as lbd runs it."""

    def __init__(self, api: ApiConfig) -> None:
        self.state = LbState(load_config(EXAMPLE))
        self.fabric = RecordingFabric()
        self.loop = asyncio.new_event_loop()
        lock = asyncio.Lock()
        self.server = ApiServer(api, Management(self.state, self.fabric, lock).handlers())
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> "Daemon":
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(5)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    with Daemon(ApiConfig(unix_socket=tmp_path / "run" / "lbd.sock")) as d:
        yield d


def lbctl(daemon: Daemon, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--socket", str(daemon.server.config.unix_socket), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_socket_is_private(daemon: Daemon) -> None:
    path = daemon.server.config.unix_socket
    assert path is not None
    mode = path.stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    assert path.stat().st_uid == os.getuid()


def test_second_daemon_on_the_same_socket_is_refused(daemon: Daemon) -> None:
    with pytest.raises(ApiError, match="another lbd is already serving"):
        asyncio.run(ApiServer(daemon.server.config, {}).start())
    assert daemon.server.config.unix_socket.exists()


def test_service_list_table_and_json(daemon: Daemon, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lbctl(daemon, capsys, "service", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["SERVICE", "VIRTUAL", "MODE", "SCHED", "PERSIST", "POOL",
                                "BACKENDS(WEIGHT)"]
    assert lines[1].split()[:6] == ["http", "10.0.0.100:80/tcp", "nat", "wlc",
                                    "300s/255.255.255.0", "web"]
    assert "web2(2)" in lines[1]
    code, out, _ = lbctl(daemon, capsys, "--json", "service", "list")
    services = json.loads(out)
    assert [s["name"] for s in services] == ["http", "cache"]
    assert services[1]["backends"][0] == {
        "name": "cache1", "address": "10.0.2.1", "port": 8080, "mac": "00:00:00:00:02:01",
        "egress_port": 2, "weight": 1, "state": "active", "health": "unchecked",
        "effective_weight": 1, "active": 0}


def test_changes_are_pushed(daemon: Daemon, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lbctl(daemon, capsys, "backend", "add", "http", "--name", "web3",
                         "--address", "10.0.1.3", "--port", "80", "--mac",
                         "00:00:00:00:01:03", "--egress-port", "servers", "--weight", "3")
    assert code == 0 and out.splitlines()[0] == "ok"
    assert "switch s2: down" in out
    assert daemon.fabric.pushes == 1
    assert lbctl(daemon, capsys, "backend", "weight", "http", "web3", "5")[0] == 0
    assert lbctl(daemon, capsys, "backend", "drain", "http", "web1")[0] == 0
    web = {b.name: b.weight for b in daemon.state.config.pools["web"]}
    assert web == {"web1": 0, "web2": 2, "web3": 5}
    assert lbctl(daemon, capsys, "backend", "del", "http", "web3")[0] == 0
    assert lbctl(daemon, capsys, "service", "add", "dns", "--vip", "10.0.0.53", "--port",
                 "53", "--protocol", "udp", "--scheduler", "sh", "--pool", "resolvers",
                 "--persistence", "60", "--netmask", "24")[0] == 0
    assert daemon.state.service("dns").persistence is not None
    assert lbctl(daemon, capsys, "service", "del", "cache")[0] == 0
    assert [s.name for s in daemon.state.config.services] == ["http", "dns"]
    assert daemon.fabric.pushes == 6


def test_server_errors_exit_1(daemon: Daemon, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = lbctl(daemon, capsys, "backend", "drain", "http", "ghost")
    assert (code, out) == (1, "")
    assert err == "lbctl: service 'http' (pool 'web') has no backend 'ghost'\n"
    code, _, err = lbctl(daemon, capsys, "service", "add", "dup", "--vip", "10.0.0.100",
                         "--port", "80", "--pool", "web")
    assert code == 1 and "already used by service 'http'" in err
    assert daemon.fabric.pushes == 0


@pytest.mark.parametrize("args", [
    ["service", "add", "x", "--vip", "10.0.0.300", "--port", "80", "--pool", "p"],
    ["service", "add", "x", "--vip", "10.0.0.3", "--port", "70000", "--pool", "p"],
    ["service", "add", "x", "--vip", "10.0.0.3", "--port", "80"],
    ["backend", "weight", "http", "web1", "heavy"],
    ["service", "add", "x", "--vip", "10.0.0.3", "--port", "80", "--pool", "p",
     "--netmask", "24"],
    ["backend", "add", "http", "--address", "10.0.1.9", "--port", "80", "--mac",
     "00:00:00:00:00:01"],
    ["backend", "weight", "http", "web1", "-1"],
    ["frobnicate"],
    [],
])
def test_usage_errors_exit_2(daemon: Daemon, capsys: pytest.CaptureFixture[str],
                             args: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        lbctl(daemon, capsys, *args)
    assert info.value.code == 2
    assert "usage: lbctl" in capsys.readouterr().err


def test_stats_and_conns(daemon: Daemon, capsys: pytest.CaptureFixture[str]) -> None:
    from ipaddress import IPv4Address
    daemon.state.schedule("s1", FlowKey(IPv4Address("192.0.2.1"), 5555,
                                        IPv4Address("10.0.0.100"), 80, 6))
    code, out, _ = lbctl(daemon, capsys, "--json", "stats", "http")
    (http,) = json.loads(out)
    assert (http["packets"], http["bytes"], http["active"]) == (10, 1500, 1)
    assert http["backends"][0]["packets"] == 4
    code, out, _ = lbctl(daemon, capsys, "stats")
    assert out.splitlines()[0].split() == ["SERVICE", "BACKEND", "STATE", "HEALTH", "ACTIVE",
                                           "PACKETS", "BYTES"]
    assert out.splitlines()[1].split() == ["http", "1", "10", "1500"]
    code, out, _ = lbctl(daemon, capsys, "conns")
    assert "192.0.2.1:5555" in out and "10.0.0.100:80" in out and "controller" in out
    code, out, _ = lbctl(daemon, capsys, "--json", "conns", "--service", "cache")
    assert json.loads(out) == []
    assert lbctl(daemon, capsys, "stats", "nope")[0] == 1


def test_config_apply_all_or_nothing(daemon: Daemon, capsys: pytest.CaptureFixture[str],
                                     tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("10.0.0.101", "10.0.0.300")
                   .replace("scheduler: wlc", "scheduler: best"))
    code, _, err = lbctl(daemon, capsys, "config", "apply", str(bad))
    assert code == 1
    assert "services[1].vip: '10.0.0.300' is not an IPv4 address" in err
    assert "services[0].scheduler: 'best' is not one of" in err
    assert daemon.state.config.services[0].scheduler == "wlc" and daemon.fabric.pushes == 0
    good = tmp_path / "good.yaml"
    good.write_text(EXAMPLE.read_text().replace("scheduler: wlc", "scheduler: sed"))
    assert lbctl(daemon, capsys, "config", "apply", str(good))[0] == 0
    assert daemon.state.config.services[0].scheduler == "sed"
    assert lbctl(daemon, capsys, "config", "apply", str(tmp_path / "none.yaml"))[0] == 1


def test_unreachable_daemon(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--socket", str(tmp_path / "nothing.sock"), "service", "list"]) == 1
    assert "cannot connect to lbd" in capsys.readouterr().err


def raw_exchange(path: Path, payload: bytes) -> list[dict]:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return [json.loads(line) for line in data.splitlines()]


def test_garbage_gets_errors_not_a_crash(daemon: Daemon) -> None:
    path = daemon.server.config.unix_socket
    assert path is not None
    replies = raw_exchange(path, b"not json\n[1]\n{\"method\": 3}\n"
                           b"{\"method\": \"stats\", \"params\": []}\n\xff\xfe\n"
                           b"{\"method\": \"backend.weight\", \"params\": "
                           b"{\"service\": \"http\", \"backend\": \"web1\", \"weight\": \"x\"}}\n"
                           b"{\"method\": \"service.list\"}\n")
    assert [r["ok"] for r in replies] == [False] * 6 + [True]
    assert replies[0]["error"].startswith("request is not JSON")
    assert replies[2]["error"].startswith("unknown method 3; known: backend.add")
    assert replies[5]["error"] == "weight: 'x' is not an integer"


def test_tcp_requires_token(capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LBCTL_TOKEN", raising=False)
    with Daemon(ApiConfig(unix_socket=None, tcp_port=0, token=TOKEN)) as daemon:
        # port 0: the OS picks a free port
        port = str(daemon.server.port)
        assert main(["--tcp-port", port, "--token", TOKEN, "service", "list"]) == 0
        assert main(["--tcp-port", port, "--token", "wrong-token-value", "stats"]) == 1
        assert "missing or wrong token" in capsys.readouterr().err
        with pytest.raises(SystemExit) as info:
            main(["--tcp-port", port, "service", "list"])
        assert info.value.code == 2
