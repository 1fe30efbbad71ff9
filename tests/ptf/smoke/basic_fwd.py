"""PTF smoke tests of tests/ptf/smoke/basic.p4: LPM forwarding, rewrite, and drops.

Run by tests/ptf/smoke/test_smoke_ptf.py (pytest) or directly with tests/ptf/base/launcher.py.
"""

from __future__ import annotations

import ptf.testutils as testutils
from base.p4runtime_client import decode, ipv4, mac
from base.p4runtime_test import P4RuntimeTest

ROUTER_MAC = "00:00:00:00:01:00"
NEXT_HOP_MAC = "00:00:00:00:02:02"
HOST_MAC = "00:00:00:00:02:01"
TABLE = "SmokeIngress.ipv4_routes"


class SmokeTest(P4RuntimeTest):
    def add_route(self, prefix: str, length: int, port: int) -> None:
        self.p4rt.insert(TABLE, {"hdr.ipv4.dst_addr": (ipv4(prefix), length)},
                         "SmokeIngress.forward",
                         {"dst_mac": mac(NEXT_HOP_MAC), "src_mac": mac(ROUTER_MAC), "port": port})

    def packet(self, dst_ip: str, eth_dst: str = ROUTER_MAC, eth_src: str = HOST_MAC,
               ttl: int = 64) -> object:
        return testutils.simple_tcp_packet(eth_dst=eth_dst, eth_src=eth_src, ip_src="10.0.0.1",
                                           ip_dst=dst_ip, ip_ttl=ttl)


class ForwardOnHit(SmokeTest):
    """A matching route rewrites MACs, decrements TTL (fixing the checksum) and forwards."""

    def runTest(self) -> None:
        self.add_route("10.0.2.0", 24, port=2)
        testutils.send_packet(self, 1, self.packet("10.0.2.7"))
        expected = self.packet("10.0.2.7", eth_dst=NEXT_HOP_MAC, eth_src=ROUTER_MAC, ttl=63)
        testutils.verify_packet(self, expected, 2)
        testutils.verify_no_other_packets(self)


class LongestPrefixWins(SmokeTest):
    """Of two overlapping routes the longer prefix decides the port."""

    def runTest(self) -> None:
        self.add_route("10.0.0.0", 16, port=3)
        self.add_route("10.0.2.0", 24, port=2)
        testutils.send_packet(self, 1, self.packet("10.0.2.9"))
        testutils.verify_packet(
            self, self.packet("10.0.2.9", eth_dst=NEXT_HOP_MAC, eth_src=ROUTER_MAC, ttl=63), 2)
        testutils.send_packet(self, 1, self.packet("10.0.3.9"))
        testutils.verify_packet(
            self, self.packet("10.0.3.9", eth_dst=NEXT_HOP_MAC, eth_src=ROUTER_MAC, ttl=63), 3)
        testutils.verify_no_other_packets(self)


class DropOnMiss(SmokeTest):
    """No route: the default action drops; so does a TTL that would reach zero."""

    def runTest(self) -> None:
        self.add_route("10.0.2.0", 24, port=2)
        testutils.send_packet(self, 1, self.packet("192.168.1.1"))
        testutils.send_packet(self, 1, self.packet("10.0.2.7", ttl=1))
        testutils.verify_no_other_packets(self)


class ReadBackEntry(SmokeTest):
    """The switch returns the written entry with canonical values."""

    def runTest(self) -> None:
        self.add_route("10.0.2.0", 24, port=2)
        entries = self.p4rt.table_entries(TABLE)
        self.assertEqual(len(entries), 1)
        (field,) = entries[0].match
        self.assertEqual((decode(field.lpm.value), field.lpm.prefix_len), (ipv4("10.0.2.0"), 24))
        params = {p.param_id: decode(p.value) for p in entries[0].action.action.params}
        self.assertEqual(sorted(params.values()), sorted([mac(NEXT_HOP_MAC), mac(ROUTER_MAC), 2]))
