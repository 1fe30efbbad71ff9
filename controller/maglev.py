"""Maglev consistent hashing lookup table (Eisenbud et al., NSDI 2016, section 3.4).

Each backend walks its own permutation of the table slots, ``(offset + j * skip) % M``,
with offset and skip derived from two independent hashes of the backend's name, and the
backends take turns claiming their next free slot until the table is full.  Weighted
backends take ``weight / gcd(weights)`` turns per round (as Linux ip_vs_mh), so each owns a
share of slots proportional to its weight.  Removing one backend moves mostly the slots it
owned: that is what keeps established flows on their backend in a data plane that hashes
new flows through this table.

Hashes are BLAKE2b of the name (not Python's salted ``hash``), so every controller
process computes the same table.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping

DEFAULT_TABLE_SIZE = 251


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    return all(n % d for d in range(2, math.isqrt(n) + 1))


def _hash(name: str, salt: bytes) -> int:
    digest = hashlib.blake2b(name.encode(), digest_size=8, salt=salt).digest()
    return int.from_bytes(digest, "big")


def permutation_start(name: str, size: int) -> tuple[int, int]:
    """``(offset, skip)`` of ``name``'s preference list in a table of ``size`` slots."""
    offset = _hash(name, b"maglev-offset") % size
    skip = _hash(name, b"maglev-skip") % (size - 1) + 1
    return offset, skip


def maglev_table(weights: Mapping[str, int], size: int = DEFAULT_TABLE_SIZE) -> list[str]:
    """Slot -> backend name for the backends with a positive weight; [] if there are none.

    ``size`` must be a prime larger than the number of backends, so every permutation
    visits every slot.
    """
    if not is_prime(size):
        raise ValueError(f"Maglev table size {size} is not a prime")
    live = {name: weight for name, weight in sorted(weights.items()) if weight > 0}
    if not live:
        return []
    if len(live) > size:
        raise ValueError(f"{len(live)} backends do not fit a Maglev table of {size} slots")
    step = math.gcd(*live.values())
    turns = {name: weight // step for name, weight in live.items()}
    starts = {name: permutation_start(name, size) for name in live}
    next_choice = dict.fromkeys(live, 0)
    table: list[str | None] = [None] * size
    filled = 0
    while True:
        for name in live:
            offset, skip = starts[name]
            for _ in range(turns[name]):
                slot = (offset + next_choice[name] * skip) % size
                while table[slot] is not None:
                    next_choice[name] += 1
                    slot = (offset + next_choice[name] * skip) % size
                table[slot] = name
                next_choice[name] += 1
                filled += 1
                if filled == size:
                    return [owner for owner in table if owner is not None]
