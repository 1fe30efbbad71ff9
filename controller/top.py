"""``lbctl top``: the ``observe`` snapshot as a table refreshed in place (docs/lbctl.md).

Each frame shows services, backends (weight, state, health, active connections) and the
rates since the previous frame; on a terminal it redraws over the last frame (ANSI cursor
home and clear), otherwise frames follow each other, so ``--count`` output can be read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO

from controller.cli import format_table

HOME_AND_CLEAR = "\x1b[H\x1b[J"


def frame(snapshot: dict[str, Any], previous: dict[str, Any] | None) -> str:
    """One screen: the table of backends, then a line per switch."""
    dt = snapshot["time"] - previous["time"] if previous is not None else 0.0
    before = _backends(previous) if previous is not None else {}
    rows: list[list[Any]] = []
    for service in snapshot["services"]:
        rows.append([service["name"], "", "", "", "", service["active"],
                     service["connections_total"], "", "", ""])
        for backend in service["backends"]:
            old = before.get((service["name"], backend["name"]))
            rows.append(["", backend["name"], backend["weight"], backend["state"],
                         backend.get("health") or "-", backend["active"],
                         backend["connections_total"],
                         _rate(backend, old, "connections_total", dt),
                         _rate(backend, old, "packets", dt), _rate(backend, old, "bytes", dt)])
    table = format_table(["SERVICE", "BACKEND", "WEIGHT", "STATE", "HEALTH", "ACTIVE",
                          "CONNS", "CONN/s", "PKT/s", "BYTES/s"], rows)
    switches = [f"switch {s['name']}: {'up' if s['connected'] else 'down'}, "
                f"{'synchronised' if s['synchronised'] else 'not synchronised'}, "
                f"{sum(s['packet_ins'].values())} packet-ins, "
                f"{sum(s['writes'].values())} writes "
                f"({sum(e['count'] for e in s['write_errors'])} failed)"
                for s in snapshot["switches"]]
    stamp = time.strftime("%H:%M:%S", time.localtime(snapshot["time"]))
    return "\n".join([f"lbd at {stamp}" + ("" if previous else " (rates from the next frame)"),
                      "", table, "", *switches])


def run(fetch: Callable[[], dict[str, Any]], out: TextIO, *, interval: float,
        count: int | None, in_place: bool) -> None:
    """Show ``count`` frames (None: until interrupted), ``interval`` seconds apart."""
    previous = None
    shown = 0
    while count is None or shown < count:
        if shown:
            time.sleep(interval)
        snapshot = fetch()
        text = frame(snapshot, previous)
        out.write(HOME_AND_CLEAR + text + "\n" if in_place else ("\n" if shown else "") +
                  text + "\n")
        out.flush()
        previous, shown = snapshot, shown + 1


def _backends(snapshot: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(s["name"], b["name"]): b for s in snapshot["services"] for b in s["backends"]}


def _rate(now: dict[str, Any], old: dict[str, Any] | None, key: str, dt: float) -> str:
    if old is None or dt <= 0:
        return "-"
    value = max(0.0, (now[key] - old[key]) / dt)
    for unit in ("", "k", "M", "G"):
        if value < 1000:
            return f"{value:.1f}{unit}"
        value /= 1000
    return f"{value:.1f}T"
