"""What the end-to-end tests ask of a running network: lbd's view, the switch's tables."""

from __future__ import annotations

import time
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any, TypeVar

from switch_tables import CONNECTION_TABLE, TableEntryView, read_entries, try_read_entries

from topologies.lb_network import LbNetwork
from topologies.switch_process import log_tail

T = TypeVar("T")
BACKEND_TABLES = ("IngressPipe.backends.backend_table",
                  "IngressPipe.nat_reverse.nat_reverse_table")


def wait_until(check: Callable[[], T | None], timeout: float, what: str,
               describe: Callable[[], str] = str, step: float = 0.2) -> T:
    """Poll ``check`` until it returns something truthy; after ``timeout`` fail with
    ``what`` and what ``describe`` tells of the state reached."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout:.0f}s still not: {what}\n{describe()}")
        time.sleep(step)


def switch_entries(network: LbNetwork, switch: str = "s1") -> list[TableEntryView]:
    assert network.program is not None
    node = network.switch(switch)
    return read_entries(node.grpc_addr, node.device_id, network.program.p4info_path)


def try_switch_entries(network: LbNetwork, switch: str = "s1") -> list[TableEntryView] | None:
    assert network.program is not None
    node = network.switch(switch)
    return try_read_entries(node.grpc_addr, node.device_id, network.program.p4info_path)


def settled_entries(network: LbNetwork, switch: str = "s1") -> list[TableEntryView] | None:
    """The switch's entries once no connection is pinned (only lbd's desired state left),
    else None."""
    entries = switch_entries(network, switch)
    return None if connection_entries(entries) else entries


def connection_entries(entries: list[TableEntryView]) -> list[TableEntryView]:
    return [entry for entry in entries if entry.table == CONNECTION_TABLE]


def backend_entries(entries: list[TableEntryView], address: str) -> list[TableEntryView]:
    """Load-balancing entries for the backend at ``address`` (its backend and NAT reverse
    entries), not the switch's routes to that host, which stay."""
    return [entry for entry in entries if entry.table in BACKEND_TABLES
            and entry.mentions(int(IPv4Address(address)))]


def lbd(network: LbNetwork) -> Any:
    assert network.controller is not None
    return network.controller


def backend_states(network: LbNetwork, service: str) -> dict[str, str]:
    """Backend name -> active / draining / retiring, as ``lbctl service list`` has them."""
    services = {s["name"]: s for s in lbd(network).lbctl_json("service", "list")}
    return {b["name"]: b["state"] for b in services[service]["backends"]}


def lbd_log(network: LbNetwork, lines: int = 30) -> str:
    return "lbd log:\n" + log_tail(network.run_dir / "lbd.log", lines)
