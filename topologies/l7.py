"""A content-aware (L7) load-balancer topology for end-to-end tests and the L7 benchmark.

    python -m topologies.l7 [--target embedded|bmv2] [--cli]

One switch (site 0 of addressing.py), clients ``c1..`` (``L7Options.clients``), backends
``b1..b4`` running nginx and ``b5`` (``PROXY_HOST``) left out of every pool for HAProxy
(bench/l7_splice.py).  lbd runs (VIPs on the clients' network):

==========  ======  ===================================================================
service     VIP     what
==========  ======  ===================================================================
web-nat     .100    L4 NAT over b1..b4 :80, scheduled by lbd (rr)
web-mh      .101    the same, scheduled in the data plane (Maglev); backends :8003
shop        .103    l7, spliced: ``/static/`` -> pool static (b1), Host ``api.example``
                    -> pool api (b2), anything else -> pool web (b3, b4); backends :8000
shop-relay  .104    the same rules with ``relay: true`` (lbd relays every packet); :8001
locality    .105    l7 with scheduler ``lard`` over b1..b4 :8002 (thresholds from options)
secure      .106    TLS (:443): SNI ``api.example.com`` or ``*.img.example.com`` -> pool
                    of b1, anything else -> pool of b2, b3, b4 (rr); session affinity
                    strict; nginx HTTPS :8443
secure-     .107    the same with a ticket key shared by the pool (affinity preferred);
shared              :8444
secure-rr   .108    the same with affinity off (rr alone); :8445
==========  ======  ===================================================================

The HTTPS servers present one certificate (SANs: ``TLS_NAMES``) from a test CA made at
start by openssl (``L7Network.tls``; clients trust ``tls.ca_cert``).  They also serve HTTPS
on ``TLS_DIRECT_PORT`` (8446), in no pool: reached directly, routed by the switch, it is
the unspliced peer of bench/tls_resumption.py.

An l7 service's backend endpoints belong to it alone (the switch keys splicing on them),
hence one nginx port per l7 service.  Every page names its backend (``backend b2
10.0.1.2``); ``/big.bin`` and ``/static/big.bin`` are one file of ``big_file_bytes`` random
bytes whose SHA-256 is ``L7Network.big_sha256``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from topologies import runs
from topologies.addressing import SERVICE_PORT, HostPlan, SitePlan, site_plan
from topologies.controller_process import LbdProcess
from topologies.lb_network import LbNetwork, NetworkOptions, free_tcp_ports
from topologies.lbd_config import switch_entry
from topologies.switch_process import Target
from topologies.tls_certs import TlsFiles, make_test_ca
from topologies.webserver import HttpsSite, WebServer

CLIENTS = 2
POOL_BACKENDS = 4
PROXY_HOST = "b5"  # not in any pool: bench/l7_splice.py runs HAProxy there
SPLICED_PORT, RELAY_PORT, LOCALITY_PORT, MAGLEV_PORT = 8000, 8001, 8002, 8003
API_HOST = "api.example"
STATIC_PREFIX = "/static/"
BIG_FILE = "big.bin"
VIP_NUMBERS = {"web-nat": 100, "web-mh": 101, "shop": 103, "shop-relay": 104, "locality": 105,
               "secure": 106, "secure-shared": 107, "secure-rr": 108}
TLS_SERVICE_PORT = 443
TLS_NAMES = ("www.example.com", "api.example.com", "*.img.example.com")
# (service, backend port, affinity, shared ticket key)
TLS_SERVICES = (("secure", 8443, "strict", False), ("secure-shared", 8444, "preferred", True),
                ("secure-rr", 8445, "off", False))
TLS_DIRECT_PORT = 8446  # HTTPS on every backend, in no pool (not spliced)
CHUNK = 1 << 20


@dataclass(frozen=True)
class L7Options:
    target: Target = Target.EMBEDDED
    big_file_bytes: int = 100 * CHUNK
    lard_thresholds: tuple[int, int] = (25, 65)  # (t_low, t_high) of the locality service
    new_connection_limit: dict[str, int] | None = field(
        default_factory=lambda: {"rate": 2000, "burst": 500})  # of the shop service
    splice_profile: str = "full"
    connection_idle_timeout_s: float = 30.0  # also of splice entries whose close was missed
    run_dir: Path | None = None
    controllers: int = 1  # lbd instances (primary and backups, docs/ha.md)
    clients: int = CLIENTS


def l7_site(clients: int = CLIENTS) -> SitePlan:
    (grpc_port,) = free_tcp_ports(1)
    return site_plan(0, clients, POOL_BACKENDS + 1, grpc_port)


def vip(site: SitePlan, service: str) -> str:
    return site.client_gateway.rsplit(".", 1)[0] + f".{VIP_NUMBERS[service]}"


def _members(backends: Sequence[HostPlan], port: int) -> list[dict[str, Any]]:
    return [{"name": host.name, "address": host.ip, "port": port, "mac": host.mac,
             "egress_port": host.port} for host in backends]


def l7_config(site: SitePlan, options: L7Options, *, p4info: Path, bmv2_json: Path,
              api_socket: Path) -> dict[str, Any]:
    """The lbd configuration of the table in the module docstring."""
    backends = site.backends[:POOL_BACKENDS]
    pools: dict[str, list[dict[str, Any]]] = {"nat": _members(backends, SERVICE_PORT)}
    pools["nat-mh"] = _members(backends, MAGLEV_PORT)  # a NAT backend serves one service
    services: list[dict[str, Any]] = [
        {"name": name, "vip": vip(site, name), "port": SERVICE_PORT, "mode": "nat",
         "scheduler": scheduler, "pool": pool}
        for name, scheduler, pool in (("web-nat", "rr", "nat"), ("web-mh", "mh", "nat-mh"))]
    for name, port, relay in (("shop", SPLICED_PORT, False), ("shop-relay", RELAY_PORT, True)):
        prefix = "" if not relay else "relay-"
        pools[f"{prefix}static"] = _members(backends[:1], port)
        pools[f"{prefix}api"] = _members(backends[1:2], port)
        pools[f"{prefix}web"] = _members(backends[2:], port)
        service: dict[str, Any] = {
            "name": name, "vip": vip(site, name), "port": SERVICE_PORT, "mode": "l7",
            "scheduler": "rr", "splice_profile": options.splice_profile,
            "rules": [{"path_prefix": STATIC_PREFIX, "pool": f"{prefix}static"},
                      {"host": API_HOST, "pool": f"{prefix}api"}],
            "default_pool": f"{prefix}web"}
        if relay:
            service["relay"] = True
        elif options.new_connection_limit is not None:
            service["new_connection_limit"] = dict(options.new_connection_limit)
        services.append(service)
    pools["locality"] = _members(backends, LOCALITY_PORT)
    t_low, t_high = options.lard_thresholds
    services.append({"name": "locality", "vip": vip(site, "locality"), "port": SERVICE_PORT,
                     "mode": "l7", "scheduler": "lard",
                     "lard": {"t_low": t_low, "t_high": t_high}, "default_pool": "locality"})
    for name, port, affinity, _ in TLS_SERVICES:
        pools[f"{name}-static"] = _members(backends[:1], port)
        pools[f"{name}-web"] = _members(backends[1:], port)
        services.append({
            "name": name, "vip": vip(site, name), "port": TLS_SERVICE_PORT, "mode": "l7",
            "scheduler": "rr", "splice_profile": options.splice_profile,
            "tls": {"affinity": affinity},
            "rules": [{"sni": "api.example.com", "pool": f"{name}-static"},
                      {"sni": "*.img.example.com", "pool": f"{name}-static"}],
            "default_pool": f"{name}-web"})
    for service in services:
        service.update(protocol="tcp", switches=[site.switch])
    return {"pipeline": {"p4info": str(p4info), "bmv2_json": str(bmv2_json)},
            "api": {"unix_socket": str(api_socket)},
            "connection_idle_timeout": options.connection_idle_timeout_s,
            "switches": [switch_entry(site, ("nat", "l7"))],
            "pools": pools, "services": services}


def write_big_file(path: Path, size: int) -> str:
    """``size`` random bytes at ``path``; returns their SHA-256 (hex)."""
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        for offset in range(0, size, CHUNK):
            chunk = os.urandom(min(CHUNK, size - offset))
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


class L7Network(LbNetwork):
    """LbNetwork with the services above (NAT and l7 modes only, no DR/TUN set-up)."""

    def __init__(self, options: L7Options) -> None:
        super().__init__([l7_site(options.clients)], NetworkOptions(target=options.target,
                                                     modes=("nat", "l7"),
                                                     run_dir=options.run_dir,
                                                     controllers=options.controllers))
        self.l7_options = options
        self.big_sha256 = ""
        self._tls: TlsFiles | None = None

    @property
    def tls(self) -> TlsFiles:
        """The test CA and the backends' certificate (made by start)."""
        assert self._tls is not None, "the network is not started"
        return self._tls

    @property
    def site(self) -> SitePlan:
        return self.sites[0]

    @property
    def lbd(self) -> LbdProcess:
        assert self.controller is not None, "lbd is not running"
        return self.controller

    def vip(self, service: str) -> str:
        return vip(self.site, service)

    def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.big_sha256 = write_big_file(self.run_dir / BIG_FILE,
                                         self.l7_options.big_file_bytes)
        self._tls = make_test_ca(self.run_dir / "tls", TLS_NAMES)
        super().start()

    def stop(self) -> None:
        """LbNetwork.stop, then the big file goes (the rest of the run directory stays)."""
        try:
            super().stop()
        finally:
            (self.run_dir / BIG_FILE).unlink(missing_ok=True)

    def _set_up_backend(self, site: SitePlan, plan: Any) -> None:
        """The standard servers (:80, :8000, :8080) plus one on the relay, locality and
        Maglev ports and the HTTPS ports (the direct one included); every document root
        gets the big file."""
        super()._set_up_backend(site, plan)
        https = HttpsSite(self.tls, (*(p for _, p, _, shared in TLS_SERVICES if not shared),
                                     TLS_DIRECT_PORT),
                          tuple(p for _, p, _, shared in TLS_SERVICES if shared))
        extra = WebServer(self.host(plan.name), plan.name, plan.ip,
                          self.run_dir / "www" / f"{plan.name}-extra",
                          ports=(RELAY_PORT, LOCALITY_PORT, MAGLEV_PORT), https=https)
        self.servers.append(extra)
        extra.start()
        for process in extra.processes:
            runs.record_pid(self.run_dir, process.pid)
        for server in (self.servers[-2], extra):
            for directory in (server.directory / "www", server.directory / "www" / "static"):
                link = directory / BIG_FILE
                if not link.exists():
                    link.symlink_to(self.run_dir / BIG_FILE)

    def _start_controller(self) -> None:
        assert self.program is not None
        api_socket = self.run_dir / "lbd.sock"
        config = l7_config(self.site, self.l7_options, p4info=self.program.p4info_path,
                           bmv2_json=self.program.json_path, api_socket=api_socket)
        self._start_lbds(config)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m topologies.l7",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=[t.value for t in Target],
                        default=Target.EMBEDDED.value)
    parser.add_argument("--big-mb", type=int, default=100, help="size of /big.bin in MiB")
    parser.add_argument("--cli", action="store_true", help="open the Mininet CLI")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("error: Mininet needs root", file=sys.stderr)
        return 2
    options = L7Options(target=Target(args.target), big_file_bytes=args.big_mb * CHUNK)
    network = L7Network(options)
    with network:
        print(f"run directory: {network.run_dir}")
        for name in VIP_NUMBERS:
            print(f"  {name}: http://{network.vip(name)}/")
        client = network.host("c1")
        for host_header, path in (("", "/"), ("", "/static/"), (API_HOST, "/")):
            header = f"-H 'Host: {host_header}' " if host_header else ""
            print(f"shop {host_header or '-'} {path}: " + client.cmd(
                f"curl -s -m 5 {header}http://{network.vip('shop')}{path}").strip())
        if args.cli:
            from mininet.cli import CLI

            CLI(network.net)
    return 0


if __name__ == "__main__":
    sys.exit(main())
