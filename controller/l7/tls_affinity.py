"""TLS session affinity: which backend holds the session a ClientHello wants to resume.

A backend can only resume a session it issued (unless the pool shares ticket keys), so a
returning client sent elsewhere by the scheduler pays a full handshake.  The splicer
learns, from each backend's ServerHello (read once per connection before the splice is
installed, docs/l7.md "TLS services"):

- resumption keys -> backend: a TLS 1.2 session id the server named, and the key
  (session id, ticket, TLS 1.3 PSK identity) of every session a server accepted;
- client address -> backend: the server that last completed a handshake for that address.
  Tickets (TLS 1.2 NewSessionTicket comes in a later flight; TLS 1.3 tickets are
  encrypted) are invisible when issued, so a ticket or PSK identity seen for the first
  time is taken to come from there (LVS persistence in spirit); once that server accepts
  it, the key itself is known.

Entries live ``lifetime_s`` after they were last learned (a server's session cache or ticket
lifetime: nginx's ``ssl_session_timeout`` is 5 min by default) and the table keeps at most
``size`` keys and ``size`` addresses, least recently used out first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address

ResumptionKey = tuple[str, bytes]


@dataclass
class AffinityStats:
    lookups: int = 0  # ClientHellos asking to resume a session
    hits: int = 0  # ... whose key was known
    hints: int = 0  # ... unknown key, sent to the client address's last server
    learned: int = 0
    resumed: int = 0  # ServerHellos read that resumed the session the client offered
    full: int = 0  # ... that started a new session (a full handshake)

    @property
    def hit_rate(self) -> float:
        return (self.hits + self.hints) / self.lookups if self.lookups else 0.0


class _Lru:
    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[Hashable, tuple[str, float]] = OrderedDict()

    def get(self, key: Hashable, now: float, lifetime: float) -> str | None:
        found = self.items.get(key)
        if found is None:
            return None
        if found[1] + lifetime <= now:
            del self.items[key]
            return None
        return found[0]

    def put(self, key: Hashable, backend: str, now: float) -> None:
        self.items[key] = (backend, now)
        self.items.move_to_end(key)
        while len(self.items) > self.size:
            self.items.popitem(last=False)

    def expire(self, now: float, lifetime: float) -> None:
        while self.items:
            key, (_, used) = next(iter(self.items.items()))
            if used + lifetime > now:
                break
            del self.items[key]


class AffinityTable:
    """Session keys and client addresses -> backend name, bounded and expiring."""

    def __init__(self, *, lifetime_s: float = 300.0, size: int = 65536,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if lifetime_s <= 0 or size < 1:
            raise ValueError("an affinity table needs a positive lifetime and size")
        self.lifetime_s, self.size, self.clock = lifetime_s, size, clock
        self._keys = _Lru(size)
        self._clients = _Lru(size)
        self.stats = AffinityStats()

    def __len__(self) -> int:
        return len(self._keys.items)

    @property
    def clients(self) -> int:
        return len(self._clients.items)

    def lookup(self, keys: Iterable[ResumptionKey], client: IPv4Address,
               usable: Callable[[str], bool]) -> str | None:
        """The backend for a hello asking to resume ``keys`` (None: let the scheduler
        choose).  ``usable`` says whether a backend may take the connection now."""
        keys = list(keys)
        if not keys:
            return None
        now = self.clock()
        self.stats.lookups += 1
        for key in keys:
            backend = self._keys.get(key, now, self.lifetime_s)
            if backend is not None and usable(backend):
                self.stats.hits += 1
                return backend
        if any(kind != "session" for kind, _ in keys):  # a ticket: issued where?
            backend = self._clients.get(client, now, self.lifetime_s)
            if backend is not None and usable(backend):
                self.stats.hints += 1
                return backend
        return None

    def learn(self, keys: Iterable[ResumptionKey], client: IPv4Address, backend: str, *,
              resumed: bool) -> None:
        """What a ServerHello of ``backend`` showed; ``resumed``: it accepted the offered
        session (else the handshake is a full one)."""
        now = self.clock()
        if resumed:
            self.stats.resumed += 1
        else:
            self.stats.full += 1
        for key in keys:
            self._keys.put(key, backend, now)
            self.stats.learned += 1
        self._clients.put(client, backend, now)

    def backends(self) -> set[str]:
        return {b for table in (self._keys, self._clients) for b, _ in table.items.values()}

    def forget_backend(self, backend: str) -> None:
        """A backend left the pool: its sessions are gone with it."""
        for table in (self._keys, self._clients):
            for key in [k for k, (b, _) in table.items.items() if b == backend]:
                del table.items[key]

    def expire(self) -> None:
        now = self.clock()
        self._keys.expire(now, self.lifetime_s)
        self._clients.expire(now, self.lifetime_s)
