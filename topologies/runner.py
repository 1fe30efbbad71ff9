"""Start a topology from parsed options, then open the CLI or show how requests spread."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Sequence

from topologies.addressing import MODES, STATIC_PATH, SitePlan
from topologies.backend_setup import HostSetupError
from topologies.controller_process import ControllerError
from topologies.lb_network import LbNetwork, NetworkOptions, install_signal_handlers
from topologies.lbd_config import service_name
from topologies.p4build import BuildError
from topologies.switch_process import SwitchError, Target
from topologies.traffic import FAILED, spread, spread_table
from topologies.webserver import WebServerError

# What a topology can fail with at start-up, each with a message saying why.
STARTUP_ERRORS = (BuildError, SwitchError, ControllerError, WebServerError, HostSetupError)


def describe(network: LbNetwork) -> str:
    lines = [f"run directory: {network.run_dir} (switch, lbd and web server logs)"]
    for site in network.sites:
        lines.append(f"{site.switch}: P4Runtime 127.0.0.1:{site.grpc_port} device {site.device_id}"
                     f", router MAC {site.router_mac}")
        lines.append("  clients:  " + ", ".join(f"{h.name} {h.ip}" for h in site.clients))
        lines.append("  backends: " + ", ".join(f"{h.name} {h.ip}" for h in site.backends))
        lines.append("  services: " + ", ".join(
            f"{service_name(site, mode)} http://{site.vips[mode]}/"
            for mode in network.options.modes))
    return "\n".join(lines)


def targets(site: SitePlan, modes: Sequence[str]) -> list[tuple[str, str, str]]:
    """(row label, VIP, path) to measure: "/" per mode, plus the l7 service's static rule."""
    rows = [(mode, site.vips[mode], "/") for mode in modes]
    if "l7" in modes:
        rows.append((f"l7 {STATIC_PATH}", site.vips["l7"], STATIC_PATH))
    return rows


def measure(network: LbNetwork, requests: int) -> tuple[str, bool]:
    """The spread table of every site and mode; whether every request got an answer."""
    ok = True
    tables = []
    for site in network.sites:
        clients = [network.host(h.name) for h in site.clients]
        results: dict[str, Counter[str]] = {}
        for label, vip, path in targets(site, network.options.modes):
            results[label] = spread(clients, vip, requests, path=path)
            ok = ok and results[label].get(FAILED, 0) == 0
        tables.append(f"{site.switch}: {requests} requests per VIP from "
                      f"{len(clients)} client(s)\n"
                      + spread_table(results, [h.name for h in site.backends]))
    return "\n\n".join(tables), ok


def run(sites: Sequence[SitePlan], args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        print("error: Mininet needs root (network namespaces, veth pairs)", file=sys.stderr)
        return 2
    install_signal_handlers()
    options = NetworkOptions(target=Target(args.target), modes=tuple(args.modes or MODES),
                             scheduler=args.scheduler, pcap=args.pcap)
    try:
        with LbNetwork(sites, options) as network:
            print(describe(network), flush=True)
            if args.cli:
                from mininet.cli import CLI

                CLI(network.net)
                return 0
            table, ok = measure(network, args.requests)
            print(table)
            if network.controller is not None:
                print("\nlbd's view, from the switch counters (lbctl stats):")
                print(network.controller.lbctl("stats").rstrip())
            return 0 if ok else 1
    except KeyboardInterrupt:
        print("interrupted; everything was cleaned up", file=sys.stderr)
        return 130
    except STARTUP_ERRORS as error:
        print(f"error: {error}\n(everything was cleaned up; logs are kept in the run directory)",
              file=sys.stderr)
        return 1
