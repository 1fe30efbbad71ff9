"""Fixtures of the tests that run lbd against a real switch (switch_rig.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from switch_rig import BIN, CLIENT_IF, NS, REPO, SERVER_IF, sh


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    compiler = BIN / "p4sim-compile"
    out = tmp_path_factory.mktemp("lb")
    json_path, p4info_path = out / "lb.json", out / "lb.p4info.txtpb"
    result = subprocess.run([str(compiler), str(REPO / "p4src" / "lb.p4"), "-o", str(json_path),
                             "--p4runtime-files", str(p4info_path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"p4sim-compile failed:\n{result.stderr}"
    return json_path, p4info_path


@pytest.fixture(scope="module")
def namespace() -> Iterator[str]:
    subprocess.run(["ip", "netns", "del", NS], capture_output=True, check=False)
    sh("ip", "netns", "add", NS)
    try:
        for name in (CLIENT_IF, SERVER_IF):
            sh("ip", "link", "add", name, "type", "veth", "peer", "name", f"{name}p")
            sh("ip", "link", "set", f"{name}p", "netns", NS)
            # no IPv6 autoconfiguration chatter on the test links
            sh("sysctl", "-qw", f"net.ipv6.conf.{name}.disable_ipv6=1")
            sh("ip", "netns", "exec", NS, "sysctl", "-qw",
               f"net.ipv6.conf.{name}p.disable_ipv6=1")
            sh("ip", "link", "set", name, "up")
            sh("ip", "netns", "exec", NS, "ip", "link", "set", f"{name}p", "up")
        yield NS
    finally:
        for name in (CLIENT_IF, SERVER_IF):
            subprocess.run(["ip", "link", "del", name], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", NS], capture_output=True, check=False)
