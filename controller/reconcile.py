"""Desired-versus-actual diff of P4Runtime table entries.

Entries are compared in their canonical P4Runtime encoding (what the switch returns on a
Read), so ``"10.0.0.1"`` and ``0x0A000001`` are the same key.  An entry's identity is its
table, match and priority; its content is its action and idle timeout.  The diff says
exactly which entries to insert, modify and delete, so a resync after a reconnect
touches only what differs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from finsy import P4Schema, P4TableEntry

EntryKey = tuple[int, tuple[bytes, ...], int]


def entry_key(entry: P4TableEntry, schema: P4Schema) -> EntryKey:
    """Identity of a table entry: table id, canonical match fields, priority."""
    msg = entry.encode_entry(schema)
    fields = tuple(sorted(m.SerializeToString(deterministic=True) for m in msg.match))
    return msg.table_id, fields, msg.priority


def entry_content(entry: P4TableEntry, schema: P4Schema) -> tuple[bytes, int]:
    msg = entry.encode_entry(schema)
    return msg.action.SerializeToString(deterministic=True), msg.idle_timeout_ns


@dataclass
class EntryDiff:
    inserts: list[P4TableEntry] = field(default_factory=list)
    modifies: list[P4TableEntry] = field(default_factory=list)
    deletes: list[P4TableEntry] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.inserts or self.modifies or self.deletes)

    def __str__(self) -> str:
        return (f"{len(self.inserts)} insert(s), {len(self.modifies)} modify(s), "
                f"{len(self.deletes)} delete(s)")


def diff_entries(desired: Iterable[P4TableEntry], actual: Iterable[P4TableEntry],
                 schema: P4Schema) -> EntryDiff:
    """What to write so that the switch's entries become ``desired``.

    Default entries (``is_default_action``) are compared per table and only modified.
    """
    wanted = {_identity(e, schema): e for e in desired}
    present = {_identity(e, schema): e for e in actual}
    diff = EntryDiff()
    for key, entry in wanted.items():
        have = present.get(key)
        if have is None:
            if entry.is_default_action:
                diff.modifies.append(entry)
            else:
                diff.inserts.append(entry)
        elif entry_content(have, schema) != entry_content(entry, schema):
            diff.modifies.append(entry)
    diff.deletes = [e for k, e in present.items() if k not in wanted and not e.is_default_action]
    return diff


def _identity(entry: P4TableEntry, schema: P4Schema) -> tuple[EntryKey, bool]:
    return entry_key(entry, schema), entry.is_default_action
