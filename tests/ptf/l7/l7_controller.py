"""What reaches the controller: handshake segments (reasons 2 and 3, metered, counted), a
whole splice set up through packet-ins and packet-outs after which the controller sees
nothing more, teardown digests, idle timeouts, and a non-TCP L7 service."""

from __future__ import annotations

from base.p4runtime_client import ipv4
from l7_base import (
    CLIENT_ISN,
    COOKIE_ISN,
    DROP_BAD_SERVICE_CONFIG,
    L7_PORT,
    L7_SERVICE,
    PACKET_IN_REASON_SPLICE_CLIENT,
    PACKET_IN_REASON_SPLICE_SERVER,
    SCHED_SPLICE,
    SERVER_ISN,
    SPLICE_DIRECTION_TO_CLIENT,
    SPLICE_DIRECTION_TO_SERVER,
    TEARDOWN_DIGEST,
    TO_CLIENT_TABLE,
    TO_SERVER_TABLE,
    Endpoint,
    Segment,
    SpliceTest,
    frame,
    worked_example,
)
from lb.lb_base import (
    CLIENT,
    DROP_PACKET_IN_METERED,
    FWD_MODE_NAT,
    PACKET_OUT_MODE_DIRECT,
    PACKET_OUT_MODE_PIPELINE,
    PROTO_UDP,
    ROUTER_MAC,
    VIP,
    udp_packet,
)
from scapy.packet import Packet

from controller.l7.seqmap import Direction

REQUEST = b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


class SpliceHandshakeTest(SpliceTest):
    def expect_packet_in(self, packet: Packet, ingress_port: int, reason: int) -> None:
        packet_in = self.p4rt.packet_in(timeout=3.0)
        assert packet_in is not None, f"no packet-in (reason {reason} expected)"
        self.assertEqual(packet_in.payload, bytes(packet))
        self.assertEqual(packet_in.metadata, {"ingress_port": ingress_port, "reason": reason})


class ClientSegmentsWithoutSplice(SpliceHandshakeTest):
    """SYN and request segments to the L7 VIP reach the controller unchanged (reason 2)
    and are counted per service; a SYN on an already spliced 4-tuple too."""

    def runTest(self) -> None:
        connection = worked_example()
        syn = self.client_frame(connection, Segment(seq=CLIENT_ISN, ack=0, flags="S"))
        self.send(CLIENT.port, syn)
        self.expect_packet_in(syn, CLIENT.port, PACKET_IN_REASON_SPLICE_CLIENT)
        request = self.client_frame(connection, Segment(
            seq=CLIENT_ISN + 1, ack=COOKIE_ISN + 1, flags="PA", payload=REQUEST))
        self.send(CLIENT.port, request)
        self.expect_packet_in(request, CLIENT.port, PACKET_IN_REASON_SPLICE_CLIENT)
        self.install(connection)
        self.send(CLIENT.port, syn)
        self.expect_packet_in(syn, CLIENT.port, PACKET_IN_REASON_SPLICE_CLIENT)
        self.expect_nothing_else()
        self.assertEqual(self.packet_ins_of_service(), 3)
        self.assertEqual(self.direct_counter(connection, Direction.TO_SERVER)[0], 1)


class BackendHandshakeSegments(SpliceHandshakeTest):
    """The backend's SYN-ACK to the splice address reaches the controller (reason 3) before
    and after the splice exists; so does any segment of an L7 backend with no entry."""

    def runTest(self) -> None:
        connection = worked_example()
        backend_port = connection.backend_host.port
        syn_ack = self.server_frame(connection, Segment(seq=SERVER_ISN, ack=CLIENT_ISN + 1,
                                                        flags="SA"))
        self.send(backend_port, syn_ack)
        self.expect_packet_in(syn_ack, backend_port, PACKET_IN_REASON_SPLICE_SERVER)
        stray = self.server_frame(connection, Segment(seq=SERVER_ISN + 1, ack=CLIENT_ISN + 1,
                                                      flags="R"))
        self.send(backend_port, stray)
        self.expect_packet_in(stray, backend_port, PACKET_IN_REASON_SPLICE_SERVER)
        self.install(connection)
        self.send(backend_port, syn_ack)
        self.expect_packet_in(syn_ack, backend_port, PACKET_IN_REASON_SPLICE_SERVER)
        self.expect_nothing_else()
        self.assertEqual(self.packet_ins_of_service(), 3)


class SplicePacketInsAreMetered(SpliceHandshakeTest):
    """The per-service packet-in meter (1 packet/s, burst 1) also limits L7 packet-ins."""

    def runTest(self) -> None:
        self.set_packet_in_rate(L7_SERVICE, packets_per_second=1, burst=1)
        connection = worked_example()
        before = self.drops(DROP_PACKET_IN_METERED)
        for _ in range(4):
            self.send(CLIENT.port, self.client_frame(connection, Segment(
                seq=CLIENT_ISN, ack=0, flags="S")))
        self.assertIsNotNone(self.p4rt.packet_in(timeout=3.0))
        self.assertIsNone(self.p4rt.packet_in(timeout=0.5))
        self.assertEqual(self.drops(DROP_PACKET_IN_METERED) - before, 3)
        self.assertEqual(self.packet_ins_of_service(), 1)


class NoControllerAfterSplice(SpliceHandshakeTest):
    """The relaying front end end to end: the splicer answers the SYN (DIRECT packet-out),
    reads the request (packet-in), opens the backend connection reusing the client's ISN
    (PIPELINE packet-out), gets the SYN-ACK (packet-in), installs both entries, re-injects the
    request (PIPELINE, now spliced).  After that, ten segments each way pass with no packet-in
    and the per-service packet-in counter does not move."""

    def runTest(self) -> None:
        connection = worked_example()
        backend = connection.backend_host
        splicer = connection.splice_end
        syn = self.client_frame(connection, Segment(seq=CLIENT_ISN, ack=0, flags="S"))
        self.send(CLIENT.port, syn)
        self.expect_packet_in(syn, CLIENT.port, PACKET_IN_REASON_SPLICE_CLIENT)

        syn_ack = frame(connection.vip, connection.client,
                        Segment(seq=COOKIE_ISN, ack=CLIENT_ISN + 1, flags="SA"),
                        eth_src=ROUTER_MAC, eth_dst=CLIENT.mac)
        self.p4rt.packet_out(bytes(syn_ack), egress_port=CLIENT.port, ingress_port=0,
                             mode=PACKET_OUT_MODE_DIRECT)
        self.expect(syn_ack, CLIENT.port)

        request = self.client_frame(connection, Segment(
            seq=CLIENT_ISN + 1, ack=COOKIE_ISN + 1, flags="PA", payload=REQUEST))
        self.send(CLIENT.port, request)
        self.expect_packet_in(request, CLIENT.port, PACKET_IN_REASON_SPLICE_CLIENT)

        server_syn = frame(splicer, connection.backend,
                           Segment(seq=CLIENT_ISN, ack=0, flags="S"),
                           eth_src=ROUTER_MAC, eth_dst=ROUTER_MAC)
        self.p4rt.packet_out(bytes(server_syn), egress_port=0, ingress_port=CLIENT.port,
                             mode=PACKET_OUT_MODE_PIPELINE)
        self.expect(frame(splicer, connection.backend, Segment(seq=CLIENT_ISN, ack=0, flags="S"),
                          eth_src=ROUTER_MAC, eth_dst=backend.mac, ttl=63), backend.port)
        server_syn_ack = self.server_frame(connection, Segment(seq=SERVER_ISN,
                                                               ack=CLIENT_ISN + 1, flags="SA"))
        self.send(backend.port, server_syn_ack)
        self.expect_packet_in(server_syn_ack, backend.port, PACKET_IN_REASON_SPLICE_SERVER)

        self.install(connection)
        self.p4rt.packet_out(bytes(request), egress_port=0, ingress_port=CLIENT.port,
                             mode=PACKET_OUT_MODE_PIPELINE)
        self.expect(frame(splicer, connection.backend, Segment(
            seq=CLIENT_ISN + 1, ack=SERVER_ISN + 1, flags="PA", payload=REQUEST),
            eth_src=ROUTER_MAC, eth_dst=backend.mac, ttl=63), backend.port)
        packet_ins_at_setup = self.packet_ins_of_service()
        self.assertEqual(packet_ins_at_setup, 3)  # SYN, request, SYN-ACK

        client_seq = CLIENT_ISN + 1 + len(REQUEST)
        server_seq = SERVER_ISN + 1
        for _ in range(10):
            self.check_to_client(connection, Segment(seq=server_seq, ack=client_seq,
                                                     flags="PA", payload=b"x" * 100))
            server_seq += 100
            self.check_to_server(connection, Segment(
                seq=client_seq, ack=connection.splice.seq(Direction.TO_CLIENT, server_seq)))
        self.expect_nothing_else()
        self.assertIsNone(self.p4rt.packet_in(timeout=0.5))
        self.assertEqual(self.packet_ins_of_service(), packet_ins_at_setup)
        self.assertEqual(self.direct_counter(connection, Direction.TO_SERVER)[0], 11)
        self.assertEqual(self.direct_counter(connection, Direction.TO_CLIENT)[0], 10)


class TeardownDigests(SpliceTest):
    """FIN and RST of a spliced connection are forwarded translated and reported with the
    4-tuple as received, the direction and the flags; an RST without ACK keeps its ack."""

    def runTest(self) -> None:
        self.p4rt.enable_digest(TEARDOWN_DIGEST)
        connection = worked_example()
        client, vip = connection.client, connection.vip
        backend, splicer = connection.backend, connection.splice_end
        self.install(connection)

        self.check_to_server(connection, Segment(seq=CLIENT_ISN + 9, ack=COOKIE_ISN + 1,
                                                 flags="FA"))
        self.assertEqual(self.next_digest(), [self._tuple(client, vip) + (
            SPLICE_DIRECTION_TO_SERVER, FIN | ACK)])
        self.check_to_client(connection, Segment(seq=SERVER_ISN + 1, ack=CLIENT_ISN + 10,
                                                 flags="FA"))
        self.assertEqual(self.next_digest(), [self._tuple(backend, splicer) + (
            SPLICE_DIRECTION_TO_CLIENT, FIN | ACK)])
        rst = Segment(seq=SERVER_ISN + 2, ack=0x12345678, flags="R")
        self.assertEqual(connection.translate(Direction.TO_CLIENT, rst).ack, 0x12345678)
        self.check_to_client(connection, rst)
        self.assertEqual(self.next_digest(), [self._tuple(backend, splicer) + (
            SPLICE_DIRECTION_TO_CLIENT, RST)])
        self.check_to_server(connection, Segment(seq=CLIENT_ISN + 10, ack=COOKIE_ISN + 2))
        self.assertEqual(self.next_digest(timeout=0.5), [])
        self.expect_nothing_else()

    @staticmethod
    def _tuple(src: Endpoint, dst: Endpoint) -> tuple[int, int, int, int]:
        return ipv4(src.address), ipv4(dst.address), src.port, dst.port


class SpliceEntriesAgeOut(SpliceTest):
    """Both splice tables support idle timeouts: unused entries are notified."""

    def runTest(self) -> None:
        self.install(worked_example(), idle_timeout_ns=200_000_000)
        expired: set[str] = set()
        while expired != {TO_SERVER_TABLE, TO_CLIENT_TABLE}:
            notification = self.p4rt.idle_timeouts.get(timeout=5.0)
            expired.update(self._table_name(entry.table_id)
                           for entry in notification.table_entry)

    def _table_name(self, table_id: int) -> str:
        for table in self.p4info.tables:
            if table.preamble.id == table_id:
                return table.preamble.name
        raise AssertionError(f"unknown table id {table_id}")


class NonTcpL7ServiceDropped(SpliceTest):
    """Only TCP can be spliced: a UDP service marked SCHED_SPLICE drops (reason 9)."""

    def runTest(self) -> None:
        self.add_service(L7_SERVICE + 1, PROTO_UDP, L7_PORT, FWD_MODE_NAT, SCHED_SPLICE)
        before = self.drops(DROP_BAD_SERVICE_CONFIG)
        self.send(CLIENT.port, udp_packet(CLIENT, VIP, 5353, L7_PORT, eth_src=CLIENT.mac,
                                          eth_dst=ROUTER_MAC))
        self.expect_nothing_else()
        self.assertEqual(self.drops(DROP_BAD_SERVICE_CONFIG) - before, 1)
        self.assertIsNone(self.p4rt.packet_in(timeout=0.3))
