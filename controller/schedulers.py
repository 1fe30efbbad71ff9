"""Connection schedulers with the selection rules of Linux IPVS (net/netfilter/ipvs).

Each scheduler picks one backend for a new connection from the service's candidates, in
pool order.  A candidate with weight 0 is drained: it never gets a new connection.  The
connection counts come from the controller's connection table (connections pinned in the
switches).

Simplification (documented in docs/config.md): IPVS weighs a server by
``overhead = active * 256 + inactive`` where "inactive" are connections in TCP states other
than ESTABLISHED.  The switch does not report TCP states, so every pinned connection counts
as active and ``inactive`` is 0 unless a caller supplies it.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address

from controller.maglev import maglev_table


@dataclass(frozen=True)
class Candidate:
    """What a scheduler knows about one backend."""

    name: str
    weight: int
    active: int = 0
    inactive: int = 0

    @property
    def available(self) -> bool:
        return self.weight > 0

    @property
    def overhead(self) -> int:
        """IPVS ``ip_vs_dest_conn_overhead``: active connections cost 256 times more."""
        return self.active * 256 + self.inactive


class Scheduler(ABC):
    """Chooses a backend (by name) for a new connection, or None when none is available."""

    name: str

    @abstractmethod
    def pick(self, candidates: Sequence[Candidate], client: IPv4Address) -> str | None: ...


class RoundRobin(Scheduler):
    """rr: the next available backend after the one chosen last (ip_vs_rr)."""

    name = "rr"

    def __init__(self) -> None:
        self._last: str | None = None

    def pick(self, candidates: Sequence[Candidate], client: IPv4Address) -> str | None:
        names = [c.name for c in candidates]
        start = names.index(self._last) + 1 if self._last in names else 0
        for offset in range(len(candidates)):
            candidate = candidates[(start + offset) % len(candidates)]
            if candidate.available:
                self._last = candidate.name
                return candidate.name
        return None


class WeightedRoundRobin(Scheduler):
    """wrr: interleaved weighted round robin stepping the current weight by the gcd.

    As ip_vs_wrr, the position restarts whenever the set of backends or their weights
    change.
    """

    name = "wrr"

    def __init__(self) -> None:
        self._signature: tuple[tuple[str, int], ...] = ()
        self._index = -1
        self._current_weight = 0

    def pick(self, candidates: Sequence[Candidate], client: IPv4Address) -> str | None:
        signature = tuple((c.name, c.weight) for c in candidates)
        if signature != self._signature:
            self._signature, self._index, self._current_weight = signature, -1, 0
        max_weight = max((c.weight for c in candidates), default=0)
        if max_weight <= 0:
            return None
        step = math.gcd(*(c.weight for c in candidates if c.weight > 0))
        while True:
            self._index = (self._index + 1) % len(candidates)
            if self._index == 0:
                self._current_weight -= step
                if self._current_weight <= 0:
                    self._current_weight = max_weight
            if candidates[self._index].weight >= self._current_weight:
                return candidates[self._index].name


def _least(candidates: Sequence[Candidate], cost: type[_Cost]) -> str | None:
    """The first available candidate with the lowest cost/weight (compared exactly)."""
    best: Candidate | None = None
    for candidate in candidates:
        if not candidate.available:
            continue
        if best is None or cost.of(best) * candidate.weight > cost.of(candidate) * best.weight:
            best = candidate
    return best.name if best else None


class _Cost:
    @staticmethod
    def of(candidate: Candidate) -> int:
        return candidate.overhead


class _ExpectedDelay(_Cost):
    @staticmethod
    def of(candidate: Candidate) -> int:
        return candidate.active + 1


class LeastConnection(Scheduler):
    """lc: lowest overhead, weights only exclude drained backends (ip_vs_lc)."""

    name = "lc"

    def pick(self, candidates: Sequence[Candidate], client: IPv4Address) -> str | None:
        best: Candidate | None = None
        for candidate in candidates:
            if candidate.available and (best is None or candidate.overhead < best.overhead):
                best = candidate
        return best.name if best else None


class WeightedLeastConnection(Scheduler):
    """wlc: lowest overhead / weight (ip_vs_wlc)."""

    name = "wlc"

    def pick(self, candidates: Sequence[Candidate], client: IPv4Address) -> str | None:
        return _least(candidates, _Cost)


class ShortestExpectedDelay(Scheduler):
    """sed: lowest (active + 1) / weight (ip_vs_sed)."""

    name = "sed"

    def pick(self, candidates: Sequence[Candidate], client: IPv4Address) -> str | None:
        return _least(candidates, _ExpectedDelay)


class NeverQueue(Scheduler):
    """nq: an idle backend if there is one, else as sed (ip_vs_nq)."""

    name = "nq"

    def pick(self, candidates: Sequence[Candidate], client: IPv4Address) -> str | None:
        for candidate in candidates:
            if candidate.available and candidate.active == 0:
                return candidate.name
        return _least(candidates, _ExpectedDelay)


SOURCE_HASH_BUCKETS = 256


class SourceHash(Scheduler):
    """sh: a 256-bucket table indexed by a hash of the client address (ip_vs_sh).

    Buckets are dealt to backends in pool order, ``weight`` consecutive buckets each (a
    drained backend still holds one), as ip_vs_sh_reassign.  The bucket is the kernel's
    ``hash_32(address, 8)``.  A client whose bucket points to a drained backend falls
    over to the next usable bucket as ip_vs_sh_get_fallback probes them (IPVS's
    sh-fallback flag, always on here).
    """

    name = "sh"

    def pick(self, candidates: Sequence[Candidate], client: IPv4Address) -> str | None:
        if not any(c.available for c in candidates):
            return None
        table = source_hash_table(candidates)
        first = source_hash_bucket(client)
        if table[first].available:
            return table[first].name
        for offset in range(SOURCE_HASH_BUCKETS):
            candidate = table[(offset + 2 * first) % SOURCE_HASH_BUCKETS]
            if candidate.available:
                return candidate.name
        return None


def source_hash_bucket(client: IPv4Address) -> int:
    """Linux ``hash_32(addr, 8)``: the top 8 bits of addr * GOLDEN_RATIO_32 (mod 2**32)."""
    return ((int(client) * 0x61C88647) & 0xFFFFFFFF) >> 24


def source_hash_table(candidates: Sequence[Candidate]) -> list[Candidate]:
    table: list[Candidate] = []
    index, dealt = 0, 0
    while len(table) < SOURCE_HASH_BUCKETS:
        candidate = candidates[index]
        table.append(candidate)
        dealt += 1
        if dealt >= candidate.weight:
            index, dealt = (index + 1) % len(candidates), 0
    return table


class Maglev(Scheduler):
    """mh: the backend owning the client's slot in the Maglev lookup table.

    The data plane holds the same table and normally makes this choice itself; the
    controller uses it for packets it is asked to schedule.
    """

    name = "mh"

    def __init__(self, table_size: int) -> None:
        self.table_size = table_size

    def pick(self, candidates: Sequence[Candidate], client: IPv4Address) -> str | None:
        table = maglev_table({c.name: c.weight for c in candidates}, self.table_size)
        if not table:
            return None
        return table[(int(client) * 2654435761) % self.table_size]


_BY_NAME: dict[str, type[Scheduler]] = {
    cls.name: cls for cls in (RoundRobin, WeightedRoundRobin, LeastConnection,
                              WeightedLeastConnection, ShortestExpectedDelay, NeverQueue,
                              SourceHash)}


def make_scheduler(name: str, maglev_size: int) -> Scheduler:
    """A fresh scheduler for a config ``scheduler:`` value."""
    if name == Maglev.name:
        return Maglev(maglev_size)
    try:
        return _BY_NAME[name]()
    except KeyError:
        raise ValueError(f"unknown scheduler {name!r}") from None
