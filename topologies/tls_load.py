"""Many short HTTPS connections, run inside a Mininet host (bench/tls_resumption.py): how many
new TLS connections per second get through, full or resumed.

    python -m topologies.tls_load ADDRESS NAME --cafile CA [--port 443] [--tls 1.2|1.3]
                                  [--connections 500] [--concurrency 16] [--resume]
                                  [--max-time 30]

``concurrency`` threads make ``connections`` connections between them (fewer if
``max-time`` runs out), each a TLS handshake, ``GET /`` and the page read
(``tls_probe.fetch``); with ``--resume`` each thread offers the session of its previous
connection.  Prints one JSON object: ``ok``, ``failed``, ``resumed``, ``elapsed_s``,
``per_second`` (successful connections), ``handshake_ms`` (median), ``backends`` (name ->
count), ``errors`` (the first few).
"""

from __future__ import annotations

import argparse
import json
import ssl
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence

from topologies.tls_probe import VERSIONS, fetch

MAX_ERRORS_SHOWN = 5


class Load:
    """The shared count of connections left and what they gave."""

    def __init__(self, connections: int, deadline: float) -> None:
        self.left = connections
        self.deadline = deadline
        self.lock = threading.Lock()
        self.ok = self.failed = self.resumed = 0
        self.backends: Counter[str] = Counter()
        self.handshakes: list[float] = []
        self.errors: list[str] = []

    def take(self) -> bool:
        with self.lock:
            if self.left <= 0 or time.monotonic() >= self.deadline:
                return False
            self.left -= 1
            return True


def worker(load: Load, context: ssl.SSLContext, address: str, port: int, name: str,
           resume: bool) -> None:
    session: ssl.SSLSession | None = None
    while load.take():
        try:
            reused, backend, ms, new_session = fetch(context, address, port, name, session)
        except (OSError, ssl.SSLError) as err:
            session = None
            with load.lock:
                load.failed += 1
                if len(load.errors) < MAX_ERRORS_SHOWN:
                    load.errors.append(str(err))
            continue
        session = new_session if resume else None
        with load.lock:
            load.ok += 1
            load.resumed += reused
            load.backends[backend] += 1
            load.handshakes.append(ms)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m topologies.tls_load",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("address")
    parser.add_argument("name")
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--port", type=int, default=443)
    parser.add_argument("--tls", choices=sorted(VERSIONS), default="1.3")
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--resume", action="store_true",
                        help="each thread offers the session of its previous connection")
    parser.add_argument("--max-time", type=float, default=30.0)
    args = parser.parse_args(argv)
    context = ssl.create_default_context(cafile=args.cafile)
    context.maximum_version = context.minimum_version = VERSIONS[args.tls]
    start = time.monotonic()
    load = Load(args.connections, start + args.max_time)
    threads = [threading.Thread(target=worker, args=(load, context, args.address, args.port,
                                                     args.name, args.resume))
               for _ in range(args.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    print(json.dumps({
        "ok": load.ok, "failed": load.failed, "resumed": load.resumed,
        "elapsed_s": round(elapsed, 3),
        "per_second": round(load.ok / elapsed, 1) if elapsed else 0.0,
        "handshake_ms": round(statistics.median(load.handshakes), 3)
        if load.handshakes else None,
        "backends": dict(load.backends), "errors": load.errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
