"""The hash algorithms BMv2 registers (calculations.cpp), over a byte string.

Each function takes the bytes BMv2's BufBuilder would produce and returns the unsigned
integer BMv2's functor returns.  CRCs use BMv2's default parameters (the ``*_custom``
variants start with the same configuration as their plain counterparts).
"""

from __future__ import annotations

from collections.abc import Callable

HashFn = Callable[[bytes], int]


def _reflect(value: int, nbits: int) -> int:
    result = 0
    for _ in range(nbits):
        result = (result << 1) | (value & 1)
        value >>= 1
    return result


def _crc_table(width: int, polynomial: int) -> list[int]:
    top = 1 << (width - 1)
    mask = (1 << width) - 1
    table = []
    for dividend in range(256):
        remainder = dividend << (width - 8)
        for _ in range(8):
            remainder = ((remainder << 1) ^ polynomial) if remainder & top else remainder << 1
        table.append(remainder & mask)
    return table


_REFLECTED_BYTE = [_reflect(b, 8) for b in range(256)]


def _make_crc(width: int, polynomial: int, init: int, final_xor: int,
              reflect_data: bool, reflect_remainder: bool) -> HashFn:
    table = _crc_table(width, polynomial)
    mask = (1 << width) - 1
    shift = width - 8

    def crc(data: bytes) -> int:
        remainder = init
        for byte in data:
            if reflect_data:
                byte = _REFLECTED_BYTE[byte]
            remainder = (table[byte ^ (remainder >> shift)] ^ (remainder << 8)) & mask
        if reflect_remainder:
            remainder = _reflect(remainder, width)
        return remainder ^ final_xor

    return crc


def csum16(data: bytes) -> int:
    """Internet checksum (ones' complement of the ones' complement sum of 16-bit words).

    The ones' complement sum of the words is the buffer's value modulo 0xFFFF (as 2**16 is
    1 modulo 0xFFFF), except that a non-zero sum is 0xFFFF rather than 0.
    """
    if len(data) % 2:
        data = data + b"\x00"
    value = int.from_bytes(data, "big")
    total = value % 0xFFFF
    if total == 0 and value:
        total = 0xFFFF
    return (~total) & 0xFFFF


def _make_xor(nbytes: int) -> HashFn:
    def xor_hash(data: bytes) -> int:
        result = 0
        for i in range(0, len(data), nbytes):
            chunk = data[i:i + nbytes]
            result ^= int.from_bytes(chunk.ljust(nbytes, b"\x00"), "big")
        return result

    return xor_hash


def identity(data: bytes) -> int:
    """The first (at most 8) bytes, big endian."""
    return int.from_bytes(data[:8], "big")


class RoundRobin:
    """BMv2's ``round_robin``: a per-instance counter, whatever the input."""

    def __init__(self) -> None:
        self.next_value = 0

    def __call__(self, data: bytes) -> int:
        value = self.next_value
        self.next_value += 1
        return value


class RoundRobinConsistent:
    """BMv2's ``round_robin_consistent``: a new counter value per distinct input."""

    def __init__(self) -> None:
        self.seen: dict[bytes, int] = {}

    def __call__(self, data: bytes) -> int:
        return self.seen.setdefault(bytes(data), len(self.seen))


_STATELESS: dict[str, HashFn] = {
    "crc16": _make_crc(16, 0x8005, 0, 0, True, True),
    "crc16_custom": _make_crc(16, 0x8005, 0, 0, True, True),
    "crc32": _make_crc(32, 0x04C11DB7, 0xFFFFFFFF, 0xFFFFFFFF, True, True),
    "crc32_custom": _make_crc(32, 0x04C11DB7, 0xFFFFFFFF, 0xFFFFFFFF, True, True),
    "crc8_custom": _make_crc(8, 0x07, 0, 0, False, False),
    "crc64_custom": _make_crc(64, 0x1B, 0, 0, True, True),
    "crcCCITT": _make_crc(16, 0x1021, 0xFFFF, 0, False, False),
    "csum16": csum16,
    "cksum16": csum16,
    "identity": identity,
    "xor16": _make_xor(2),
    "xor32": _make_xor(4),
}

def make_hash(algorithm: str) -> HashFn | None:
    """A fresh hash function instance for ``algorithm``, or None if BMv2 has no such hash."""
    if algorithm == "round_robin":
        return RoundRobin()
    if algorithm == "round_robin_consistent":
        return RoundRobinConsistent()
    return _STATELESS.get(algorithm)
