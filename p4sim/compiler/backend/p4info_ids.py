"""P4Runtime id allocation, as p4c's control-plane symbol table does it.

An id is ``(resource prefix << 24) | (name hash & 0xffffff)``.  Names without an
``@id`` are hashed with Jenkins' one-at-a-time hash in sorted name order and
collisions are resolved by linear probing, so ids are stable across compiles
and identical to p4c's.  ``@id`` values are honoured (the prefix is added when
missing; a wrong prefix or a duplicate is an error).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class ResourcePrefix(IntEnum):
    """The 8-bit id prefixes of P4Info's ``P4Ids.Prefix``."""

    ACTION = 0x01
    TABLE = 0x02
    VALUE_SET = 0x03
    CONTROLLER_HEADER = 0x04
    ACTION_PROFILE = 0x11
    COUNTER = 0x12
    DIRECT_COUNTER = 0x13
    METER = 0x14
    DIRECT_METER = 0x15
    REGISTER = 0x16
    DIGEST = 0x17


class IdAllocationError(Exception):
    """An ``@id`` annotation is invalid or conflicts with another one."""


def jenkins_one_at_a_time(data: bytes) -> int:
    """Bob Jenkins' one-at-a-time hash on 32-bit unsigned arithmetic."""
    value = 0
    for byte in data:
        value = (value + byte) & 0xFFFFFFFF
        value = (value + (value << 10)) & 0xFFFFFFFF
        value ^= value >> 6
    value = (value + (value << 3)) & 0xFFFFFFFF
    value ^= value >> 11
    value = (value + (value << 15)) & 0xFFFFFFFF
    return value


class SymbolIds:
    """Collects control-plane names per resource kind, then assigns their ids."""

    def __init__(self) -> None:
        self._symbols: dict[ResourcePrefix, dict[str, int | None]] = {}
        self._assigned: set[int] = set()
        self._all_names: list[str] = []

    def add(self, kind: ResourcePrefix, name: str, explicit_id: int | None = None) -> None:
        """Register ``name``; re-adding the same name is harmless (as in p4c)."""
        table = self._symbols.setdefault(kind, {})
        if name in table:
            return
        if explicit_id is not None:
            prefix_mask = 0xFF << 24
            if explicit_id & prefix_mask and explicit_id & prefix_mask != kind << 24:
                raise IdAllocationError(f"{name}: @id has the wrong 8-bit prefix")
            explicit_id |= kind << 24
            if explicit_id in self._assigned:
                raise IdAllocationError(
                    f"@id {explicit_id} is assigned to multiple declarations")
            self._assigned.add(explicit_id)
        table[name] = explicit_id
        if name not in self._all_names:
            self._all_names.append(name)

    def assign(self) -> None:
        """Give every name without an ``@id`` its hashed id (sorted-name order)."""
        for kind in sorted(self._symbols):
            table = self._symbols[kind]
            for name in sorted((n for n, i in table.items() if i is None),
                               key=lambda n: n.encode()):
                source = jenkins_one_at_a_time(name.encode())
                value = source
                while True:
                    candidate = (kind << 24) | (value & 0xFFFFFF)
                    if candidate not in self._assigned:
                        break
                    value = (value + 1) & 0xFFFFFFFF
                    if value == source:
                        raise IdAllocationError(f"no available id to represent {name}")
                self._assigned.add(candidate)
                table[name] = candidate

    def id_of(self, kind: ResourcePrefix, name: str) -> int:
        value = self._symbols[kind][name]
        if value is None:
            raise KeyError(f"id of {name} requested before assign()")
        return value

    def alias_of(self, name: str) -> str:
        """Shortest dot-separated suffix of ``name`` unique among all symbols."""
        return shortest_unique_suffix(name, self._all_names)


def shortest_unique_suffix(name: str, names: Iterable[str]) -> str:
    """p4c's alias: the fewest trailing components no other symbol shares."""
    components = name.split(".")
    others = [n.split(".") for n in set(names) if n != name]
    for count in range(1, len(components) + 1):
        suffix = components[-count:]
        if not any(len(o) >= count and o[-count:] == suffix for o in others):
            return ".".join(suffix)
    return name
