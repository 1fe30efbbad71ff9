"""In-process packets/s of the p4sim engine alone (no sockets) on a basic IPv4 program.

Compiles ``bench/basic.p4`` with p4sim's compiler (or loads ``--json``, e.g. real p4c
output), installs a handful of LPM routes and times, on one core, ``Engine.process`` (one
call per packet) and ``Engine.process_batch`` (the switch's loop, 64 frames a call),
interleaved, the fastest of 5 runs of ``--count`` packets each.

    python -m bench.engine_pps [--count N] [--json prog.json]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from p4sim.engine import ActionCall, Engine, Lpm

PROGRAM = Path(__file__).resolve().parent / "basic.p4"
BATCH = 64
"""Frames per ``process_batch`` call, as a receive batch of the switch."""
REPEATS = 5
FRAME = bytes.fromhex(
    "000000000100" "000000000110" "0800"                 # Ethernet to the router MAC
    "45000032000100004011" "0000" "0a000101" "0a000205"   # IPv4 10.0.1.1 -> 10.0.2.5, UDP
    "1f901f90001e0000") + b"x" * 22                       # UDP header + payload (64 bytes)


def load_engine(json_path: str | None) -> Engine:
    if json_path is not None:
        return Engine(Path(json_path).read_text())
    from p4sim.compiler import compile_file

    return Engine(compile_file(str(PROGRAM)).bmv2_json)


def route_table(engine: Engine) -> tuple[str, str]:
    """The (table, forwarding action) of the program's IPv4 LPM table."""
    for name, table in engine.info.tables.items():
        if name.endswith("ipv4_lpm"):
            action = next(a for a in table.action_names if a.endswith("ipv4_forward"))
            return name, action
    raise SystemExit("the program has no ipv4_lpm table")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000, help="packets to process")
    parser.add_argument("--json", help="BMv2 JSON to run instead of compiling bench/basic.p4")
    args = parser.parse_args(argv)
    if args.count <= 0:
        parser.error("--count must be positive")
    engine = load_engine(args.json)
    table, action = route_table(engine)
    for i in range(16):
        engine.table_add(table, [Lpm(0x0A000000 | (i << 8), 24)],
                         ActionCall(action, (0x0000000002AA, 2)))
    engine.table_add(table, [Lpm(0, 0)], ActionCall(action, (0x0000000002BB, 3)))
    result = engine.process(1, FRAME)
    if [port for port, _ in result.packets] != [2]:
        print(f"unexpected forwarding result: {result}", file=sys.stderr)
        return 1
    for _ in range(1000):
        engine.process(1, FRAME)
    batch = [FRAME] * BATCH
    rounds = max(1, args.count // BATCH)
    count = rounds * BATCH

    def one_by_one(process: Callable[..., object] = engine.process) -> None:
        for _ in range(count):
            process(1, FRAME)

    def in_batches(process_batch: Callable[..., None] = engine.process_batch) -> None:
        for _ in range(rounds):
            process_batch(1, batch, [])

    # interleaved repeats, the fastest of each kept (as timeit): the machine's noise only
    # ever adds time
    best = {one_by_one: float("inf"), in_batches: float("inf")}
    for _ in range(REPEATS):
        for run in best:
            start = time.perf_counter()
            run()
            best[run] = min(best[run], time.perf_counter() - start)
    _report("process", count, best[one_by_one])
    _report("process_batch", count, best[in_batches])
    print(f"process_batch / process: {best[one_by_one] / best[in_batches]:.2f}")
    return 0


def _report(label: str, count: int, elapsed: float) -> None:
    print(f"{label}: {count} packets in {elapsed:.3f} s = {count / elapsed:,.0f} packets/s "
          f"({elapsed / count * 1e6:.2f} us/packet)")


if __name__ == "__main__":
    sys.exit(main())
