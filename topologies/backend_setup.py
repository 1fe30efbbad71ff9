"""Host-side configuration of clients and backends for the three forwarding modes.

* NAT: nothing beyond the default route through the switch (replies must come back to it).
* DR: the VIP on ``lo``, with ``arp_ignore=1``/``arp_announce=2`` so that the backend neither
  answers ARP for the VIP nor uses it as an ARP source (LVS-DR practice).
* TUN: the VIP on an IP-in-IP tunnel device ``tunl0`` with reverse-path filtering off and
  ``accept_local`` on (the outer source address is the VIP itself); the
  kernel's ``ipip`` when it exists, else topologies/ipip_decap.py (a TUN device fed by a raw
  socket) which delivers the same inner packets to the same stack.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from topologies.addressing import HostPlan

TUNNEL_DEVICE = "tunl0"


class HostSetupError(RuntimeError):
    """A host command failed."""


def run(host: Any, command: str) -> str:
    """Run ``command`` in ``host``'s namespace; raise with its output when it fails."""
    output = host.cmd(f"{command}; echo __rc=$?")
    text, _, rc = output.rpartition("__rc=")
    if rc.strip() != "0":
        raise HostSetupError(f"{host.name}: {command!r} failed: {text.strip()}")
    return str(text)


def configure_host(host: Any, plan: HostPlan) -> None:
    """Address and MAC are set by Mininet; here: IPv4 only, default route through the switch."""
    intf = host.defaultIntf().name
    run(host, "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1")
    run(host, f"ip route replace default via {plan.gateway} dev {intf}")


def configure_dr(host: Any, vip: str) -> None:
    intf = host.defaultIntf().name
    run(host, f"ip addr replace {vip}/32 dev lo")
    run(host, "sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 "
              f"net.ipv4.conf.{intf}.arp_ignore=1 net.ipv4.conf.{intf}.arp_announce=2")


def kernel_ipip(host: Any) -> bool:
    """Whether ``tunl0`` can be a kernel IPIP device in ``host`` (module built in or loadable)."""
    if host.cmd(f"ip link show {TUNNEL_DEVICE} >/dev/null 2>&1 && echo yes").strip() == "yes":
        return True
    subprocess.run(["modprobe", "-q", "ipip"], check=False, capture_output=True)
    created = host.cmd(f"ip link add {TUNNEL_DEVICE} type ipip 2>/dev/null && echo yes").strip()
    return created == "yes" or host.cmd(
        f"ip link show {TUNNEL_DEVICE} >/dev/null 2>&1 && echo yes").strip() == "yes"


def configure_tun(host: Any, vip: str, log_dir: Path) -> Any | None:
    """Returns the user-space decapsulator's process when the kernel has no IPIP, else None."""
    intf = host.defaultIntf().name
    run(host, "sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0")
    # The outer source is the VIP (docs/dataplane.md), an address the backend holds itself:
    # without accept_local the kernel drops the outer packet as a martian before decapsulating.
    run(host, f"sysctl -qw net.ipv4.conf.all.accept_local=1 net.ipv4.conf.{intf}.accept_local=1 "
              f"net.ipv4.conf.{intf}.rp_filter=0")
    if kernel_ipip(host):
        run(host, f"ip addr replace {vip}/32 dev {TUNNEL_DEVICE}")
        run(host, f"ip link set {TUNNEL_DEVICE} up")
        run(host, f"sysctl -qw net.ipv4.conf.{TUNNEL_DEVICE}.rp_filter=0")
        return None
    log = open(log_dir / f"{host.name}-ipip-decap.log", "wb")
    process = host.popen([sys.executable, "-m", "topologies.ipip_decap",
                          "--device", TUNNEL_DEVICE, "--vip", vip],
                         stdout=log, stderr=subprocess.STDOUT)
    log.close()
    for _ in range(50):
        if process.poll() is not None:
            raise HostSetupError(f"{host.name}: ipip_decap exited, see {log.name}")
        if vip in host.cmd(f"ip -4 addr show dev {TUNNEL_DEVICE} 2>/dev/null"):
            return process
        host.cmd("sleep 0.1")
    raise HostSetupError(f"{host.name}: ipip_decap did not configure {TUNNEL_DEVICE}")
