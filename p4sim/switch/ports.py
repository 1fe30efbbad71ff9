"""Data ports: AF_PACKET raw sockets on network interfaces, served by one epoll loop.

Frames the switch itself sends are not read back (PACKET_IGNORE_OUTGOING, plus a packet-type
check for older kernels).  The kernel strips 802.1Q tags into ancillary data on packet
sockets; they are put back so the pipeline sees the frame as it was on the wire, as BMv2
(libpcap) does.
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

from p4sim.switch.pcap import PcapWriter

log = logging.getLogger("p4sim.switch")

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_AUXDATA = 8
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
MAX_FRAME_BYTES = 65536
_AUXDATA = struct.Struct("=IIIHHHH")
_CMSG_SPACE = socket.CMSG_SPACE(_AUXDATA.size)
_BATCH = 64

Receiver = Callable[[int, bytes], None]


class PortError(Exception):
    """A port cannot be opened (no such interface, no permission...)."""


def parse_interface(spec: str) -> tuple[int, str]:
    """``"1@veth1"`` -> ``(1, "veth1")`` (the simple_switch ``-i`` syntax)."""
    number, sep, name = spec.partition("@")
    if not sep or not name or not number.isdigit():
        raise ValueError(f"invalid interface '{spec}', expected <port>@<interface>")
    return int(number), name


class Port:
    def __init__(self, number: int, interface: str, pcap_dir: Path | None) -> None:
        self.number = number
        self.interface = interface
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        except OSError as err:
            raise PortError(f"port {number}: cannot open a packet socket: {err}") from err
        try:
            sock.bind((interface, ETH_P_ALL))
            index = socket.if_nametoindex(interface)
            membership = struct.pack("iHH8s", index, PACKET_MR_PROMISC, 0, b"")
            sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, membership)
            sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            try:
                sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            except OSError:
                log.debug("PACKET_IGNORE_OUTGOING unsupported, filtering by packet type")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER_BYTES)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER_BYTES)
            sock.setblocking(False)
        except OSError as err:
            sock.close()
            raise PortError(f"port {number}: cannot use interface '{interface}': {err}") from err
        self.socket = sock
        self.gone = False
        self.pcap_in = self.pcap_out = None
        if pcap_dir is not None:
            self.pcap_in = PcapWriter(pcap_dir / f"{interface}_in.pcap")
            self.pcap_out = PcapWriter(pcap_dir / f"{interface}_out.pcap")

    def receive_batch(self) -> list[bytes]:
        """Up to a batch of frames waiting on the socket (never blocks)."""
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
        return frames

    def send(self, data: bytes) -> None:
        if self.pcap_out is not None:
            self.pcap_out.write(data)
        try:
            self.socket.send(data)
        except OSError as err:
            # ENOBUFS/EMSGSIZE/ENETDOWN: the frame is lost, as on a real wire.
            log.debug("port %d: send failed: %s", self.number, err)

    def close(self) -> None:
        self.socket.close()
        for writer in (self.pcap_in, self.pcap_out):
            if writer is not None:
                writer.close()


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

    def __init__(self, interfaces: dict[int, str], pcap_dir: Path | None = None) -> None:
        self._ports: dict[int, Port] = {}
        try:
            for number, interface in sorted(interfaces.items()):
                self._ports[number] = Port(number, interface, pcap_dir)
        except PortError:
            self.close()
            raise

    def send(self, port: int, data: bytes) -> None:
        target = self._ports.get(port)
        if target is not None:
            target.send(data)

    def serve(self, receive: Receiver, stop: threading.Event) -> None:
        """Deliver received frames to ``receive`` until ``stop`` is set."""
        poller = select.epoll()
        by_fd = {port.socket.fileno(): port for port in self._ports.values()}
        for fd in by_fd:
            poller.register(fd, select.EPOLLIN)
        try:
            while not stop.is_set():
                for fd, _ in poller.poll(0.2):
                    port = by_fd[fd]
                    for frame in port.receive_batch():
                        receive(port.number, frame)
                    if port.gone:
                        poller.unregister(fd)
        finally:
            poller.close()

    def close(self) -> None:
        for port in self._ports.values():
            port.close()
        self._ports.clear()
