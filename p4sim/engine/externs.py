"""Stateful externs: counter, meter and register arrays (indirect and direct cells)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from p4sim.engine.errors import InvalidEntryError, NotFoundError


class CounterArray:
    """BMv2 counters count bytes and packets together."""

    def __init__(self, name: str, id_: int, size: int, is_direct: bool,
                 binding: str | None) -> None:
        self.name = name
        self.id = id_
        self.size = 0 if is_direct else size
        self.is_direct = is_direct
        self.binding = binding
        self.bytes = [0] * self.size
        self.packets = [0] * self.size

    def count(self, index: int, nbytes: int) -> None:
        if 0 <= index < self.size:
            self.bytes[index] += nbytes
            self.packets[index] += 1

    def check(self, index: int) -> None:
        if not 0 <= index < self.size:
            raise NotFoundError(f"counter {self.name!r}: index {index} out of range "
                                f"[0, {self.size})")


class Meter:
    """BMv2's multi-rate meter (a trTCM for two rates), colours 0 green, 1 yellow, 2 red.

    Token buckets are refilled from the time elapsed since the meter was created, rates are
    in units per microsecond, exactly like meters.cpp.
    """

    __slots__ = ("rates", "config", "clock_ns", "origin_ns", "is_packets")

    def __init__(self, clock_ns: Callable[[], int], origin_ns: int, is_packets: bool) -> None:
        # one cell per rate, peak first: [rate per us, burst, tokens, tokens_last, colour]
        self.rates: list[list[float | int]] | None = None
        self.config: list[tuple[float, int]] | None = None
        self.clock_ns = clock_ns
        self.origin_ns = origin_ns
        self.is_packets = is_packets

    def configure(self, rates: Sequence[tuple[float, int]] | None) -> None:
        if rates is None:
            self.rates = None
            self.config = None
            return
        self.config = [(float(rate), int(burst)) for rate, burst in rates]
        cells: list[list[float | int]] = []
        for i, (rate_per_s, burst) in enumerate(rates):
            cells.append([rate_per_s / 1e6, int(burst), int(burst), 0, i + 1])
        cells.reverse()
        self.rates = cells

    def get(self) -> list[tuple[float, int]] | None:
        """The rates as configured (units per second), committed first."""
        return list(self.config) if self.config is not None else None

    def execute(self, nbytes: int) -> int:
        rates = self.rates
        if rates is None:
            return 0
        micros = (self.clock_ns() - self.origin_ns) // 1000
        size = 1 if self.is_packets else nbytes
        color = 0
        for cell in rates:
            since_init = int(micros * cell[0])
            new_tokens = since_init - int(cell[3])
            cell[3] = since_init
            cell[2] = min(int(cell[2]) + new_tokens, int(cell[1]))
            if cell[2] < size:
                color = int(cell[4])
                break
            cell[2] = int(cell[2]) - size
        return color


class MeterArray:
    def __init__(self, name: str, size: int, is_packets: bool, rate_count: int,
                 clock_ns: Callable[[], int]) -> None:
        self.name = name
        self.size = size
        self.rate_count = rate_count
        origin = clock_ns()
        self.meters = [Meter(clock_ns, origin, is_packets) for _ in range(size)]

    def execute(self, index: int, nbytes: int) -> int:
        if 0 <= index < self.size:
            return self.meters[index].execute(nbytes)
        return 0

    def cell(self, index: int) -> Meter:
        if not 0 <= index < self.size:
            raise NotFoundError(f"meter {self.name!r}: index {index} out of range "
                                f"[0, {self.size})")
        return self.meters[index]


def check_rates(rates: Sequence[tuple[float, int]] | None, rate_count: int, what: str) -> None:
    if rates is None:
        return
    if len(rates) != rate_count:
        raise InvalidEntryError(f"{what}: expected {rate_count} rates, got {len(rates)}")
    previous = -1.0
    for pair in rates:
        if not isinstance(pair, tuple | list) or len(pair) != 2 or not all(
                isinstance(v, int | float) for v in pair):
            raise InvalidEntryError(f"{what}: rate {pair!r} is not (rate, burst)")
        rate, burst = pair
        if rate < 0 or burst < 0:
            raise InvalidEntryError(f"{what}: rates and bursts must be non-negative")
        if rate < previous:
            raise InvalidEntryError(f"{what}: rates must be given in increasing order "
                                    "(committed before peak)")
        previous = rate


class RegisterArray:
    def __init__(self, name: str, size: int, bitwidth: int) -> None:
        self.name = name
        self.size = size
        self.bitwidth = bitwidth
        self.mask = (1 << bitwidth) - 1
        self.cells = [0] * size

    def read(self, index: int) -> int:
        if 0 <= index < self.size:
            return self.cells[index]
        return 0

    def write(self, index: int, value: int) -> None:
        if 0 <= index < self.size:
            self.cells[index] = value & self.mask

    def check(self, index: int) -> None:
        if not 0 <= index < self.size:
            raise NotFoundError(f"register {self.name!r}: index {index} out of range "
                                f"[0, {self.size})")
