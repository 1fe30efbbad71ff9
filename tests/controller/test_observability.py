"""/metrics, the dashboard's files and JSON, and lbctl top, against lbd's real management
listener (TCP with a token, and the Unix socket), its real state and switch agents (no
switch connected: traffic counters read as zero, everything else is live)."""

from __future__ import annotations

import asyncio
import dataclasses
import http.client
import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from controller.api import ApiServer, call
from controller.cli import main
from controller.config import ApiConfig, PipelineConfig, load_config
from controller.fabric import SwitchFabric
from controller.http import HttpFrontend
from controller.management import Management
from controller.observe import Observer
from controller.state import FlowKey, LbState

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "controller" / "examples" / "lb.yaml"
TOKEN = "metrics-t0ken-for-the-tests"


class Lbd:
    """lbd's listener, management layer, observer and switch agents on a loop thread."""

    def __init__(self, api: ApiConfig, pipeline: PipelineConfig) -> None:
        config = dataclasses.replace(load_config(EXAMPLE), pipeline=pipeline)
        self.state = LbState(config)
        self.loop = asyncio.new_event_loop()
        lock = asyncio.Lock()
        self.fabric = SwitchFabric(config, self.state, lock)
        management = Management(self.state, self.fabric, lock)
        observer = Observer(management, self.state, self.fabric.agents)
        self.server = ApiServer(api, {**management.handlers(), "observe": observer.snapshot},
                                HttpFrontend(api, observer.snapshot, observer.metrics))
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> Lbd:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(5)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(5)
        asyncio.run_coroutine_threadsafe(_cancel_others(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    def get(self, path: str, headers: dict[str, str] | None = None,
            method: str = "GET") -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=5)
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        response.read()
        conn.close()
        return response

    def metrics(self) -> dict[str, list[tuple[dict[str, str], float]]]:
        """Samples by name, parsed with prometheus_client's text parser."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=5)
        conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type", "").startswith("text/plain; version=0.0.4")
        text = response.read().decode()
        samples: dict[str, list[tuple[dict[str, str], float]]] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples.setdefault(sample.name, []).append((sample.labels, sample.value))
        return samples


async def _cancel_others() -> None:
    """End what still runs on the loop (a browser's keep-alive connection), as
    asyncio.run does when lbd exits."""
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> PipelineConfig:
    """p4src/lb.p4 compiled (the switch agents load its P4Info)."""
    out = tmp_path_factory.mktemp("lb")
    json_path, p4info_path = out / "lb.json", out / "lb.p4info.txtpb"
    subprocess.run([str(REPO / ".venv" / "bin" / "p4sim-compile"), str(REPO / "p4src" / "lb.p4"),
                    "-o", str(json_path), "--p4runtime-files", str(p4info_path)],
                   check=True, capture_output=True)
    return PipelineConfig(p4info=p4info_path, bmv2_json=json_path)


@pytest.fixture
def lbd(pipeline: PipelineConfig) -> Iterator[Lbd]:
    with Lbd(ApiConfig(unix_socket=None, tcp_port=0, token=TOKEN), pipeline) as daemon:
        yield daemon


def value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str,
          **labels: str) -> float:
    found = [v for got, v in samples.get(name, []) if all(got.get(k) == x
                                                            for k, x in labels.items())]
    assert len(found) == 1, (name, labels, samples.get(name))
    return found[0]


def test_without_the_token_everything_is_refused(lbd: Lbd) -> None:
    for path in ("/", "/metrics", "/api/observe", "/dashboard.js", "/nowhere"):
        missing = lbd.get(path)
        assert missing.status == 401, path
        assert missing.getheader("WWW-Authenticate") == 'Bearer realm="lbd"'
        assert lbd.get(path, {"Authorization": "Bearer wrong-token-xxxxxxxx"}).status == 403
        assert lbd.get(f"{path}?token=wrong").status == 403
        assert lbd.get(path, {"Cookie": f"p4lb_token_0=wrong; other={TOKEN}"}).status == 403
    # one right and one wrong token is still refused
    assert lbd.get(f"/metrics?token={TOKEN}",
                   {"Authorization": "Bearer nope"}).status == 403


def test_page_with_token_sets_a_cookie_and_drops_the_token_from_the_url(lbd: Lbd) -> None:
    entered = lbd.get(f"/?token={TOKEN}")
    assert entered.status == 303 and entered.getheader("Location") == "/"
    cookie = entered.getheader("Set-Cookie", "")
    assert cookie.startswith(f"p4lb_token_0={TOKEN};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    headers = {"Cookie": cookie.split(";")[0]}
    page = http.client.HTTPConnection("127.0.0.1", lbd.server.port, timeout=5)
    for path, kind in (("/", "text/html"), ("/dashboard.js", "text/javascript"),
                       ("/dashboard.css", "text/css"), ("/api/observe", "application/json")):
        page.request("GET", path, headers=headers)  # one keep-alive connection
        response = page.getresponse()
        body = response.read()
        assert response.status == 200, path
        assert response.getheader("Content-Type", "").startswith(kind)
        assert "default-src 'self'" in response.getheader("Content-Security-Policy", "")
        if path == "/":
            assert b'<script src="/dashboard.js"' in body
        if path == "/api/observe":
            snapshot = json.loads(body)
            assert [s["name"] for s in snapshot["services"]] == ["http", "cache"]
    page.close()
    head = lbd.get("/metrics", {"Authorization": f"Bearer {TOKEN}"}, method="HEAD")
    assert head.status == 200
    assert lbd.get("/metrics", {"Authorization": f"Bearer {TOKEN}"}, method="POST").status \
        == 405
    assert lbd.get("/nowhere", {"Authorization": f"Bearer {TOKEN}"}).status == 404


def test_metrics_follow_the_state(lbd: Lbd, capsys: pytest.CaptureFixture[str]) -> None:
    before = lbd.metrics()
    assert value(before, "p4lb_backend_weight", service="http", backend="web2") == 2
    assert value(before, "p4lb_backend_state", service="http", backend="web1",
                 state="active") == 1
    assert value(before, "p4lb_backend_connections_total", service="http",
                 backend="web1") == 0
    assert value(before, "p4lb_service_info", service="http", vip="10.0.0.100",
                 mode="nat", scheduler="wlc") == 1
    assert value(before, "p4lb_switch_connected", switch="s1") == 0
    assert value(before, "p4lb_packet_ins_total", switch="s1", reason="new_connection") == 0
    assert value(before, "p4lb_splicer_syn_cookies_sent_total", switch="s1") == 0
    assert "process_cpu_seconds_total" in before

    flow = FlowKey(IPv4Address("192.168.1.7"), 40000, IPv4Address("10.0.0.100"), 80, 6)
    agent = lbd.fabric.agents[0]

    async def traffic() -> None:
        lbd.state.pin("s1", flow, "web1", "controller")
        agent.meter.packet_in(1)
        agent.meter.packet_in(99)
        agent.meter.write("insert", 0.002, None)
        agent.meter.write("modify", 0.3, "NOT_FOUND")
        agent.splicing.splicer.counters.update({"syn_cookies": 3, "http_400": 1,
                                                "resets": 2})

    asyncio.run_coroutine_threadsafe(traffic(), lbd.loop).result(5)
    assert main(["--tcp-port", str(lbd.server.port), "--token", TOKEN, "backend", "drain",
                 "http", "web2"]) == 0
    capsys.readouterr()
    after = lbd.metrics()
    assert value(after, "p4lb_backend_connections_total", service="http", backend="web1") == 1
    assert value(after, "p4lb_backend_active_connections", service="http",
                 backend="web1") == 1
    assert value(after, "p4lb_backend_weight", service="http", backend="web2") == 0
    assert value(after, "p4lb_backend_state", service="http", backend="web2",
                 state="draining") == 1
    assert value(after, "p4lb_packet_ins_total", switch="s1", reason="new_connection") == 1
    assert value(after, "p4lb_packet_ins_total", switch="s1", reason="other") == 1
    assert value(after, "p4lb_p4runtime_write_duration_seconds_count", switch="s1",
                 operation="insert") == 1
    assert value(after, "p4lb_p4runtime_write_duration_seconds_bucket", switch="s1",
                 operation="modify", le="0.25") == 0
    assert value(after, "p4lb_p4runtime_write_duration_seconds_bucket", switch="s1",
                 operation="modify", le="0.5") == 1
    assert value(after, "p4lb_p4runtime_write_errors_total", switch="s1", operation="modify",
                 code="NOT_FOUND") == 1
    assert value(after, "p4lb_splicer_syn_cookies_sent_total", switch="s1") == 3
    assert value(after, "p4lb_splicer_parse_errors_total", switch="s1", status="400") == 1
    assert value(after, "p4lb_splicer_events_total", switch="s1", event="resets") == 2


def test_bad_http_gets_an_error_and_the_listener_keeps_serving(lbd: Lbd) -> None:
    for garbage in (b"GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n",
                    b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X: " + b"a" * 70000 + b"\r\n",
                    b"GET /metrics HTTP/1.1\r\nContent-Length: nope\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", lbd.server.port), timeout=5) as sock:
            sock.sendall(garbage)
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 4"), answer
    with socket.create_connection(("127.0.0.1", lbd.server.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n")  # and no more: the peer closed mid-head
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(4096).startswith(b"HTTP/1.1 400")
    # the JSON API still answers on the same port
    assert call("switch.list", {}, tcp_port=lbd.server.port, token=TOKEN)[0]["name"] == "s1"
    assert lbd.get("/metrics", {"Authorization": f"Bearer {TOKEN}"}).status == 200


def test_unix_socket_needs_no_token(tmp_path: Path, pipeline: PipelineConfig) -> None:
    path = tmp_path / "lbd.sock"
    with Lbd(ApiConfig(unix_socket=path), pipeline):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(path))
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: lbd\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        names = {f.name for f in text_string_to_metric_families(body.decode())}
        assert {"p4lb_backend_bytes", "p4lb_switch_synchronised"} <= names


def test_lbctl_top_frames(lbd: Lbd, capsys: pytest.CaptureFixture[str]) -> None:
    flow = FlowKey(IPv4Address("192.168.1.8"), 40001, IPv4Address("10.0.0.100"), 80, 6)
    assert main(["--tcp-port", str(lbd.server.port), "--token", TOKEN, "top", "--count", "1"]) \
        == 0
    first = capsys.readouterr().out
    assert "(rates from the next frame)" in first and "\x1b[" not in first
    for name in ("http", "web1", "web2", "cache1", "cache2", "switch s1: down"):
        assert name in first

    async def pin() -> None:
        lbd.state.pin("s1", flow, "web2", "controller")

    asyncio.run_coroutine_threadsafe(pin(), lbd.loop).result(5)
    assert main(["--tcp-port", str(lbd.server.port), "--token", TOKEN, "top", "--count", "2",
                 "--interval", "0.2"]) == 0
    frames = capsys.readouterr().out.split("lbd at ")[1:]
    assert len(frames) == 2
    web2 = next(line for line in frames[1].splitlines() if " web2 " in line).split()
    assert web2[:6] == ["web2", "2", "active", "unchecked", "1", "1"]  # weight, state, health
