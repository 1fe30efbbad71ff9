"""Client persistence ("sticky" backends), as IPVS persistent services.

A template maps (service, client address & netmask) to the backend chosen for that
client's first connection.  Later connections from the same client network reuse it while
the template lives: ``timeout`` seconds after it was last used.  A template pointing at a
drained or removed backend is not used, so draining really stops new connections.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address


@dataclass
class _Template:
    backend: str
    expires_at: float


class PersistenceTable:
    """Sticky client -> backend templates for every persistent service."""

    def __init__(self) -> None:
        self._templates: dict[tuple[str, IPv4Address], _Template] = {}

    @staticmethod
    def _key(service: str, client: IPv4Address, netmask: IPv4Address) -> tuple[str, IPv4Address]:
        return service, IPv4Address(int(client) & int(netmask))

    def lookup(self, service: str, client: IPv4Address, netmask: IPv4Address,
               now: float) -> str | None:
        """The client's backend if its template is still alive."""
        template = self._templates.get(self._key(service, client, netmask))
        if template is None or template.expires_at <= now:
            return None
        return template.backend

    def record(self, service: str, client: IPv4Address, netmask: IPv4Address, backend: str,
               timeout: float, now: float) -> None:
        """Create or refresh the client's template."""
        self._templates[self._key(service, client, netmask)] = _Template(backend, now + timeout)

    def forget_backend(self, service: str, backend: str) -> None:
        """Drop templates that point at a backend that stops taking clients."""
        for key in [k for k, t in self._templates.items()
                    if k[0] == service and t.backend == backend]:
            del self._templates[key]

    def forget_service(self, service: str) -> None:
        for key in [k for k in self._templates if k[0] == service]:
            del self._templates[key]

    def expire(self, now: float) -> int:
        """Remove dead templates; returns how many."""
        dead = [k for k, t in self._templates.items() if t.expires_at <= now]
        for key in dead:
            del self._templates[key]
        return len(dead)

    def __len__(self) -> int:
        return len(self._templates)
