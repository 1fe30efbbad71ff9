"""A real web server inside a Mininet host: Debian's nginx, or Python's http.server without it.

Each server gets its own directory (config, pid, logs, document root), so several run side by
side in different namespaces.  The page names the backend, which is how the demo and the tests
see where the load balancer sent a request.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from topologies.tls_certs import TlsFiles

NGINX = "/usr/sbin/nginx"


class WebServerError(RuntimeError):
    """The server did not start or does not answer."""


def page_text(backend_name: str, address: str) -> str:
    return f"backend {backend_name} {address}\n"


@dataclass(frozen=True)
class HttpsSite:
    """HTTPS ports of an nginx server (certificate from topologies/tls_certs.py).

    Every nginx keeps a session cache (5 min) and issues tickets; on ``shared_ticket_ports``
    the ticket key is the shared ``files.ticket_key`` (any server of a pool resumes any
    session), elsewhere each nginx makes its own at start."""

    files: TlsFiles
    ports: tuple[int, ...]
    shared_ticket_ports: tuple[int, ...] = ()


def _https_servers(directory: Path, https: HttpsSite | None) -> str:
    if https is None:
        return ""
    blocks = []
    for port in (*https.ports, *https.shared_ticket_ports):
        shared = port in https.shared_ticket_ports
        ticket_key = f"ssl_session_ticket_key {https.files.ticket_key};" if shared else ""
        blocks.append(f"""
    server {{
        listen {port} ssl backlog=4096;
        ssl_certificate {https.files.cert};
        ssl_certificate_key {https.files.key};
        ssl_protocols TLSv1.2 TLSv1.3;  # nginx 1.22 leaves TLS 1.3 out by default
        ssl_session_cache shared:S{port}:1m;
        ssl_session_timeout 5m;
        ssl_session_tickets on;
        {ticket_key}
        root {directory / "www"};
        index index.html;
    }}""")
    return "".join(blocks)


def nginx_config(directory: Path, ports: Sequence[int], https: HttpsSite | None = None) -> str:
    logs = directory / "logs"
    listen = " ".join(f"listen {port} backlog=4096;" for port in ports)
    # Workers run as root: the per-run directories are private (0700) temporary directories.
    return f"""\
user root;
worker_processes 1;
daemon off;
pid {directory / "nginx.pid"};
error_log {logs / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    access_log {logs / "access.log"};
    client_body_temp_path {directory / "tmp"};
    proxy_temp_path {directory / "tmp"};
    fastcgi_temp_path {directory / "tmp"};
    uwsgi_temp_path {directory / "tmp"};
    scgi_temp_path {directory / "tmp"};
    default_type text/plain;
    keepalive_requests 100000;
    server {{
        {listen}
        root {directory / "www"};
        index index.html;
    }}{_https_servers(directory, https)}
}}
"""


class WebServer:
    """Web server processes in ``host`` (a Mininet node) serving ``index.html`` on ``ports``."""

    def __init__(self, host: Any, name: str, address: str, directory: Path,
                 ports: Sequence[int] = (80,), prefer_nginx: bool = True,
                 https: HttpsSite | None = None) -> None:
        self.host = host
        self.name = name
        self.address = address
        self.directory = directory
        self.ports = tuple(ports)
        self.kind = "nginx" if prefer_nginx and Path(NGINX).exists() else "http.server"
        self.https = https
        if https is not None and self.kind != "nginx":
            raise WebServerError(f"HTTPS on {name} needs nginx ({NGINX})")
        self._processes: list[subprocess.Popen[bytes]] = []

    @property
    def processes(self) -> list[subprocess.Popen[bytes]]:
        return list(self._processes)

    def start(self, timeout: float = 10.0) -> None:
        www = self.directory / "www"
        for sub in (www, self.directory / "logs", self.directory / "tmp"):
            sub.mkdir(parents=True, exist_ok=True)
        for directory in (www, www / "static"):  # "/" and "/static/" (l7 content rule)
            directory.mkdir(exist_ok=True)
            (directory / "index.html").write_text(page_text(self.name, self.address))
        if self.kind == "nginx":
            config = self.directory / "nginx.conf"
            config.write_text(nginx_config(self.directory, self.ports, self.https))
            commands = [[NGINX, "-c", str(config), "-p", str(self.directory)]]
        else:  # http.server listens on one port: one process per port
            commands = [[sys.executable, "-m", "http.server", str(port), "--bind", "0.0.0.0",
                         "--directory", str(www)] for port in self.ports]
        with open(self.directory / "logs" / "server.out", "wb") as log:
            for argv in commands:
                self._processes.append(self.host.popen(argv, stdout=log,
                                                       stderr=subprocess.STDOUT))
        try:
            for port in self.ports:
                self._wait_ready(port, timeout)
            if self.https is not None:
                for port in (*self.https.ports, *self.https.shared_ticket_ports):
                    self._wait_ready(port, timeout, https=True)
        except WebServerError:
            self.stop()
            raise

    def _wait_ready(self, port: int, timeout: float, https: bool = False) -> None:
        deadline = time.monotonic() + timeout
        expected = page_text(self.name, self.address).strip()
        url = f"https://127.0.0.1:{port}/ -k" if https else f"http://127.0.0.1:{port}/"
        while time.monotonic() < deadline:
            if any(process.poll() is not None for process in self._processes):
                break
            if self.host.cmd(f"curl -s -m 1 {url}").strip() == expected:
                return
            time.sleep(0.1)
        out = (self.directory / "logs" / "server.out").read_text(errors="replace")
        raise WebServerError(f"{self.kind} on {self.host.name}:{port} did not come up:\n{out}")

    def stop(self) -> None:
        processes, self._processes = self._processes, []
        for process in processes:
            if process.poll() is None:
                process.terminate()  # nginx: fast shutdown of master and workers
        for process in processes:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
