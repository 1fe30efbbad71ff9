"""Relay mode: the controller translates a connection's segments itself (docs/l7.md).

A service with ``relay: true`` is set up exactly like a spliced one, but no splice entries
are installed: every segment of the connection keeps reaching the controller, which
rewrites it as the switch would (addresses, ports, sequence and acknowledgement numbers,
SACK blocks, timestamps, window, with the same :class:`~controller.l7.seqmap.Splice`
arithmetic) and sends it back into the pipeline.  It exists to measure what splicing in
the data plane saves (bench/l7_splice.py).
"""

from __future__ import annotations

import struct

from controller.l7.segments import (
    ACK,
    OPTION_END,
    OPTION_NOP,
    OPTION_TIMESTAMP,
    SYN,
    _checksum,
)
from controller.l7.seqmap import Direction, Splice

OPTION_SACK = 5
ETHERNET_HEADER = 14
IPV4_HEADER = 20
TCP_HEADER = 20


def mac_bytes(mac: str) -> bytes:
    return bytes(int(part, 16) for part in mac.split(":"))


def relay_frame(frame: bytes, splice: Splice, direction: Direction, *, src: tuple[bytes, int],
                dst: tuple[bytes, int], router_mac: bytes) -> bytes:
    """``frame`` (Ethernet / IPv4 without options / TCP, already checked by
    ``parse_segment``) rewritten for ``direction`` from ``src`` to ``dst`` ((packed IPv4
    address, port) each), addressed to the router MAC so that the pipeline routes it."""
    ip = bytearray(frame[ETHERNET_HEADER:ETHERNET_HEADER + IPV4_HEADER])
    total_length = struct.unpack_from("!H", ip, 2)[0]
    tcp = bytearray(frame[ETHERNET_HEADER + IPV4_HEADER:ETHERNET_HEADER + total_length])
    ip[12:16], ip[16:20] = src[0], dst[0]
    struct.pack_into("!H", ip, 10, 0)
    struct.pack_into("=H", ip, 10, _checksum(bytes(ip)))  # summed in native byte order
    seq, ack = struct.unpack_from("!II", tcp, 4)
    flags, window = tcp[13], struct.unpack_from("!H", tcp, 14)[0]
    struct.pack_into("!HHI", tcp, 0, src[1], dst[1], splice.seq(direction, seq))
    if flags & ACK:
        struct.pack_into("!I", tcp, 8, splice.ack(direction, ack))
    if not flags & SYN:  # a SYN's window is never scaled
        struct.pack_into("!H", tcp, 14, splice.window(direction, window))
    _translate_options(tcp, splice, direction)
    struct.pack_into("!H", tcp, 16, 0)
    pseudo = bytes(ip[12:20]) + struct.pack("!BBH", 0, 6, len(tcp))
    struct.pack_into("=H", tcp, 16, _checksum(pseudo + bytes(tcp)))
    return router_mac + router_mac + frame[12:ETHERNET_HEADER] + bytes(ip) + bytes(tcp)


def _translate_options(tcp: bytearray, splice: Splice, direction: Direction) -> None:
    """SACK blocks move like ack numbers; timestamps by the splice's offset.  A malformed
    option list ends the walk (what follows is left as it is)."""
    end = (tcp[12] >> 4) * 4
    index = TCP_HEADER
    while index < end:
        kind = tcp[index]
        if kind == OPTION_END:
            return
        if kind == OPTION_NOP:
            index += 1
            continue
        if index + 1 >= end or tcp[index + 1] < 2 or index + tcp[index + 1] > end:
            return
        length = tcp[index + 1]
        if kind == OPTION_TIMESTAMP and length == 10 and splice.ts_offset is not None:
            tsval, tsecr = struct.unpack_from("!II", tcp, index + 2)
            struct.pack_into("!II", tcp, index + 2, *splice.timestamps(direction, tsval, tsecr))
        elif kind == OPTION_SACK and (length - 2) % 8 == 0:
            for block in range(index + 2, index + length, 8):
                left, right = struct.unpack_from("!II", tcp, block)
                struct.pack_into("!II", tcp, block,
                                 *splice.sack_blocks(direction, [(left, right)])[0])
        index += length
