"""recvmmsg/sendmmsg through ctypes: a batch of frames per system call on a packet socket."""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Sequence

_libc = ctypes.CDLL(None, use_errno=True)
MSG_DONTWAIT = 0x40
SOCKADDR_LL_BYTES = 20
_PKTTYPE_OFFSET = 10


class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(_Iovec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class _Mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", _Msghdr), ("len", ctypes.c_uint)]


_libc.recvmmsg.argtypes = [ctypes.c_int, ctypes.POINTER(_Mmsghdr), ctypes.c_uint, ctypes.c_int,
                           ctypes.c_void_p]
_libc.sendmmsg.argtypes = [ctypes.c_int, ctypes.POINTER(_Mmsghdr), ctypes.c_uint, ctypes.c_int]


class BatchReceiver:
    """Preallocated buffers for up to ``count`` messages of ``size`` bytes each."""

    def __init__(self, fd: int, count: int, size: int, control_size: int) -> None:
        self._fd = fd
        self._count = count
        self._control_size = control_size
        self._data = [ctypes.create_string_buffer(size) for _ in range(count)]
        self._names = [ctypes.create_string_buffer(SOCKADDR_LL_BYTES) for _ in range(count)]
        self._controls = [ctypes.create_string_buffer(control_size) for _ in range(count)]
        self._data_at = [ctypes.addressof(b) for b in self._data]
        self._control_at = [ctypes.addressof(b) for b in self._controls]
        self._iovs = (_Iovec * count)()
        self._msgs = (_Mmsghdr * count)()
        for i in range(count):
            self._iovs[i].base = ctypes.addressof(self._data[i])
            self._iovs[i].len = size
            hdr = self._msgs[i].hdr
            hdr.name = ctypes.addressof(self._names[i])
            hdr.iov = ctypes.pointer(self._iovs[i])
            hdr.iovlen = 1
            hdr.control = ctypes.addressof(self._controls[i])

    def receive(self) -> list[tuple[bytes, int, bytes]]:
        """(data, sll_pkttype, control data) of the messages waiting; raises OSError on a
        socket error other than "nothing to read"."""
        msgs = self._msgs
        for i in range(self._count):
            hdr = msgs[i].hdr
            hdr.namelen = SOCKADDR_LL_BYTES
            hdr.controllen = self._control_size
        n = _libc.recvmmsg(self._fd, msgs, self._count, MSG_DONTWAIT, None)
        if n < 0:
            err = ctypes.get_errno()
            if err in (errno.EAGAIN, errno.EINTR):
                return []
            raise OSError(err, f"recvmmsg: {errno.errorcode.get(err, err)}")
        out = []
        string_at = ctypes.string_at
        for i in range(n):
            msg = msgs[i]
            controllen = msg.hdr.controllen
            control = string_at(self._control_at[i], controllen) if controllen else b""
            out.append((string_at(self._data_at[i], msg.len),
                        self._names[i].raw[_PKTTYPE_OFFSET], control))
        return out


def send_batch(fd: int, messages: Sequence[Sequence[bytes]]) -> int:
    """Send each message (a sequence of buffers, gathered); returns how many the kernel took.
    A message the kernel refuses (no buffer space, too big) is skipped, as lost on a wire."""
    count = len(messages)
    if not count:
        return 0
    pieces = [piece for message in messages for piece in message]
    iovs = (_Iovec * len(pieces))()
    keep = [ctypes.c_char_p(piece) for piece in pieces]
    for i, (piece, pointer) in enumerate(zip(pieces, keep, strict=True)):
        iovs[i].base = ctypes.cast(pointer, ctypes.c_void_p)
        iovs[i].len = len(piece)
    msgs = (_Mmsghdr * count)()
    at = 0
    for i, message in enumerate(messages):
        msgs[i].hdr.iov = ctypes.cast(ctypes.addressof(iovs) + at * ctypes.sizeof(_Iovec),
                                      ctypes.POINTER(_Iovec))
        msgs[i].hdr.iovlen = len(message)
        at += len(message)
    sent = first = 0
    while first < count:
        start = ctypes.addressof(msgs) + first * ctypes.sizeof(_Mmsghdr)
        n = _libc.sendmmsg(fd, ctypes.cast(start, ctypes.POINTER(_Mmsghdr)), count - first, 0)
        if n < 0:
            if ctypes.get_errno() == errno.EINTR:
                continue
            first += 1  # this one is lost; carry on with the rest
            continue
        sent += n
        first += n
    return sent
