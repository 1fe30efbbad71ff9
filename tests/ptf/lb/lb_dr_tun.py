"""Direct routing (only the MAC changes) and IP-in-IP tunnelling (outer header, MSS clamp)."""

from __future__ import annotations

from lb_base import (
    BACKEND1,
    CLIENT,
    FWD_MODE_DR,
    FWD_MODE_TUN,
    MAGLEV_TABLE_SIZE,
    PROTO_TCP,
    PROTO_UDP,
    ROUTER_MAC,
    SCHED_MAGLEV,
    TUNNEL_MAX_MSS,
    VIP,
    LbTest,
    tcp_packet,
    udp_packet,
)
from scapy.layers.inet import IP
from scapy.layers.l2 import Ether
from scapy.packet import Packet


class DirectRouting(LbTest):
    """DR: the packet to VIP:80 reaches the backend's MAC with its IP header intact but TTL - 1."""

    def runTest(self) -> None:
        self.add_service(2, PROTO_TCP, 80, FWD_MODE_DR, SCHED_MAGLEV)
        self.fill_maglev(2, [1] * MAGLEV_TABLE_SIZE)
        self.send(CLIENT.port, tcp_packet(CLIENT, VIP, 40000, 80, eth_src=CLIENT.mac,
                                          eth_dst=ROUTER_MAC, options=[("MSS", 1460)]))
        self.expect(tcp_packet(CLIENT, VIP, 40000, 80, eth_src=ROUTER_MAC, eth_dst=BACKEND1.mac,
                               ttl=63, options=[("MSS", 1460)]), BACKEND1.port)
        self.expect_nothing_else()


def tunnelled(inner: Packet) -> Packet:
    """``inner`` (an Ethernet frame) re-wrapped as the switch sends it to backend 1."""
    return (Ether(src=ROUTER_MAC, dst=BACKEND1.mac)
            / IP(src=VIP, dst=BACKEND1.ip, ttl=64, id=0, proto=4, tos=inner[IP].tos)
            / inner[IP])


class TunnelEncapsulation(LbTest):
    """TUN: outer IPv4 VIP -> backend, protocol 4; inner TTL - 1; SYN MSS 1460 clamped to 1440."""

    def runTest(self) -> None:
        self.add_service(3, PROTO_TCP, 80, FWD_MODE_TUN, SCHED_MAGLEV)
        self.fill_maglev(3, [1] * MAGLEV_TABLE_SIZE)
        syn = tcp_packet(CLIENT, VIP, 40000, 80, eth_src=CLIENT.mac, eth_dst=ROUTER_MAC,
                         options=[("MSS", 1460), ("SAckOK", b"")])
        self.send(CLIENT.port, syn)
        self.expect(tunnelled(tcp_packet(
            CLIENT, VIP, 40000, 80, eth_src=CLIENT.mac, eth_dst=ROUTER_MAC, ttl=63,
            options=[("MSS", TUNNEL_MAX_MSS), ("SAckOK", b"")])), BACKEND1.port)

        small_mss = tcp_packet(CLIENT, VIP, 40001, 80, eth_src=CLIENT.mac, eth_dst=ROUTER_MAC,
                               options=[("MSS", 1200)])
        self.send(CLIENT.port, small_mss)
        self.expect(tunnelled(tcp_packet(CLIENT, VIP, 40001, 80, eth_src=CLIENT.mac,
                                         eth_dst=ROUTER_MAC, ttl=63, options=[("MSS", 1200)])),
                    BACKEND1.port)

        data = tcp_packet(CLIENT, VIP, 40000, 80, eth_src=CLIENT.mac, eth_dst=ROUTER_MAC,
                          flags="A")
        self.send(CLIENT.port, data)
        self.expect(tunnelled(tcp_packet(CLIENT, VIP, 40000, 80, eth_src=CLIENT.mac,
                                         eth_dst=ROUTER_MAC, ttl=63, flags="A")), BACKEND1.port)
        self.expect_nothing_else()


class TunnelUdp(LbTest):
    """TUN for UDP: the datagram travels unchanged (but TTL) inside the outer header."""

    def runTest(self) -> None:
        self.add_service(6, PROTO_UDP, 53, FWD_MODE_TUN, SCHED_MAGLEV)
        self.fill_maglev(6, [1] * MAGLEV_TABLE_SIZE)
        self.send(CLIENT.port, udp_packet(CLIENT, VIP, 5353, 53, eth_src=CLIENT.mac,
                                          eth_dst=ROUTER_MAC))
        self.expect(tunnelled(udp_packet(CLIENT, VIP, 5353, 53, eth_src=CLIENT.mac,
                                         eth_dst=ROUTER_MAC, ttl=63)), BACKEND1.port)
        self.expect_nothing_else()
