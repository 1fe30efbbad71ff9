"""A returning HTTPS client, run inside a Mininet host (tests and bench/tls_resumption.py).

    python -m topologies.tls_probe ADDRESS NAME --cafile CA [--count N] [--tls 1.2|1.3]
                                   [--rounds R] [--port 443] [--stdin]

``rounds`` times: a full handshake, then ``count - 1`` connections offering the session
of the previous one (a client caching its latest session, as browsers and curl do); each
connection sends ``GET /`` with ``Host: NAME`` and reads the page, which names the backend.
Prints one JSON object per connection: round, index, reused (the server resumed the
session), backend, handshake_ms (TCP connect excluded).

With ``--stdin`` the connections are driven from outside instead: each input line names a
client (any word); one connection is made as that client, offering its latest session (none
the first time), and its JSON object (with ``client``) printed.  A benchmark thus
interleaves the returns of clients in several hosts in the order it chooses.
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import sys
import time
from collections.abc import Sequence

VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
MAX_PAGE = 4096


def fetch(context: ssl.SSLContext, address: str, port: int, name: str,
          session: ssl.SSLSession | None, timeout: float = 10.0
          ) -> tuple[bool, str, float, ssl.SSLSession | None]:
    with socket.create_connection((address, port), timeout=timeout) as raw:
        start = time.perf_counter()
        with context.wrap_socket(raw, server_hostname=name, session=session) as tls:
            handshake_ms = (time.perf_counter() - start) * 1000
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n"
                        .encode())
            response = b""
            while len(response) < MAX_PAGE and (chunk := tls.recv(MAX_PAGE)):
                response += chunk
            body = response.partition(b"\r\n\r\n")[2].decode(errors="replace").split()
            backend = body[1] if len(body) == 3 and body[0] == "backend" else "?"
            return bool(tls.session_reused), backend, handshake_ms, tls.session


def serve_lines(context: ssl.SSLContext, address: str, port: int, name: str) -> int:
    """``--stdin``: a connection per line, as the client the line names."""
    sessions: dict[str, ssl.SSLSession | None] = {}
    for line in sys.stdin:
        client = line.strip()
        if not client:
            continue
        try:
            reused, backend, ms, sessions[client] = fetch(context, address, port, name,
                                                          sessions.get(client))
        except (OSError, ssl.SSLError) as err:
            sessions[client] = None
            print(json.dumps({"client": client, "error": str(err)}), flush=True)
            continue
        print(json.dumps({"client": client, "reused": reused, "backend": backend,
                          "handshake_ms": round(ms, 3)}), flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m topologies.tls_probe",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("address")
    parser.add_argument("name")
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--port", type=int, default=443)
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--tls", choices=sorted(VERSIONS), default="1.3")
    parser.add_argument("--stdin", action="store_true",
                        help="one connection per input line, as the client it names")
    args = parser.parse_args(argv)
    context = ssl.create_default_context(cafile=args.cafile)
    context.maximum_version = context.minimum_version = VERSIONS[args.tls]
    if args.stdin:
        return serve_lines(context, args.address, args.port, args.name)
    for round_index in range(args.rounds):
        session = None
        for index in range(args.count):
            try:
                reused, backend, ms, session = fetch(context, args.address, args.port,
                                                     args.name, session)
            except (OSError, ssl.SSLError) as err:
                print(json.dumps({"round": round_index, "index": index, "error": str(err)}))
                session = None
                continue
            print(json.dumps({"round": round_index, "index": index, "reused": reused,
                              "backend": backend, "handshake_ms": round(ms, 3)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
