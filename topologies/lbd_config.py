"""The lbd configuration (docs/config.md) for a topology, derived from its addressing plan.

Every switch gets its clients as /32 routes and its backends as directly attached next hops
(MAC + port).  One service per mode runs on each site's VIPs, restricted to the site's switch:
the L4 modes share the pool of the site's backends on :80; the l7 service splices to the same
hosts on :8000, with one content rule (``/static/`` goes to backend 1 only) and every backend
as the default pool.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from topologies.addressing import (
    DIRECT_PORT,
    L7_BACKEND_PORT,
    SERVICE_PORT,
    STATIC_PATH,
    HostPlan,
    SitePlan,
)

L7_SCHEDULER_INSTEAD_OF_MH = "rr"  # mh schedules in the data plane, which cannot read requests


def service_name(site: SitePlan, mode: str) -> str:
    return f"web-{mode}-{site.switch}"


def switch_entry(site: SitePlan, modes: Sequence[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": site.switch,
        "address": f"127.0.0.1:{site.grpc_port}",
        "device_id": site.device_id,
        "ports": {host.name: host.port for host in site.hosts},
        "router_mac": site.router_mac,
        "addresses": list(site.switch_addresses),
        "routes": [{"prefix": f"{host.ip}/32", "egress_port": host.name, "mac": host.mac}
                   for host in site.hosts],
    }
    if "l7" in modes:
        entry["splice_address"] = site.server_gateway
    return entry


def _members(backends: Sequence[HostPlan], port: int) -> list[dict[str, Any]]:
    return [{"name": host.name, "address": host.ip, "port": port, "mac": host.mac,
             "egress_port": host.port} for host in backends]


def _pools(site: SitePlan, modes: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    pools = {f"web-{site.switch}": _members(site.backends, SERVICE_PORT)}
    if "l7" in modes:
        pools[f"l7-{site.switch}"] = _members(site.backends, L7_BACKEND_PORT)
        pools[f"l7-static-{site.switch}"] = _members(site.backends[:1], L7_BACKEND_PORT)
    return pools


def _service(site: SitePlan, mode: str, scheduler: str) -> dict[str, Any]:
    service: dict[str, Any] = {"name": service_name(site, mode), "vip": site.vips[mode],
                               "port": SERVICE_PORT, "protocol": "tcp", "mode": mode,
                               "switches": [site.switch]}
    if mode == "l7":
        service["scheduler"] = L7_SCHEDULER_INSTEAD_OF_MH if scheduler == "mh" else scheduler
        service["rules"] = [{"path_prefix": STATIC_PATH, "pool": f"l7-static-{site.switch}"}]
        service["default_pool"] = f"l7-{site.switch}"
    else:
        service["scheduler"] = scheduler
        service["pool"] = f"web-{site.switch}"
    return service


def lbd_config(sites: Sequence[SitePlan], *, p4info: Path, bmv2_json: Path, api_socket: Path,
               modes: Sequence[str], scheduler: str,
               connection_idle_timeout: float = 30.0,
               health_check: Mapping[str, Any] | None = None,
               monitors: Mapping[str, Path] | None = None) -> dict[str, Any]:
    """``health_check``: one check for every pool, run from the site's monitoring
    namespace (``monitors``: switch -> namespace path, topologies/monitor.py)."""
    config: dict[str, Any] = {
        "pipeline": {"p4info": str(p4info), "bmv2_json": str(bmv2_json)},
        "api": {"unix_socket": str(api_socket)},
        "connection_idle_timeout": connection_idle_timeout,
        "switches": [switch_entry(site, modes) for site in sites],
        "pools": {name: members for site in sites for name, members in _pools(site, modes).items()},
        "services": [_service(site, mode, scheduler) for site in sites for mode in modes],
    }
    if health_check is not None:
        config["health_checks"] = {
            pool: {**health_check, **({"netns": str(monitors[site.switch])}
                                      if monitors and site.switch in monitors else {})}
            for site in sites for pool in _pools(site, modes)}
    return config


HA_FIRST_ELECTION_ID = 100  # lbd-a's; each further instance 10 lower (a backup)


def ha_instances(config: dict[str, Any], run_dir: Path,
                 count: int) -> list[tuple[str, dict[str, Any]]]:
    """``count`` lbd instances of one configuration, named ``lbd`` alone or ``lbd-a``,
    ``lbd-b``, ... (docs/ha.md): each its own API socket in ``run_dir`` and election id
    (lbd-a's the highest: it starts as primary), the others as peers, one cookie secret."""
    if count == 1:
        return [("lbd", config)]
    names = [f"lbd-{chr(ord('a') + i)}" for i in range(count)]
    sockets = {name: str(run_dir / f"{name}.sock") for name in names}
    secret = run_dir / "cookie.key"
    secret.touch(mode=0o600)
    secret.write_text(secrets.token_hex(32))
    return [(name, {**config, "api": {"unix_socket": sockets[name]}, "ha": {
                "election_id": HA_FIRST_ELECTION_ID - 10 * i,
                "cookie_secret_file": str(secret),
                "peers": [{"unix_socket": sockets[peer]} for peer in names if peer != name]}})
            for i, name in enumerate(names)]


def write_lbd_config(path: Path, config: dict[str, Any]) -> Path:
    header = (f"# Generated by topologies/lbd_config.py; backends also answer on :{DIRECT_PORT}"
              " (direct, not load balanced).\n")
    path.write_text(header + yaml.safe_dump(config, sort_keys=False))
    return path
