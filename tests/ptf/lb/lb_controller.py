"""Controller scheduling: packet-in of a new connection, packet-out back into the pipeline,
direct packet-out, and the packet-in meter."""

from __future__ import annotations

from lb_base import (
    BACKEND1,
    BACKEND2,
    BACKEND_PORT,
    CLIENT,
    DROP_PACKET_IN_METERED,
    FWD_MODE_DR,
    FWD_MODE_NAT,
    OTHER,
    PACKET_IN_REASON_NEW_CONNECTION,
    PACKET_OUT_MODE_DIRECT,
    PACKET_OUT_MODE_PIPELINE,
    PROTO_TCP,
    ROUTER_MAC,
    SCHED_CONTROLLER,
    VIP,
    LbTest,
    tcp_packet,
)

SERVICE = 4


class ControllerScheduledConnection(LbTest):
    """SYN -> packet-in (port, reason); after pinning, the packet-out runs through the pipeline."""

    def runTest(self) -> None:
        self.add_service(SERVICE, PROTO_TCP, 80, FWD_MODE_NAT, SCHED_CONTROLLER)
        syn = tcp_packet(CLIENT, VIP, 40000, 80, eth_src=CLIENT.mac, eth_dst=ROUTER_MAC)
        self.send(CLIENT.port, syn)
        packet_in = self.p4rt.packet_in(timeout=3.0)
        self.assertIsNotNone(packet_in, "no packet-in for the SYN")
        assert packet_in is not None
        self.assertEqual(packet_in.payload, bytes(syn))
        self.assertEqual(packet_in.metadata, {"ingress_port": CLIENT.port,
                                              "reason": PACKET_IN_REASON_NEW_CONNECTION})
        self.expect_nothing_else()

        self.pin_connection(40000, 80, backend_id=2)
        self.p4rt.packet_out(packet_in.payload, egress_port=0, ingress_port=CLIENT.port,
                             mode=PACKET_OUT_MODE_PIPELINE)
        self.expect(tcp_packet(CLIENT, BACKEND2, 40000, BACKEND_PORT, eth_src=ROUTER_MAC,
                               eth_dst=BACKEND2.mac, ttl=63), BACKEND2.port)
        self.expect_nothing_else()
        self.assertIsNone(self.p4rt.packet_in(timeout=0.5))


class ControllerScheduledDirectRouting(LbTest):
    """DR service scheduled by the controller: the re-injected SYN keeps its IP header."""

    def runTest(self) -> None:
        self.add_service(SERVICE, PROTO_TCP, 443, FWD_MODE_DR, SCHED_CONTROLLER)
        syn = tcp_packet(CLIENT, VIP, 40000, 443, eth_src=CLIENT.mac, eth_dst=ROUTER_MAC)
        self.send(CLIENT.port, syn)
        packet_in = self.p4rt.packet_in(timeout=3.0)
        assert packet_in is not None, "no packet-in for the SYN"
        self.pin_connection(40000, 443, backend_id=1)
        self.p4rt.packet_out(packet_in.payload, egress_port=0,
                             ingress_port=packet_in.metadata["ingress_port"],
                             mode=PACKET_OUT_MODE_PIPELINE)
        self.expect(tcp_packet(CLIENT, VIP, 40000, 443, eth_src=ROUTER_MAC,
                               eth_dst=BACKEND1.mac, ttl=63), BACKEND1.port)
        self.send(CLIENT.port, tcp_packet(CLIENT, VIP, 40000, 443, eth_src=CLIENT.mac,
                                          eth_dst=ROUTER_MAC, flags="A"))
        self.expect(tcp_packet(CLIENT, VIP, 40000, 443, eth_src=ROUTER_MAC,
                               eth_dst=BACKEND1.mac, ttl=63, flags="A"), BACKEND1.port)
        self.expect_nothing_else()


class DirectPacketOut(LbTest):
    """A DIRECT packet-out leaves unchanged by the port it names."""

    def runTest(self) -> None:
        frame = tcp_packet(CLIENT, OTHER, 1, 2, eth_src=ROUTER_MAC, eth_dst=OTHER.mac)
        self.p4rt.packet_out(bytes(frame), egress_port=OTHER.port, ingress_port=0,
                             mode=PACKET_OUT_MODE_DIRECT)
        self.expect(frame, OTHER.port)
        self.expect_nothing_else()


class PacketInMeter(LbTest):
    """With the service's meter at 1 packet/s (burst 1), a burst of SYNs yields one packet-in."""

    def runTest(self) -> None:
        self.add_service(SERVICE, PROTO_TCP, 80, FWD_MODE_NAT, SCHED_CONTROLLER)
        self.set_packet_in_rate(SERVICE, packets_per_second=1, burst=1)
        for client_port in range(41000, 41005):
            self.send(CLIENT.port, tcp_packet(CLIENT, VIP, client_port, 80, eth_src=CLIENT.mac,
                                              eth_dst=ROUTER_MAC))
        self.assertIsNotNone(self.p4rt.packet_in(timeout=3.0))
        self.assertIsNone(self.p4rt.packet_in(timeout=0.5))
        self.assertEqual(self.drops(DROP_PACKET_IN_METERED), 4)
        self.expect_nothing_else()
