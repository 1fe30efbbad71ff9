"""The monitoring leg of a site: where lbd's health checks leave from.

An L4 switch checks its real servers from its own address on the server side, so the checks
see what the data plane sees (the server's real address, its link) and are not translated
by the data plane's NAT, which rewrites every reply of a NAT backend's service port.  Here
that leg is a network namespace holding one macvlan per backend, stacked on the switch-side
end of the backend's link: frames go straight onto that link, and the backend answers on
it.  The switch's own port socket also sees those frames; they are not addressed to the
router MAC, so the pipeline drops them as foreign.  lbd reaches the namespace through the
pools' ``health_checks.<pool>.netns``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from topologies.addressing import SitePlan

NETNS_DIR = Path("/run/netns")
MONITOR_HOST_NUMBER = 250  # on each site's server subnet (backends use 1..200)


def monitor_netns_name(tag: str, site: SitePlan) -> str:
    return f"lb{tag}mon{site.index}"


def monitor_address(site: SitePlan) -> str:
    network = site.server_gateway.rsplit(".", 1)[0]
    return f"{network}.{MONITOR_HOST_NUMBER}"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def attach_monitor(tag: str, site: SitePlan, switch_interface: dict[int, str]) -> Path:
    """Create the site's monitoring namespace; ``switch_interface`` maps a backend's switch
    port to the root-namespace interface name of that port.  Returns the namespace path."""
    name = monitor_netns_name(tag, site)
    _ip("netns", "add", name)
    _ip("-n", name, "link", "set", "lo", "up")
    address = monitor_address(site)
    for backend in site.backends:
        leg = f"lb{tag}m{backend.port}"
        _ip("link", "add", leg, "link", switch_interface[backend.port], "type", "macvlan",
            "mode", "private")
        _ip("link", "set", leg, "netns", name)
        _ip("-n", name, "addr", "add", f"{address}/32", "dev", leg)
        _ip("-n", name, "link", "set", leg, "up")
        _ip("-n", name, "route", "add", f"{backend.ip}/32", "dev", leg, "src", address)
    return NETNS_DIR / name


def remove_monitors(tag: str) -> list[str]:
    """Delete the monitoring namespaces of run ``tag`` (their macvlans go with them)."""
    removed = []
    for path in sorted(NETNS_DIR.glob(f"lb{tag}mon*")) if NETNS_DIR.is_dir() else []:
        subprocess.run(["ip", "netns", "del", path.name], capture_output=True, check=False)
        removed.append(path.name)
    return removed
