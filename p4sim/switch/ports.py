"""Data ports: AF_PACKET raw sockets on network interfaces, served by one epoll loop.

Frames the switch itself sends are not read back (PACKET_IGNORE_OUTGOING, plus a packet-type
check for older kernels).  The kernel strips 802.1Q tags into ancillary data on packet
sockets; they are put back so the pipeline sees the frame as it was on the wire, as BMv2
(libpcap) does.

With ``offload`` (the default of ``p4sim-switch``) a port's socket carries a virtio-net header
(``PACKET_VNET_HDR``) on every frame, so GSO super-segments and partial checksums cross it
(see :mod:`p4sim.switch.offload`), and frames move in batches (a memory-mapped receive ring,
see :mod:`p4sim.switch.ring`, or recvmmsg where the kernel has none; sendmmsg of what the
pipeline emitted for a batch).  Without it, one system call per frame, exactly as
before.
"""

from __future__ import annotations

import errno
import logging
import select
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path

from p4sim.engine.types import SplitFrame
from p4sim.switch.mmsg import BatchReceiver, BatchSender
from p4sim.switch.offload import (
    NEEDS_CSUM,
    PLAIN_HEADER,
    VNET_HDR,
    Transmission,
    Vnet,
    egress,
    finish,
    locate,
    parse_vnet,
    plain,
    wire_bytes,
)
from p4sim.switch.pcap import PcapWriter
from p4sim.switch.ring import RxRing

log = logging.getLogger("p4sim.switch")

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_AUXDATA = 8
PACKET_VNET_HDR = 15
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
MAX_FRAME_BYTES = 65536
_AUXDATA = struct.Struct("=IIIHHHH")
_CMSG_SPACE = socket.CMSG_SPACE(_AUXDATA.size)
_BATCH = 64
_AUX_STATUS = 16
"""Offset of tp_status (its low byte) in a control buffer holding one PACKET_AUXDATA
(after the 16-byte struct cmsghdr)."""

_NO_EXTRAS: tuple[None, None] = (None, None)

Received = tuple[list[bytes], dict[int, Vnet]]
"""Frames read from a port in one go, and by position the virtio-net headers of those that
are GSO super-segments or have a partial checksum (the others are ordinary frames)."""
Receiver = Callable[[int, list[bytes], dict[int, Vnet]], None]
"""Takes what :data:`Received` holds, with the port number first."""


class PortError(Exception):
    """A port cannot be opened (no such interface, no permission...)."""


def parse_interface(spec: str) -> tuple[int, str]:
    """``"1@veth1"`` -> ``(1, "veth1")`` (the simple_switch ``-i`` syntax)."""
    number, sep, name = spec.partition("@")
    if not sep or not name or not number.isdigit():
        raise ValueError(f"invalid interface '{spec}', expected <port>@<interface>")
    return int(number), name


class Port:
    def __init__(self, number: int, interface: str, pcap_dir: Path | None,
                 offload: bool = False) -> None:
        self.number = number
        self.interface = interface
        try:
            # no protocol until bind: nothing is queued before the socket is set up
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except OSError as err:
            raise PortError(f"port {number}: cannot open a packet socket: {err}") from err
        receiver: RxRing | BatchReceiver | None = None
        try:
            index = socket.if_nametoindex(interface)
            membership = struct.pack("iHH8s", index, PACKET_MR_PROMISC, 0, b"")
            sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, membership)
            sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            if offload:
                try:
                    sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
                except OSError as err:
                    log.warning("port %d: no PACKET_VNET_HDR (%s): offload off", number, err)
                    offload = False
            try:
                sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            except OSError:
                log.debug("PACKET_IGNORE_OUTGOING unsupported, filtering by packet type")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER_BYTES)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER_BYTES)
            if offload:
                try:
                    receiver = RxRing(sock, VNET_HDR.size, _BATCH, max_frame=MAX_FRAME_BYTES)
                except OSError as err:
                    log.info("port %d: no receive ring (%s): recvmmsg", number, err)
                    receiver = BatchReceiver(sock.fileno(), _BATCH,
                                             VNET_HDR.size + MAX_FRAME_BYTES, _CMSG_SPACE,
                                             VNET_HDR.size, _AUX_STATUS, TP_STATUS_VLAN_VALID)
            sock.bind((interface, ETH_P_ALL))
            sock.setblocking(False)
        except OSError as err:
            if isinstance(receiver, RxRing):
                receiver.close()
            sock.close()
            raise PortError(f"port {number}: cannot use interface '{interface}': {err}") from err
        self.socket = sock
        self.offload = offload
        self._batch = receiver
        """The receive ring, or recvmmsg batches where the kernel has no rings (offload)."""
        self._sender = BatchSender(sock.fileno(), _BATCH, PLAIN_HEADER) if offload else None
        self.pending: list[Transmission | bytes] = []
        """Transmissions queued for the next :meth:`flush` (a bare frame: without offload)."""
        self.gone = False
        self.pcap_in = self.pcap_out = None
        if pcap_dir is not None:
            self.pcap_in = PcapWriter(pcap_dir / f"{interface}_in.pcap")
            self.pcap_out = PcapWriter(pcap_dir / f"{interface}_out.pcap")

    def receive_batch(self) -> Received:
        """Up to a batch of frames waiting on the socket (never blocks), one call each."""
        frames: list[bytes] = []
        for _ in range(_BATCH):
            try:
                data, ancillary, _, address = self.socket.recvmsg(MAX_FRAME_BYTES, _CMSG_SPACE)
            except BlockingIOError:
                break
            except OSError as err:
                if err.errno in (errno.ENODEV, errno.ENXIO):
                    log.warning("port %d: interface %s is gone", self.number, self.interface)
                    self.gone = True
                elif err.errno not in (errno.EINTR, errno.ENETDOWN):
                    log.warning("port %d: receive error: %s", self.number, err)
                break
            if address[2] == PACKET_OUTGOING:
                continue
            frame = restore_vlan_tag(data, ancillary)
            if self.pcap_in is not None:
                self.pcap_in.write(frame)
            frames.append(frame)
        return frames, {}

    def receive_offloaded(self) -> Received:
        """Like :meth:`receive_batch` on an offload port: the frames, and the virtio-net
        headers of those that are not ordinary frames with complete checksums."""
        assert self._batch is not None
        try:
            received, extras = self._batch.receive()
        except OSError as err:
            if err.errno in (errno.ENODEV, errno.ENXIO):
                log.warning("port %d: interface %s is gone", self.number, self.interface)
                self.gone = True
            elif err.errno != errno.ENETDOWN:
                log.warning("port %d: receive error: %s", self.number, err)
            return [], {}
        pcap = self.pcap_in
        if not extras and pcap is None:  # ordinary frames only
            return received, {}
        frames: list[bytes] = []
        vnets: dict[int, Vnet] = {}
        for i, frame in enumerate(received):
            header, control = extras.get(i, _NO_EXTRAS)
            if control is not None:  # the kernel took an 802.1Q tag out
                frame = restore_vlan_tag(frame, _ancillary(control))
            if pcap is not None:
                pcap.write(frame)
            vnet = None if header is None else parse_vnet(header)
            if vnet is None or not vnet.flags & NEEDS_CSUM and not vnet.gso:
                # no flags, no GSO, or DATA_VALID only: an ordinary frame, checksums complete
                frames.append(frame)
                continue
            if not vnet.supported or (vnet.gso and locate(frame) is None):
                log.debug("port %d: GSO packet (type %d) the switch cannot segment dropped",
                          self.number, vnet.gso_type)
                continue
            vnets[len(frames)] = vnet
            frames.append(frame)
        return frames, vnets

    def send(self, transmission: Transmission, queue: bool = False) -> None:
        """Transmit (the virtio-net header only on an offload port); ``queue``: at the next
        :meth:`flush`."""
        if self.pcap_out is not None:
            self.pcap_out.write(wire_bytes(transmission))
        if self.offload and queue:
            self.pending.append(transmission)
            return
        header, head, frame, rest = transmission
        try:
            if self.offload:
                self.socket.sendmsg((header, head, memoryview(frame)[rest:]))
            else:
                self.socket.send(wire_bytes(transmission))
        except OSError as err:
            # ENOBUFS/EMSGSIZE/ENETDOWN: the frame is lost, as on a real wire.
            log.debug("port %d: send failed: %s", self.number, err)

    def flush(self) -> None:
        if self.pending:
            pending, self.pending = self.pending, []
            assert self._sender is not None
            sent = self._sender.send(pending)
            if sent < len(pending):
                log.debug("port %d: %d frames lost on send", self.number, len(pending) - sent)

    def close(self) -> None:
        if isinstance(self._batch, RxRing):
            self._batch.close()
        self.socket.close()
        for writer in (self.pcap_in, self.pcap_out):
            if writer is not None:
                writer.close()


def _ancillary(control: bytes) -> list[tuple[int, int, bytes]]:
    """The (level, type, data) items of a raw control buffer (struct cmsghdr, 64-bit)."""
    items = []
    at = 0
    while at + 16 <= len(control):
        length, level, kind = struct.unpack_from("=Qii", control, at)
        if length < 16:
            break
        items.append((level, kind, control[at + 16:at + length]))
        at += (length + 7) & ~7
    return items


def restore_vlan_tag(data: bytes, ancillary: list[tuple[int, int, bytes]]) -> bytes:
    """The frame with the 802.1Q tag the kernel moved into PACKET_AUXDATA put back."""
    for level, kind, payload in ancillary:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(payload) >= _AUXDATA.size:
            status, _, _, _, _, tci, tpid = _AUXDATA.unpack_from(payload)
            if status & TP_STATUS_VLAN_VALID and len(data) >= 12:
                if not status & TP_STATUS_VLAN_TPID_VALID:
                    tpid = 0x8100
                return data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
    return data


class Ports:
    """All data ports of the switch; :meth:`serve` runs the receive loop in the caller's thread."""

    def __init__(self, interfaces: dict[int, str], pcap_dir: Path | None = None,
                 offload: bool = False) -> None:
        self._ports: dict[int, Port] = {}
        self._serving: int | None = None
        try:
            for number, interface in sorted(interfaces.items()):
                self._ports[number] = Port(number, interface, pcap_dir, offload)
        except PortError:
            self.close()
            raise

    def send(self, port: int, data: bytes) -> None:
        target = self._ports.get(port)
        if target is None:
            return
        queue = threading.get_ident() == self._serving
        if queue and target.offload and target.pcap_out is None:
            target.pending.append(data)  # Port.send of plain(data), without the call
        else:
            target.send(plain(data), queue=queue)

    def send_offloaded(self, port: int, data: bytes | SplitFrame, vnet: Vnet) -> None:
        """A pipeline output of a GSO/partial-checksum input (offload ports only)."""
        target = self._ports.get(port)
        if target is None:
            return
        queue = threading.get_ident() == self._serving
        if not target.offload:
            for frame in finish(data, vnet):
                target.send(plain(frame), queue)
            return
        for transmission in egress(data, vnet):
            target.send(transmission, queue)

    def serve(self, receive: Receiver, stop: threading.Event) -> None:
        """Deliver received frames to ``receive``, a port's batch at a time, until ``stop`` is
        set; what the pipeline emitted meanwhile is sent when the batch is done."""
        poller = select.epoll()
        by_fd = {port.socket.fileno(): port for port in self._ports.values()}
        for fd in by_fd:
            poller.register(fd, select.EPOLLIN)
        self._serving = threading.get_ident()
        ports = list(self._ports.values())
        try:
            while not stop.is_set():
                for fd, _ in poller.poll(0.2):
                    port = by_fd[fd]
                    frames, vnets = (port.receive_offloaded() if port.offload
                                     else port.receive_batch())
                    if frames:
                        receive(port.number, frames, vnets)
                    if port.gone:
                        poller.unregister(fd)
                for port in ports:
                    if port.pending:
                        port.flush()
        finally:
            self._serving = None
            poller.close()

    def close(self) -> None:
        for port in self._ports.values():
            port.close()
        self._ports.clear()
