"""Bookkeeping of running topologies, so that a killed run can be cleaned up afterwards.

Each run registers ``/tmp/p4lb-runs/<tag>.json``: the owner's pid, its run directory and every
process it started (pid plus kernel start time, so a recycled pid is never taken for ours).
Only what is listed there, root-namespace interfaces named ``lb<tag>...`` and the run's
monitoring namespaces (``lb<tag>mon<site>``, topologies/monitor.py) are ever removed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from topologies.monitor import remove_monitors

REGISTRY = Path("/tmp/p4lb-runs")
INTERFACE_PREFIX = "lb"


def _start_time(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])  # field 22: starttime


def _record_path(tag: str) -> Path:
    return REGISTRY / f"{tag}.json"


def _load(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def register(run_dir: Path, tag: str) -> None:
    REGISTRY.mkdir(parents=True, exist_ok=True)
    record = {"tag": tag, "owner": os.getpid(), "owner_start": _start_time(os.getpid()),
              "run_dir": str(run_dir), "pids": []}
    _record_path(tag).write_text(json.dumps(record))
    (run_dir / "tag").write_text(tag)


def record_pid(run_dir: Path, pid: int) -> None:
    tag = (run_dir / "tag").read_text().strip()
    path = _record_path(tag)
    record = _load(path)
    pids = record.setdefault("pids", [])
    assert isinstance(pids, list)
    pids.append([pid, _start_time(pid)])
    path.write_text(json.dumps(record))


def unregister(run_dir: Path) -> None:
    try:
        tag = (run_dir / "tag").read_text().strip()
    except OSError:
        return
    _record_path(tag).unlink(missing_ok=True)


def remove_interfaces(tag: str) -> list[str]:
    """Delete root-namespace interfaces of run ``tag``; returns their names."""
    listing = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                             check=False).stdout
    removed = []
    for line in listing.splitlines():
        name = line.split(":", 2)[1].strip().split("@", 1)[0]
        if name.startswith(f"{INTERFACE_PREFIX}{tag}"):
            subprocess.run(["ip", "link", "del", name], capture_output=True, check=False)
            removed.append(name)
    return removed


def _alive(pid: object, start: object) -> bool:
    return isinstance(pid, int) and start is not None and _start_time(pid) == start


def stale_runs() -> list[Path]:
    """Registered runs whose owner process is gone."""
    if not REGISTRY.exists():
        return []
    return [path for path in sorted(REGISTRY.glob("*.json"))
            if not _alive(_load(path).get("owner"), _load(path).get("owner_start"))]


def clean_run(path: Path) -> list[str]:
    """Kill the processes and remove the interfaces of one stale run; returns what it did."""
    record = _load(path)
    done = []
    pids = record.get("pids", [])
    for entry in pids if isinstance(pids, list) else []:
        if isinstance(entry, list) and len(entry) == 2 and _alive(entry[0], entry[1]):
            try:
                os.kill(entry[0], signal.SIGKILL)
                done.append(f"killed pid {entry[0]}")
            except ProcessLookupError:
                pass
    tag = record.get("tag")
    if isinstance(tag, str):
        done += [f"removed interface {name}" for name in remove_interfaces(tag)]
        done += [f"removed namespace {name}" for name in remove_monitors(tag)]
    path.unlink(missing_ok=True)
    return done
