"""A bounded HTTP load over persistent connections, run inside a Mininet client host.

    python keepalive_load.py URL --connections N --interval S --timeout S --max-duration S

Opens N keep-alive connections (HTTP/1.1) one after another, each answered once, then prints
one JSON line ``{"ready": [...]}`` (per connection: local port and the backend that
answered).  Each connection then sends a request every ``interval`` seconds until a line (or
EOF) arrives on stdin, or ``max-duration`` passes, and the program prints one JSON line with,
per connection: its port, the backends that answered on it, the wall-clock times of its
answered requests and its failures (socket errors, timeouts, non-2xx answers).  A connection
never reconnects: after a failure it stops, so every failure is counted once and nothing
is hidden by a silent reconnection.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

PAGE_RE = re.compile(r"^backend (\S+) ")


@dataclass
class PersistentConnection:
    host: str
    port: int
    path: str
    timeout: float
    connection: http.client.HTTPConnection = field(init=False)
    local_port: int = 0
    backends: list[str] = field(default_factory=list)
    answered_at: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def open(self) -> None:
        self.connection = http.client.HTTPConnection(self.host, self.port,
                                                     timeout=self.timeout)
        self.connection.auto_open = 0  # a closed connection fails instead of reconnecting
        self.connection.connect()
        assert self.connection.sock is not None
        self.local_port = self.connection.sock.getsockname()[1]

    def request(self) -> bool:
        """One request; False (and the failure recorded) if it was not answered with 2xx."""
        try:
            self.connection.request("GET", self.path)
            response = self.connection.getresponse()
            body = response.read().decode(errors="replace")
        except (OSError, http.client.HTTPException) as error:
            self.failures.append(f"{time.time():.3f} {type(error).__name__}: {error}")
            return False
        if not 200 <= response.status < 300:
            self.failures.append(f"{time.time():.3f} HTTP {response.status}")
            return False
        match = PAGE_RE.match(body)
        name = match.group(1) if match else "?"
        if name not in self.backends:
            self.backends.append(name)
        self.answered_at.append(time.time())
        return True

    def report(self) -> dict[str, object]:
        return {"port": self.local_port, "backends": self.backends,
                "answered_at": self.answered_at, "failures": self.failures}


def stop_on_input(stop: threading.Event) -> None:
    sys.stdin.readline()  # a line, or EOF when the test goes away
    stop.set()


def run(url: str, count: int, interval: float, timeout: float,
        max_duration: float) -> None:
    parts = urlsplit(url)
    host, port, path = parts.hostname or "", parts.port or 80, parts.path or "/"
    connections = [PersistentConnection(host, port, path, timeout) for _ in range(count)]
    for connection in connections:
        try:
            connection.open()
        except OSError as error:
            connection.failures.append(f"connect: {error}")
            continue
        connection.request()
    print(json.dumps({"ready": [c.report() for c in connections]}), flush=True)
    stop = threading.Event()
    threading.Thread(target=stop_on_input, args=(stop,), daemon=True).start()
    deadline = time.monotonic() + max_duration

    def keep_asking(connection: PersistentConnection) -> None:
        while not connection.failures and not stop.wait(interval) and \
                time.monotonic() < deadline:
            connection.request()

    threads = [threading.Thread(target=keep_asking, args=(c,)) for c in connections]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for connection in connections:
        connection.connection.close()
    print(json.dumps({"done": [c.report() for c in connections]}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=6)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--timeout", type=float, default=5.0,
                        help="seconds a request may take (socket timeout)")
    parser.add_argument("--max-duration", type=float, default=60.0)
    args = parser.parse_args()
    run(args.url, args.connections, args.interval, args.timeout, args.max_duration)


if __name__ == "__main__":
    main()
