"""recvmmsg/sendmmsg through ctypes: a batch of frames per system call on a packet socket.

The message and iovec arrays are preallocated raw buffers filled with ``struct`` (one call
per batch, not one ctypes attribute per field): the layouts are Linux x86-64/arm64
(``struct mmsghdr`` of 64 bytes, ``struct iovec`` of 16).
"""

from __future__ import annotations

import ctypes
import errno
import struct
import sys
from collections.abc import Sequence

_libc = ctypes.CDLL(None, use_errno=True)
_libc.recvmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int,
                           ctypes.c_void_p]
_libc.sendmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
MSG_DONTWAIT = 0x40
SOCKADDR_LL_BYTES = 20
PACKET_OUTGOING = 4
_PKTTYPE_OFFSET = 10
_MMSG = 64  # sizeof(struct mmsghdr)
_IOV = 16   # sizeof(struct iovec)
_NAMELEN, _IOVP, _IOVLEN, _CONTROLLEN, _MSGLEN = 8, 16, 24, 40, 56

_BYTES_DATA = sys.getsizeof(b"") - 1
"""Offset of a bytes object's data from its address (CPython): frames are sent from where
they are, without a copy into ctypes buffers."""
_BYTES_SIZE = 2 * ctypes.sizeof(ctypes.c_void_p)
"""Offset of a bytes object's length (``ob_size``, after the reference count and type)."""
_new_bytes = ctypes.pythonapi.PyBytes_FromStringAndSize
_new_bytes.restype = ctypes.py_object
_new_bytes.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t]


def _unfilled_bytes(capacity: int) -> bytes:
    """A new bytes object of ``capacity`` bytes, not initialised: the kernel writes a
    message into it before anything reads it (see :func:`_shortened`)."""
    data: bytes = _new_bytes(None, capacity)
    return data


def _shortened(data: bytes, length: int) -> bytes:
    """``data``, only reference to a new object from :func:`_unfilled_bytes`, made the
    bytes object of its first ``length`` bytes in place, as CPython's own code finishes a
    bytes object it filled: the length set and the terminating NUL written (the allocation
    stays as it was, freed as a whole)."""
    ctypes.c_ssize_t.from_address(id(data) + _BYTES_SIZE).value = length
    ctypes.c_char.from_address(id(data) + _BYTES_DATA + length).value = b"\0"
    return data


if ctypes.string_at(id(_probe := b"p4sim") + _BYTES_DATA, 5) != _probe or \
        ctypes.c_ssize_t.from_address(id(_probe) + _BYTES_SIZE).value != 5:  # pragma: no cover
    raise ImportError("p4sim.switch.mmsg needs CPython's bytes layout")


class BatchReceiver:
    """Preallocated buffers for up to ``count`` messages of ``size`` bytes each, of which
    the first ``head`` are a header, and ``control_size`` bytes of control data, to be looked
    at when its byte at ``status_at`` has one of ``status_bits``.

    A message's header and the rest of it go to two buffers (two iovecs).  The rest is
    received into a bytes object of its own: a message longer than ``keep_bytes`` is that
    object, handed over as it is (no copy of a 64 KB super-segment) and replaced by a new
    one; shorter ones are copied out.  The other fields are read through memoryviews (no
    ctypes call per message), and the message headers the kernel updated are restored from a
    template in one copy."""

    def __init__(self, fd: int, count: int, size: int, control_size: int, head: int,
                 status_at: int, status_bits: int, keep_bytes: int = 8192) -> None:
        if head < 2:
            raise ValueError("the header holds at least the flags and gso_type bytes")
        self._fd = fd
        self._head = head
        self._status_at = status_at
        self._status_bits = status_bits
        self._count = count
        self._capacity = size - head
        self._keep_bytes = keep_bytes
        self._control_size = control_size
        self._heads = ctypes.create_string_buffer(head * count)
        self._names = ctypes.create_string_buffer(SOCKADDR_LL_BYTES * count)
        self._controls = ctypes.create_string_buffer(control_size * count)
        self._iovs = ctypes.create_string_buffer(2 * _IOV * count)
        self._msgs = ctypes.create_string_buffer(_MMSG * count)
        self._slots = [_unfilled_bytes(self._capacity) for _ in range(count)]
        self._views = [memoryview(slot) for slot in self._slots]
        for i in range(count):
            struct.pack_into("=QQQQ", self._iovs, 2 * i * _IOV,
                             ctypes.addressof(self._heads) + i * head, head,
                             id(self._slots[i]) + _BYTES_DATA, self._capacity)
            struct.pack_into("=QIxxxxQQQQ", self._msgs, i * _MMSG,
                             ctypes.addressof(self._names) + i * SOCKADDR_LL_BYTES,
                             SOCKADDR_LL_BYTES, ctypes.addressof(self._iovs) + 2 * i * _IOV, 2,
                             ctypes.addressof(self._controls) + i * control_size, control_size)
        self._template = self._msgs.raw
        self._msgs_view = memoryview(self._msgs).cast("B")
        self._words = self._msgs_view.cast("I")
        """The message headers as 32-bit words (msg_len, the low half of msg_controllen)."""
        self._heads_view = memoryview(self._heads).cast("B")
        self._names_view = memoryview(self._names).cast("B")
        self._controls_view = memoryview(self._controls).cast("B")
        # strided views of one field of every message, read for a whole batch at once
        self._lengths = self._words[_MSGLEN >> 2::_MMSG >> 2]
        self._pkttypes = self._names_view[_PKTTYPE_OFFSET::SOCKADDR_LL_BYTES]
        self._flags = self._heads_view[0::head]
        self._gso_types = self._heads_view[1::head]
        self._statuses = self._controls_view[status_at::control_size]
        self._status_table = bytes(b & status_bits for b in range(256))

    def receive(self) -> tuple[list[bytes], dict[int, tuple[bytes | None, bytes | None]]]:
        """The messages waiting, except outgoing ones: each one's data after its first
        ``head`` bytes (a virtio-net header), and by position in that list, for the messages
        that have any, (those bytes if their first two (flags, gso_type) are not zero else
        None, the control data if its byte at ``status_at`` has one of ``status_bits`` else
        None).  Raises OSError on a socket error other than "nothing to read".

        The per-message fields are read for the whole batch at once through strided
        memoryviews; only the data is taken message by message."""
        n = _libc.recvmmsg(self._fd, ctypes.addressof(self._msgs), self._count,
                           MSG_DONTWAIT, None)
        if n <= 0:
            if n == 0:
                return [], {}
            err = ctypes.get_errno()
            if err in (errno.EAGAIN, errno.EINTR):
                return [], {}
            raise OSError(err, f"recvmmsg: {errno.errorcode.get(err, err)}")
        head = self._head
        lengths = self._lengths[:n].tolist()
        outgoing = PACKET_OUTGOING in self._pkttypes[:n].tobytes()
        flagged = self._flags[:n].tobytes().count(0) != n or \
            self._gso_types[:n].tobytes().count(0) != n
        # a byte with none of the status bits is 0 after the translation
        controlled = self._statuses[:n].tobytes().translate(self._status_table).count(0) != n
        if not (outgoing or controlled) and min(lengths) >= head:
            if max(lengths) - head <= self._keep_bytes:
                frames = [bytes(view[:length - head])
                          for view, length in zip(self._views, lengths, strict=False)]
            else:
                frames = [self._take(i, length - head) for i, length in enumerate(lengths)]
            extras: dict[int, tuple[bytes | None, bytes | None]] = {}
            if flagged:  # GSO and partial checksums: every header a flow sends is flagged
                heads = self._heads_view
                extras = {i: (bytes(heads[at:at + head]), None)
                          for i, at in enumerate(range(0, n * head, head))
                          if heads[at] or heads[at + 1]}
        else:
            frames, extras = self._receive_each(n)
        # the kernel wrote the name and control lengths it used: back to the buffer sizes
        self._msgs_view[:n * _MMSG] = self._template[:n * _MMSG]
        return frames, extras

    def _take(self, i: int, length: int) -> bytes:
        """The data of message ``i``: copied out, or if longer than ``keep_bytes`` its bytes
        object itself, replaced by a new one for the next receive."""
        if length <= self._keep_bytes:
            return bytes(self._views[i][:length])
        frame = self._slots[i]
        self._views[i].release()
        slot = self._slots[i] = _unfilled_bytes(self._capacity)
        self._views[i] = memoryview(slot)
        struct.pack_into("=Q", self._iovs, (2 * i + 1) * _IOV, id(slot) + _BYTES_DATA)
        return _shortened(frame, length)

    def _receive_each(self, n: int
                      ) -> tuple[list[bytes], dict[int, tuple[bytes | None, bytes | None]]]:
        """:meth:`receive` message by message (outgoing frames, short messages, control data
        to look at)."""
        frames: list[bytes] = []
        extras: dict[int, tuple[bytes | None, bytes | None]] = {}
        words, heads, names, controls = (self._words, self._heads_view, self._names_view,
                                         self._controls_view)
        control_size = self._control_size
        head, status_at, status_bits = self._head, self._status_at, self._status_bits
        for i in range(n):
            if names[i * SOCKADDR_LL_BYTES + _PKTTYPE_OFFSET] == PACKET_OUTGOING:
                continue
            at = i * head
            length = words[(i * _MMSG + _MSGLEN) >> 2]
            if length < head:
                continue
            header = bytes(heads[at:at + head]) if heads[at] or heads[at + 1] else None
            control = None
            if words[(i * _MMSG + _CONTROLLEN) >> 2] > status_at:
                c = i * control_size
                if controls[c + status_at] & status_bits:
                    control = bytes(controls[c:c + words[(i * _MMSG + _CONTROLLEN) >> 2]])
            if header is not None or control is not None:
                extras[len(frames)] = (header, control)
            frames.append(self._take(i, length - head))
        return frames, extras


class BatchSender:
    """Sends up to ``count`` messages per call, each of three buffers: a virtio-net header,
    a head and the rest of a frame from an offset (see ``offload.Transmission``).  A message
    that is a bare ``bytes`` object is that frame after ``plain_header``: the common case of
    small frames, packed without unpacking a tuple."""

    def __init__(self, fd: int, count: int, plain_header: bytes = b"") -> None:
        self._fd = fd
        self._count = count
        self._plain_header = plain_header
        self._plain = (id(plain_header) + _BYTES_DATA, len(plain_header), id(b"") + _BYTES_DATA,
                       0)
        """The first two iovecs of a bare frame (the header is kept alive by the sender)."""
        self._iovs = ctypes.create_string_buffer(_IOV * 3 * count)
        self._msgs = ctypes.create_string_buffer(_MMSG * count)
        for i in range(count):
            struct.pack_into("=QIxxxxQQ", self._msgs, i * _MMSG, 0, 0,
                             ctypes.addressof(self._iovs) + 3 * i * _IOV, 3)

    def send(self, messages: Sequence[tuple[bytes, bytes, bytes, int] | bytes]) -> int:
        """Send the messages (virtio-net header, head, frame, offset of the frame's rest; or a
        bare frame); returns how many the kernel took.  A message the kernel refuses (no
        buffer space, too big) is skipped, as lost on a wire."""
        sent = 0
        plain = self._plain
        for first in range(0, len(messages), self._count):
            chunk = messages[first:first + self._count]
            values: list[int] = []
            for message in chunk:
                if isinstance(message, bytes):
                    values += plain
                    values += (id(message) + _BYTES_DATA, len(message))
                    continue
                header, head, frame, rest = message
                values += (id(header) + _BYTES_DATA, len(header), id(head) + _BYTES_DATA,
                           len(head), id(frame) + _BYTES_DATA + rest, len(frame) - rest)
            struct.pack_into(f"={len(values)}Q", self._iovs, 0, *values)
            sent += self._send_all(len(chunk))
        return sent

    def _send_all(self, count: int) -> int:
        base = ctypes.addressof(self._msgs)
        sent = done = 0
        while done < count:
            n = _libc.sendmmsg(self._fd, base + done * _MMSG, count - done, 0)
            if n < 0:
                if ctypes.get_errno() != errno.EINTR:
                    done += 1  # this one is lost; carry on with the rest
                continue
            sent += n
            done += n
        return sent
