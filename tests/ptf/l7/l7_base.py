"""Shared set-up of the TCP splicing PTF tests (p4src/lb.p4, docs/dataplane.md "TCP splicing").

The network of tests/ptf/lb (client on port 0, backends on ports 1 and 2, router MAC, one
VIP) plus an L7 service on VIP:80 whose backend endpoints are BACKEND1:8080 and
BACKEND2:8080.  The splice address is the switch's server-side gateway address.  What the
switch must do to a segment is computed independently with ``controller.l7.seqmap`` (the
reference arithmetic) and scapy (checksums), and compared byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from base.p4runtime_client import ipv4
from finsy.proto import p4r
from lb.lb_base import (
    BACKEND_PORT,
    BACKENDS,
    CLIENT,
    FWD_MODE_NAT,
    PROTO_TCP,
    ROUTER_MAC,
    VIP,
    Host,
    LbTest,
)
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

from controller.l7.seqmap import SEQ_MODULUS, Direction, Splice, WindowScaling

SCHED_SPLICE = 3
PACKET_IN_REASON_SPLICE_CLIENT = 2
PACKET_IN_REASON_SPLICE_SERVER = 3
SPLICE_DIRECTION_TO_SERVER = 1
SPLICE_DIRECTION_TO_CLIENT = 2
DROP_BAD_SERVICE_CONFIG = 9

L7_SERVICE = 5
L7_PORT = 80
SPLICE_ADDR = "10.0.2.1"
TEARDOWN_DIGEST = "splice_teardown_digest_t"

TO_SERVER_TABLE = "IngressPipe.splice.splice_to_server_table"
TO_CLIENT_TABLE = "IngressPipe.splice.splice_to_client_table"
SPLICE_ACTION = "IngressPipe.splice.splice_connection"
PACKET_IN_COUNTER = "IngressPipe.controller.packet_in_counter"

# TCP options as the end points write them (raw bytes, so the layouts are exact).
NOP_NOP = b"\x01\x01"


def timestamp_option(tsval: int, tsecr: int) -> bytes:
    return NOP_NOP + bytes([8, 10]) + tsval.to_bytes(4, "big") + tsecr.to_bytes(4, "big")


def sack_option(blocks: Sequence[tuple[int, int]]) -> bytes:
    edges = b"".join(left.to_bytes(4, "big") + right.to_bytes(4, "big")
                     for left, right in blocks)
    return NOP_NOP + bytes([5, 2 + 8 * len(blocks)]) + edges


@dataclass(frozen=True)
class Segment:
    """The TCP fields a test varies; options as raw bytes (a multiple of 4)."""

    seq: int
    ack: int
    flags: str = "A"
    window: int = 502
    tsval: int | None = None
    tsecr: int = 0
    sack: tuple[tuple[int, int], ...] = ()
    other_options: bytes = b""
    payload: bytes = b""

    def options(self) -> bytes:
        raw = b""
        if self.tsval is not None:
            raw += timestamp_option(self.tsval, self.tsecr)
        if self.sack:
            raw += sack_option(self.sack)
        return raw + self.other_options


@dataclass(frozen=True)
class Endpoint:
    address: str
    port: int


def frame(src: Endpoint, dst: Endpoint, segment: Segment, *, eth_src: str, eth_dst: str,
          ttl: int = 64) -> Packet:
    """An Ethernet/IPv4/TCP frame; scapy computes both checksums."""
    options = segment.options()
    if len(options) % 4:
        raise ValueError("TCP options must fill whole 32-bit words")
    tcp = TCP(sport=src.port, dport=dst.port, seq=segment.seq, ack=segment.ack,
              flags=segment.flags, window=segment.window, dataofs=5 + len(options) // 4)
    return (Ether(src=eth_src, dst=eth_dst) / IP(src=src.address, dst=dst.address, ttl=ttl,
                                                 id=9)
            / tcp / Raw(options + segment.payload))


@dataclass(frozen=True)
class SplicedConnection:
    """One spliced connection: the two 4-tuples and the deltas (``controller.l7.seqmap``)."""

    client: Endpoint
    backend_id: int
    splice: Splice
    splice_port: int = 50000
    transparent: bool = False
    vip: Endpoint = field(default_factory=lambda: Endpoint(VIP, L7_PORT))

    @property
    def backend_host(self) -> Host:
        return BACKENDS[self.backend_id]

    @property
    def backend(self) -> Endpoint:
        return Endpoint(self.backend_host.ip, BACKEND_PORT)

    @property
    def splice_end(self) -> Endpoint:
        """Where the backend sees the connection come from."""
        return self.client if self.transparent else Endpoint(SPLICE_ADDR, self.splice_port)

    def table(self, direction: Direction) -> str:
        return TO_SERVER_TABLE if direction is Direction.TO_SERVER else TO_CLIENT_TABLE

    def key(self, direction: Direction) -> dict[str, int]:
        """The match of this connection's entry in the table of ``direction``."""
        if direction is Direction.TO_SERVER:
            return {"client_addr": ipv4(self.client.address), "client_port": self.client.port,
                    "vip": ipv4(self.vip.address), "vip_port": self.vip.port}
        return {"backend_addr": ipv4(self.backend.address), "backend_port": self.backend.port,
                "splice_addr": ipv4(self.splice_end.address),
                "splice_port": self.splice_end.port}

    def translate(self, direction: Direction, segment: Segment) -> Segment:
        """The reference translation of ``segment`` (what the switch must produce)."""
        splice = self.splice
        ack = splice.ack(direction, segment.ack) if "A" in segment.flags else segment.ack
        tsval, tsecr = segment.tsval, segment.tsecr
        if tsval is not None:
            tsval, tsecr = splice.timestamps(direction, tsval, tsecr)
        return Segment(seq=splice.seq(direction, segment.seq), ack=ack, flags=segment.flags,
                       window=splice.window(direction, segment.window), tsval=tsval,
                       tsecr=tsecr, sack=tuple(splice.sack_blocks(direction, segment.sack)),
                       other_options=segment.other_options, payload=segment.payload)


def shifts(splice: Splice, direction: Direction) -> tuple[int, int]:
    """(window_shift_left, window_shift_right) for a signed shift."""
    shift = splice.windows.shift(direction)
    return (shift, 0) if shift >= 0 else (0, -shift)


class SpliceTest(LbTest):
    """LbTest plus the L7 service on VIP:80 and its backend endpoints."""

    def setUp(self) -> None:
        super().setUp()
        self.add_service(L7_SERVICE, PROTO_TCP, L7_PORT, FWD_MODE_NAT, SCHED_SPLICE)
        for host in BACKENDS.values():
            self.p4rt.insert("IngressPipe.splice.splice_backend_table",
                             {"backend_addr": ipv4(host.ip), "backend_port": BACKEND_PORT},
                             "IngressPipe.splice.set_splice_backend",
                             {"service_id": L7_SERVICE})

    # --- control plane ----------------------------------------------------------------------
    def install(self, connection: SplicedConnection, idle_timeout_ns: int = 0) -> None:
        """Both splice entries, with the deltas of ``connection.splice``."""
        splice = connection.splice
        ts_offset = splice.ts_offset or 0
        client, vip = connection.client, connection.vip
        backend, splice_end = connection.backend, connection.splice_end
        common = {"service_id": L7_SERVICE, "backend_id": connection.backend_id}
        left, right = shifts(splice, Direction.TO_SERVER)
        self.p4rt.insert(
            TO_SERVER_TABLE, connection.key(Direction.TO_SERVER), SPLICE_ACTION,
            {"src_addr": ipv4(splice_end.address), "src_port": splice_end.port,
             "dst_addr": ipv4(backend.address), "dst_port": backend.port,
             "seq_delta": splice.to_server_seq, "ack_delta": splice.to_server_ack,
             "tsval_delta": 0, "tsecr_delta": (-ts_offset) % SEQ_MODULUS,
             "window_shift_left": left, "window_shift_right": right, **common},
            idle_timeout_ns=idle_timeout_ns)
        left, right = shifts(splice, Direction.TO_CLIENT)
        self.p4rt.insert(
            TO_CLIENT_TABLE, connection.key(Direction.TO_CLIENT), SPLICE_ACTION,
            {"src_addr": ipv4(vip.address), "src_port": vip.port,
             "dst_addr": ipv4(client.address), "dst_port": client.port,
             "seq_delta": splice.to_client_seq, "ack_delta": splice.to_client_ack,
             "tsval_delta": ts_offset, "tsecr_delta": 0,
             "window_shift_left": left, "window_shift_right": right, **common},
            idle_timeout_ns=idle_timeout_ns)

    def direct_counter(self, connection: SplicedConnection,
                       direction: Direction) -> tuple[int, int]:
        """(packets, bytes) of the connection's entry for ``direction``."""
        entry = self.p4rt.table_entry(connection.table(direction), connection.key(direction))
        (entity,) = self.p4rt.read([p4r.Entity(direct_counter_entry=p4r.DirectCounterEntry(
            table_entry=entry))])
        data = entity.direct_counter_entry.data
        return data.packet_count, data.byte_count

    def packet_ins_of_service(self) -> int:
        return self.counter(PACKET_IN_COUNTER, L7_SERVICE)[0]

    # --- data plane -------------------------------------------------------------------------
    def client_frame(self, connection: SplicedConnection, segment: Segment) -> Packet:
        """A segment as the client sends it (to the VIP, through the router)."""
        return frame(connection.client, connection.vip, segment, eth_src=CLIENT.mac,
                     eth_dst=ROUTER_MAC)

    def server_frame(self, connection: SplicedConnection, segment: Segment) -> Packet:
        """A segment as the backend sends it (to the splice end, through the router)."""
        return frame(connection.backend, connection.splice_end, segment,
                     eth_src=connection.backend_host.mac, eth_dst=ROUTER_MAC)

    def check_to_server(self, connection: SplicedConnection, segment: Segment) -> None:
        """Client segment in, translated segment out of the backend's port."""
        self.send(CLIENT.port, self.client_frame(connection, segment))
        expected = frame(connection.splice_end, connection.backend,
                         connection.translate(Direction.TO_SERVER, segment),
                         eth_src=ROUTER_MAC, eth_dst=connection.backend_host.mac, ttl=63)
        self.expect(expected, connection.backend_host.port)

    def check_to_client(self, connection: SplicedConnection, segment: Segment) -> None:
        """Backend segment in, translated segment out of the client's port."""
        self.send(connection.backend_host.port, self.server_frame(connection, segment))
        expected = frame(connection.vip, connection.client,
                         connection.translate(Direction.TO_CLIENT, segment),
                         eth_src=ROUTER_MAC, eth_dst=CLIENT.mac, ttl=63)
        self.expect(expected, CLIENT.port)


CLIENT_ISN = 0x7A000000
COOKIE_ISN = 0xFFFFF000
SERVER_ISN = 0x00001000


def worked_example(*, ts_offset: int | None = None, windows: WindowScaling | None = None,
                   server_syn_isn: int | None = None,
                   transparent: bool = False) -> SplicedConnection:
    """Client 10.0.1.10:40000 spliced to backend 1 with the ISNs of docs/dataplane.md's
    worked example (cookie 0xFFFFF000, backend ISN 0x1000: both directions wrap at 2^32).
    ``server_syn_isn`` other than the client's ISN makes all four seq/ack deltas non-zero."""
    splice = Splice.from_handshakes(client_isn=CLIENT_ISN, cookie_isn=COOKIE_ISN,
                                    server_isn=SERVER_ISN, server_syn_isn=server_syn_isn,
                                    ts_offset=ts_offset, windows=windows)
    return SplicedConnection(client=Endpoint(CLIENT.ip, 40000), backend_id=1, splice=splice,
                             transparent=transparent)
