"""Addressing plan of the load-balancer topologies (one "site" = one P4 switch).

Site ``k`` (0-based) of a topology:

====================  ==========================================  ==========================
what                  address                                      switch port
====================  ==========================================  ==========================
client ``ci``         10.0.<2k>.<10+i>/24, gateway 10.0.<2k>.1     ``i`` (1..C)
VIPs nat/dr/tun/l7    10.0.<2k>.100, .101, .102, .103 (switch answers ARP)
backend ``bj``        10.0.<2k+1>.<j>/24, gateway 10.0.<2k+1>.254  ``C+j``
switch addresses      10.0.<2k>.1, 10.0.<2k+1>.254 (ARP only)
router MAC            02:aa:00:00:00:<k+1>
====================  ==========================================  ==========================

Host MACs are ``02:00`` followed by the host's IPv4 address, so they are unique and readable.
Backends serve HTTP on :80 (the L4 services), :8000 (the l7 service: an endpoint of a spliced
service must serve nothing else) and :8080 (reached directly, bypassing the load balancer:
replies from :80 are translated back to the NAT VIP by the data plane, which keys reverse NAT
on the backend endpoint, see docs/dataplane.md).  Spliced connections reach the backends from
the switch's server-side address (``splice_address``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

L4_MODES = ("nat", "dr", "tun")
MODES = (*L4_MODES, "l7")  # l7: content aware, TCP splicing (docs/l7.md)
SERVICE_PORT = 80
L7_BACKEND_PORT = 8000
DIRECT_PORT = 8080
STATIC_PATH = "/static/"  # the l7 service's rule sends this path prefix to backend 1 only
CPU_PORT = 255  # p4src/lb.p4 expects simple_switch_grpc --cpu-port 255
VIP_HOST_NUMBERS = {"nat": 100, "dr": 101, "tun": 102, "l7": 103}
MAX_CLIENTS = 80
MAX_BACKENDS = 200


@dataclass(frozen=True)
class HostPlan:
    name: str
    ip: str
    mac: str
    port: int  # the switch port the host is wired to
    gateway: str
    prefix_len: int = 24

    @property
    def cidr(self) -> str:
        return f"{self.ip}/{self.prefix_len}"


@dataclass(frozen=True)
class SitePlan:
    index: int
    switch: str
    device_id: int
    grpc_port: int
    router_mac: str
    client_gateway: str
    server_gateway: str
    clients: tuple[HostPlan, ...]
    backends: tuple[HostPlan, ...]
    vips: dict[str, str]

    @property
    def switch_addresses(self) -> tuple[str, str]:
        return (self.client_gateway, self.server_gateway)

    @property
    def hosts(self) -> tuple[HostPlan, ...]:
        return self.clients + self.backends


def mac_of(ip: str) -> str:
    octets = ipaddress.IPv4Address(ip).packed
    return "02:00:" + ":".join(f"{octet:02x}" for octet in octets)


def site_plan(index: int, clients: int, backends: int, grpc_port: int,
              name_prefix: str = "") -> SitePlan:
    """The plan of site ``index``; host names get ``name_prefix`` (e.g. ``s2`` in dual)."""
    if not 1 <= clients <= MAX_CLIENTS:
        raise ValueError(f"clients must be between 1 and {MAX_CLIENTS}, not {clients}")
    if not 1 <= backends <= MAX_BACKENDS:
        raise ValueError(f"backends must be between 1 and {MAX_BACKENDS}, not {backends}")
    if not 0 <= index <= 100:
        raise ValueError(f"site index must be between 0 and 100, not {index}")
    client_net, server_net = f"10.0.{2 * index}", f"10.0.{2 * index + 1}"
    client_gateway, server_gateway = f"{client_net}.1", f"{server_net}.254"
    client_hosts = tuple(
        HostPlan(f"{name_prefix}c{i}", f"{client_net}.{10 + i}", mac_of(f"{client_net}.{10 + i}"),
                 port=i, gateway=client_gateway)
        for i in range(1, clients + 1))
    backend_hosts = tuple(
        HostPlan(f"{name_prefix}b{j}", f"{server_net}.{j}", mac_of(f"{server_net}.{j}"),
                 port=clients + j, gateway=server_gateway)
        for j in range(1, backends + 1))
    return SitePlan(
        index=index, switch=f"s{index + 1}", device_id=index + 1, grpc_port=grpc_port,
        router_mac=f"02:aa:00:00:00:{index + 1:02x}", client_gateway=client_gateway,
        server_gateway=server_gateway, clients=client_hosts, backends=backend_hosts,
        vips={mode: f"{client_net}.{number}" for mode, number in VIP_HOST_NUMBERS.items()},
    )
