"""All the switches lbd drives: synchronisation, housekeeping and traffic statistics."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from finsy import P4ClientError

from controller.agent import SwitchAgent
from controller.config import LbConfig
from controller.dataplane import BACKEND_COUNTER, SERVICE_COUNTER
from controller.l7.syncookies import SynCookies
from controller.state import LbState

LOG = logging.getLogger(__name__)
HOUSEKEEPING_PERIOD_S = 0.5


class SwitchFabric:
    """One :class:`SwitchAgent` per configured switch; implements management's Fabric."""

    def __init__(self, config: LbConfig, state: LbState, lock: asyncio.Lock,
                 cookies: SynCookies | None = None) -> None:
        self.state = state
        self.lock = lock
        # One secret: a client may reach any switch's splicer (and, shared through
        # ha.cookie_secret_file, any controller instance's).
        cookies = cookies or SynCookies()
        election_id = config.ha.election_id if config.ha is not None else None
        self.agents = [SwitchAgent(sw, config.pipeline, state, lock, cookies, election_id)
                       for sw in config.switches]
        self._synced_version = -1

    def role(self) -> str:
        """This controller instance's role: primary where it is primary of any switch,
        backup where it is connected to switches only as a backup, else none."""
        roles = {agent.role for agent in self.agents}
        return next((r for r in ("primary", "backup") if r in roles), "none")

    async def sync(self) -> dict[str, str]:
        """Bring every connected switch up to date (lock held)."""
        version = self.state.version
        statuses = {agent.name: await agent.sync() for agent in self.agents}
        self._synced_version = version
        return statuses

    async def housekeeping(self) -> None:
        """Expire persistence and removals, retry failed switches, push pending changes,
        and now and then sweep connections whose idle notification was missed."""
        last_sweep = 0.0
        while True:
            await asyncio.sleep(HOUSEKEEPING_PERIOD_S)
            async with self.lock:
                now = self.state.clock()
                if now - last_sweep >= max(1.0, self.state.config.connection_idle_timeout_s):
                    last_sweep = now
                    for agent in self.agents:
                        try:
                            await agent.sweep_idle()
                        except P4ClientError as err:
                            LOG.warning("%s: idle sweep failed: %s", agent.name, err)
                dropped = self.state.expire()
                if dropped:
                    LOG.info("removal timeout: dropping %d connections", len(dropped))
                if dropped or self.state.version != self._synced_version or any(
                        a.needs_resync and a.ready for a in self.agents):
                    await self.sync()

    def switches(self) -> list[dict[str, Any]]:
        """Each switch's connection and synchronisation state, in configuration order."""
        return [agent.describe() for agent in self.agents]

    async def traffic(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(service, backend) -> (packets, bytes) over all switches; backend "" for the
        service's own counter (lock held)."""
        totals: dict[tuple[str, str], tuple[int, int]] = {}

        def add(key: tuple[str, str], packets: int, bytes_: int) -> None:
            old = totals.get(key, (0, 0))
            totals[key] = (old[0] + packets, old[1] + bytes_)

        for agent in self.agents:
            try:
                counters = await agent.read_counters()
            except P4ClientError as err:
                LOG.warning("%s: counters not read: %s", agent.name, err)
                continue
            for (counter, index), (packets, bytes_) in counters.items():
                if counter == SERVICE_COUNTER:
                    service = self.state.service_by_id(index)
                    if service is not None:
                        add((service.name, ""), packets, bytes_)
                elif counter == BACKEND_COUNTER:
                    found = self.state.backend_by_id(index)
                    if found is not None:
                        add((found[0].name, found[1]), packets, bytes_)
        return totals
