"""Reading the flow of a packet-in: Ethernet / IPv4 / TCP or UDP, nothing more.

Packets come from the network through the switch, so any byte string must give either a
flow or None, never an exception.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from controller.state import FlowKey

ETHERTYPE_IPV4 = 0x0800
L4_PROTOCOLS = (6, 17)


def parse_flow(frame: bytes) -> FlowKey | None:
    """The client flow of an Ethernet frame, or None if it is not IPv4 TCP/UDP."""
    if len(frame) < 14 + 20 or int.from_bytes(frame[12:14], "big") != ETHERTYPE_IPV4:
        return None
    ip = frame[14:]
    version, header_len = ip[0] >> 4, (ip[0] & 0x0F) * 4
    protocol = ip[9]
    fragment_offset = int.from_bytes(ip[6:8], "big") & 0x1FFF
    if version != 4 or header_len < 20 or protocol not in L4_PROTOCOLS or fragment_offset:
        return None
    l4 = ip[header_len:]
    if len(l4) < 4:
        return None
    return FlowKey(client=IPv4Address(ip[12:16]), client_port=int.from_bytes(l4[0:2], "big"),
                   vip=IPv4Address(ip[16:20]), vport=int.from_bytes(l4[2:4], "big"),
                   protocol=protocol)
