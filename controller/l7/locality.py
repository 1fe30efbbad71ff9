"""Locality-aware schedulers for content-switched pools: LARD and LBLC, keyed by URL.

Sung & Kim's content switch combines round-robin-like balancing with cache locality: the
same content keeps going to the server that already has it cached, until that server is too
loaded.  Two published policies do that:

* ``lard``: Locality-Aware Request Distribution (Pai et al., ASPLOS 1998, basic LARD).
* ``lblc``: Linux IPVS's locality-based least-connection (net/netfilter/ipvs/ip_vs_lblc.c),
  here keyed by the request URL instead of the destination address.

Both take the pool's backends as :class:`controller.schedulers.Candidate` (load = active
connections, weight 0 = drained) like the L4 schedulers, plus the request's target.  An L4
scheduler serves a content pool through :class:`ConnectionScheduler`.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address

from controller.schedulers import Candidate, Scheduler, make_scheduler


class ContentScheduler(ABC):
    """Chooses a backend (by name) for a request for ``target``, or None if none is usable."""

    name: str

    @abstractmethod
    def pick(self, candidates: Sequence[Candidate], target: str,
             client: IPv4Address) -> str | None: ...


class ConnectionScheduler(ContentScheduler):
    """An L4 scheduler (rr, wlc, sh, ...) used for a content pool: the target is ignored."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.name = scheduler.name

    def pick(self, candidates: Sequence[Candidate], target: str,
             client: IPv4Address) -> str | None:
        return self.scheduler.pick(candidates, client)


@dataclass(frozen=True)
class LardThresholds:
    """Load thresholds in active connections; the paper's values are 25 and 65."""

    low: int = 25
    high: int = 65

    def __post_init__(self) -> None:
        if not 0 <= self.low < self.high:
            raise ValueError(f"LARD thresholds need 0 <= low < high, got low={self.low} "
                             f"high={self.high}")


class Lard(ContentScheduler):
    """Basic LARD: a target stays on its server unless that server is overloaded.

    A target's server is replaced by the least-loaded server when its load exceeds
    ``high`` while some server is below ``low``, or when its load reaches ``2 * high``
    (then moving is worth it even though every server is busy).  A target never seen
    before, or whose server left the pool or is drained, goes to the least-loaded server.
    The assignment table keeps the ``max_targets`` most recently requested targets.

    LARD is defined for identical servers; weights here only mark drained servers
    (weight 0), as ``lc`` does.
    """

    name = "lard"

    def __init__(self, thresholds: LardThresholds | None = None,
                 max_targets: int = 65536) -> None:
        if max_targets < 1:
            raise ValueError(f"max_targets must be positive, got {max_targets}")
        self.thresholds = thresholds or LardThresholds()
        self.max_targets = max_targets
        self._assignment: OrderedDict[str, str] = OrderedDict()

    def server_of(self, target: str) -> str | None:
        return self._assignment.get(target)

    def forget(self, backend: str) -> None:
        """Drops every target assigned to ``backend`` (it left the pool)."""
        for target in [t for t, server in self._assignment.items() if server == backend]:
            del self._assignment[target]

    def pick(self, candidates: Sequence[Candidate], target: str,
             client: IPv4Address) -> str | None:
        usable = [c for c in candidates if c.available]
        if not usable:
            return None
        least = min(usable, key=lambda c: c.active)  # first one on ties: pool order
        current = next((c for c in usable if c.name == self._assignment.get(target)), None)
        low, high = self.thresholds.low, self.thresholds.high
        if current is None or (current.active > high and least.active < low) \
                or current.active >= 2 * high:
            current = least
        self._assignment[target] = current.name
        self._assignment.move_to_end(target)
        if len(self._assignment) > self.max_targets:
            self._assignment.popitem(last=False)
        return current.name


LBLC_EXPIRATION_S = 24 * 60 * 60.0  # sysctl lblc_expiration default
LBLC_ENTRY_TIMEOUT_S = 6 * 60.0  # ENTRY_TIMEOUT: unused this long, evictable when over size
LBLC_MAX_ENTRIES = 16 * 1024  # IP_VS_LBLC_TAB_SIZE * 16


@dataclass
class _LblcEntry:
    server: str
    last_use: float


class Lblc(ContentScheduler):
    """IPVS lblc keyed by URL: keep a target's server unless it is overloaded.

    The cached server is kept while it is in the pool, has weight > 0 and is not
    overloaded; overloaded means ``active > weight`` while some server of the pool has
    ``active * 2 < weight`` (ip_vs_lblc's is_overloaded).  Otherwise the first server with
    the lowest IPVS overhead (``active * 256 + inactive``) per weight is chosen and cached.
    :meth:`expire`, to be called about once a minute as IPVS's timer runs, drops entries
    unused for ``expiration_s`` and, while the table holds more than ``max_entries``,
    entries unused for ``LBLC_ENTRY_TIMEOUT_S`` (at most ``(excess * 4) // 3``, capped at
    half the table).  IPVS does the first only every 30th run; doing both each run only
    frees stale entries sooner.
    """

    name = "lblc"

    def __init__(self, expiration_s: float = LBLC_EXPIRATION_S,
                 max_entries: int = LBLC_MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if expiration_s <= 0 or max_entries < 1:
            raise ValueError("lblc needs a positive expiration and max_entries")
        self.expiration_s = expiration_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, _LblcEntry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def server_of(self, target: str) -> str | None:
        entry = self._entries.get(target)
        return entry.server if entry else None

    def pick(self, candidates: Sequence[Candidate], target: str,
             client: IPv4Address) -> str | None:
        now = self._clock()
        entry = self._entries.get(target)
        if entry is not None:
            entry.last_use = now
            cached = next((c for c in candidates if c.name == entry.server), None)
            if cached is not None and cached.available \
                    and not _overloaded(cached, candidates):
                return cached.name
        chosen = _weighted_least(candidates)
        if chosen is None:
            return None
        if entry is None:
            self._entries[target] = _LblcEntry(chosen, now)
        else:
            entry.server = chosen
        return chosen

    def expire(self) -> int:
        """Drops stale entries (see the class docstring); returns how many went."""
        now = self._clock()
        stale = [t for t, e in self._entries.items() if now - e.last_use >= self.expiration_s]
        excess = len(self._entries) - len(stale) - self.max_entries
        if excess > 0:
            goal = min(excess * 4 // 3, self.max_entries // 2)
            idle = [t for t, e in self._entries.items()
                    if self.expiration_s > now - e.last_use >= LBLC_ENTRY_TIMEOUT_S]
            stale += idle[:goal]
        for target in stale:
            del self._entries[target]
        return len(stale)


def _overloaded(server: Candidate, candidates: Sequence[Candidate]) -> bool:
    return server.active > server.weight and any(
        c.active * 2 < c.weight for c in candidates)


def _weighted_least(candidates: Sequence[Candidate]) -> str | None:
    """The first available candidate with the lowest overhead / weight (exact compare)."""
    best: Candidate | None = None
    for candidate in candidates:
        if not candidate.available:
            continue
        if best is None or best.overhead * candidate.weight > candidate.overhead * best.weight:
            best = candidate
    return best.name if best else None


CONTENT_SCHEDULERS = ("lard", "lblc")


def make_content_scheduler(name: str, maglev_size: int, *,
                           lard_thresholds: LardThresholds | None = None
                           ) -> ContentScheduler:
    """A fresh scheduler for a content pool: ``lard``, ``lblc`` or any L4 scheduler name."""
    if name == "lard":
        return Lard(lard_thresholds)
    if name == "lblc":
        return Lblc()
    return ConnectionScheduler(make_scheduler(name, maglev_size))
