"""Command-line options shared by the topology entry points (single, dual, demo)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from controller.config import SCHEDULERS
from topologies.addressing import MAX_BACKENDS, MAX_CLIENTS, MODES
from topologies.switch_process import Target


def bounded(low: int, high: int) -> Callable[[str], int]:
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return convert


def add_network_options(parser: argparse.ArgumentParser, *, clients: int, backends: int) -> None:
    parser.add_argument("--target", choices=[t.value for t in Target], default="embedded",
                        help="embedded p4sim switch (default) or BMv2 simple_switch_grpc")
    parser.add_argument("--mode", choices=MODES, action="append", dest="modes",
                        help="forwarding mode of the web service (repeatable; default: all)")
    parser.add_argument("--backends", type=bounded(1, MAX_BACKENDS), default=backends,
                        help=f"web servers per switch (default {backends})")
    parser.add_argument("--clients", type=bounded(1, MAX_CLIENTS), default=clients,
                        help=f"client hosts per switch (default {clients})")
    parser.add_argument("--scheduler", choices=SCHEDULERS, default="rr",
                        help="lbd scheduler of the services (default rr; mh = Maglev in the "
                             "data plane, the others schedule in the controller)")
    parser.add_argument("--pcap", action="store_true", help="pcap files of every switch port")
    parser.add_argument("--requests", type=bounded(1, 100000), default=30,
                        help="requests per VIP when not in --cli (default 30)")
    parser.add_argument("--cli", action="store_true", help="open the Mininet CLI")
