"""What lbd knows of each checked server's health, and the weight that follows from it.

A server is *up* until ``fall`` checks in a row fail, then *down* until ``rise`` checks in a
row pass (HAProxy's and keepalived's hysteresis).  Servers start up: lbd restarting must not
take a working cluster out of service while the first checks run.  A server that comes back
ramps its weight up over the policy's ``slow_start`` (in ten steps, so the Maglev table is
rebuilt ten times, not on every check).  The agent check scales the weight (``75%``) or drains
(``drain``: weight 0, still up) or forces the server down (``down``) until it says ``up``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from controller.config import MAX_WEIGHT
from controller.health_config import HealthPolicy

SLOW_START_STEPS = 10


@dataclass
class BackendHealth:
    """The health of one server of one pool."""

    up: bool = True
    since: float = 0.0  # time of the last change between up and down
    streak: int = 0  # consecutive results contradicting ``up`` (fall or rise progress)
    checks: int = 0
    last_ok: bool | None = None
    last_detail: str = "not checked yet"
    last_check: float | None = None
    agent_percent: int = 100  # the agent's weight, in percent of the configured one
    agent_state: str = "up"  # "up", "drain" or "down"
    agent_detail: str = ""
    ramp_from: float | None = None  # came back up at this time (slow start)


class HealthTable:
    """Health records keyed by (pool, backend name)."""

    def __init__(self) -> None:
        self._records: dict[tuple[str, str], BackendHealth] = {}

    def get(self, pool: str, backend: str) -> BackendHealth | None:
        return self._records.get((pool, backend))

    def record(self, pool: str, backend: str, now: float) -> BackendHealth:
        key = (pool, backend)
        if key not in self._records:
            self._records[key] = BackendHealth(since=now)
        return self._records[key]

    def check_result(self, pool: str, backend: str, policy: HealthPolicy, ok: bool,
                     detail: str, now: float) -> bool | None:
        """Count one check result; returns the new up/down state if it changed, else None."""
        health = self.record(pool, backend, now)
        health.checks += 1
        health.last_ok, health.last_detail, health.last_check = ok, detail, now
        if ok == health.up:
            health.streak = 0
            return None
        health.streak += 1
        if health.streak < (policy.fall if health.up else policy.rise):
            return None
        health.up, health.since, health.streak = ok, now, 0
        health.ramp_from = now if ok and policy.slow_start_s > 0 else None
        return ok

    def agent_result(self, pool: str, backend: str, state: str | None, percent: int | None,
                     detail: str, now: float) -> bool:
        """Apply an agent reply (None: that part unchanged); True if it changed anything."""
        health = self.record(pool, backend, now)
        before = (health.agent_state, health.agent_percent)
        health.agent_detail = detail
        if state is not None:
            health.agent_state = state
        if percent is not None:
            health.agent_percent = percent
        return before != (health.agent_state, health.agent_percent)

    def weight(self, pool: str, backend: str, configured: int, policy: HealthPolicy | None,
               now: float) -> int:
        """The weight the schedulers use: 0 while down or drained by the agent."""
        health = self._records.get((pool, backend))
        if policy is None or health is None or configured == 0:
            return configured
        if not health.up or health.agent_state != "up" or health.agent_percent == 0:
            return 0
        weight = min(MAX_WEIGHT, max(1, configured * health.agent_percent // 100))
        if health.ramp_from is not None:
            elapsed = now - health.ramp_from
            if elapsed >= policy.slow_start_s:
                health.ramp_from = None
            else:
                step = min(SLOW_START_STEPS, int(SLOW_START_STEPS * elapsed
                                                 / policy.slow_start_s) + 1)
                weight = max(1, math.ceil(weight * step / SLOW_START_STEPS))
        return weight

    def ramping(self) -> bool:
        return any(h.ramp_from is not None for h in self._records.values())

    def forget(self, keep: set[tuple[str, str]]) -> None:
        """Drop the records of servers no longer checked."""
        for key in [k for k in self._records if k not in keep]:
            del self._records[key]
