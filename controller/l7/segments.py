"""TCP segments as the splicer sees and sends them: Ethernet / IPv4 / TCP.

Parsing is hand-written and strict because every byte comes from the network: any input
gives a :class:`Segment` or None, never an exception.  Frames the splicer emits are built
with scapy (options in the order Linux sends them) and leave through the switch pipeline,
so they carry the switch's router MAC as destination.
"""

from __future__ import annotations

import struct
from array import array
from dataclasses import dataclass
from ipaddress import IPv4Address

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

ETHERTYPE_IPV4 = 0x0800
IPPROTO_TCP = 6
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
OPTION_END, OPTION_NOP, OPTION_MSS = 0, 1, 2
DEFAULT_TTL = 64


@dataclass(frozen=True)
class Segment:
    """One TCP segment with the options the splicer cares about."""

    src: IPv4Address
    dst: IPv4Address
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    payload: bytes = b""
    mss: int | None = None

    def has(self, flags: int) -> bool:
        return self.flags & flags == flags

    @property
    def sequence_length(self) -> int:
        """Sequence space the segment occupies (SYN and FIN count one each)."""
        return len(self.payload) + (1 if self.flags & SYN else 0) + (1 if self.flags & FIN else 0)


def parse_segment(frame: bytes) -> Segment | None:
    """The TCP segment in an Ethernet frame, or None if it is anything else or malformed
    (truncated, IPv4 options or fragment, bad lengths, bad TCP checksum)."""
    if len(frame) < 14 + 20 + 20 or int.from_bytes(frame[12:14], "big") != ETHERTYPE_IPV4:
        return None
    ip = frame[14:]
    if ip[0] >> 4 != 4 or ip[0] & 0x0F != 5 or ip[9] != IPPROTO_TCP:
        return None
    total_length = int.from_bytes(ip[2:4], "big")
    flags_fragment = int.from_bytes(ip[6:8], "big")
    if flags_fragment & 0x3FFF or not 40 <= total_length <= len(ip):
        return None  # a fragment (MF set or offset) or an inconsistent length
    tcp = ip[20:total_length]
    data_offset = (tcp[12] >> 4) * 4
    if data_offset < 20 or data_offset > len(tcp):
        return None
    if _checksum(ip[12:20] + struct.pack("!BBH", 0, IPPROTO_TCP, len(tcp)) + tcp) != 0:
        return None
    sport, dport, seq, ack, _, flags, window = struct.unpack("!HHIIBBH", tcp[:16])
    return Segment(IPv4Address(ip[12:16]), IPv4Address(ip[16:20]), sport, dport, seq, ack,
                   flags, window, bytes(tcp[data_offset:]), _mss_option(tcp[20:data_offset]))


def _mss_option(options: bytes) -> int | None:
    """The MSS option's value; malformed option lists give None (treated as absent)."""
    index = 0
    while index < len(options):
        kind = options[index]
        if kind == OPTION_END:
            return None
        if kind == OPTION_NOP:
            index += 1
            continue
        if index + 1 >= len(options) or options[index + 1] < 2:
            return None
        length = options[index + 1]
        if kind == OPTION_MSS and length == 4 and index + 4 <= len(options):
            return int.from_bytes(options[index + 2:index + 4], "big")
        index += length
    return None


def _checksum(data: bytes) -> int:
    """Internet checksum of ``data`` (0 when ``data`` already holds a correct checksum)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(array("H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@dataclass(frozen=True)
class Endpoint:
    """One side of a TCP connection."""

    address: IPv4Address
    port: int

    def __str__(self) -> str:
        return f"{self.address}:{self.port}"


def build_segment(router_mac: str, src: Endpoint, dst: Endpoint, *, seq: int, ack: int,
                  flags: int, window: int = 0xFFFF, mss: int | None = None,
                  payload: bytes = b"") -> bytes:
    """A frame for the switch pipeline (both MACs the router's: it routes the packet)."""
    options = [("MSS", mss)] if mss is not None else []
    packet = (Ether(src=router_mac, dst=router_mac)
              / IP(src=str(src.address), dst=str(dst.address), ttl=DEFAULT_TTL, flags="DF")
              / TCP(sport=src.port, dport=dst.port, seq=seq, ack=ack, flags=flags,
                    window=window, options=options))
    if payload:
        packet = packet / payload
    return bytes(packet)
