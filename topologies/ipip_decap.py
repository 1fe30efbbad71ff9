"""User-space IP-in-IP decapsulation for backends whose kernel has no ``ipip`` module.

In TUN mode the load balancer sends ``IP(backend) / IP(client -> VIP) / TCP``.  A kernel with
``CONFIG_NET_IPIP`` decapsulates on ``tunl0``; without it this process does the same job: a raw
socket receives protocol-4 packets addressed to the backend, and the inner datagram is written
to a TUN device that holds the VIP, so the kernel receives it exactly as from ``tunl0``.
Replies leave through the ordinary route, straight to the client (as with kernel IPIP).

    python -m topologies.ipip_decap --device tunl0 --vip 10.0.0.100   (inside the backend)
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Sequence

IPPROTO_IPIP = 4
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MAX_PACKET = 65535


def inner_datagram(outer: bytes) -> bytes | None:
    """The encapsulated IPv4 datagram of an IPIP packet, or None when ``outer`` is malformed."""
    if len(outer) < 20 or outer[0] >> 4 != 4:
        return None
    outer_header_len = (outer[0] & 0x0F) * 4
    outer_total_len = struct.unpack_from("!H", outer, 2)[0]
    if outer[9] != IPPROTO_IPIP or outer_header_len < 20 or outer_total_len > len(outer):
        return None
    inner = outer[outer_header_len:outer_total_len]
    if len(inner) < 20 or inner[0] >> 4 != 4:
        return None
    inner_total_len = struct.unpack_from("!H", inner, 2)[0]
    if inner_total_len < 20 or inner_total_len > len(inner):
        return None
    return inner[:inner_total_len]


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def configure_device(name: str, vip: str) -> None:
    """VIP on the device, device up, reverse-path filtering off (sources are remote clients)."""
    for command in (["ip", "addr", "replace", f"{vip}/32", "dev", name],
                    ["ip", "link", "set", name, "up"],
                    ["sysctl", "-qw", f"net.ipv4.conf.{name}.rp_filter=0"]):
        subprocess.run(command, check=True)


def run(device: str, vips: Sequence[str]) -> None:
    tun = open_tun(device)
    for vip in vips:
        configure_device(device, vip)
    receiver = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_IPIP)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"ipip_decap: decapsulating into {device} (VIPs {', '.join(vips)})", flush=True)
    while True:
        inner = inner_datagram(receiver.recv(MAX_PACKET))
        if inner is not None:
            os.write(tun, inner)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="tunl0", help="TUN device to create (holds the VIP)")
    parser.add_argument("--vip", required=True, action="append",
                        help="virtual IP to hold (repeatable)")
    args = parser.parse_args(argv)
    try:
        run(args.device, args.vip)
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"ipip_decap: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
