"""A TPACKET_V2 receive ring on a packet socket: frames read from shared memory.

With a ring, the kernel copies each frame into a slot of memory the switch has mapped, in
the sender's context, and the switch takes a batch of frames without a system call, a
socket-buffer dequeue or a free per frame (recvmmsg costs about a microsecond of system
time per small frame).  A frame too long for its slot (a GSO super-segment, a jumbo frame)
is still delivered whole: the kernel marks the slot ``TP_STATUS_COPY`` and queues the whole
packet on the socket (``PACKET_COPY_THRESH``), where it is read with recvmmsg.

TPACKET_V2 rather than V3: a V3 block goes to user space only when full or when its timer
(a millisecond at least) expires, which would delay every frame of a slow flow; a V2 slot is
ready as soon as the kernel wrote it.
"""

from __future__ import annotations

import mmap
import socket
import struct
from collections import deque

from p4sim.switch.mmsg import BatchReceiver

SOL_PACKET = 263
PACKET_RX_RING = 5
PACKET_COPY_THRESH = 7
PACKET_VERSION = 10
TPACKET_V2 = 1
TP_STATUS_USER = 0x1
TP_STATUS_COPY = 0x2
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
PACKET_OUTGOING = 4
_HEADER = struct.Struct("=IIIHHIIHH")
"""struct tpacket2_hdr: status, len, snaplen, mac, net, sec, nsec, vlan_tci, vlan_tpid."""
_PKTTYPE = 32 + 10
"""sll_pkttype of the struct sockaddr_ll after the (16-byte aligned) tpacket2_hdr."""
_SPECIAL = TP_STATUS_COPY | TP_STATUS_VLAN_VALID
"""Status bits that need a look at the slot's header (the low byte of tp_status)."""
_READY_TABLE = bytes(1 if b & TP_STATUS_USER else 0 for b in range(256))
_SPECIAL_TABLE = bytes(b & _SPECIAL for b in range(256))


class RxRing:
    """``slots`` slots of ``slot_size`` bytes mapped from ``sock``, whose frames carry a
    ``head``-byte virtio-net header (``PACKET_VNET_HDR`` set before); :meth:`receive` gives
    up to ``batch`` frames.  Set up before the socket is bound, so that nothing is queued on
    the socket that is not a copy the ring announces.  Raises OSError where the kernel has
    no rings."""

    def __init__(self, sock: socket.socket, head: int, batch: int, slot_size: int = 2048,
                 slots: int = 2048, max_frame: int = 65536) -> None:
        block = max(slot_size, mmap.PAGESIZE) * 16
        if block % slot_size or (slots * slot_size) % block:
            raise ValueError("slots must fill whole blocks of whole slots")
        sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V2)
        sock.setsockopt(SOL_PACKET, PACKET_COPY_THRESH, 1)
        sock.setsockopt(SOL_PACKET, PACKET_RX_RING,
                        struct.pack("=IIII", block, slots * slot_size // block, slot_size, slots))
        self._map = mmap.mmap(sock.fileno(), slots * slot_size, mmap.MAP_SHARED,
                              mmap.PROT_READ | mmap.PROT_WRITE)
        # the copies' control data (PACKET_AUXDATA) is not needed: the slot has the tag too
        self._copies = BatchReceiver(sock.fileno(), batch, head + max_frame, 1, head, 0, 0)
        self._copied: deque[tuple[bytes, bytes | None]] = deque()
        """Whole packets of slots marked TP_STATUS_COPY read ahead, in ring order."""
        self._head = head
        self._batch = batch
        self._slot_size = slot_size
        self._slots = slots
        self._at = 0
        view = memoryview(self._map)
        self._view = view
        words = view.cast("I")
        step = slot_size // 4
        self._statuses = words[0::step]
        self._lengths = words[1::step]
        self._snaplens = words[2::step]
        self._macs = view.cast("H")[6::slot_size // 2]
        self._status_bytes = view[0::slot_size]
        self._zeros = memoryview(bytes(4 * batch)).cast("I")

    def receive(self) -> tuple[list[bytes], dict[int, tuple[bytes | None, None]]]:
        """The frames ready, up to a batch, and by position the virtio-net headers that have
        flags or a GSO type (as :meth:`BatchReceiver.receive` gives them).  802.1Q tags the
        kernel took out are put back; frames the switch sent itself are left out."""
        at = self._at
        n = min(self._batch, self._slots - at)
        ready = self._status_bytes[at:at + n].tobytes().translate(_READY_TABLE).find(0)
        if ready < 0:
            ready = n
        if not ready:
            return [], {}
        end = at + ready
        macs = self._macs[at:end].tolist()
        snaplens = self._snaplens[at:end].tolist()
        special = self._status_bytes[at:end].tobytes().translate(_SPECIAL_TABLE).count(0)
        mac = macs[0]
        if (special == ready and macs.count(mac) == ready
                and snaplens == self._lengths[at:end].tolist()):
            frames, extras = self._plain(at, end, mac, snaplens)
        else:
            frames, extras = self._each(at, end)
        self._statuses[at:end] = self._zeros[:ready]  # the slots go back to the kernel
        self._at = end % self._slots
        return frames, extras

    def _plain(self, at: int, end: int, mac: int, snaplens: list[int]
               ) -> tuple[list[bytes], dict[int, tuple[bytes | None, None]]]:
        """Whole frames without tags, all at the same offset in their slots: the batch
        at once (no frame the switch sent: PACKET_IGNORE_OUTGOING, checked in bulk)."""
        view, size = self._view, self._slot_size
        first = at * size
        if PACKET_OUTGOING in view[first + _PKTTYPE:end * size:size].tobytes():
            return self._each(at, end)
        frames = [bytes(view[base:base + length]) for base, length in
                  zip(range(first + mac, end * size, size), snaplens, strict=True)]
        head = self._head
        flags = view[first + mac - head:end * size:size].tobytes()
        gso_types = view[first + mac - head + 1:end * size:size].tobytes()
        extras: dict[int, tuple[bytes | None, None]] = {}
        if flags.count(0) != len(flags) or gso_types.count(0) != len(gso_types):
            for i, base in enumerate(range(first + mac - head, end * size, size)):
                if view[base] or view[base + 1]:
                    extras[i] = (bytes(view[base:base + head]), None)
        return frames, extras

    def _each(self, at: int, end: int
              ) -> tuple[list[bytes], dict[int, tuple[bytes | None, None]]]:
        """Slot by slot: copies, tags, outgoing or cut frames."""
        view, size, head = self._view, self._slot_size, self._head
        frames: list[bytes] = []
        extras: dict[int, tuple[bytes | None, None]] = {}
        for slot in range(at, end):
            base = slot * size
            status, length, snaplen, mac, _, _, _, tci, tpid = _HEADER.unpack_from(view, base)
            header: bytes | None
            if status & TP_STATUS_COPY:
                copy = self._next_copy()
                if copy is None:
                    continue
                frame, header = copy
            elif snaplen < length:
                continue  # cut to the slot and no copy queued (the socket was full): lost
            else:
                frame = bytes(view[base + mac:base + mac + snaplen])
                vnet = view[base + mac - head:base + mac]
                header = bytes(vnet) if vnet[0] or vnet[1] else None
            if view[base + _PKTTYPE] == PACKET_OUTGOING:
                continue
            if status & TP_STATUS_VLAN_VALID and len(frame) >= 12:
                if not status & TP_STATUS_VLAN_TPID_VALID:
                    tpid = 0x8100
                frame = frame[:12] + struct.pack("!HH", tpid, tci) + frame[12:]
            if header is not None:
                extras[len(frames)] = (header, None)
            frames.append(frame)
        return frames, extras

    def _next_copy(self) -> tuple[bytes, bytes | None] | None:
        """The whole packet of the next slot marked TP_STATUS_COPY (None if the kernel
        queued none: not expected, the slot is then skipped)."""
        if not self._copied:
            frames, extras = self._copies.receive()
            for i, frame in enumerate(frames):
                self._copied.append((frame, extras.get(i, (None, None))[0]))
        return self._copied.popleft() if self._copied else None

    def close(self) -> None:
        for view in (self._statuses, self._lengths, self._snaplens, self._macs,
                     self._status_bytes, self._view):
            view.release()
        self._map.close()
