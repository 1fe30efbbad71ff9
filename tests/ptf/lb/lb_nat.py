"""NAT mode with data-plane (Maglev) scheduling: rewrite, reverse path, digest, counters."""

from __future__ import annotations

from base.p4runtime_client import ipv4
from lb_base import (
    BACKEND1,
    BACKEND2,
    BACKEND_PORT,
    CLIENT,
    FWD_MODE_NAT,
    MAGLEV_TABLE_SIZE,
    PROTO_TCP,
    PROTO_UDP,
    ROUTER_MAC,
    SCHED_MAGLEV,
    VIP,
    LbTest,
    maglev_bucket,
    tcp_packet,
    udp_packet,
)

SERVICE = 1


class NatForwardAndReverse(LbTest):
    """Client -> VIP:80 reaches backend 1 as backend:8080; its reply leaves as VIP:80."""

    def runTest(self) -> None:
        self.add_service(SERVICE, PROTO_TCP, 80, FWD_MODE_NAT, SCHED_MAGLEV)
        self.fill_maglev(SERVICE, [1] * MAGLEV_TABLE_SIZE)
        self.add_nat_reverse(1, 80, SERVICE)
        self.p4rt.enable_digest("new_connection_digest_t")

        syn = tcp_packet(CLIENT, VIP, 40000, 80, eth_src=CLIENT.mac, eth_dst=ROUTER_MAC,
                         options=[("MSS", 1460)])
        self.send(CLIENT.port, syn)
        self.expect(tcp_packet(CLIENT, BACKEND1, 40000, BACKEND_PORT, eth_src=ROUTER_MAC,
                               eth_dst=BACKEND1.mac, ttl=63, options=[("MSS", 1460)]),
                    BACKEND1.port)
        self.assertEqual(self.next_digest(),
                         [(ipv4(CLIENT.ip), ipv4(VIP), PROTO_TCP, 40000, 80, 1, SERVICE)])

        syn_ack = tcp_packet(BACKEND1, CLIENT, BACKEND_PORT, 40000, eth_src=BACKEND1.mac,
                             eth_dst=ROUTER_MAC, flags="SA")
        self.send(BACKEND1.port, syn_ack)
        self.expect(tcp_packet(VIP, CLIENT, 80, 40000, eth_src=ROUTER_MAC, eth_dst=CLIENT.mac,
                               ttl=63, flags="SA"), CLIENT.port)
        self.expect_nothing_else()

        packets, octets = self.counter("IngressPipe.counters.service_counter", SERVICE)
        self.assertEqual((packets, octets), (2, len(syn) + len(syn_ack)))
        self.assertEqual(self.counter("IngressPipe.counters.backend_counter", 1)[0], 2)


class NatKeepsTcpOptionsAndChecksums(LbTest):
    """Established segments with the option layouts the parser extracts (NOP NOP TS, + NOP
    NOP SACK, NOP NOP SACK alone) and one it does not are NATed with the options unchanged and
    the TCP checksum right (the one checksum list covers every parsed layout)."""

    def runTest(self) -> None:
        self.add_service(SERVICE, PROTO_TCP, 80, FWD_MODE_NAT, SCHED_MAGLEV)
        self.fill_maglev(SERVICE, [1] * MAGLEV_TABLE_SIZE)
        self.add_nat_reverse(1, 80, SERVICE)
        timestamp = [("NOP", None), ("NOP", None), ("Timestamp", (0xFFFFFFF0, 77))]
        sack = [("NOP", None), ("NOP", None), ("SAck", (100, 200, 300, 400))]
        for options in (timestamp, timestamp + sack, sack, [("WScale", 7), ("NOP", None)]):
            self.send(CLIENT.port, tcp_packet(CLIENT, VIP, 40000, 80, eth_src=CLIENT.mac,
                                              eth_dst=ROUTER_MAC, flags="A", options=options))
            self.expect(tcp_packet(CLIENT, BACKEND1, 40000, BACKEND_PORT, eth_src=ROUTER_MAC,
                                   eth_dst=BACKEND1.mac, ttl=63, flags="A", options=options),
                        BACKEND1.port)
            self.send(BACKEND1.port, tcp_packet(BACKEND1, CLIENT, BACKEND_PORT, 40000,
                                                eth_src=BACKEND1.mac, eth_dst=ROUTER_MAC,
                                                flags="A", options=options))
            self.expect(tcp_packet(VIP, CLIENT, 80, 40000, eth_src=ROUTER_MAC,
                                   eth_dst=CLIENT.mac, ttl=63, flags="A", options=options),
                        CLIENT.port)
        self.expect_nothing_else()


class MaglevBucketIsCrc32(LbTest):
    """Only the buckets computed as crc32(5-tuple) % 251 point to backend 2: packets go there."""

    def runTest(self) -> None:
        self.add_service(SERVICE, PROTO_TCP, 80, FWD_MODE_NAT, SCHED_MAGLEV)
        buckets = [1] * MAGLEV_TABLE_SIZE
        for client_port in (40001, 51234):
            buckets[maglev_bucket(CLIENT.ip, VIP, PROTO_TCP, client_port, 80)] = 2
        self.fill_maglev(SERVICE, buckets)
        for client_port in (40001, 51234):
            self.send(CLIENT.port, tcp_packet(CLIENT, VIP, client_port, 80, eth_src=CLIENT.mac,
                                              eth_dst=ROUTER_MAC))
            self.expect(tcp_packet(CLIENT, BACKEND2, client_port, BACKEND_PORT,
                                   eth_src=ROUTER_MAC, eth_dst=BACKEND2.mac, ttl=63),
                        BACKEND2.port)
        self.expect_nothing_else()


class NatUdp(LbTest):
    """UDP NAT recomputes the UDP checksum; a zero (absent) UDP checksum stays zero."""

    def runTest(self) -> None:
        self.add_service(SERVICE, PROTO_UDP, 53, FWD_MODE_NAT, SCHED_MAGLEV)
        self.fill_maglev(SERVICE, [2] * MAGLEV_TABLE_SIZE)
        for zero in (False, True):
            self.send(CLIENT.port, udp_packet(CLIENT, VIP, 5353, 53, eth_src=CLIENT.mac,
                                              eth_dst=ROUTER_MAC, zero_checksum=zero))
            self.expect(udp_packet(CLIENT, BACKEND2, 5353, BACKEND_PORT, eth_src=ROUTER_MAC,
                                   eth_dst=BACKEND2.mac, ttl=63, zero_checksum=zero),
                        BACKEND2.port)
        self.expect_nothing_else()
