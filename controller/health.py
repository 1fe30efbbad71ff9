"""The server monitor: runs every pool's health checks and feeds the results to LbState.

One asyncio task per checked server (and one per agent check), started and stopped as the
config changes.  Checks start at fixed intervals, are bounded by their timeout and share a
concurrency limit, so a hung server delays nobody else's checks.  When a server goes up or
down (after rise/fall), or an agent changes its weight, the monitor pushes the new state to
every switch at once, under the same lock as the management API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from controller.config import Backend
from controller.health_config import HealthPolicy
from controller.health_probes import SocketFactory, agent_probe, probe
from controller.state import LbState

LOG = logging.getLogger(__name__)
MAX_CONCURRENT_CHECKS = 64
FOLLOW_PERIOD_S = 0.25  # how often the task set is matched to the config, and ramps moved

TaskKey = tuple[str, str, str]  # (kind "check" | "agent", pool, backend)


class HealthMonitor:
    """Runs the checks of ``state.config.health``; ``push`` is called (lock held) when a
    change must reach the switches."""

    def __init__(self, state: LbState, lock: asyncio.Lock,
                 push: Callable[[], Awaitable[Any]],
                 max_concurrent: int = MAX_CONCURRENT_CHECKS) -> None:
        self.state = state
        self.lock = lock
        self.push = push
        self._limit = asyncio.Semaphore(max_concurrent)
        self._tasks: dict[TaskKey, tuple[Any, asyncio.Task[None]]] = {}
        self._sockets: dict[Path | None, SocketFactory] = {}

    async def run(self) -> None:
        try:
            while True:
                self._follow_config()
                async with self.lock:
                    if self.state.refresh_weights():
                        await self.push()
                await asyncio.sleep(FOLLOW_PERIOD_S)
        finally:
            await self._stop_all()

    def _follow_config(self) -> None:
        """Start tasks for new (pool, server, policy) triples, stop those that left."""
        wanted: dict[TaskKey, tuple[HealthPolicy, Backend]] = {}
        for pool, policy in self.state.config.health.items():
            for backend in self.state.config.pools.get(pool, ()):
                wanted[("check", pool, backend.name)] = (policy, backend)
                if policy.agent is not None:
                    wanted[("agent", pool, backend.name)] = (policy, backend)
        for key in [k for k, (spec, _) in self._tasks.items() if wanted.get(k) != spec]:
            self._tasks.pop(key)[1].cancel()
        for key in [k for k, (_, task) in self._tasks.items() if task.done()]:
            _, task = self._tasks.pop(key)
            LOG.error("health check %s stopped (restarting it): %r", ":".join(key),
                      task.exception())
        for key, spec in wanted.items():
            if key not in self._tasks:
                runner = self._check_loop if key[0] == "check" else self._agent_loop
                task = asyncio.create_task(runner(key[1], *spec), name=f"health:{':'.join(key)}")
                self._tasks[key] = (spec, task)

    def _socket_factory(self, netns: Path | None) -> SocketFactory:
        if netns not in self._sockets:
            self._sockets[netns] = SocketFactory(netns)
        return self._sockets[netns]

    async def _check_loop(self, pool: str, policy: HealthPolicy, backend: Backend) -> None:
        sockets = self._socket_factory(policy.netns)

        async def check() -> None:
            async with self._limit:
                result = await probe(policy, backend, sockets)
            async with self.lock:
                changed = self.state.check_result(pool, backend.name, result.ok, result.detail)
                if changed is not None:
                    LOG.warning("pool %s: server %s (%s:%d) is %s: %s", pool, backend.name,
                                backend.address, policy.port or backend.port,
                                "UP" if changed else "DOWN", result.detail)
                    await self.push()

        await _every(policy.interval_s, check)

    async def _agent_loop(self, pool: str, policy: HealthPolicy, backend: Backend) -> None:
        assert policy.agent is not None
        agent = policy.agent
        sockets = self._socket_factory(policy.netns)

        async def ask() -> None:
            async with self._limit:
                reply = await agent_probe(agent, backend, sockets)
            if reply is None:
                return
            async with self.lock:
                if self.state.agent_result(pool, backend.name, reply.state, reply.percent,
                                           reply.detail):
                    LOG.warning("pool %s: server %s agent says %s%s: %s", pool,
                                backend.name, reply.state or "",
                                f" {reply.percent}%" if reply.percent is not None else "",
                                reply.detail)
                    await self.push()

        await _every(agent.interval_s, ask)

    async def _stop_all(self) -> None:
        tasks = [task for _, task in self._tasks.values()]
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for factory in self._sockets.values():
            factory.close()
        self._sockets.clear()


async def _every(interval: float, step: Callable[[], Awaitable[None]]) -> None:
    """Run ``step`` forever, starting on a fixed grid; a late step skips the slots it
    overran."""
    loop = asyncio.get_running_loop()
    next_start = loop.time()
    while True:
        await step()
        next_start += interval
        now = loop.time()
        if next_start < now:
            next_start += ((now - next_start) // interval + 1) * interval
        await asyncio.sleep(next_start - now)
