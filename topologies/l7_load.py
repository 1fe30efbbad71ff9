"""Many short HTTP/1.1 connections (one request each, ``Connection: close``), run inside a
Mininet host, for the L7 tests and benchmark: how many succeed, how fast, and which backend
answered (the page names it, topologies/webserver.py).

    python -m topologies.l7_load --address 10.0.0.103 --connections 2000 --concurrency 16

prints one JSON object: ``ok``, ``failed``, ``elapsed_s``, ``per_second`` (successful
connections per second), ``backends`` (page's backend name -> count), ``errors`` (first few).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

MAX_ERRORS_SHOWN = 5
MAX_RESPONSE = 1 << 20


@dataclass
class LoadResult:
    ok: int = 0
    failed: int = 0
    elapsed_s: float = 0.0
    backends: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"ok": self.ok, "failed": self.failed, "elapsed_s": round(self.elapsed_s, 3),
                "per_second": round(self.ok / self.elapsed_s, 1) if self.elapsed_s else 0.0,
                "backends": dict(self.backends), "errors": self.errors}


async def one_request(address: str, port: int, host: str, path: str, timeout: float) -> str:
    """The backend name of the page (second word of the body); raises on any failure."""
    async def exchange() -> bytes:
        reader, writer = await asyncio.open_connection(address, port)
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                         .encode())
            return await reader.read(MAX_RESPONSE)
        finally:
            writer.close()

    response = await asyncio.wait_for(exchange(), timeout)
    head, _, body = response.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    if b" 200 " not in status + b" ":
        raise RuntimeError(f"status line {status!r}")
    words = body.split()
    if len(words) < 2:
        raise RuntimeError(f"unexpected body {body[:60]!r}")
    return words[1].decode(errors="replace")


async def run_load(address: str, port: int, host: str, path: str, connections: int,
                   concurrency: int, timeout: float) -> LoadResult:
    result = LoadResult()
    remaining = iter(range(connections))

    async def worker() -> None:
        for _ in remaining:
            try:
                result.backends[await one_request(address, port, host, path, timeout)] += 1
                result.ok += 1
            except (OSError, RuntimeError, TimeoutError) as error:
                result.failed += 1
                if len(result.errors) < MAX_ERRORS_SHOWN:
                    result.errors.append(f"{type(error).__name__}: {error}")

    start = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    result.elapsed_s = time.monotonic() - start
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m topologies.l7_load",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", required=True)
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--host", help="Host header (default: the address)")
    parser.add_argument("--path", default="/")
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=10.0, help="per connection, seconds")
    args = parser.parse_args(argv)
    if args.connections < 0 or args.concurrency < 1 or args.timeout <= 0:
        parser.error("connections >= 0, concurrency >= 1 and timeout > 0 are required")
    result = asyncio.run(run_load(args.address, args.port, args.host or args.address,
                                  args.path, args.connections, args.concurrency, args.timeout))
    print(json.dumps(result.as_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
