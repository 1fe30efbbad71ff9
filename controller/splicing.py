"""Runs one switch's :class:`~controller.l7.splicer.Splicer` over P4Runtime.

The splicer decides; this module carries its effects out on the switch: packet-outs into
the pipeline, the two splice entries of a connection (both directions in one write),
their removal.  It feeds the splicer the switch's packet-ins of reasons 2 and 3, the
teardown digests, the idle-timeout notifications of the splice tables and a clock tick,
and reconciles the splice tables after a (re)connection.  Every call is made with the
daemon's lock held, like every other switch write.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from ipaddress import IPv4Address
from typing import Any

from finsy import P4ClientError, P4DigestList, P4PacketOut

from controller.config import SwitchConfig
from controller.dataplane import (
    PACKET_OUT_MODE_PIPELINE,
    SPLICE_DIRECTION_TO_SERVER,
    SPLICE_TO_SERVER_TABLE,
    Entry,
    splice_entries,
    splice_specs,
)
from controller.l7.segments import IPPROTO_TCP, Endpoint
from controller.l7.splicer import (
    BackendFailed,
    ContentService,
    Effect,
    InstallSplice,
    RemoveSplice,
    Splicer,
    SplicerLimits,
    SpliceSpec,
    Transmit,
)
from controller.l7.syncookies import SynCookies
from controller.metrics import MeasuredWrites
from controller.state import Connection, FlowKey, LbState

LOG = logging.getLogger(__name__)


def content_services(state: LbState, switch: str) -> list[ContentService]:
    """The l7 services of ``switch`` as the splicer sees them."""
    out = []
    for service in state.services_on(switch):
        content = service.content
        if content is None:
            continue
        pools = {pool: state.schedulable(pool) for pool in service.pools}
        out.append(ContentService(service.name, Endpoint(service.vip, service.port),
                                  content.rules, pools, service.scheduler, content.lard,
                                  content.request_timeout_s, content.max_request_head,
                                  content.splice_profile, content.transparent,
                                  content.relay, content.tls))
    return out


class SpliceDriver:
    """The splicer of one switch and the switch writes its decisions need."""

    def __init__(self, config: SwitchConfig, switch: MeasuredWrites, state: LbState,
                 cookies: SynCookies, *, send: Callable[[list[Any]], Awaitable[None]],
                 limits: SplicerLimits | None = None) -> None:
        self.config = config
        self.switch = switch  # the switch's Write RPCs
        self.send = send  # stream writes (packet-outs), serialised by the agent
        self.state = state
        self.splicer = Splicer(router_mac=config.router_mac,
                               splice_address=config.splice_address, cookies=cookies,
                               limits=limits or SplicerLimits())
        state.load_sources.append(self.splicer.active_on)  # lbctl stats, service list
        state.connection_sources.append(self.connections)  # lbctl conns
        state.affinity_sources.append(self.affinity)  # lbctl tls

    def connections(self) -> list[Connection]:
        """Spliced connections as lbctl conns lists them."""
        out = []
        for conn in self.splicer.spliced():
            if conn.backend is None:
                continue
            flow = FlowKey(conn.client.address, conn.client.port, conn.vip.address,
                           conn.vip.port, IPPROTO_TCP)
            out.append(Connection(self.config.name, flow, conn.service.name,
                                  conn.backend.name, conn.since, "spliced"))
        return out

    def affinity(self, service: str) -> dict[str, Any] | None:
        """The session-affinity table of a TLS service on this switch, as lbctl tls shows
        it (None: not a TLS service here, or affinity off)."""
        table = self.splicer.affinity(service)
        if table is None:
            return None
        return {"switch": self.config.name, "entries": len(table), "clients": table.clients,
                "size": table.size, "lifetime_s": table.lifetime_s,
                **dataclasses.asdict(table.stats), "hit_rate": table.stats.hit_rate}

    def refresh_services(self) -> None:
        """Take the current l7 services (after any config or management change)."""
        services = content_services(self.state, self.config.name)
        self.splicer.set_services(services)

    # ----- inputs (lock held) -------------------------------------------------------------
    async def packet_in(self, payload: bytes, ingress_port: int) -> None:
        await self.run(self.splicer.on_frame(payload, ingress_port))

    async def teardown_digests(self, digests: P4DigestList) -> None:
        effects: list[Effect] = []
        for item in digests:
            if not isinstance(item, dict):
                continue
            src = Endpoint(IPv4Address(int(item["src_addr"])), int(item["src_port"]))
            dst = Endpoint(IPv4Address(int(item["dst_addr"])), int(item["dst_port"]))
            effects += self.splicer.on_teardown(
                src, dst, to_server=item["direction"] == SPLICE_DIRECTION_TO_SERVER,
                flags=int(item["tcp_flags"]))
        await self.run(effects)

    async def idle(self, entries: Iterable[Entry]) -> None:
        """Idle-timeout notifications of splice entries (either direction)."""
        effects: list[Effect] = []
        for found in entries:
            fields = dict(found.match)
            try:
                if found.table == SPLICE_TO_SERVER_TABLE:
                    ended = self.splicer.on_idle(
                        _endpoint(fields["client_addr"], fields["client_port"]),
                        _endpoint(fields["vip"], fields["vip_port"]), to_server=True)
                else:
                    ended = self.splicer.on_idle(
                        _endpoint(fields["backend_addr"], fields["backend_port"]),
                        _endpoint(fields["splice_addr"], fields["splice_port"]),
                        to_server=False)
            except (KeyError, TypeError, ValueError):
                continue
            if not ended:  # an entry the splicer does not know: remove it anyway
                await self.switch.delete([found.to_p4()], strict=False)
            effects += ended
        await self.run(effects)

    async def tick(self) -> None:
        await self.run(self.splicer.tick())

    async def reconcile(self, to_server: Sequence[Entry], to_client: Sequence[Entry]) -> None:
        """After a (re)connection: adopt or remove the splices the switch holds."""
        specs, orphans = splice_specs(to_server, to_client)
        if orphans:
            LOG.info("%s: removing %d unpaired splice entries", self.config.name,
                     len(orphans))
            await self.switch.delete([e.to_p4() for e in orphans], strict=False)
        await self.run(self.splicer.adopt(specs))

    # ----- effects --------------------------------------------------------------------------
    async def run(self, effects: Sequence[Effect]) -> None:
        """Carry out effects in order; packet-outs in a row go in one write."""
        pending: list[P4PacketOut] = []
        queue = list(effects)
        while queue:
            effect = queue.pop(0)
            if isinstance(effect, Transmit):
                pending.append(P4PacketOut(effect.frame, egress_port=0,
                                           ingress_port=effect.port,
                                           mode=PACKET_OUT_MODE_PIPELINE))
                continue
            if pending:
                await self.send(pending)
                pending = []
            if isinstance(effect, InstallSplice):
                try:
                    await self.switch.insert([e.to_p4() for e in self._entries(effect.spec)])
                except P4ClientError as err:
                    LOG.warning("%s: splice of %s not installed: %s", self.config.name,
                                effect.spec.client, err)
                    queue = self.splicer.on_install_failed(effect.spec) + queue
            elif isinstance(effect, RemoveSplice):
                await self.switch.delete([e.to_p4() for e in self._entries(effect.spec)],
                                         strict=False)
            elif isinstance(effect, BackendFailed):
                if self.state.check_result(effect.pool, effect.backend, False,
                                           f"splicer: {effect.reason}") is False:
                    LOG.warning("pool %s: server %s is DOWN: the splicer saw it fail: %s",
                                effect.pool, effect.backend, effect.reason)
        if pending:
            await self.send(pending)

    def _entries(self, spec: SpliceSpec) -> tuple[Entry, Entry]:
        service = self.state.service_for(spec.vip.address, spec.vip.port, 6)
        service_id = backend_id = 0
        if service is not None:
            service_id = self.state.service_id(service)
            for backend in self.state.backends_in_use(service):
                if Endpoint(backend.address, backend.port) == spec.backend:
                    backend_id = self.state.backend_id(service, backend.name)
                    break
        idle_ns = int(self.state.config.connection_idle_timeout_s * 1e9)
        return splice_entries(spec, service_id, backend_id, idle_ns)


def _endpoint(address: Any, port: Any) -> Endpoint:
    return Endpoint(IPv4Address(int(address)), int(port))
