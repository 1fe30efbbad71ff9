"""HTTP requests from Mininet clients through a VIP, and where they landed.

Each request is a new TCP connection (``Connection: close``) from a new source port, so every
request is scheduled afresh by the load balancer.  One ``curl`` per client fetches many URLs in
sequence, which keeps the cost per request low.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

PAGE_RE = re.compile(r"^backend (\S+) ")
FAILED = "(failed)"
COMMAND_LINE_CHARS = 3000  # room for the URLs of one curl command (see fetch_many)


def fetch_many(client: Any, url: str, count: int, timeout: float = 5.0) -> list[str]:
    """Backend names that answered ``count`` requests from ``client`` (FAILED for errors).

    Commands reach the host's shell through a terminal, whose input lines are cut at 4095
    characters: the URLs go in batches that keep each command well below that."""
    batch = max(1, COMMAND_LINE_CHARS // (len(url) + 1))
    names: list[str] = []
    while len(names) < count:
        names += _fetch_batch(client, url, min(batch, count - len(names)), timeout)
    return names


def _fetch_batch(client: Any, url: str, count: int, timeout: float) -> list[str]:
    urls = " ".join([url] * count)
    output = client.cmd(f"curl -s -m {timeout:g} -H 'Connection: close' "
                        f"-w '\\n%{{http_code}}\\n' {urls}")
    names = []
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    # Each transfer prints the page ("backend <name> <ip>") then its status code.
    pending: str | None = None
    for line in lines:
        match = PAGE_RE.match(line)
        if match:
            pending = match.group(1)
        elif line.isdigit():
            names.append(pending if line == "200" and pending else FAILED)
            pending = None
    names += [FAILED] * (count - len(names))
    return names[:count]


def spread(clients: Sequence[Any], vip: str, requests: int, port: int = 80,
           path: str = "/") -> Counter[str]:
    """Send ``requests`` requests for ``path`` to ``vip``, split over ``clients``; count
    per backend."""
    counts: Counter[str] = Counter()
    share, extra = divmod(requests, len(clients))
    for index, client in enumerate(clients):
        count = share + (1 if index < extra else 0)
        if count:
            counts.update(fetch_many(client, f"http://{vip}:{port}{path}", count))
    return counts


def spread_table(results: dict[str, Counter[str]], backends: Sequence[str]) -> str:
    """One row per mode, one column per backend (plus failures), with shares in percent."""
    columns = [*backends, FAILED]
    width = max(10, *(len(name) + 2 for name in columns))
    label_width = max(8, *(len(label) + 2 for label in results))
    header = "".join(f"{name:>{width}}" for name in columns)
    lines = [f"{'mode':<{label_width}}{header}{'total':>8}"]
    for mode, counts in results.items():
        total = sum(counts.values())
        cells = "".join(
            f"{counts.get(name, 0):>{width - 7}} {100 * counts.get(name, 0) / total:3.0f}%  "
            if total else f"{0:>{width}}" for name in columns)
        lines.append(f"{mode:<{label_width}}{cells}{total:>8}")
    return "\n".join(lines)
