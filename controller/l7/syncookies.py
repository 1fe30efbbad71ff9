"""SYN cookies: answer a client's SYN without keeping any state until its ACK proves it real.

The splicer must see a client's HTTP request before it can choose a backend, so it completes
the client's handshake itself.  Keeping a half-open connection per SYN would let a SYN flood
exhaust the controller; with cookies the SYN-ACK's sequence number carries everything needed
later, and the ACK (or the first data segment, which also acknowledges it) is checked by
recomputing it.  The construction is Linux's (net/ipv4/syncookies.c) with a keyed BLAKE2b
instead of SipHash, and with the client's ISN also hashed into the second term:

    cookie = H0(4-tuple) + client_isn + (count << 24)
             + ((H1(4-tuple, client_isn, count) + mss_index) mod 2^24)

(In Linux an ACK whose sequence number is off by k decodes to MSS index ``i - k`` and may
pass; hashing the ISN makes such an ACK fail like any forged one.)

where ``count`` is the number of whole ``period_s`` periods (60 s) on the clock.  A cookie is
accepted from the current period and the one before, so it lives 60 to 120 seconds.  All
arithmetic is modulo 2^32.

TCP options that do not fit in the cookie (window scale, SACK-permitted, ECN) are encoded,
as Linux does, in the low 6 bits of the timestamp value of the SYN-ACK; the client echoes it
in the ACK's TSecr.  Without timestamps those options are lost (Linux then offers none).
"""

from __future__ import annotations

import hashlib
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address

MSS_TABLE = (536, 1300, 1440, 1460)  # Linux's msstab for IPv4: 2 bits of the cookie
COOKIE_BITS = 24
COOKIE_MASK = (1 << COOKIE_BITS) - 1
COUNT_MASK = (1 << (32 - COOKIE_BITS)) - 1
MAX_COOKIE_AGE = 2  # periods: the current one and the previous one
DEFAULT_PERIOD_S = 60.0
TS_OPTION_BITS = 6
TS_WSCALE_MASK = 0xF  # 0xF: the client did not offer window scaling
TS_SACK = 1 << 4
TS_ECN = 1 << 5
MAX_WSCALE = 14  # RFC 7323 section 2.3
_MOD32 = 1 << 32


@dataclass(frozen=True)
class Flow:
    """A connection as seen in the client's packets: client -> virtual service."""

    client_ip: IPv4Address
    client_port: int
    service_ip: IPv4Address
    service_port: int

    def __post_init__(self) -> None:
        for name in ("client_port", "service_port"):
            port = getattr(self, name)
            if not 0 <= port <= 0xFFFF:
                raise ValueError(f"{name} {port} is not a 16-bit port")

    def packed(self) -> bytes:
        return struct.pack("!4s4sHH", self.client_ip.packed, self.service_ip.packed,
                           self.client_port, self.service_port)


@dataclass(frozen=True)
class TimestampOptions:
    """The SYN's options that travel in the SYN-ACK's TSval low bits."""

    wscale: int | None = None  # the client's shift count, None if it sent no window scale
    sack_ok: bool = False
    ecn_ok: bool = False

    def __post_init__(self) -> None:
        if self.wscale is not None and not 0 <= self.wscale <= MAX_WSCALE:
            raise ValueError(f"window scale {self.wscale} is outside 0..{MAX_WSCALE}")


def mss_index(mss: int) -> int:
    """Index of the largest table MSS not above ``mss`` (0 if ``mss`` is below all)."""
    for index in range(len(MSS_TABLE) - 1, 0, -1):
        if mss >= MSS_TABLE[index]:
            return index
    return 0


MIN_SECRET, MAX_SECRET = 16, 64  # bytes of the secret (a BLAKE2b key holds up to 64)


class SynCookies:
    """Makes and checks cookies with one secret (share it between controller replicas).

    The clock is wall-clock time by default so that replicas agree on the period.
    """

    def __init__(self, secret: bytes | None = None, *, period_s: float = DEFAULT_PERIOD_S,
                 clock: Callable[[], float] = time.time) -> None:
        if secret is None:
            secret = os.urandom(32)
        if not MIN_SECRET <= len(secret) <= MAX_SECRET:
            raise ValueError(f"the cookie secret must be {MIN_SECRET} to {MAX_SECRET} bytes, "
                             f"got {len(secret)}")
        if period_s <= 0:
            raise ValueError(f"the cookie period must be positive, got {period_s}")
        self._secret = secret
        self.period_s = period_s
        self._clock = clock

    def count(self) -> int:
        """The current period number (8 bits of it end up in the cookie)."""
        return int(self._clock() // self.period_s) & 0xFFFFFFFF

    def make(self, flow: Flow, client_isn: int, client_mss: int) -> tuple[int, int]:
        """(our ISN for the SYN-ACK, the MSS it encodes) for a SYN from ``flow``.

        The encoded MSS is the table value at or below the client's MSS; the splicer uses it
        as the client's MSS (and advertises it to the backend for the client).
        """
        _check_u32("client ISN", client_isn)
        index = mss_index(client_mss)
        count = self.count()
        cookie = (self._hash(flow, 0, 0) + client_isn + (count << COOKIE_BITS)
                  + ((self._hash(flow, count, 1, client_isn) + index) & COOKIE_MASK)) % _MOD32
        return cookie, MSS_TABLE[index]

    def check(self, flow: Flow, seq: int, ack: int) -> int | None:
        """The MSS a client's ACK (``seq``, ``ack`` as in its header) carries, or None.

        None means the cookie is forged, for another connection, or older than
        ``MAX_COOKIE_AGE`` periods.
        """
        _check_u32("seq", seq)
        _check_u32("ack", ack)
        cookie = (ack - 1) % _MOD32
        client_isn = (seq - 1) % _MOD32
        count = self.count()
        rest = (cookie - self._hash(flow, 0, 0) - client_isn) % _MOD32
        age = (count - (rest >> COOKIE_BITS)) & COUNT_MASK
        if age >= MAX_COOKIE_AGE:
            return None
        index = (rest - self._hash(flow, (count - age) & 0xFFFFFFFF, 1, client_isn)
                 ) & COOKIE_MASK
        return MSS_TABLE[index] if index < len(MSS_TABLE) else None

    def _hash(self, flow: Flow, count: int, which: int, client_isn: int = 0) -> int:
        digest = hashlib.blake2b(flow.packed() + struct.pack("!IIB", count, client_isn, which),
                                 key=self._secret, digest_size=4).digest()
        return int.from_bytes(digest, "big")


def encode_timestamp(now_ts: int, options: TimestampOptions) -> int:
    """The SYN-ACK's TSval: at most ``now_ts`` with the options in its 6 low bits.

    ``now_ts`` is the splicer's timestamp clock (milliseconds, any size); the result is the
    32-bit TSval.  Staying at or below the clock keeps later TSvals increasing.
    """
    bits = TS_WSCALE_MASK if options.wscale is None else options.wscale
    bits |= (TS_SACK if options.sack_ok else 0) | (TS_ECN if options.ecn_ok else 0)
    value = (now_ts >> TS_OPTION_BITS << TS_OPTION_BITS) | bits
    if value > now_ts:
        value -= 1 << TS_OPTION_BITS
    return value % _MOD32


def decode_timestamp(tsecr: int) -> TimestampOptions:
    """The options a client's ACK echoes back in TSecr (see :func:`encode_timestamp`)."""
    _check_u32("TSecr", tsecr)
    wscale = tsecr & TS_WSCALE_MASK
    return TimestampOptions(wscale=None if wscale == TS_WSCALE_MASK else wscale,
                            sack_ok=bool(tsecr & TS_SACK), ecn_ok=bool(tsecr & TS_ECN))


def _check_u32(name: str, value: int) -> None:
    if not 0 <= value < _MOD32:
        raise ValueError(f"{name} {value} is not a 32-bit sequence number")
