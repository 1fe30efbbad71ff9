"""Two P4 load-balancer switches, each with its own clients and web servers, one lbd.

    python -m topologies.dual [same options as topologies.single]

Site 1 is switch s1 (clients c1.., backends b1.., VIPs 10.0.0.100-102); site 2 is switch s2
(clients s2c1.., backends s2b1.., VIPs 10.0.2.100-102).  A single controller programs both
switches over P4Runtime (device ids 1 and 2, one gRPC port each); every service is pinned to
its site's switch.
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
    parser = argparse.ArgumentParser(prog="python -m topologies.dual",
                                     description=__doc__.split("\n\n")[0])
    add_network_options(parser, clients=1, backends=2)
    args = parser.parse_args(argv)
    first, second = free_tcp_ports(2)
    sites = [site_plan(0, args.clients, args.backends, first),
             site_plan(1, args.clients, args.backends, second, name_prefix="s2")]
    return run(sites, args)


if __name__ == "__main__":
    sys.exit(main())
