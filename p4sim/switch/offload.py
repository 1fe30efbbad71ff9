"""GSO super-segments and partial checksums on packet sockets (``PACKET_VNET_HDR``).

With offloads on, the kernel hands a packet socket TCP/UDP packets of up to 64 KB (one GSO
"super-segment") whose L4 checksum holds only the pseudo-header sum (CHECKSUM_PARTIAL), and
describes them in a ``struct virtio_net_hdr`` in front of the frame.  The pipeline runs such a
packet once; on the way out this module makes the header say the truth about the frame the
program produced (offsets found again by parsing it, the partial sum recomputed from the new
addresses and length), or, where the kernel cannot take the packet as GSO (the transport is
encapsulated, e.g. IP-in-IP, or it goes to the controller), segments it in software with
complete checksums, as the sender's kernel would have with offloads off.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from p4sim.engine.hashing import csum16
from p4sim.engine.types import SplitFrame

VNET_HDR = struct.Struct("=BBHHHH")
"""flags, gso_type, hdr_len, gso_size, csum_start, csum_offset (native endian: packet sockets
use the legacy virtio layout of the host)."""
NEEDS_CSUM = 1
DATA_VALID = 2
GSO_NONE, GSO_TCPV4, GSO_UDP, GSO_TCPV6, GSO_UDP_L4 = 0, 1, 3, 4, 5
GSO_ECN = 0x80
PLAIN_HEADER = VNET_HDR.pack(0, GSO_NONE, 0, 0, 0, 0)

Transmission = tuple[bytes, bytes, bytes, int]
"""(virtio-net header, head, frame, rest): what goes on the wire is ``head`` followed by
``frame[rest:]``.  The switch only rewrites the front of a super-segment (the partial
checksum), so the rest of the pipeline's output is sent from where it is instead of being
copied: three iovecs, no 64 KB copy per packet."""


def plain(frame: bytes) -> Transmission:
    """``frame`` as it is, without offload."""
    return (PLAIN_HEADER, b"", frame, 0)


def wire_bytes(transmission: Transmission) -> bytes:
    """The frame a transmission puts on the wire."""
    _, head, frame, rest = transmission
    return head + frame[rest:] if head or rest else frame

_VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)
_ETH_IPV4, _ETH_IPV6 = 0x0800, 0x86DD
_TCP, _UDP, _IPIP, _IPV6_IN = 6, 17, 4, 41
_CSUM_OFFSET = {_TCP: 16, _UDP: 6}


class Vnet(NamedTuple):
    """The virtio-net header of a received frame."""

    flags: int
    gso_type: int
    gso_size: int

    @property
    def partial(self) -> bool:
        return bool(self.flags & NEEDS_CSUM)

    @property
    def gso(self) -> bool:
        return self.gso_type & ~GSO_ECN != GSO_NONE

    @property
    def supported(self) -> bool:
        """TCP segmentation or UDP_L4 (no UFO: that one is IP fragmentation)."""
        return self.gso_type & ~GSO_ECN in (GSO_NONE, GSO_TCPV4, GSO_TCPV6, GSO_UDP_L4)


_VNETS: dict[bytes, Vnet] = {}
"""Parsed virtio-net headers by their bytes: a flow's headers repeat, packet after packet."""
_VNETS_MAX = 1024


def parse_vnet(header: bytes) -> Vnet:
    vnet = _VNETS.get(header)
    if vnet is None:
        flags, gso_type, _, gso_size, _, _ = VNET_HDR.unpack_from(header)
        vnet = Vnet(flags, gso_type, gso_size)
        if len(_VNETS) >= _VNETS_MAX:
            _VNETS.clear()
        _VNETS[bytes(header[:VNET_HDR.size])] = vnet
    return vnet


class Layout(NamedTuple):
    """Where the IP headers (outermost first) and the transport header of a frame are."""

    ips: tuple[tuple[int, int], ...]
    """(offset, IP version) of each IP header, outermost first."""
    l4: int
    proto: int
    l4_header: int
    end: int
    """End of the outermost IP packet (Ethernet padding excluded)."""

    @property
    def encapsulated(self) -> bool:
        return len(self.ips) > 1


_UNTAGGED_IPV4 = struct.Struct("!HBxHxxHxB")
"""From byte 12 of a frame: ethertype, version/IHL, total length, flags/fragment offset and
protocol of an untagged IPv4 packet."""
_UNTAGGED_IPV4_AT = ((14, 4),)


def locate(frame: bytes, length: int | None = None) -> Layout | None:
    """The layout of an Ethernet (802.1Q) / IPv4 or IPv6 [/ IP-in-IP] / TCP or UDP frame,
    None for anything else (fragments, IPv6 extension headers, truncated headers).
    ``length``: the frame is that long, ``frame`` holds its front (the headers of a split
    frame); None also when the headers are not all in ``frame``.

    Untagged IPv4 with TCP or UDP, the usual frame, is read with one ``struct`` call."""
    size = len(frame)
    if length is None:
        length = size
    if size >= 34:
        ethertype, version_ihl, total, fragment, proto = _UNTAGGED_IPV4.unpack_from(frame, 12)
        ihl = (version_ihl & 0xF) * 4
        if ethertype == _ETH_IPV4 and version_ihl >> 4 == 4 and proto in _CSUM_OFFSET \
                and not fragment & 0x3FFF and 20 <= ihl <= total and 14 + total <= length:
            end = 14 + total
            l4 = 14 + ihl
            if proto == _TCP:
                if size < l4 + 20:
                    return None
                l4_header = (frame[l4 + 12] >> 4) * 4
                if l4_header < 20:
                    return None
            else:
                l4_header = 8
            if l4 + l4_header > end or l4 + l4_header > size:
                return None
            return Layout(_UNTAGGED_IPV4_AT, l4, proto, l4_header, end)
    return _locate_any(frame, size, length)


def _locate_any(frame: bytes, size: int, length: int) -> Layout | None:
    """:func:`locate` for every frame it describes (VLAN tags, IPv6, IP-in-IP)."""
    offset = 12
    if size < 14:
        return None
    ethertype = int.from_bytes(frame[12:14])
    while ethertype in _VLAN_TPIDS:
        offset += 4
        if size < offset + 2:
            return None
        ethertype = int.from_bytes(frame[offset:offset + 2])
    l3 = offset + 2
    ips: list[tuple[int, int]] = []
    end = 0
    while True:
        if ethertype == _ETH_IPV4:
            if size < l3 + 20 or frame[l3] >> 4 != 4:
                return None
            ihl = (frame[l3] & 0xF) * 4
            total = int.from_bytes(frame[l3 + 2:l3 + 4])
            if ihl < 20 or total < ihl or int.from_bytes(frame[l3 + 6:l3 + 8]) & 0x3FFF:
                return None
            proto, header = frame[l3 + 9], ihl
            packet_end = l3 + total
        elif ethertype == _ETH_IPV6:
            if size < l3 + 40 or frame[l3] >> 4 != 6:
                return None
            proto, header = frame[l3 + 6], 40
            packet_end = l3 + 40 + int.from_bytes(frame[l3 + 4:l3 + 6])
        else:
            return None
        if packet_end > length or (end and packet_end > end):
            return None
        ips.append((l3, 4 if ethertype == _ETH_IPV4 else 6))
        end = end or packet_end
        if proto in (_IPIP, _IPV6_IN):
            ethertype = _ETH_IPV4 if proto == _IPIP else _ETH_IPV6
            l3 += header
            continue
        l4 = l3 + header
        break
    if proto == _TCP:
        if size < l4 + 20:
            return None
        l4_header = (frame[l4 + 12] >> 4) * 4
    elif proto == _UDP:
        l4_header = 8
    else:
        return None
    if l4_header < (20 if proto == _TCP else 8) or l4 + l4_header > min(packet_end, size):
        return None
    return Layout(tuple(ips), l4, proto, l4_header, end)


def _ip_length(frame: bytes | bytearray, layout: Layout) -> int:
    """The transport length from the innermost IP header."""
    l3, version = layout.ips[-1]
    if version == 4:
        return int.from_bytes(frame[l3 + 2:l3 + 4]) - (layout.l4 - l3)
    return int.from_bytes(frame[l3 + 4:l3 + 6]) - (layout.l4 - l3 - 40)


def _pseudo_header(frame: bytes | bytearray, layout: Layout, l4_length: int) -> bytes:
    l3, version = layout.ips[-1]
    if version == 4:
        addresses = bytes(frame[l3 + 12:l3 + 20])
        return addresses + struct.pack("!xBH", layout.proto, l4_length)
    addresses = bytes(frame[l3 + 8:l3 + 40])
    return addresses + struct.pack("!IxxxB", l4_length, layout.proto)


def _set_l4_checksum(frame: bytearray, layout: Layout, complete: bool) -> None:
    """The partial (pseudo-header sum, as the kernel leaves it) or complete L4 checksum."""
    at = layout.l4 + _CSUM_OFFSET[layout.proto]
    if not complete:
        partial = _partial_l4_checksum(frame, layout)
        if partial is not None:
            frame[at:at + 2] = partial
        return
    if _keeps_no_checksum(frame, layout, at):
        return
    l4_length = _ip_length(frame, layout)
    pseudo = _pseudo_header(frame, layout, l4_length)
    frame[at:at + 2] = b"\x00\x00"
    value = csum16(pseudo + bytes(frame[layout.l4:layout.l4 + l4_length]))
    if value == 0 and layout.proto == _UDP:
        value = 0xFFFF
    frame[at:at + 2] = value.to_bytes(2)


def _partial_l4_checksum(frame: bytes | bytearray, layout: Layout) -> bytes | None:
    """The partial L4 checksum of ``frame``: the pseudo-header sum, from the IP headers
    only (None: a UDP datagram over IPv4 without a checksum keeps none).

    The ones' complement sum of 16-bit words is their concatenation modulo 0xFFFF (as
    2**16 is 1 modulo 0xFFFF; a non-zero sum is 0xFFFF, not 0), and the pseudo-header's
    protocol and length words add as they are."""
    at = layout.l4 + _CSUM_OFFSET[layout.proto]
    if _keeps_no_checksum(frame, layout, at):
        return None
    l3, version = layout.ips[-1]
    addresses = frame[l3 + 12:l3 + 20] if version == 4 else frame[l3 + 8:l3 + 40]
    value = int.from_bytes(addresses) + layout.proto + _ip_length(frame, layout)
    return (value % 0xFFFF or 0xFFFF).to_bytes(2)


def _keeps_no_checksum(frame: bytes | bytearray, layout: Layout, at: int) -> bool:
    return (layout.proto == _UDP and frame[at:at + 2] == b"\x00\x00"
            and layout.ips[-1][1] == 4)


def _set_ipv4_checksum(frame: bytearray, l3: int) -> None:
    ihl = (frame[l3] & 0xF) * 4
    frame[l3 + 10:l3 + 12] = b"\x00\x00"
    frame[l3 + 10:l3 + 12] = csum16(bytes(frame[l3:l3 + ihl])).to_bytes(2)


def segment(frame: bytes, layout: Layout, size: int, *, complete: bool = True) -> list[bytes]:
    """Split a TCP or UDP super-segment into packets of at most ``size`` payload bytes, as
    Linux's software GSO does: every IP length and IPv4 checksum set, the innermost IPv4
    identification incremented per segment, TCP sequence numbers advanced, FIN/PSH kept on the
    last segment and CWR on the first; L4 checksums complete (or partial)."""
    head = layout.l4 + layout.l4_header
    payload = frame[head:layout.end]
    if size <= 0 or len(payload) <= size:
        out = bytearray(frame[:layout.end])
        _set_l4_checksum(out, layout, complete)
        return [bytes(out)]
    inner_l3, inner_version = layout.ips[-1]
    first_id = int.from_bytes(frame[inner_l3 + 4:inner_l3 + 6]) if inner_version == 4 else 0
    seq = int.from_bytes(frame[layout.l4 + 4:layout.l4 + 8]) if layout.proto == _TCP else 0
    segments = []
    for index, start in enumerate(range(0, len(payload), size)):
        chunk = payload[start:start + size]
        shrink = len(payload) - len(chunk)
        out = bytearray(frame[:head])
        for l3, version in layout.ips:
            if version == 4:
                total = int.from_bytes(out[l3 + 2:l3 + 4]) - shrink
                out[l3 + 2:l3 + 4] = total.to_bytes(2)
                if l3 == inner_l3:
                    out[l3 + 4:l3 + 6] = ((first_id + index) & 0xFFFF).to_bytes(2)
                _set_ipv4_checksum(out, l3)
            else:
                out[l3 + 4:l3 + 6] = (int.from_bytes(out[l3 + 4:l3 + 6]) - shrink).to_bytes(2)
        l4 = layout.l4
        if layout.proto == _TCP:
            out[l4 + 4:l4 + 8] = ((seq + start) & 0xFFFFFFFF).to_bytes(4)
            flags = out[l4 + 13]
            if start + size < len(payload):
                flags &= ~0x09  # FIN, PSH: last segment only
            if index:
                flags &= ~0x80  # CWR: first segment only
            out[l4 + 13] = flags
        else:
            out[l4 + 4:l4 + 6] = (8 + len(chunk)).to_bytes(2)
        out += chunk
        _set_l4_checksum(out, layout, complete)
        segments.append(bytes(out))
    return segments


def _gso_type(layout: Layout, ecn: int) -> int:
    if layout.proto == _UDP:
        return GSO_UDP_L4
    return (GSO_TCPV4 if layout.ips[-1][1] == 4 else GSO_TCPV6) | ecn


def egress(frame: bytes | SplitFrame, vnet: Vnet | None) -> list[Transmission]:
    """What to transmit for a pipeline output whose input came with ``vnet``: the
    super-segment as one GSO packet when the kernel can segment it (plain IP / TCP or UDP),
    else segments with complete checksums.  A split frame is sent as its headers and its
    payload where it is, unless it has to be segmented here."""
    if isinstance(frame, SplitFrame):
        headers, payload = frame
        layout = locate(headers, len(headers) + len(payload))
        if vnet is not None and (vnet.partial or vnet.gso) and layout is not None \
                and not layout.encapsulated and type(payload.obj) is bytes:
            body = payload.obj
            return [_gso_transmission(headers, layout, vnet, body, len(body) - len(payload))]
        frame = frame.joined()
    if vnet is None or not (vnet.partial or vnet.gso):
        return [plain(frame)]
    layout = locate(frame)
    if layout is None:
        # the program made it something else: its checksum cannot be finished here
        return [plain(frame)] if not vnet.gso else []
    if layout.encapsulated:
        return [plain(s) for s in segment(frame, layout, vnet.gso_size if vnet.gso else 0)]
    at = layout.l4 + _CSUM_OFFSET[layout.proto]
    return [_gso_transmission(frame[:at + 2], layout, vnet, frame, at + 2)]


def _gso_transmission(headers: bytes, layout: Layout, vnet: Vnet, body: bytes,
                      rest: int) -> Transmission:
    """``headers`` (at least up to the L4 checksum) with the partial L4 checksum set, then
    ``body[rest:]``, as one GSO packet (or one with a partial checksum) of ``layout``."""
    at = layout.l4 + _CSUM_OFFSET[layout.proto]
    checksum = _partial_l4_checksum(headers, layout)
    if checksum is not None:
        headers = headers[:at] + checksum + headers[at + 2:]
    size = vnet.gso_size if vnet.gso else 0
    payload = layout.end - layout.l4 - layout.l4_header
    gso_type = GSO_NONE
    if vnet.gso and payload > size:
        gso_type = _gso_type(layout, vnet.gso_type & GSO_ECN)
    header = VNET_HDR.pack(NEEDS_CSUM, gso_type, layout.l4 + layout.l4_header,
                           size if gso_type != GSO_NONE else 0, layout.l4,
                           _CSUM_OFFSET[layout.proto])
    return (header, headers, body, rest)


def finish(frame: bytes | SplitFrame, vnet: Vnet | None) -> list[bytes]:
    """Complete packets (software segmentation, full checksums) for where no kernel finishes
    them: the CPU port, ports without a virtio-net header."""
    if isinstance(frame, SplitFrame):
        frame = frame.joined()
    if vnet is None or not (vnet.partial or vnet.gso):
        return [frame]
    layout = locate(frame)
    if layout is None:
        return [frame] if not vnet.gso else []
    return segment(frame, layout, vnet.gso_size if vnet.gso else 0)
