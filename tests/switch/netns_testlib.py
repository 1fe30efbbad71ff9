"""Network namespaces for the switch tests: a switch namespace and a hosts namespace joined by
veth pairs, and raw sockets opened inside a namespace from the test process."""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
_libc = ctypes.CDLL(None, use_errno=True)
REPO = Path(__file__).resolve().parents[2]


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns failed")


@contextmanager
def inside(namespace: str) -> Iterator[None]:
    """Run the block with the calling thread in ``namespace`` (sockets stay there)."""
    with open("/proc/thread-self/ns/net") as original, \
            open(f"/var/run/netns/{namespace}") as target:
        _setns(target.fileno())
        try:
            yield
        finally:
            _setns(original.fileno())


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


def can_create_namespaces() -> bool:
    return os.geteuid() == 0 and subprocess.run(
        ["ip", "-V"], capture_output=True).returncode == 0


class Lab:
    """``<prefix>sw`` holds switch ports s1..sN, ``<prefix>h`` holds their peers h1..hN."""

    def __init__(self, prefix: str, ports: int) -> None:
        self.switch_ns = f"{prefix}sw"
        self.hosts_ns = f"{prefix}h"
        self.ports = ports
        for namespace in (self.switch_ns, self.hosts_ns):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
            ip("netns", "add", namespace)
        try:
            for i in range(1, ports + 1):
                ip("-n", self.switch_ns, "link", "add", f"s{i}", "type", "veth", "peer",
                   "name", f"h{i}", "netns", self.hosts_ns)
                for namespace, name in ((self.switch_ns, f"s{i}"), (self.hosts_ns, f"h{i}")):
                    subprocess.run(["ip", "netns", "exec", namespace, "sysctl", "-qw",
                                    f"net.ipv6.conf.{name}.disable_ipv6=1"],
                                   capture_output=True)
                    ip("-n", namespace, "link", "set", name, "up")
        except Exception:
            self.close()
            raise

    def host_socket(self, port: int) -> socket.socket:
        """A raw socket on the host end of a switch port."""
        with inside(self.hosts_ns):
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        sock.bind((f"h{port}", 0))
        sock.settimeout(0.2)
        return sock

    def start_switch(self, socket_path: Path, args: list[str]) -> subprocess.Popen[bytes]:
        """p4sim-switch with ``args`` in the switch namespace, gRPC on ``unix:socket_path``;
        returns once it listens (the process's stderr is a pipe)."""
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.switch_ns, sys.executable, "-m", "p4sim.switch.cli",
             *args, "--", "--grpc-server-addr", f"unix:{socket_path}"],
            stderr=subprocess.PIPE, cwd=REPO)
        deadline = time.monotonic() + 20
        while not socket_path.exists():
            if process.poll() is not None:
                raise AssertionError(process.stderr.read() if process.stderr else "")
            if time.monotonic() >= deadline:
                process.kill()
                process.wait()
                raise AssertionError("the switch did not start")
            time.sleep(0.05)
        return process

    def close(self) -> None:
        for namespace in (self.switch_ns, self.hosts_ns):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
