"""Desired-versus-actual diff of table entries, and the order to write it in.

An entry's identity is its table and match; its content is its action, parameters and
idle timeout.  The diff says exactly which entries to insert, modify and delete, so a
resynchronisation after a (re)connection touches only what differs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from controller.dataplane import Entry

Key = tuple


@dataclass
class EntryDiff:
    inserts: list[Entry] = field(default_factory=list)
    modifies: list[Entry] = field(default_factory=list)
    deletes: list[Entry] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.inserts or self.modifies or self.deletes)

    def __str__(self) -> str:
        return (f"{len(self.inserts)} insert(s), {len(self.modifies)} modify(s), "
                f"{len(self.deletes)} delete(s)")

    def batches(self, table_order: Sequence[str]) -> list[tuple[str, list[Entry]]]:
        """(operation, entries) batches: inserts and modifies table by table in
        ``table_order`` (what is pointed at first), then deletes in the reverse order."""
        rank = {table: i for i, table in enumerate(table_order)}

        def by_table(entries: list[Entry], reverse: bool) -> list[list[Entry]]:
            tables = sorted({e.table for e in entries}, key=lambda t: rank.get(t, len(rank)),
                            reverse=reverse)
            return [[e for e in entries if e.table == t] for t in tables]

        inserted = set(self.inserts)
        out: list[tuple[str, list[Entry]]] = []
        for group in by_table(self.inserts + self.modifies, reverse=False):
            out += [("insert", [e for e in group if e in inserted]),
                    ("modify", [e for e in group if e not in inserted])]
        out += [("delete", group) for group in by_table(self.deletes, reverse=True)]
        return [(op, entries) for op, entries in out if entries]


def diff_entries(desired: Mapping[Key, Entry], actual: Mapping[Key, Entry]) -> EntryDiff:
    """What to write so that a switch holding ``actual`` holds ``desired``."""
    diff = EntryDiff()
    for key, wanted in desired.items():
        have = actual.get(key)
        if have is None:
            diff.inserts.append(wanted)
        elif have != wanted:
            diff.modifies.append(wanted)
    diff.deletes = [have for key, have in actual.items() if key not in desired]
    return diff
