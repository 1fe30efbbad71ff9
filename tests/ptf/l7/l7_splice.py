"""Spliced segments: address rewrite, seq/ack translation across 2^32, TCP options (timestamps,
SACK blocks, and layouts left untouched), window rescaling, transparent mode, counters.

Every expected frame is the reference translation (``controller.l7.seqmap``) rebuilt by
scapy, so the switch's IPv4 and TCP checksums are checked byte for byte."""

from __future__ import annotations

from l7_base import (
    CLIENT_ISN,
    COOKIE_ISN,
    L7_SERVICE,
    NOP_NOP,
    SERVER_ISN,
    Segment,
    SpliceTest,
    sack_option,
    worked_example,
)

from controller.l7.seqmap import Direction, WindowScaling

REQUEST = b"GET /index.html HTTP/1.1\r\nHost: www.example.com\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"

# In the worked example the client's acks of the cookie ISN (0xFFFFF001 -> 0x00001001) and
# the backend's sequence numbers from 0x2000 on (0x2000 -> 0x00000000) cross 2^32.
CLIENT_ACK = COOKIE_ISN + 1
SERVER_SEQ_WRAPPING = SERVER_ISN + 0x1000
# The splicer's SYN to the backend used its own ISN: all four seq/ack deltas are non-zero.
OWN_SYN_ISN = (CLIENT_ISN + 0x90000000) % 2**32

# SACK blocks whose edges cross 2^32 once translated (in either direction).
BLOCKS = ((0xFFFFFF00, 0x00000100), (0xFFFFE800, 0xFFFFFA00), (0x8FFFFF00, 0x90000100),
          (0x6FFFFF00, 0x70000100))


class BasicProfileBothDirections(SpliceTest):
    """No options: addresses, ports, seq/ack (both wrapping) and checksums; counters."""

    def runTest(self) -> None:
        connection = worked_example()
        self.install(connection)
        request = Segment(seq=CLIENT_ISN + 1, ack=CLIENT_ACK, flags="PA", payload=REQUEST)
        self.check_to_server(connection, request)
        self.assertEqual(connection.translate(Direction.TO_SERVER, request).ack, SERVER_ISN + 1)
        response = Segment(seq=SERVER_ISN + 1, ack=CLIENT_ISN + 1 + len(REQUEST), flags="PA",
                           payload=RESPONSE)
        self.check_to_client(connection, response)
        wrapping = Segment(seq=SERVER_SEQ_WRAPPING, ack=CLIENT_ISN + 1 + len(REQUEST))
        self.check_to_client(connection, wrapping)
        self.assertEqual(connection.translate(Direction.TO_CLIENT, wrapping).seq, 0)
        self.expect_nothing_else()

        to_server_bytes = len(self.client_frame(connection, request))
        to_client_bytes = (len(self.server_frame(connection, response))
                           + len(self.server_frame(connection, wrapping)))
        self.assertEqual(self.direct_counter(connection, Direction.TO_SERVER), (1, to_server_bytes))
        self.assertEqual(self.direct_counter(connection, Direction.TO_CLIENT), (2, to_client_bytes))
        both = (3, to_server_bytes + to_client_bytes)
        self.assertEqual(self.counter("IngressPipe.counters.service_counter", L7_SERVICE), both)
        self.assertEqual(self.counter("IngressPipe.counters.backend_counter", 1), both)
        self.assertEqual(self.packet_ins_of_service(), 0)


class TimestampAndSackLayouts(SpliceTest):
    """NOP NOP TS alone and followed by NOP NOP SACK with 1..3 blocks, and NOP NOP SACK with
    1..4 blocks, both directions: TSval/TSecr shifted by the timestamp offset, SACK edges
    moved like the ack number (wrapping), seq moved in both directions."""

    def runTest(self) -> None:
        windows = WindowScaling.negotiate(client_offer=7, advertised=7, server_offer=9)
        connection = worked_example(ts_offset=1000, windows=windows,
                                    server_syn_isn=OWN_SYN_ISN)
        self.install(connection)
        for count in (0, 1, 2, 3):
            self.check_to_server(connection, Segment(
                seq=CLIENT_ISN + 1, ack=CLIENT_ACK, tsval=500, tsecr=0xFFFFFF00,
                sack=BLOCKS[:count], window=512, payload=REQUEST))
            self.check_to_client(connection, Segment(
                seq=SERVER_SEQ_WRAPPING, ack=CLIENT_ISN + 1, tsval=0xFFFFFF00, tsecr=500,
                sack=BLOCKS[:count], window=100, payload=RESPONSE))
        for count in (1, 2, 3, 4):
            self.check_to_server(connection, Segment(seq=CLIENT_ISN + 1, ack=CLIENT_ACK,
                                                     sack=BLOCKS[:count]))
            self.check_to_client(connection, Segment(seq=SERVER_ISN + 1, ack=CLIENT_ISN + 1,
                                                     sack=BLOCKS[:count]))
        self.expect_nothing_else()


class UnrecognisedOptionLayoutsKeptByteForByte(SpliceTest):
    """Options outside the known layouts are carried unchanged while seq/ack are still
    translated: TS without NOPs, a SACK not filling the options exactly, and (after a
    translated timestamp) a SACK whose length does not match the data offset."""

    def runTest(self) -> None:
        connection = worked_example(ts_offset=1000, server_syn_isn=OWN_SYN_ISN)
        self.install(connection)
        bare_timestamp = bytes([8, 10]) + (500).to_bytes(4, "big") + (77).to_bytes(4, "big")
        for options in (bare_timestamp + NOP_NOP, sack_option(BLOCKS[:1]) + NOP_NOP * 2,
                        bytes([2, 4, 5, 180])):
            self.check_to_server(connection, Segment(
                seq=CLIENT_ISN + 1, ack=CLIENT_ACK, other_options=options, payload=REQUEST))
            self.check_to_client(connection, Segment(
                seq=SERVER_ISN + 1, ack=CLIENT_ISN + 1, other_options=options))
        self.check_to_client(connection, Segment(
            seq=SERVER_ISN + 1, ack=CLIENT_ISN + 1, tsval=4000, tsecr=500,
            other_options=sack_option(BLOCKS[:1]) + NOP_NOP * 2))
        self.expect_nothing_else()


class WindowRescaling(SpliceTest):
    """Left shift saturating at 0xFFFF, right shift rounding up (an open window stays open)."""

    def runTest(self) -> None:
        # to-server: 9 - 5 = +4; to-client: 4 - 7 = -3.
        windows = WindowScaling(client=9, to_client=7, to_server=5, server=4)
        connection = worked_example(windows=windows)
        self.install(connection)
        for window in (0, 1, 0x0FFF, 0x1000, 0xFFFF):
            self.check_to_server(connection, Segment(seq=CLIENT_ISN + 1, ack=CLIENT_ACK,
                                                     window=window))
            self.check_to_client(connection, Segment(seq=SERVER_ISN + 1, ack=CLIENT_ISN + 1,
                                                     window=window))
        self.assertEqual(connection.splice.window(Direction.TO_SERVER, 0x1000), 0xFFFF)
        self.assertEqual(connection.splice.window(Direction.TO_CLIENT, 1), 1)
        self.expect_nothing_else()


class TransparentSplice(SpliceTest):
    """Transparent mode: the backend sees the client's own address and port."""

    def runTest(self) -> None:
        connection = worked_example(transparent=True)
        self.assertEqual(connection.splice_end, connection.client)
        self.install(connection)
        self.check_to_server(connection, Segment(seq=CLIENT_ISN + 1, ack=CLIENT_ACK,
                                                 flags="PA", payload=REQUEST))
        self.check_to_client(connection, Segment(seq=SERVER_SEQ_WRAPPING, ack=CLIENT_ISN + 1,
                                                 flags="PA", payload=RESPONSE))
        self.expect_nothing_else()
        self.assertIsNone(self.p4rt.packet_in(timeout=0.3))
