"""The dashboard in a real browser: headless Chromium (Debian's package, installed by
setup) opens lbd's page with the token, shows the configured backends, and shows a backend
drained with lbctl as draining without a reload.  Driven over the DevTools protocol; a
screenshot is kept in build/test-artifacts/dashboard.png."""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from controller.cli import main
from controller.config import ApiConfig, PipelineConfig
from tests.controller.test_observability import REPO, TOKEN, Lbd, pipeline  # noqa: F401

CHROMIUM = shutil.which("chromium")
ARTIFACTS = REPO / "build" / "test-artifacts"
ROWS = ("JSON.stringify([...document.querySelectorAll('tr[data-backend]')]"
        ".map(r => [r.dataset.service, r.dataset.backend, r.dataset.state]))")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                "(scripts/setup.sh installs it)")


class DevTools:
    """Just enough of the Chrome DevTools protocol: evaluate, screenshot."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self._ids = itertools.count(1)

    def command(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=10))
            if message.get("id") == ident:
                assert "error" not in message, message
                return message["result"]  # type: ignore[no-any-return]

    def evaluate(self, expression: str) -> Any:
        result = self.command("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def wait_for(self, expression: str, predicate: Any, timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if predicate(value):
                return value
            assert time.monotonic() < deadline, f"{expression} is still {value!r}"
            time.sleep(0.1)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    profile = tmp_path / "profile"
    assert CHROMIUM is not None
    process = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--no-first-run", f"--user-data-dir={profile}",
         "--remote-debugging-port=0", "--window-size=1280,900", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        process.kill()
        process.wait(10)


def page_socket(profile: Path) -> str:
    """The WebSocket of the browser's page, from the port Chromium chose."""
    active = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 20
    while not active.exists() or not active.read_text().strip():
        assert time.monotonic() < deadline, "chromium did not open its DevTools port"
        time.sleep(0.1)
    port = active.read_text().split()[0]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as reply:
        targets = json.load(reply)
    return next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")


def test_the_page_shows_the_backends_and_a_drain_without_reload(
        pipeline: PipelineConfig, browser: subprocess.Popen[bytes], tmp_path: Path,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    with Lbd(ApiConfig(unix_socket=None, tcp_port=0, token=TOKEN), pipeline) as lbd, \
            connect(page_socket(tmp_path / "profile"), max_size=2**26) as socket:
        tools = DevTools(socket)
        tools.command("Page.enable")
        tools.command("Page.navigate", url=f"http://127.0.0.1:{lbd.server.port}/?token={TOKEN}")
        rows = tools.wait_for(ROWS, lambda v: v and len(json.loads(v)) == 4)
        assert sorted(map(tuple, json.loads(rows))) == [
            ("cache", "cache1", "active"), ("cache", "cache2", "active"),
            ("http", "web1", "active"), ("http", "web2", "active")]
        assert tools.evaluate("location.search") == ""  # the token went into a cookie
        tools.evaluate("window.notReloaded = true")
        assert main(["--tcp-port", str(lbd.server.port), "--token", TOKEN,
                     "backend", "drain", "http", "web1"]) == 0
        assert capsys.readouterr().out.startswith("ok")
        tools.wait_for(ROWS, lambda v: ["http", "web1", "draining"] in json.loads(v))
        assert tools.evaluate("window.notReloaded") is True
        assert "draining" in tools.evaluate(
            "document.querySelector('tr[data-backend=\"web1\"] td.state').textContent")
        shot = tools.command("Page.captureScreenshot", format="png")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "dashboard.png").write_bytes(base64.b64decode(shot["data"]))
    assert (ARTIFACTS / "dashboard.png").read_bytes().startswith(b"\x89PNG")
