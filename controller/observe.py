"""What lbd shows of itself: one snapshot for ``/metrics``, the dashboard and ``lbctl top``.

A snapshot holds cumulative values only (packets, bytes, connections opened, splicer and
packet-in events, P4Runtime writes); rates are for the reader to derive from two
snapshots, as Prometheus does with ``rate()``.  Taking one reads the switch counters, under
the daemon's lock like every switch request.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from controller.agent import SwitchAgent
from controller.management import Management
from controller.metrics import exposition
from controller.state import LbState


class Observer:
    """Gathers snapshots from the management layer, the state and the switch agents."""

    def __init__(self, management: Management, state: LbState,
                 agents: list[SwitchAgent]) -> None:
        self.management = management
        self.state = state
        self.agents = agents

    async def snapshot(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The management API method ``observe`` (docs/observability.md)."""
        stats = await self.management.stats({})
        described = {s["name"]: s for s in await self.management.service_list({})}
        opened = self._opened()
        services = []
        for service in stats:
            info = described.get(service["name"], {})
            addresses = {b["name"]: b for b in info.get("backends", [])}
            backends = [{
                **backend,
                "address": addresses.get(backend["name"], {}).get("address"),
                "port": addresses.get(backend["name"], {}).get("port"),
                "connections_total": opened.get((service["name"], backend["name"]), 0),
                "health": backend.get("health"),  # up, down or unchecked (health checks)
            } for backend in service["backends"]]
            services.append({
                **service, "backends": backends,
                **{key: info.get(key) for key in ("mode", "scheduler", "pools")},
                "connections_total": sum(b["connections_total"] for b in backends)})
        return {"time": time.time(), "services": services,
                "switches": [self._switch(agent) for agent in self.agents]}

    async def metrics(self, accept: str | None) -> tuple[bytes, str]:
        """``/metrics``: (body, content type) in the format ``accept`` asks for."""
        meters = {agent.name: agent.meter for agent in self.agents}
        return exposition(await self.snapshot(), meters, accept)

    def _opened(self) -> Counter[tuple[str, str]]:
        opened = Counter(self.state.opened)
        for agent in self.agents:
            opened.update(agent.splicing.splicer.opened)
        return opened

    @staticmethod
    def _switch(agent: SwitchAgent) -> dict[str, Any]:
        meter = agent.meter
        return {**agent.describe(), "splicer": dict(agent.splicing.splicer.counters),
                "packet_ins": dict(meter.packet_ins),
                "writes": {op: meter.writes[op] for op in sorted(meter.writes)},
                "write_errors": [{"operation": op, "code": code, "count": count}
                                 for (op, code), count in sorted(meter.write_errors.items())]}
