"""Launching a P4Runtime switch process: the embedded ``p4sim-switch`` or BMv2's
``simple_switch_grpc``.

Both targets take the same main options (``-i port@intf``, ``--device-id``, ``--log-console``,
``--pcap``) but differ in where the CPU port goes: BMv2 reads ``--cpu-port`` as a target option
after ``--``, ``p4sim-switch`` before it.  The Mininet switch class and the PTF launcher share
this module so that both start switches the same way and fail the same way (with the log tail).
"""

from __future__ import annotations

import enum
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

EMBEDDED_SWITCH = "p4sim-switch"
BMV2_SWITCH = "simple_switch_grpc"
OFFLOAD_ENV = "P4SIM_OFFLOAD"
"""``0``/``off``: start ``p4sim-switch`` with ``--no-offload`` (the tests run both ways)."""


def offload_default() -> bool:
    """Whether embedded switches use their offload path (GSO, batches) unless told."""
    return os.environ.get(OFFLOAD_ENV, "1").strip().lower() not in ("0", "off", "no", "false")


class SwitchError(RuntimeError):
    """The switch could not be started or did not come up."""


class Target(enum.StrEnum):
    EMBEDDED = "embedded"
    BMV2 = "bmv2"


def embedded_switch_path() -> str:
    """The venv's ``p4sim-switch`` next to the running interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / EMBEDDED_SWITCH
    if beside.exists():
        return str(beside)
    found = shutil.which(EMBEDDED_SWITCH)
    if found is None:
        raise SwitchError(f"{EMBEDDED_SWITCH} not found (run scripts/setup.sh)")
    return found


def bmv2_available() -> bool:
    return shutil.which(BMV2_SWITCH) is not None


@dataclass(frozen=True)
class SwitchConfig:
    """Everything that goes on a switch's command line."""

    target: Target
    ports: Sequence[tuple[int, str]]
    grpc_port: int
    device_id: int = 0
    json_path: str | None = None  # None: --no-p4, the controller pushes the program
    cpu_port: int | None = None
    pcap_dir: str | None = None
    log_level: str | None = None
    thrift_port: int | None = None  # BMv2 only: several BMv2 instances need distinct ones
    grpc_host: str = "127.0.0.1"
    extra_args: Sequence[str] = field(default_factory=tuple)
    offload: bool = field(default_factory=offload_default)
    """Embedded only: GSO super-segments and partial checksums on the ports (BMv2 has none:
    its links need the hosts' offloads off)."""

    @property
    def uses_offload(self) -> bool:
        return self.target is Target.EMBEDDED and self.offload

    @property
    def grpc_addr(self) -> str:
        return f"{self.grpc_host}:{self.grpc_port}"

    def argv(self) -> list[str]:
        if self.target is Target.EMBEDDED:
            argv = [embedded_switch_path()]
        else:
            found = shutil.which(BMV2_SWITCH)
            if found is None:
                raise SwitchError(f"{BMV2_SWITCH} is not installed")
            argv = [found]
        for port, intf in self.ports:
            argv += ["-i", f"{port}@{intf}"]
        argv += ["--device-id", str(self.device_id), "--log-console"]
        if self.log_level is not None:
            argv += ["--log-level", self.log_level]
        if self.pcap_dir is not None:
            argv += ["--pcap", self.pcap_dir]
        if self.target is Target.BMV2 and self.thrift_port is not None:
            argv += ["--thrift-port", str(self.thrift_port)]
        if self.target is Target.EMBEDDED and self.cpu_port is not None:
            argv += ["--cpu-port", str(self.cpu_port)]
        if self.target is Target.EMBEDDED and not self.offload:
            argv.append("--no-offload")
        argv += list(self.extra_args)
        argv.append(self.json_path if self.json_path is not None else "--no-p4")
        argv += ["--", "--grpc-server-addr", self.grpc_addr]
        if self.target is Target.BMV2 and self.cpu_port is not None:
            argv += ["--cpu-port", str(self.cpu_port)]
        return argv


def port_accepts(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class SwitchProcess:
    """One running switch; ``prefix`` wraps the command, e.g. ``ip netns exec NS``."""

    def __init__(self, config: SwitchConfig, log_path: Path, prefix: Sequence[str] = ()) -> None:
        self.config = config
        self.log_path = log_path
        self._prefix = list(prefix)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, ready_timeout: float = 20.0) -> None:
        """Start the switch and return once its gRPC port accepts connections."""
        if self.config.pcap_dir is not None:
            os.makedirs(self.config.pcap_dir, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        argv = self._prefix + self.config.argv()
        with open(self.log_path, "wb") as log:
            log.write(("# " + " ".join(argv) + "\n").encode())
            log.flush()
            # A session of its own, so that Ctrl-C in the terminal reaches us, not the switch.
            self._process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.wait_ready(ready_timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise SwitchError(f"switch exited during startup (see {self.log_path}):\n"
                                  + log_tail(self.log_path))
            if self._grpc_accepts():
                return
            time.sleep(0.1)
        self.stop()
        raise SwitchError(
            f"switch gRPC {self.config.grpc_addr} not up after {timeout:.0f}s "
            f"(see {self.log_path}):\n{log_tail(self.log_path)}"
        )

    def _grpc_accepts(self) -> bool:
        if not self._prefix:
            return port_accepts(self.config.grpc_host, self.config.grpc_port)
        # The switch lives in another network namespace: probe from inside it.
        probe = (
            "import socket,sys\n"
            "try:\n"
            f"    socket.create_connection(({self.config.grpc_host!r}, {self.config.grpc_port}),"
            " timeout=0.2).close()\n"
            "except OSError:\n"
            "    sys.exit(1)\n"
        )
        result = subprocess.run(self._prefix + [sys.executable, "-c", probe], check=False,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return result.returncode == 0

    def stop(self, grace: float = 5.0, signum: signal.Signals = signal.SIGTERM) -> None:
        """``signum``, then SIGKILL after ``grace`` seconds; the process group goes with it."""
        process = self._process
        if process is None:
            return
        self._process = None
        if process.poll() is None:
            try:
                os.killpg(process.pid, signum)
            except ProcessLookupError:
                return
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
