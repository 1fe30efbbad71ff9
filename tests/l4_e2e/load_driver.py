"""Running keepalive_load.py in a Mininet host and reading its reports."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("keepalive_load.py")


@dataclass(frozen=True)
class ConnectionReport:
    port: int
    backends: list[str]
    answered_at: list[float]
    failures: list[str]

    def answered_after(self, moment: float) -> int:
        return sum(1 for answered in self.answered_at if answered > moment)


class KeepaliveLoad:
    """``with KeepaliveLoad(host, url, ...) as load:`` start, ``load.ready()``, ...,
    ``load.finish()``; leaving kills the program if it is still running."""

    def __init__(self, host: Any, url: str, connections: int, interval: float = 0.1,
                 request_timeout: float = 5.0, max_duration: float = 60.0) -> None:
        self.argv = [sys.executable, str(SCRIPT), url, "--connections", str(connections),
                     "--interval", str(interval), "--timeout", str(request_timeout),
                     "--max-duration", str(max_duration)]
        self.host = host
        self.process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()

    def __enter__(self) -> KeepaliveLoad:
        self.process = self.host.popen(self.argv, stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True)
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _report(self, key: str, timeout: float) -> list[ConnectionReport]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"load: no {key!r} report in {timeout:.0f}s") from None
        if line is None:
            assert self.process is not None and self.process.stderr is not None
            raise AssertionError(f"load ended without {key!r}: {self.process.stderr.read()}")
        try:
            reports = json.loads(line)[key]
        except (ValueError, KeyError):
            raise AssertionError(f"load: {key!r} report expected, got {line!r}") from None
        return [ConnectionReport(**report) for report in reports]

    def ready(self, timeout: float = 30.0) -> list[ConnectionReport]:
        """Every connection opened and answered once (failures are in the reports)."""
        return self._report("ready", timeout)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def finish(self, timeout: float = 30.0) -> list[ConnectionReport]:
        """Stop the requests, close the connections, return the final reports."""
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write("stop\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # it has ended already: every connection failed, or its time was up
        reports = self._report("done", timeout)
        self.process.wait(timeout)
        return reports


def failures(reports: list[ConnectionReport]) -> list[str]:
    return [f"port {r.port}: {failure}" for r in reports for failure in r.failures]
