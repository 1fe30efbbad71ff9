"""TCP segments as the splicer sees and sends them: Ethernet / IPv4 / TCP.

Parsing is hand-written and strict because every byte comes from the network: any input
gives a :class:`Segment` or None, never an exception.  Frames the splicer emits are built
with scapy (options in the order Linux sends them) and leave through the switch pipeline,
so they carry the switch's router MAC as destination.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

ETHERTYPE_IPV4 = 0x0800
IPPROTO_TCP = 6
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
OPTION_END, OPTION_NOP, OPTION_MSS, OPTION_WSCALE, OPTION_SACK_OK, OPTION_TIMESTAMP = \
    0, 1, 2, 3, 4, 8
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
    wscale: int | None = None  # window scale option (SYNs)
    sack_ok: bool = False  # SACK-permitted option (SYNs)
    timestamp: tuple[int, int] | None = None  # (TSval, TSecr)

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
    options = _options(bytes(tcp[20:data_offset]))
    wscale = options.get(OPTION_WSCALE)
    timestamp = options.get(OPTION_TIMESTAMP)
    return Segment(IPv4Address(ip[12:16]), IPv4Address(ip[16:20]), sport, dport, seq, ack,
                   flags, window, bytes(tcp[data_offset:]), _int(options.get(OPTION_MSS)),
                   None if wscale is None else min(_int(wscale) or 0, 14),
                   OPTION_SACK_OK in options,
                   None if timestamp is None else struct.unpack("!II", timestamp))


_OPTION_LENGTHS = {OPTION_MSS: 4, OPTION_WSCALE: 3, OPTION_SACK_OK: 2, OPTION_TIMESTAMP: 10}


def _options(raw: bytes) -> dict[int, bytes]:
    """kind -> value of the options the splicer uses, each with its RFC length; a
    malformed list ends the walk (what was read before stays)."""
    found: dict[int, bytes] = {}
    index = 0
    while index < len(raw):
        kind = raw[index]
        if kind == OPTION_END:
            break
        if kind == OPTION_NOP:
            index += 1
            continue
        if index + 1 >= len(raw) or raw[index + 1] < 2 or index + raw[index + 1] > len(raw):
            break
        length = raw[index + 1]
        if _OPTION_LENGTHS.get(kind) == length:
            found.setdefault(kind, raw[index + 2:index + length])
        index += length
    return found


def _int(value: bytes | None) -> int | None:
    return None if value is None else int.from_bytes(value, "big")


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


def syn_options(mss: int, *, sack_ok: bool = False, timestamp: tuple[int, int] | None = None,
                wscale: int | None = None) -> list[tuple[str, Any]]:
    """SYN / SYN-ACK options in Linux's order: MSS, SACK-permitted, TS, NOP, WS."""
    options: list[tuple[str, Any]] = [("MSS", mss)]
    if sack_ok:
        options.append(("SAckOK", b""))
    if timestamp is not None:
        options.append(("Timestamp", timestamp))
    if wscale is not None:
        options += [("NOP", None), ("WScale", wscale)]
    return options


def timestamp_option(timestamp: tuple[int, int] | None) -> list[tuple[str, Any]]:
    """``NOP NOP TS`` as Linux puts it on established segments (the layout the data
    plane translates), or nothing."""
    if timestamp is None:
        return []
    return [("NOP", None), ("NOP", None), ("Timestamp", timestamp)]


def build_segment(router_mac: str, src: Endpoint, dst: Endpoint, *, seq: int, ack: int,
                  flags: int, window: int = 0xFFFF,
                  options: Sequence[tuple[str, Any]] = (), payload: bytes = b"") -> bytes:
    """A frame for the switch pipeline (both MACs the router's: it routes the packet)."""
    packet = (Ether(src=router_mac, dst=router_mac)
              / IP(src=str(src.address), dst=str(dst.address), ttl=DEFAULT_TTL, flags="DF")
              / TCP(sport=src.port, dport=dst.port, seq=seq, ack=ack, flags=flags,
                    window=window, options=list(options)))
    if payload:
        packet = packet / payload
    return bytes(packet)


def reset_reply(router_mac: str, segment: Segment) -> bytes:
    """RFC 9293 3.10.7.1: a segment for no connection gets RST with seq = its ack (or
    RST-ACK acknowledging it when it carries no ACK)."""
    if segment.flags & ACK:
        seq, ack, flags = segment.ack, 0, RST
    else:
        seq, ack, flags = 0, (segment.seq + segment.sequence_length) % 2**32, RST | ACK
    return build_segment(router_mac, Endpoint(segment.dst, segment.dport),
                         Endpoint(segment.src, segment.sport), seq=seq, ack=ack, flags=flags,
                         window=0)
