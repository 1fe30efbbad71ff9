"""Ordinary traffic: IPv4 routing, ARP replies from the data plane, router MAC and TTL drops."""

from __future__ import annotations

from lb_base import (
    BACKEND1,
    CLIENT,
    DROP_ARP_NOT_ANSWERED,
    DROP_BAD_IPV4_CHECKSUM,
    DROP_NO_ROUTE,
    DROP_NOT_ROUTER_MAC,
    DROP_TTL_EXPIRED,
    DROP_UNSUPPORTED_PACKET,
    ROUTER_MAC,
    VIP,
    LbTest,
    tcp_packet,
)
from scapy.layers.inet import IP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw


class RouteBetweenHosts(LbTest):
    """Non-VIP traffic is routed: next hop MACs, TTL - 1, IPv4 checksum fixed, L4 untouched."""

    def runTest(self) -> None:
        sent = tcp_packet(CLIENT, BACKEND1, 40000, 22, eth_src=CLIENT.mac, eth_dst=ROUTER_MAC,
                          flags="A")
        self.send(CLIENT.port, sent)
        self.expect(tcp_packet(CLIENT, BACKEND1, 40000, 22, eth_src=ROUTER_MAC,
                               eth_dst=BACKEND1.mac, ttl=63, flags="A"), BACKEND1.port)
        reply = tcp_packet(BACKEND1, CLIENT, 22, 40000, eth_src=BACKEND1.mac, eth_dst=ROUTER_MAC,
                           flags="A")
        self.send(BACKEND1.port, reply)
        self.expect(tcp_packet(BACKEND1, CLIENT, 22, 40000, eth_src=ROUTER_MAC,
                               eth_dst=CLIENT.mac, ttl=63, flags="A"), CLIENT.port)
        self.expect_nothing_else()


def arp_request(target: str) -> Ether:
    return (Ether(src=CLIENT.mac, dst="ff:ff:ff:ff:ff:ff")
            / ARP(op=1, hwsrc=CLIENT.mac, psrc=CLIENT.ip, hwdst="00:00:00:00:00:00",
                  pdst=target))


class ArpReplies(LbTest):
    """The switch answers ARP for its gateway address and for the VIP, out of the ingress port."""

    def runTest(self) -> None:
        for target in ("10.0.1.1", VIP):
            self.send(CLIENT.port, arp_request(target))
            self.expect(Ether(src=ROUTER_MAC, dst=CLIENT.mac)
                        / ARP(op=2, hwsrc=ROUTER_MAC, psrc=target, hwdst=CLIENT.mac,
                              pdst=CLIENT.ip), CLIENT.port)
        self.expect_nothing_else()


class ArpForOthersIsDropped(LbTest):
    """ARP requests for addresses the switch does not own, and ARP replies, are dropped."""

    def runTest(self) -> None:
        self.send(CLIENT.port, arp_request(BACKEND1.ip))
        reply = arp_request("10.0.1.1")
        reply[ARP].op = 2
        self.send(CLIENT.port, reply)
        self.expect_nothing_else()
        self.assertEqual(self.drops(DROP_ARP_NOT_ANSWERED), 2)


class RoutingDrops(LbTest):
    """Foreign MAC, TTL 1, no route, bad IPv4 checksum, non-IP frame: dropped, each counted."""

    def runTest(self) -> None:
        bad_checksum = tcp_packet(CLIENT, BACKEND1, 40000, 22, eth_src=CLIENT.mac,
                                  eth_dst=ROUTER_MAC)
        bad_checksum[IP].chksum = 0x1234
        self.send(CLIENT.port, bad_checksum)
        self.send(CLIENT.port, Ether(src=CLIENT.mac, dst=ROUTER_MAC, type=0x86DD)
                  / Raw(b"\x60" + bytes(59)))
        self.send(CLIENT.port, tcp_packet(CLIENT, BACKEND1, 40000, 22, eth_src=CLIENT.mac,
                                          eth_dst="00:00:00:00:09:09"))
        self.send(CLIENT.port, tcp_packet(CLIENT, BACKEND1, 40000, 22, eth_src=CLIENT.mac,
                                          eth_dst=ROUTER_MAC, ttl=1))
        self.send(CLIENT.port, tcp_packet(CLIENT, "192.168.7.7", 40000, 22, eth_src=CLIENT.mac,
                                          eth_dst=ROUTER_MAC))
        self.expect_nothing_else()
        self.assertEqual(self.drops(DROP_NOT_ROUTER_MAC), 1)
        self.assertEqual(self.drops(DROP_TTL_EXPIRED), 1)
        self.assertEqual(self.drops(DROP_NO_ROUTE), 1)
        self.assertEqual(self.drops(DROP_BAD_IPV4_CHECKSUM), 1)
        self.assertEqual(self.drops(DROP_UNSUPPORTED_PACKET), 1)
