"""Run PTF tests against a P4Runtime switch inside a throw-away network namespace.

    .venv/bin/python tests/ptf/base/launcher.py --p4 tests/ptf/smoke/basic.p4 \
        --test-dir tests/ptf/smoke [--target embedded|bmv2] [--ports 4] [TEST ...]

Steps: compile the program (``p4sim-compile``, or ``p4c-bm2-ss`` for ``--target bmv2``), create
a namespace with one veth pair per port (switch end ``<ns>s<i>``, PTF end ``<ns>t<i>``), start
the switch there with ``--no-p4`` and gRPC on 127.0.0.1, run ``ptf`` in the same namespace
(the tests push the pipeline, see base/p4runtime_test.py), then remove everything.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from topologies.p4build import BuildError, compile_program, venv_tool
from topologies.switch_process import (
    SwitchConfig,
    SwitchError,
    SwitchProcess,
    Target,
    bmv2_available,
)

PTF_DIR = Path(__file__).resolve().parent.parent  # tests/ptf: holds the `base` package
GRPC_PORT = 9559  # the namespace is private, so the standard port is free


class LaunchError(RuntimeError):
    """The test network could not be built."""


@dataclass(frozen=True)
class PtfResult:
    returncode: int
    output: str
    log_dir: Path


class TestNetwork:
    """A namespace holding ``ports`` veth pairs; ``with`` removes it (and the veths) on exit."""

    def __init__(self, ports: int, tag: str | None = None) -> None:
        self.tag = tag or secrets.token_hex(2)
        self.namespace = f"ptf{self.tag}"
        self.ports = ports

    def switch_intf(self, port: int) -> str:
        return f"{self.namespace}s{port}"

    def test_intf(self, port: int) -> str:
        return f"{self.namespace}t{port}"

    @property
    def exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.namespace]

    def _ip(self, *args: str) -> None:
        result = subprocess.run(["ip", "-n", self.namespace, *args], capture_output=True,
                                text=True, check=False)
        if result.returncode != 0:
            raise LaunchError(f"ip {' '.join(args)}: {result.stderr.strip()}")

    def __enter__(self) -> TestNetwork:
        result = subprocess.run(["ip", "netns", "add", self.namespace], capture_output=True,
                                text=True, check=False)
        if result.returncode != 0:
            raise LaunchError(f"cannot create namespace {self.namespace}: {result.stderr.strip()}")
        try:
            self._ip("link", "set", "lo", "up")
            # No IPv6 chatter (router solicitations, DAD) on the test ports.
            subprocess.run([*self.exec_prefix, "sysctl", "-qw",
                            "net.ipv6.conf.all.disable_ipv6=1",
                            "net.ipv6.conf.default.disable_ipv6=1"], check=True)
            for port in range(self.ports):
                self._ip("link", "add", self.switch_intf(port), "type", "veth",
                         "peer", "name", self.test_intf(port))
                for intf in (self.switch_intf(port), self.test_intf(port)):
                    self._ip("link", "set", intf, "mtu", "9500", "up")
        except BaseException:
            self.remove()
            raise
        return self

    def remove(self) -> None:
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, check=False)

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


def run_ptf(p4_path: Path, test_dir: Path, *, target: Target = Target.EMBEDDED, ports: int = 4,
            cpu_port: int | None = None, test_specs: Sequence[str] = (),
            log_dir: Path | None = None, include_dirs: Sequence[Path] = (),
            extra_params: dict[str, str | int] | None = None, timeout: float = 150.0) -> PtfResult:
    """Compile, build the namespace, start the switch, run ``ptf``; always cleans up."""
    if os.geteuid() != 0:
        raise LaunchError("PTF needs root (raw sockets and network namespaces)")
    if target is Target.BMV2 and not bmv2_available():
        raise LaunchError("simple_switch_grpc is not installed")
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="ptf-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    files = compile_program(p4_path, log_dir / "build", target, include_dirs)
    with TestNetwork(ports) as network:
        switch = SwitchProcess(
            SwitchConfig(target=target, ports=[(p, network.switch_intf(p)) for p in range(ports)],
                         grpc_port=GRPC_PORT, cpu_port=cpu_port,
                         pcap_dir=str(log_dir / "pcap")),
            log_dir / "switch.log", prefix=network.exec_prefix)
        switch.start()
        try:
            params: dict[str, str | int] = {"grpcaddr": f"127.0.0.1:{GRPC_PORT}", "device_id": 0,
                                            "p4info": str(files.p4info_path),
                                            "config": str(files.json_path)}
            if cpu_port is not None:
                params["cpu_port"] = cpu_port
            params.update(extra_params or {})
            argv = [*network.exec_prefix, venv_tool("ptf"), "--test-dir", str(test_dir),
                    "--pypath", str(PTF_DIR), "--log-dir", str(log_dir / "ptf"),
                    "--test-params", ";".join(f"{k}={v!r}" for k, v in params.items())]
            for port in range(ports):
                argv += ["--interface", f"{port}@{network.test_intf(port)}"]
            argv += list(test_specs)
            try:
                result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                        check=False)
                returncode, output = result.returncode, result.stdout + result.stderr
            except subprocess.TimeoutExpired as expired:
                returncode = -1
                partial = expired.stdout or b""
                output = f"ptf timed out after {timeout:.0f}s\n" + (
                    partial.decode(errors="replace") if isinstance(partial, bytes) else partial)
        finally:
            switch.stop()
    (log_dir / "ptf-output.txt").write_text(output)
    return PtfResult(returncode, output, log_dir)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--p4", type=Path, required=True, help="P4_16 v1model program")
    parser.add_argument("--test-dir", type=Path, required=True, help="directory of PTF tests")
    parser.add_argument("--target", choices=[t.value for t in Target], default="embedded")
    parser.add_argument("--ports", type=int, default=4, help="data-plane ports 0..N-1")
    parser.add_argument("--cpu-port", type=int, default=None)
    parser.add_argument("-I", dest="include_dirs", type=Path, action="append", default=[])
    parser.add_argument("--log-dir", type=Path, default=None)
    parser.add_argument("tests", nargs="*", help="PTF test specs (default: all in --test-dir)")
    args = parser.parse_args(argv)
    if not 1 <= args.ports <= 64:
        parser.error("--ports must be between 1 and 64")
    try:
        result = run_ptf(args.p4, args.test_dir, target=Target(args.target), ports=args.ports,
                         cpu_port=args.cpu_port, test_specs=args.tests, log_dir=args.log_dir,
                         include_dirs=args.include_dirs)
    except (LaunchError, BuildError, SwitchError) as error:
        print(f"launcher: {error}", file=sys.stderr)
        return 2
    print(result.output)
    print(f"logs: {result.log_dir}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
