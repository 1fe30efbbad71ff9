"""New connections at a steady pace, run inside a Mininet client host: when does a service
stop taking them, and for how long (controller failover, docs/ha.md)?

    python -m topologies.new_connections web=10.0.0.100:80 shop=10.0.0.103:80 \\
        --interval 0.02 --timeout 0.5 --duration 10

Every ``interval`` seconds it opens one new connection to each target and sends one
HTTP/1.1 request (``Connection: close``); an attempt succeeds when a 2xx answer naming its
backend arrives within ``timeout``.  It stops after ``duration`` or when a line arrives on
stdin, then prints one JSON object: target -> ``attempts`` (wall-clock start time and
success of each) and the first few ``errors``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from topologies.l7_load import MAX_ERRORS_SHOWN, one_request


@dataclass
class TargetLog:
    address: str
    port: int
    attempts: list[tuple[float, bool]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def attempt(self, host: str, path: str, timeout: float) -> None:
        started = time.time()
        try:
            await one_request(self.address, self.port, host, path, timeout)
        except (OSError, RuntimeError, ValueError) as error:  # TimeoutError is an OSError
            self.attempts.append((started, False))
            if len(self.errors) < MAX_ERRORS_SHOWN:
                self.errors.append(f"{started:.3f} {type(error).__name__}: {error}")
        else:
            self.attempts.append((started, True))


def outage(attempts: Sequence[tuple[float, bool]], since: float) -> tuple[float, int]:
    """(seconds from ``since`` to the start of the last failed attempt, failed attempts)
    among those started after ``since``; (0, 0) when none failed."""
    failed = [started for started, ok in attempts if started >= since and not ok]
    return (max(failed) - since, len(failed)) if failed else (0.0, 0)


def parse_target(raw: str) -> tuple[str, str, int]:
    name, sep, endpoint = raw.partition("=")
    address, colon, port = endpoint.rpartition(":")
    if not (sep and colon and name and address and port.isdigit()):
        raise argparse.ArgumentTypeError(f"{raw!r}: expected NAME=ADDRESS:PORT")
    return name, address, int(port)


async def run(targets: dict[str, TargetLog], interval: float, timeout: float,
              duration: float, host: str, path: str) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_reader(sys.stdin.fileno(), stop.set)
    pending: set[asyncio.Task[None]] = set()
    deadline = time.monotonic() + duration
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            for log in targets.values():
                task = asyncio.create_task(log.attempt(host, path, timeout))
                pending.add(task)
                task.add_done_callback(pending.discard)
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                pass
        if pending:
            await asyncio.wait(pending)
    finally:
        loop.remove_reader(sys.stdin.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m topologies.new_connections",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="+", type=parse_target, metavar="NAME=ADDRESS:PORT")
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("--timeout", type=float, default=0.5)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--host", default="www.example.com", help="Host header")
    parser.add_argument("--path", default="/")
    args = parser.parse_args(argv)
    if not (0 < args.interval and 0 < args.timeout and 0 < args.duration <= 600):
        parser.error("interval and timeout must be positive, duration within (0, 600]")
    targets = {name: TargetLog(address, port) for name, address, port in args.targets}
    asyncio.run(run(targets, args.interval, args.timeout, args.duration, args.host, args.path))
    print(json.dumps({name: {"attempts": log.attempts, "errors": log.errors}
                      for name, log in targets.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
