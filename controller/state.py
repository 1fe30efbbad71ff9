"""The controller's desired state, independent of any switch or P4 program.

:class:`LbState` owns the validated config, the runtime changes made through the
management API, the connection table (which backend each pinned flow goes to, per
switch), backends being retired, and the schedulers.  Every change is all-or-nothing: a
new config is built and validated before it replaces the old one.  The P4Runtime layer
turns this state into table entries; it never decides policy.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

from controller.config import (
    MAX_BACKENDS,
    MAX_SERVICES,
    Backend,
    ConfigError,
    LbConfig,
    Service,
    cross_check,
)
from controller.health_config import HealthPolicy
from controller.health_state import HealthTable
from controller.maglev import DEFAULT_TABLE_SIZE, maglev_table
from controller.persistence import PersistenceTable
from controller.schedulers import Candidate, Scheduler, make_scheduler


class StateError(ValueError):
    """A management request that does not fit the current state (unknown name, ...)."""


@dataclass(frozen=True)
class FlowKey:
    """A client's flow towards a virtual service."""

    client: IPv4Address
    client_port: int
    vip: IPv4Address
    vport: int
    protocol: int

    def __str__(self) -> str:
        return f"{self.client}:{self.client_port}->{self.vip}:{self.vport}/{self.protocol}"


@dataclass
class Connection:
    """A flow pinned to a backend in one switch's connection table."""

    switch: str
    flow: FlowKey
    service: str
    backend: str
    since: float
    origin: str  # "controller" (packet-in), "dataplane" (digest), "adopted" (found on a
    # switch), "spliced" (an l7 connection: the splicer tracks it, not the connection table)


@dataclass
class RetiringBackend:
    """A backend removed from its pool that still serves connections until ``deadline``."""

    pool: str
    backend: Backend
    deadline: float


ConnectionKey = tuple[str, FlowKey]  # (switch, flow)


class ConnectionTable:
    """Pinned connections, with a live count per (service, backend) for the schedulers."""

    def __init__(self) -> None:
        self._by_key: dict[ConnectionKey, Connection] = {}
        self._counts: Counter[tuple[str, str]] = Counter()

    def add(self, conn: Connection) -> None:
        self.remove((conn.switch, conn.flow))
        self._by_key[(conn.switch, conn.flow)] = conn
        self._counts[(conn.service, conn.backend)] += 1

    def remove(self, key: ConnectionKey) -> Connection | None:
        conn = self._by_key.pop(key, None)
        if conn is not None:
            self._counts[(conn.service, conn.backend)] -= 1
            if not self._counts[(conn.service, conn.backend)]:
                del self._counts[(conn.service, conn.backend)]
        return conn

    def remove_where(self, doomed: Callable[[Connection], bool]) -> list[Connection]:
        removed = [c for c in self._by_key.values() if doomed(c)]
        for conn in removed:
            self.remove((conn.switch, conn.flow))
        return removed

    def count(self, service: str, backend: str) -> int:
        return self._counts.get((service, backend), 0)

    def get(self, key: ConnectionKey) -> Connection | None:
        return self._by_key.get(key)

    def values(self) -> Iterator[Connection]:
        return iter(list(self._by_key.values()))

    def __getitem__(self, key: ConnectionKey) -> Connection:
        return self._by_key[key]

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __len__(self) -> int:
        return len(self._by_key)


class IdAllocator:
    """Small stable integer ids for names, reused only after release (ids start at 1)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._ids: dict[tuple[str, ...], int] = {}

    def get(self, key: tuple[str, ...]) -> int:
        if key not in self._ids:
            used = set(self._ids.values())
            free = next((i for i in range(1, self.limit) if i not in used), None)
            if free is None:
                raise StateError(f"no free id left for {'/'.join(key)} (limit {self.limit - 1})")
            self._ids[key] = free
        return self._ids[key]

    def release(self, key: tuple[str, ...]) -> None:
        self._ids.pop(key, None)

    def find(self, value: int) -> tuple[str, ...] | None:
        return next((k for k, v in self._ids.items() if v == value), None)

    def keys(self) -> list[tuple[str, ...]]:
        return list(self._ids)

    def rebase(self, preferred: dict[tuple[str, ...], int]) -> None:
        """Take over ids found on a switch (for known keys); others keep or get free ids."""
        old, self._ids = self._ids, {}
        for key, value in preferred.items():
            if key in old and 0 < value < self.limit and value not in self._ids.values():
                self._ids[key] = value
        for key in old:
            if key not in self._ids and old[key] not in self._ids.values():
                self._ids[key] = old[key]
        for key in old:
            self.get(key)


class LbState:
    """Desired load-balancer state shared by every switch agent and the management API."""

    def __init__(self, config: LbConfig, *, clock: Callable[[], float] = time.monotonic,
                 maglev_size: int = DEFAULT_TABLE_SIZE) -> None:
        self.config = config
        self.clock = clock
        self.maglev_size = maglev_size
        self.retiring: dict[tuple[str, str], RetiringBackend] = {}
        self.connections = ConnectionTable()
        self.opened: Counter[tuple[str, str]] = Counter()  # (service, backend) -> new pins
        # (service, backend) -> connections not in the connection table (spliced ones)
        self.load_sources: list[Callable[[str, str], int]] = []
        self.connection_sources: list[Callable[[], Iterable[Connection]]] = []
        # service -> one switch's TLS session-affinity table, described (lbctl tls)
        self.affinity_sources: list[Callable[[str], dict[str, Any] | None]] = []
        self.persistence = PersistenceTable()
        self.health = HealthTable()
        self._weights_seen: dict[tuple[str, str], int] = {}
        self.backend_ids = IdAllocator(MAX_BACKENDS + 1)
        self.service_ids = IdAllocator(MAX_SERVICES + 1)
        self._schedulers: dict[str, Scheduler] = {}
        self.ids_adopted = False  # set once ids were taken over from a switch
        self.version = 0
        self._refresh_ids()

    # ----- queries ------------------------------------------------------------------
    def service(self, name: str) -> Service:
        try:
            return self.config.service(name)
        except KeyError:
            raise StateError(f"unknown service {name!r}") from None

    def service_for(self, vip: IPv4Address, port: int, protocol: int) -> Service | None:
        for service in self.config.services:
            if (service.vip, service.port, service.protocol_number) == (vip, port, protocol):
                return service
        return None

    def pool_backends(self, service: Service) -> tuple[Backend, ...]:
        return self.config.pools[service.pool]

    def health_policy(self, pool: str) -> HealthPolicy | None:
        return self.config.health.get(pool)

    def schedulable(self, pool: str) -> tuple[Backend, ...]:
        """The pool's servers with the weights new connections are scheduled by (0: down,
        drained or agent-drained; ramping up after slow start), or its sorry server alone
        when no server can take a connection."""
        policy = self.health_policy(pool)
        now = self.clock()
        backends = tuple(
            dataclasses.replace(b, weight=w) if (w := self.health.weight(
                pool, b.name, b.weight, policy, now)) != b.weight else b
            for b in self.config.pools.get(pool, ()))
        if policy is not None and policy.sorry_server is not None and \
                not any(b.weight for b in backends):
            return (policy.sorry_server,)
        return backends

    def can_serve(self, service: Service) -> bool:
        """Has the service's (first) pool a server that takes new connections?"""
        return any(b.weight for b in self.schedulable(service.pool))

    def backends_in_use(self, service: Service) -> list[Backend]:
        """Pool backends plus retiring ones: every backend the data plane must still reach
        (all the pools of an l7 service, a backend named in several once)."""
        out: dict[str, Backend] = {}
        for pool in service.pools:
            for backend in self.config.pools.get(pool, ()):
                out.setdefault(backend.name, backend)
            policy = self.health_policy(pool)
            if policy is not None and policy.sorry_server is not None:
                out.setdefault(policy.sorry_server.name, policy.sorry_server)
        for (pool, name), retiring in self.retiring.items():
            if pool in service.pools:
                out.setdefault(name, retiring.backend)
        return list(out.values())

    def find_backend(self, service: Service, name: str) -> Backend:
        for backend in self.backends_in_use(service):
            if backend.name == name:
                return backend
        raise StateError(f"service {service.name!r} has no backend {name!r}")

    def backend_id(self, service: Service, backend: str) -> int:
        """Data-plane id of a backend of a service (its own counters and table entries)."""
        return self.backend_ids.get((service.name, backend))

    def service_id(self, service: Service) -> int:
        return self.service_ids.get((service.name,))

    def all_connections(self) -> Iterator[Connection]:
        """Pinned connections, then those other parts track (spliced ones)."""
        yield from self.connections.values()
        for source in self.connection_sources:
            yield from source()

    def active_connections(self, service: str, backend: str) -> int:
        """Pinned connections plus those other parts track (the splicers' l7 ones)."""
        return self.connections.count(service, backend) + sum(
            source(service, backend) for source in self.load_sources)

    def candidates(self, service: Service) -> list[Candidate]:
        """Schedulable backends in pool order (retiring ones are excluded)."""
        return [Candidate(b.name, b.weight, self.active_connections(service.name, b.name))
                for b in self.schedulable(service.pool)]

    def maglev(self, service: Service) -> list[str]:
        """The service's Maglev lookup table (slot -> backend name)."""
        weights = {b.name: b.weight for b in self.schedulable(service.pool)}
        return maglev_table(weights, self.maglev_size)

    def services_on(self, switch: str) -> list[Service]:
        return [s for s in self.config.services if s.runs_on(switch)]

    def connections_on(self, switch: str) -> Iterator[Connection]:
        return (c for c in self.connections.values() if c.switch == switch)

    def adopt_ids(self, services: dict[str, int], backends: dict[tuple[str, str], int]) -> None:
        """Reuse the ids a switch already holds (after a controller restart), so its
        entries stay valid and nothing needs rewriting."""
        self.service_ids.rebase({(name,): value for name, value in services.items()})
        self.backend_ids.rebase({key: value for key, value in backends.items()})
        self.ids_adopted = True
        self.version += 1

    def service_by_id(self, service_id: int) -> Service | None:
        key = self.service_ids.find(service_id)
        return self.config.service(key[0]) if key and self._has_service(key[0]) else None

    def backend_by_id(self, backend_id: int) -> tuple[Service, str] | None:
        key = self.backend_ids.find(backend_id)
        if key is None or not self._has_service(key[0]):
            return None
        return self.config.service(key[0]), key[1]

    # ----- scheduling and the connection table ---------------------------------------
    def schedule(self, switch: str, flow: FlowKey) -> Connection | None:
        """Choose a backend for a new flow and pin it; None if no service or backend."""
        existing = self.connections.get((switch, flow))
        if existing is not None:
            return existing
        service = self.service_for(flow.vip, flow.vport, flow.protocol)
        if service is None or not service.runs_on(switch):
            return None
        now = self.clock()
        backend = None
        if service.persistence is not None:
            sticky = self.persistence.lookup(service.name, flow.client,
                                             service.persistence.netmask, now)
            if sticky is not None and any(c.name == sticky and c.available
                                          for c in self.candidates(service)):
                backend = sticky
        if backend is None:
            backend = self._scheduler(service).pick(self.candidates(service), flow.client)
        if backend is None:
            return None
        if service.persistence is not None:
            self.persistence.record(service.name, flow.client, service.persistence.netmask,
                                    backend, service.persistence.timeout_s, now)
        return self.pin(switch, flow, backend, "controller")

    def pin(self, switch: str, flow: FlowKey, backend: str, origin: str) -> Connection:
        """Record a flow -> backend choice (from the scheduler, a digest, or a switch read)."""
        service = self.service_for(flow.vip, flow.vport, flow.protocol)
        if service is None:
            raise StateError(f"flow {flow} does not belong to any service")
        self.find_backend(service, backend)
        now = self.clock()
        conn = Connection(switch, flow, service.name, backend, now, origin)
        if origin != "adopted" and (switch, flow) not in self.connections:
            self.opened[(service.name, backend)] += 1
        persistence = service.persistence
        if origin == "adopted" and persistence is not None and self.persistence.lookup(
                service.name, flow.client, persistence.netmask, now) is None:
            # A live connection from a switch read (restart, takeover) keeps its client's
            # persistence: the client's next connection goes to the same server.
            self.persistence.record(service.name, flow.client, persistence.netmask, backend,
                                    persistence.timeout_s, now)
        self.connections.add(conn)
        return conn

    def unpin(self, switch: str, flow: FlowKey) -> Connection | None:
        """Forget a connection (idle timeout); finishes a retiring backend's last one."""
        conn = self.connections.remove((switch, flow))
        if conn is not None:
            service = self.config.service(conn.service) if self._has_service(conn.service) \
                else None
            if service is not None and service.persistence is not None:
                sticky = self.persistence.lookup(service.name, flow.client,
                                                 service.persistence.netmask, self.clock())
                if sticky == conn.backend:
                    self.persistence.record(service.name, flow.client,
                                            service.persistence.netmask, conn.backend,
                                            service.persistence.timeout_s, self.clock())
            self._finish_retired()
        return conn

    def expire(self) -> list[Connection]:
        """Housekeeping: drop dead persistence templates and retire overdue backends.

        Returns the connections of backends whose removal timeout has passed; the caller
        deletes them from the switches.
        """
        now = self.clock()
        self.persistence.expire(now)
        overdue = {key for key, retiring in self.retiring.items() if retiring.deadline <= now}
        dropped = self.connections.remove_where(
            lambda c: (self._pool_of(c.service), c.backend) in overdue)
        for key in overdue:
            del self.retiring[key]
        if overdue:
            self._changed()
        self._finish_retired()
        return dropped

    # ----- health (controller/health.py reports here) ----------------------------------
    def check_result(self, pool: str, backend: str, ok: bool, detail: str) -> bool | None:
        """Count a health-check result; returns the new state when the server went up or
        down.  Down: no new connections anywhere (schedulers, Maglev, splicers); its
        pinned connections are kept or, with ``on_down: reset``, dropped from the
        switches (their next packets are scheduled again, and the new server resets them)."""
        policy = self.health_policy(pool)
        if policy is None or all(b.name != backend for b in self.config.pools.get(pool, ())):
            return None
        changed = self.health.check_result(pool, backend, policy, ok, detail, self.clock())
        if changed is False:
            users = [s for s in self.config.services if pool in s.pools]
            for service in users:
                self.persistence.forget_backend(service.name, backend)
            if policy.on_down == "reset":
                self.connections.remove_where(
                    lambda c: c.backend == backend and any(c.service == s.name for s in users))
        if changed is not None:
            self._changed()
        return changed

    def agent_result(self, pool: str, backend: str, state: str | None, percent: int | None,
                     detail: str) -> bool:
        """Apply an agent-check reply (docs/config.md); True if the weight may change."""
        if self.health_policy(pool) is None:
            return False
        changed = self.health.agent_result(pool, backend, state, percent, detail,
                                           self.clock())
        if changed:
            self._changed()
        return changed

    def refresh_weights(self) -> bool:
        """Bump the version when an effective weight moved on its own (slow start)."""
        weights = {(pool, b.name): b.weight for pool in self.config.health
                   for b in self.schedulable(pool)}
        if weights == self._weights_seen:
            return False
        self._weights_seen = weights
        self.version += 1
        return True

    # ----- changes (management API and config apply) --------------------------------
    def apply_config(self, new: LbConfig) -> None:
        """Replace the desired services and pools (switch, API and HA settings stay)."""
        def endpoints(config: LbConfig) -> list[tuple[str, str, int]]:
            return [(s.name, s.address, s.device_id) for s in config.switches]

        if endpoints(new) != endpoints(self.config):
            raise StateError("switch names, addresses and device ids cannot change while lbd "
                             "runs; restart lbd")
        old = self.config
        self._swap(dataclasses.replace(new, api=old.api, pipeline=old.pipeline, ha=old.ha))
        for service in old.services:
            if not self._has_service(service.name):
                self._drop_service_state(service)
            elif self.config.service(service.name).scheduler != service.scheduler:
                self._schedulers.pop(service.name, None)

    def add_service(self, service: Service) -> None:
        """Add a service; a pool it names that does not exist yet starts empty."""
        pools = {service.pool: (), **self.config.pools}
        self._replace(services=self.config.services + (service,), pools=pools)

    def replace_service(self, service: Service) -> None:
        """Change a service's settings (same name), e.g. its content rules."""
        self.service(service.name)
        self._replace(services=tuple(service if s.name == service.name else s
                                     for s in self.config.services))

    def remove_service(self, name: str) -> None:
        service = self.service(name)
        self._replace(services=tuple(s for s in self.config.services if s.name != name))
        self._drop_service_state(service)

    def add_backend(self, service_name: str, backend: Backend) -> None:
        """Add to the service's pool (every service using that pool sees it)."""
        service = self.service(service_name)
        pool = self.pool_backends(service)
        if any(b.name == backend.name for b in pool):
            raise StateError(f"pool {service.pool!r} already has a backend {backend.name!r}")
        if (service.pool, backend.name) in self.retiring:
            raise StateError(f"backend {backend.name!r} of pool {service.pool!r} is still "
                             "being removed; wait for its connections to end or use another "
                             "name")
        self._replace_pool(service.pool, pool + (backend,))

    def set_weight(self, service_name: str, backend_name: str, weight: int) -> None:
        """Weight 0 drains: no new connections, existing ones continue."""
        service = self.service(service_name)
        backend = self._pool_member(service, backend_name)
        if not 0 <= weight <= 65535:
            raise StateError(f"weight {weight} is not in [0, 65535]")
        pool = tuple(dataclasses.replace(b, weight=weight) if b is backend else b
                     for b in self.pool_backends(service))
        self._replace_pool(service.pool, pool)
        if weight == 0:
            self.persistence.forget_backend(service.name, backend_name)

    def set_health_policy(self, pool: str, policy: HealthPolicy | None) -> None:
        """Check a pool's servers with ``policy`` from now on (None: stop checking; every
        server counts as up again)."""
        if pool not in self.config.pools:
            raise StateError(f"unknown pool {pool!r}")
        health = {name: p for name, p in self.config.health.items() if name != pool}
        if policy is not None:
            health[pool] = policy
        self._replace(health=health)

    def remove_backend(self, service_name: str, backend_name: str) -> None:
        """Stop new connections now; the backend goes once its connections end or time out."""
        service = self.service(service_name)
        backend = self._pool_member(service, backend_name)
        self._replace_pool(service.pool, tuple(b for b in self.pool_backends(service)
                                               if b is not backend))

    # ----- internals -------------------------------------------------------------------
    def _scheduler(self, service: Service) -> Scheduler:
        if service.name not in self._schedulers:
            self._schedulers[service.name] = make_scheduler(service.scheduler, self.maglev_size)
        return self._schedulers[service.name]

    def _has_service(self, name: str) -> bool:
        return any(s.name == name for s in self.config.services)

    def _pool_of(self, service_name: str) -> str | None:
        return next((s.pool for s in self.config.services if s.name == service_name), None)

    def _pool_member(self, service: Service, name: str) -> Backend:
        for backend in self.pool_backends(service):
            if backend.name == name:
                return backend
        raise StateError(f"service {service.name!r} (pool {service.pool!r}) has no backend "
                         f"{name!r}")

    def _replace(self, **changes: object) -> None:
        """Swap in a changed config, only if the whole of it is still valid."""
        new = dataclasses.replace(self.config, **changes)  # type: ignore[arg-type]
        problems = cross_check(new)
        if problems:
            raise ConfigError(problems)
        self._swap(new)

    def _swap(self, new: LbConfig) -> None:
        """Install a validated config: backends that left keep serving (retiring), and
        connections whose service or backend no longer exists are forgotten."""
        old, self.config = self.config, new
        self._retire_missing(old)
        backends = {s.name: {b.name for b in self.backends_in_use(s)} for s in new.services}
        self.connections.remove_where(lambda c: c.backend not in backends.get(c.service, ()))
        self._changed()

    def _replace_pool(self, pool: str, backends: tuple[Backend, ...]) -> None:
        self._replace(pools={**self.config.pools, pool: backends})

    def _retire_missing(self, old: LbConfig) -> None:
        """Backends that left a pool but still carry connections become retiring."""
        now = self.clock()
        for pool, backends in old.pools.items():
            still = {b.name for b in self.config.pools.get(pool, ())}
            users = [s for s in self.config.services if pool in s.pools]
            timeout = max((s.removal_timeout_s for s in users), default=0.0)
            for backend in backends:
                if backend.name in still:
                    continue
                for service in users:
                    self.persistence.forget_backend(service.name, backend.name)
                if self._pool_busy(pool, backend.name):
                    self.retiring[(pool, backend.name)] = RetiringBackend(pool, backend,
                                                                          now + timeout)
        self._finish_retired()

    def _pool_busy(self, pool: str, backend: str) -> bool:
        """Does a backend of ``pool`` still carry connections (through any service)?"""
        return any(self.connections.count(s.name, backend)
                   for s in self.config.services if pool in s.pools)

    def _finish_retired(self) -> None:
        for key, retiring in list(self.retiring.items()):
            if not self._pool_busy(retiring.pool, retiring.backend.name):
                del self.retiring[key]
                self._changed()

    def _drop_service_state(self, service: Service) -> None:
        self.connections.remove_where(lambda c: c.service == service.name)
        self.persistence.forget_service(service.name)
        self._schedulers.pop(service.name, None)
        self._finish_retired()
        self._changed()

    def _refresh_ids(self) -> None:
        """Allocate ids for new names and release those of vanished ones."""
        live_services: set[tuple[str, ...]] = {(s.name,) for s in self.config.services}
        live_backends: set[tuple[str, ...]] = {
            (s.name, b.name) for s in self.config.services for b in self.backends_in_use(s)}
        for ids, live in ((self.service_ids, live_services), (self.backend_ids, live_backends)):
            for key in [k for k in ids.keys() if k not in live]:
                ids.release(key)
            for key in sorted(live):
                ids.get(key)

    def _changed(self) -> None:
        self._refresh_ids()
        self.health.forget({(pool, b.name) for pool in self.config.health
                            for b in self.config.pools.get(pool, ())})
        self._weights_seen = {(pool, b.name): b.weight for pool in self.config.health
                              for b in self.schedulable(pool)}
        self.version += 1

