"""``make demo``: the load balancer on the embedded target, in NAT, DR, TUN and L7 mode.

Starts the single-switch topology (2 clients, 3 nginx backends, lbd with one service per mode;
the L7 service splices TCP and sends ``/static/`` to b1 only), sends requests through each VIP,
prints how they spread over the backends, and tears it all down again, also on an error or
Ctrl-C.

    python -m topologies.demo [--requests N] [--scheduler S] [--target embedded|bmv2]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from controller.config import SCHEDULERS
from topologies.addressing import MODES, site_plan
from topologies.cli_options import bounded
from topologies.lb_network import free_tcp_ports
from topologies.runner import run
from topologies.switch_process import Target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m topologies.demo",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=bounded(1, 10000), default=30,
                        help="requests per mode (default 30)")
    parser.add_argument("--scheduler", choices=SCHEDULERS, default="rr")
    parser.add_argument("--target", choices=[t.value for t in Target], default="embedded")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("demo: needs root (network namespaces); in Docker use --privileged",
              file=sys.stderr)
        return 2
    args.modes = list(MODES)
    args.pcap = False
    args.cli = False
    (grpc_port,) = free_tcp_ports(1)
    print(f"P4 load balancer demo: target {args.target}, scheduler {args.scheduler}, "
          f"modes {', '.join(MODES)}", flush=True)
    status = run([site_plan(0, clients=2, backends=3, grpc_port=grpc_port)], args)
    print("demo: all requests answered" if status == 0 else "demo: some requests failed")
    return status


if __name__ == "__main__":
    sys.exit(main())
