"""Management API methods: validate a request, change the desired state, push it.

Each change runs under one lock, is validated completely before the state changes (a
refused request changes nothing), and returns only after the switches were synchronised,
so ``lbctl`` returning means the change is in the data plane.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import yaml

from controller.api import ApiError, Handler
from controller.config import (
    Backend,
    Checker,
    ConfigError,
    Service,
    TlsConfig,
    parse_backend,
    parse_config,
    parse_service,
)
from controller.health_config import parse_health_checks
from controller.l7.rules import parse_content_rules
from controller.state import LbState


class Fabric(Protocol):
    """What the management layer needs from the switches."""

    async def sync(self) -> dict[str, str]:
        """Push the desired state to every switch (lock held); name -> "ok" or a reason."""
        ...

    async def traffic(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(service, backend) -> (packets, bytes) summed over the switches; backend "" for
        the service's own counter."""
        ...

    def switches(self) -> list[dict[str, Any]]:
        """Per switch: name, address, device_id, connected, synchronised, status."""
        ...


class Management:
    """The handlers behind the management API."""

    def __init__(self, state: LbState, fabric: Fabric, lock: asyncio.Lock) -> None:
        self.state = state
        self.fabric = fabric
        self.lock = lock  # the daemon's one lock over state changes and switch writes

    def handlers(self) -> Mapping[str, Handler]:
        return {
            "service.list": self.service_list,
            "switch.list": self.switch_list,
            "service.add": self.service_add,
            "service.del": self.service_del,
            "backend.add": self.backend_add,
            "backend.del": self.backend_del,
            "backend.drain": self.backend_drain,
            "backend.weight": self.backend_weight,
            "backend.list": self.backend_list,
            "health.set": self.health_set,
            "health.del": self.health_del,
            "stats": self.stats,
            "conns": self.conns,
            "config.apply": self.config_apply,
            "rule.list": self.rule_list,
            "rule.add": self.rule_add,
            "rule.del": self.rule_del,
            "rule.default": self.rule_default,
            "tls.list": self.tls_list,
        }

    # ----- reads ------------------------------------------------------------------------
    async def service_list(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return [self._describe(s) for s in self.state.config.services]

    async def backend_list(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every backend of the selected services with its health (``lbctl backend list``)."""
        names = self._selected_services(params)
        return [{"service": s["name"], "pool": s["pool"], **b}
                for s in (self._describe(svc) for svc in self.state.config.services
                          if svc.name in names)
                for b in s["backends"]]

    async def switch_list(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.fabric.switches()

    async def stats(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        names = self._selected_services(params)
        async with self.lock:
            traffic = await self.fabric.traffic()
        out = []
        for service in self.state.config.services:
            if service.name not in names:
                continue
            packets, bytes_ = traffic.get((service.name, ""), (0, 0))
            backends: list[dict[str, Any]] = []
            for backend in self.state.backends_in_use(service):
                b_packets, b_bytes = traffic.get((service.name, backend.name), (0, 0))
                backends.append({
                    "name": backend.name,
                    "state": self._backend_state(service, backend),
                    "weight": backend.weight, **self._health(service, backend),
                    "active": self.state.active_connections(service.name, backend.name),
                    "packets": b_packets, "bytes": b_bytes,
                })
            out.append({"name": service.name, "vip": str(service.vip), "port": service.port,
                        "protocol": service.protocol, "packets": packets, "bytes": bytes_,
                        "active": sum(b["active"] for b in backends), "backends": backends})
        return out

    async def conns(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        names = self._selected_services(params)
        switch = params.get("switch")
        now = self.state.clock()
        return [{
            "switch": c.switch, "service": c.service, "backend": c.backend,
            "client": str(c.flow.client), "client_port": c.flow.client_port,
            "vip": str(c.flow.vip), "vport": c.flow.vport, "protocol": c.flow.protocol,
            "origin": c.origin, "age_s": round(now - c.since, 1),
        } for c in self.state.all_connections()
            if c.service in names and (switch is None or c.switch == switch)]

    async def tls_list(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """TLS services (all, or ``service``): settings, SNI/ALPN rules and each switch's
        session-affinity table with its size and hit rate (``lbctl tls``)."""
        if params.get("service") is None:
            services = [s for s in self.state.config.services
                        if s.content is not None and s.content.tls is not None]
        else:
            services = [self._content_service(params)]
            assert services[0].content is not None
            if services[0].content.tls is None:
                raise ApiError(f"service {services[0].name!r} is not a TLS service")
        out = []
        for service in services:
            assert service.content is not None and service.content.tls is not None
            tables = [table for source in self.state.affinity_sources
                      if (table := source(service.name)) is not None]
            out.append({"name": service.name, "vip": str(service.vip), "port": service.port,
                        **_tls_settings(service.content.tls),
                        "default_pool": service.content.default_pool,
                        "rules": list(service.content.raw_rules), "tables": tables})
        return out

    # ----- changes ----------------------------------------------------------------------
    async def rule_list(self, params: dict[str, Any]) -> dict[str, Any]:
        service = self._content_service(params)
        assert service.content is not None
        return {"service": service.name, "default_pool": service.content.default_pool,
                "rules": list(service.content.raw_rules)}

    async def rule_add(self, params: dict[str, Any]) -> dict[str, Any]:
        """Insert a rule at ``position`` (default: last); first match wins."""
        async with self.lock:
            service = self._content_service(params)
            assert service.content is not None
            rules = list(service.content.raw_rules)
            position = params.get("position", len(rules))
            if isinstance(position, bool) or not isinstance(position, int) or \
                    not 0 <= position <= len(rules):
                raise ApiError(f"position: {position!r} is not an integer in "
                               f"[0, {len(rules)}]")
            rules.insert(position, params.get("rule"))
            self._set_rules(service, rules, service.content.default_pool)
            return await self._push()

    async def rule_del(self, params: dict[str, Any]) -> dict[str, Any]:
        async with self.lock:
            service = self._content_service(params)
            assert service.content is not None
            rules = list(service.content.raw_rules)
            index = params.get("index")
            if isinstance(index, bool) or not isinstance(index, int) or \
                    not 0 <= index < len(rules):
                raise ApiError(f"index: {index!r} is not a rule of service {service.name!r} "
                               f"(it has {len(rules)})")
            del rules[index]
            self._set_rules(service, rules, service.content.default_pool)
            return await self._push()

    async def rule_default(self, params: dict[str, Any]) -> dict[str, Any]:
        """Set (or, with no pool, clear) the pool of requests no rule matches."""
        pool = params.get("pool")
        async with self.lock:
            service = self._content_service(params)
            assert service.content is not None
            self._set_rules(service, list(service.content.raw_rules),
                            None if pool is None else _text(params, "pool"))
            return await self._push()

    def _content_service(self, params: dict[str, Any]) -> Service:
        service = self.state.service(_text(params, "service"))
        if service.content is None:
            raise ApiError(f"service {service.name!r} is not an l7 service (it has no rules)")
        return service

    def _set_rules(self, service: Service, rules: list[Any], default_pool: str | None) -> None:
        """Validate the new rule list completely, then swap it in (lock held)."""
        assert service.content is not None
        parsed = parse_content_rules(rules, where="rules", default_pool=default_pool,
                                     pools=self.state.config.pools,
                                     tls=service.content.tls is not None)
        if not rules and default_pool is None:
            raise ApiError("an l7 service needs a rule or a default pool")
        content = dataclasses.replace(service.content, rules=parsed, raw_rules=tuple(rules),
                                      default_pool=default_pool)
        pools = content.pools
        self.state.replace_service(dataclasses.replace(service, content=content,
                                                       pool=pools[0]))

    async def service_add(self, params: dict[str, Any]) -> dict[str, Any]:
        check = Checker()
        service = parse_service(check, params.get("service"), "service",
                                self.state.config.pools)
        _raise(check)
        assert service is not None
        async with self.lock:
            self.state.add_service(service)
            return await self._push()

    async def service_del(self, params: dict[str, Any]) -> dict[str, Any]:
        async with self.lock:
            self.state.remove_service(_text(params, "service"))
            return await self._push()

    async def backend_add(self, params: dict[str, Any]) -> dict[str, Any]:
        check = Checker()
        backend = parse_backend(check, params.get("backend"), "backend")
        _raise(check)
        assert backend is not None
        async with self.lock:
            self.state.add_backend(_text(params, "service"), backend)
            return await self._push()

    async def backend_del(self, params: dict[str, Any]) -> dict[str, Any]:
        async with self.lock:
            self.state.remove_backend(_text(params, "service"), _text(params, "backend"))
            return await self._push()

    async def backend_drain(self, params: dict[str, Any]) -> dict[str, Any]:
        async with self.lock:
            self.state.set_weight(_text(params, "service"), _text(params, "backend"), 0)
            return await self._push()

    async def backend_weight(self, params: dict[str, Any]) -> dict[str, Any]:
        weight = params.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, int):
            raise ApiError(f"weight: {weight!r} is not an integer")
        async with self.lock:
            self.state.set_weight(_text(params, "service"), _text(params, "backend"), weight)
            return await self._push()

    async def health_set(self, params: dict[str, Any]) -> dict[str, Any]:
        """Check POOL's servers as ``check`` says (the keys of a health_checks entry)."""
        pool = _text(params, "pool")
        check = Checker()
        async with self.lock:
            policies = parse_health_checks(check, {pool: params.get("check")},
                                           self.state.config.pools)
            _raise(check)
            self.state.set_health_policy(pool, policies[pool])
            return await self._push()

    async def health_del(self, params: dict[str, Any]) -> dict[str, Any]:
        async with self.lock:
            self.state.set_health_policy(_text(params, "pool"), None)
            return await self._push()

    async def config_apply(self, params: dict[str, Any]) -> dict[str, Any]:
        text = _text(params, "yaml")
        source = str(params.get("path", "<config>"))
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError([f"{source}: invalid YAML: {err}"]) from err
        config = parse_config(raw, Path(source).parent)
        async with self.lock:
            self.state.apply_config(config)
            return await self._push()

    # ----- helpers ----------------------------------------------------------------------
    async def _push(self) -> dict[str, Any]:
        return {"switches": await self.fabric.sync()}

    def _selected_services(self, params: dict[str, Any]) -> set[str]:
        name = params.get("service")
        if name is None:
            return {s.name for s in self.state.config.services}
        return {self.state.service(_text(params, "service")).name}

    def _backend_state(self, service: Service, backend: Backend) -> str:
        pools = [p for p in service.pools
                 if any(b.name == backend.name for b in self.state.config.pools.get(p, ()))]
        if not pools:
            policy = self.state.health_policy(service.pool)
            return "sorry" if policy is not None and policy.sorry_server == backend \
                else "retiring"
        return "draining" if backend.weight == 0 else "active"

    def _health(self, service: Service, backend: Backend) -> dict[str, Any]:
        """The backend's health as its first checked pool sees it, and its weight now."""
        now = self.state.clock()
        for pool in service.pools:
            policy = self.state.health_policy(pool)
            scheduled = {b.name: b.weight for b in self.state.schedulable(pool)}
            if backend.name not in scheduled:
                continue
            health = self.state.health.get(pool, backend.name)
            if policy is None or health is None:
                return {"health": "unchecked" if policy is None else "up",
                        "effective_weight": scheduled[backend.name]}
            return {"health": "up" if health.up else "down",
                    "effective_weight": scheduled[backend.name],
                    "check": health.last_detail, "checks": health.checks,
                    "since_change_s": round(now - health.since, 1),
                    "agent": None if policy.agent is None else {
                        "state": health.agent_state, "percent": health.agent_percent,
                        "detail": health.agent_detail},
                    "slow_start": health.ramp_from is not None}
        return {"health": "unchecked", "effective_weight": 0}

    def _describe(self, service: Service) -> dict[str, Any]:
        persistence = service.persistence
        return {
            "name": service.name, "vip": str(service.vip), "port": service.port,
            "protocol": service.protocol, "mode": service.mode,
            "scheduler": service.scheduler, "pool": service.pool,
            "pools": list(service.pools),
            "content": None if service.content is None else {
                "default_pool": service.content.default_pool,
                "rules": list(service.content.raw_rules),
                "request_timeout": service.content.request_timeout_s,
                "max_request_head": service.content.max_request_head,
                "transparent": service.content.transparent,
                "relay": service.content.relay,
                "tls": None if service.content.tls is None
                else _tls_settings(service.content.tls)},
            "persistence": None if persistence is None else {
                "timeout": persistence.timeout_s, "netmask": str(persistence.netmask)},
            "switches": list(service.switches) if service.switches is not None else None,
            "new_connection_limit": None if service.new_connection_limit is None else {
                "rate": service.new_connection_limit.rate,
                "burst": service.new_connection_limit.burst},
            "backends": [{
                "name": b.name, "address": str(b.address), "port": b.port, "mac": b.mac,
                "egress_port": b.egress_port, "weight": b.weight,
                "state": self._backend_state(service, b), **self._health(service, b),
                "active": self.state.active_connections(service.name, b.name),
            } for b in self.state.backends_in_use(service)],
        }


def _tls_settings(tls: TlsConfig) -> dict[str, Any]:
    return {"affinity": tls.affinity, "affinity_timeout": tls.affinity_timeout_s,
            "affinity_size": tls.affinity_size, "max_client_hello": tls.max_client_hello,
            "bad_hello": tls.bad_hello}


def _text(params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise ApiError(f"{key}: a non-empty string is required")
    return value


def _raise(check: Checker) -> None:
    if check.problems:
        raise ConfigError(check.problems)
