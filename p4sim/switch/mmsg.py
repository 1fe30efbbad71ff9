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
_PKTTYPE_OFFSET = 10
_MMSG = 64  # sizeof(struct mmsghdr)
_IOV = 16   # sizeof(struct iovec)
_NAMELEN, _IOVP, _IOVLEN, _CONTROLLEN, _MSGLEN = 8, 16, 24, 40, 56

_BYTES_DATA = sys.getsizeof(b"") - 1
"""Offset of a bytes object's data from its address (CPython): frames are sent from where
they are, without a copy into ctypes buffers."""
if ctypes.string_at(id(_probe := b"p4sim") + _BYTES_DATA, 5) != _probe:  # pragma: no cover
    raise ImportError("p4sim.switch.mmsg needs CPython's bytes layout")


class BatchReceiver:
    """Preallocated buffers for up to ``count`` messages of ``size`` bytes each."""

    def __init__(self, fd: int, count: int, size: int, control_size: int) -> None:
        self._fd = fd
        self._count = count
        self._control_size = control_size
        self._data = ctypes.create_string_buffer(size * count)
        self._names = ctypes.create_string_buffer(SOCKADDR_LL_BYTES * count)
        self._controls = ctypes.create_string_buffer(control_size * count)
        self._iovs = ctypes.create_string_buffer(_IOV * count)
        self._msgs = ctypes.create_string_buffer(_MMSG * count)
        self._data_at = [ctypes.addressof(self._data) + i * size for i in range(count)]
        self._control_at = [ctypes.addressof(self._controls) + i * control_size
                            for i in range(count)]
        for i in range(count):
            struct.pack_into("=QQ", self._iovs, i * _IOV, self._data_at[i], size)
            struct.pack_into("=QIxxxxQQQQ", self._msgs, i * _MMSG,
                             ctypes.addressof(self._names) + i * SOCKADDR_LL_BYTES,
                             SOCKADDR_LL_BYTES, ctypes.addressof(self._iovs) + i * _IOV, 1,
                             self._control_at[i], control_size)

    def receive(self) -> list[tuple[bytes, int, bytes]]:
        """(data, sll_pkttype, control data) of the messages waiting; raises OSError on a
        socket error other than "nothing to read"."""
        n = _libc.recvmmsg(self._fd, ctypes.addressof(self._msgs), self._count,
                           MSG_DONTWAIT, None)
        if n < 0:
            err = ctypes.get_errno()
            if err in (errno.EAGAIN, errno.EINTR):
                return []
            raise OSError(err, f"recvmmsg: {errno.errorcode.get(err, err)}")
        out = []
        msgs, names, string_at = self._msgs, self._names, ctypes.string_at
        unpack_from, pack_into = struct.unpack_from, struct.pack_into
        for i in range(n):
            base = i * _MMSG
            (controllen,) = unpack_from("=Q", msgs, base + _CONTROLLEN)
            (length,) = unpack_from("=I", msgs, base + _MSGLEN)
            control = string_at(self._control_at[i], controllen) if controllen else b""
            out.append((string_at(self._data_at[i], length),
                        names[i * SOCKADDR_LL_BYTES + _PKTTYPE_OFFSET][0], control))
            # the kernel wrote the lengths it used: restore the buffer sizes
            pack_into("=I", msgs, base + _NAMELEN, SOCKADDR_LL_BYTES)
            pack_into("=Q", msgs, base + _CONTROLLEN, self._control_size)
        return out


class BatchSender:
    """Sends up to ``count`` messages of two buffers (virtio-net header, frame) per call."""

    def __init__(self, fd: int, count: int) -> None:
        self._fd = fd
        self._count = count
        self._iovs = ctypes.create_string_buffer(_IOV * 2 * count)
        self._msgs = ctypes.create_string_buffer(_MMSG * count)
        for i in range(count):
            struct.pack_into("=QIxxxxQQ", self._msgs, i * _MMSG, 0, 0,
                             ctypes.addressof(self._iovs) + 2 * i * _IOV, 2)

    def send(self, messages: Sequence[tuple[bytes, bytes]]) -> int:
        """Send the messages; returns how many the kernel took.  A message the kernel
        refuses (no buffer space, too big) is skipped, as lost on a wire."""
        sent = 0
        for first in range(0, len(messages), self._count):
            chunk = messages[first:first + self._count]
            values: list[int] = []
            for header, frame in chunk:
                values += (id(header) + _BYTES_DATA, len(header), id(frame) + _BYTES_DATA,
                           len(frame))
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
