"""One P4 load-balancer switch between clients and web servers.

    python -m topologies.single [--target embedded|bmv2] [--mode nat|dr|tun ...]
                                [--backends N] [--clients N] [--scheduler S] [--cli]

Clients c1..cN and backends b1..bM hang off switch s1 (addressing: topologies/addressing.py);
lbd runs one web service per mode.  Without --cli the run sends requests through every VIP,
prints where they went and tears everything down.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from topologies.addressing import site_plan
from topologies.cli_options import add_network_options
from topologies.lb_network import free_tcp_ports
from topologies.runner import run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m topologies.single",
                                     description=__doc__.split("\n\n")[0])
    add_network_options(parser, clients=2, backends=3)
    args = parser.parse_args(argv)
    (grpc_port,) = free_tcp_ports(1)
    return run([site_plan(0, args.clients, args.backends, grpc_port)], args)


if __name__ == "__main__":
    sys.exit(main())
