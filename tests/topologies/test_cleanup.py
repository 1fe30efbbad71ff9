"""Cleaning up: a SIGTERM mid-run tears the topology down; a killed run's leftovers go too."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from topologies import runs


def interfaces_named(prefix: str) -> list[str]:
    listing = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                             check=True).stdout
    return [line.split(":", 2)[1].strip().split("@")[0] for line in listing.splitlines()
            if line.split(":", 2)[1].strip().startswith(prefix)]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("sigint", ["default", "ignored"])
def test_sigterm_during_a_run_removes_everything(as_root: None, sigint: str) -> None:
    """"ignored": started by a parent that ignores SIGINT (a SIG_IGN survives exec), as a
    run started from a test suite can be; the host commands must still stop."""
    disposition = signal.SIG_IGN if sigint == "ignored" else signal.SIG_DFL
    process = subprocess.Popen(
        [sys.executable, "-m", "topologies.single", "--mode", "nat", "--backends", "1",
         "--clients", "1", "--requests", "100000"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, disposition))
    assert process.stdout is not None
    first_line = process.stdout.readline()  # printed once everything runs
    assert first_line.startswith("run directory: "), first_line + process.stdout.read()
    run_dir = Path(first_line.split()[2])
    tag = (run_dir / "tag").read_text().strip()
    record = json.loads((runs.REGISTRY / f"{tag}.json").read_text())
    assert interfaces_named(f"lb{tag}")
    time.sleep(0.5)  # requests are flowing
    process.send_signal(signal.SIGTERM)
    try:
        output = process.communicate(timeout=60)[0]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, output
    assert not interfaces_named(f"lb{tag}")
    assert not (runs.REGISTRY / f"{tag}.json").exists()
    for pid, start in record["pids"]:
        assert runs._start_time(pid) != start, f"pid {pid} survived"


@pytest.mark.timeout(30)
def test_cleanup_removes_only_what_a_dead_run_registered(as_root: None, tmp_path: Path) -> None:
    tag = secrets.token_hex(2)
    ours = subprocess.Popen(["sleep", "60"])
    other = subprocess.Popen(["sleep", "60"])
    owner = subprocess.Popen(["true"])
    owner.wait()  # a run whose owner is gone
    subprocess.run(["ip", "link", "add", f"lb{tag}s1p1", "type", "veth", "peer", "name",
                    f"lb{tag}s1p2"], check=True)
    try:
        runs.REGISTRY.mkdir(parents=True, exist_ok=True)
        record_path = runs.REGISTRY / f"{tag}.json"
        record_path.write_text(json.dumps({
            "tag": tag, "owner": owner.pid, "owner_start": 1, "run_dir": str(tmp_path),
            "pids": [[ours.pid, runs._start_time(ours.pid)]]}))
        assert record_path in runs.stale_runs()
        done = runs.clean_run(record_path)
        assert f"killed pid {ours.pid}" in done
        assert ours.wait(5) == -signal.SIGKILL
        assert other.poll() is None
        assert not interfaces_named(f"lb{tag}")
        assert not record_path.exists()
    finally:
        for process in (ours, other):
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
        subprocess.run(["ip", "link", "del", f"lb{tag}s1p1"], capture_output=True, check=False)
