"""Running the load-balancer controller ``lbd`` for a topology, and asking it questions.

lbd runs in the root namespace (it reaches every switch on 127.0.0.1) with a generated config;
its management API is a Unix socket in the run directory, queried with ``lbctl``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from topologies.p4build import venv_tool
from topologies.switch_process import log_tail


class ControllerError(RuntimeError):
    """lbd did not start, or lbctl failed."""


class LbdProcess:
    def __init__(self, config_path: Path, api_socket: Path, log_path: Path) -> None:
        self.config_path = config_path
        self.api_socket = api_socket
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self, switches: Sequence[str] = (), timeout: float = 30.0,
              backup: bool = False) -> None:
        """Start lbd; returns once its API answers and it has programmed ``switches`` (or,
        ``backup``, is connected to each of them as a backup)."""
        argv = [venv_tool("lbd"), "--config", str(self.config_path)]
        with open(self.log_path, "ab") as log:
            log.write(("# " + " ".join(argv) + "\n").encode())
            log.flush()
            self._process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ControllerError(f"lbd exited (see {self.log_path}):\n"
                                      + log_tail(self.log_path))
            if self.api_socket.exists() and (self.backup_of(switches) if backup
                                             else self.synchronised(switches)):
                return
            time.sleep(0.2)
        self.stop()
        raise ControllerError(f"lbd not up with every switch synchronised after {timeout:.0f}s "
                              f"(see {self.log_path}):\n" + log_tail(self.log_path))

    def switch_status(self) -> dict[str, dict[str, Any]]:
        """``lbctl switch list``: name -> {connected, synchronised, status, ...}."""
        return {switch["name"]: switch for switch in self.lbctl_json("switch", "list")}

    def synchronised(self, switches: Sequence[str]) -> bool:
        """lbd answers and holds every one of ``switches`` connected and synchronised."""
        try:
            status = self.switch_status()
        except ControllerError:
            return False
        return all(status.get(name, {}).get("synchronised") is True for name in switches)

    def backup_of(self, switches: Sequence[str]) -> bool:
        """lbd answers and is connected to every one of ``switches`` as a backup."""
        try:
            status = self.switch_status()
        except ControllerError:
            return False
        return all(status.get(name, {}).get("role") == "backup" for name in switches)

    def lbctl(self, *args: str, timeout: float = 20.0) -> str:
        argv = [venv_tool("lbctl"), "--socket", str(self.api_socket), *args]
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                    check=False)
        except subprocess.TimeoutExpired:
            raise ControllerError(f"lbctl {' '.join(args)}: no answer in {timeout:.0f}s") from None
        if result.returncode != 0:
            raise ControllerError(f"lbctl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def lbctl_json(self, *args: str) -> Any:
        return json.loads(self.lbctl("--json", *args))

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """lbd's /metrics over its Unix socket (no token there), parsed by prometheus_client:
        sample value by (name, sorted labels)."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(10)
            sock.connect(str(self.api_socket))
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: lbd\r\nConnection: close\r\n\r\n")
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        head, _, body = reply.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise ControllerError(f"/metrics: {head[:200]!r}")
        return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
                for family in text_string_to_metric_families(body.decode())
                for sample in family.samples}


    def stop(self, grace: float = 5.0, signum: signal.Signals = signal.SIGTERM) -> None:
        """``signum`` (SIGTERM: lbd shuts down cleanly), then SIGKILL after ``grace``."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signum)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def metric(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
           **labels: str) -> float:
    """The sum of the samples called ``name`` that carry ``labels``."""
    return sum(v for (found, got), v in samples.items()
               if found == name and all((k, x) in got for k, x in labels.items()))
