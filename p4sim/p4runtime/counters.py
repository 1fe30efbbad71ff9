"""Counter values as P4Runtime reports them: only the units the counter counts (as PI does)."""

from __future__ import annotations

from finsy.proto import p4i, p4r

_COUNTS_BYTES = (p4i.CounterSpec.BYTES, p4i.CounterSpec.BOTH, p4i.CounterSpec.UNSPECIFIED)
_COUNTS_PACKETS = (p4i.CounterSpec.PACKETS, p4i.CounterSpec.BOTH, p4i.CounterSpec.UNSPECIFIED)


def counter_data(unit: int, byte_count: int, packet_count: int) -> p4r.CounterData:
    data = p4r.CounterData()
    if unit in _COUNTS_BYTES:
        data.byte_count = byte_count
    if unit in _COUNTS_PACKETS:
        data.packet_count = packet_count
    return data
