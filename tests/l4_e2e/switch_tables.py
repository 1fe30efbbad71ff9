"""Reading a switch's table entries over P4Runtime, decoded with the P4Info's names.

A Read needs no stream and no arbitration, so these reads never disturb lbd's session.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc
from finsy.proto import p4i, p4r, p4r_grpc
from google.protobuf import text_format

CONNECTION_TABLE = "IngressPipe.connections.connection_table"


@dataclass(frozen=True, order=True)
class TableEntryView:
    """One entry: its table, match fields (name -> value as text), action and parameters."""

    table: str
    match: tuple[tuple[str, str], ...]
    priority: int
    action: str
    params: tuple[tuple[str, int], ...]

    def mentions(self, value: int) -> bool:
        """``value`` is one of the entry's exact/lpm match values or action parameters."""
        numbers = [int(text.split("/")[0]) for _, text in self.match
                   if text.split("/")[0].isdigit()]
        return value in numbers or value in (param for _, param in self.params)


class P4InfoNames:
    def __init__(self, p4info_path: Path) -> None:
        p4info = text_format.Parse(p4info_path.read_text(), p4i.P4Info())
        self.tables = {t.preamble.id: t for t in p4info.tables}
        self.actions = {a.preamble.id: a for a in p4info.actions}

    def view(self, entry: p4r.TableEntry) -> TableEntryView:
        table = self.tables[entry.table_id]
        fields = {f.id: f.name for f in table.match_fields}
        match = tuple(sorted((fields[m.field_id], _match_text(m)) for m in entry.match))
        action = self.actions[entry.action.action.action_id]
        params = {p.id: p.name for p in action.params}
        values = tuple(sorted((params[p.param_id], int.from_bytes(p.value, "big"))
                              for p in entry.action.action.params))
        return TableEntryView(table.preamble.name, match, entry.priority,
                              action.preamble.name, values)


def _match_text(match: p4r.FieldMatch) -> str:
    kind = match.WhichOneof("field_match_type")
    number = lambda data: int.from_bytes(data, "big")  # noqa: E731
    if kind == "exact":
        return str(number(match.exact.value))
    if kind == "lpm":
        return f"{number(match.lpm.value)}/{match.lpm.prefix_len}"
    if kind == "ternary":
        return f"{number(match.ternary.value)}&{number(match.ternary.mask)}"
    if kind == "range":
        return f"{number(match.range.low)}..{number(match.range.high)}"
    if kind == "optional":
        return str(number(match.optional.value))
    raise ValueError(f"unexpected match kind {kind}")


def read_entries(grpc_addr: str, device_id: int, p4info_path: Path) -> list[TableEntryView]:
    """Every table entry the switch holds (default entries aside), sorted."""
    names = P4InfoNames(p4info_path)
    request = p4r.ReadRequest(device_id=device_id,
                              entities=[p4r.Entity(table_entry=p4r.TableEntry())])
    with grpc.insecure_channel(grpc_addr) as channel:
        responses = p4r_grpc.P4RuntimeStub(channel).Read(request, timeout=10)
        return sorted(names.view(entity.table_entry)
                      for response in responses for entity in response.entities)


def try_read_entries(grpc_addr: str, device_id: int,
                     p4info_path: Path) -> list[TableEntryView] | None:
    """None while the switch cannot answer (down, or no pipeline yet)."""
    try:
        return read_entries(grpc_addr, device_id, p4info_path)
    except grpc.RpcError:
        return None
