"""The ``health_checks`` section of the config: how each pool's servers are monitored.

One :class:`HealthPolicy` per pool (keepalived's real_server checkers, HAProxy's ``check
inter rise fall`` and ``agent-check``), validated like the rest of the config: every
problem is reported with its key path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.config import (
    Backend,
    Checker,
    parse_backend,
    parse_choice,
    parse_int,
    parse_seconds,
)

CHECK_KINDS = ("tcp", "http", "https", "tls", "command")
ON_DOWN = ("keep", "reset")  # established connections to a server that went down
WHEN_ALL_DOWN = ("reject", "sorry")  # new connections when no server of the pool is up
COMMAND_FIELDS = ("address", "port")  # placeholders a command check may use
MIN_INTERVAL_S = 0.05
_NETNS_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class AgentCheck:
    """HAProxy's agent-check: the server says its load on a small TCP text protocol."""

    port: int
    interval_s: float = 2.0
    timeout_s: float = 1.0


@dataclass(frozen=True)
class HealthPolicy:
    """How the servers of one pool are checked and what happens when they fail."""

    kind: str
    interval_s: float = 2.0
    timeout_s: float = 1.0
    rise: int = 2
    fall: int = 3
    port: int | None = None  # None: each backend's own port
    path: str = "/"
    host: str | None = None  # HTTP Host header and TLS server name (default: the address)
    expect_status: tuple[int, ...] = (200,)
    expect_body: str | None = None
    command: tuple[str, ...] = ()
    netns: Path | None = None  # checks run in this network namespace (None: lbd's own)
    slow_start_s: float = 0.0
    on_down: str = "keep"
    when_all_down: str = "reject"
    sorry_server: Backend | None = None
    agent: AgentCheck | None = None


def _netns_path(raw: Any) -> Path:
    if isinstance(raw, str) and raw.startswith("/"):
        return Path(raw)
    if isinstance(raw, str) and _NETNS_NAME_RE.match(raw):
        return Path("/run/netns") / raw
    raise ValueError(f"{raw!r} is not a network namespace (a name under /run/netns or an "
                     "absolute path such as /proc/PID/ns/net)")


def _interval(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < MIN_INTERVAL_S:
        raise ValueError(f"{raw!r} is not an interval of at least {MIN_INTERVAL_S} seconds")
    return float(raw)


def _status_codes(raw: Any) -> tuple[int, ...]:
    codes = raw if isinstance(raw, list) else [raw]
    if not codes or any(isinstance(c, bool) or not isinstance(c, int) or not 100 <= c <= 599
                        for c in codes):
        raise ValueError(f"{raw!r} is not an HTTP status code or a list of them")
    return tuple(codes)


def _command(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(a, str) and a for a in raw):
        raise ValueError(f"{raw!r} is not a command (a non-empty list of strings, placeholders "
                         f"{', '.join('{' + f + '}' for f in COMMAND_FIELDS)})")
    for arg in raw:
        try:
            arg.format(**{f: "" for f in COMMAND_FIELDS})
        except (KeyError, IndexError, ValueError) as err:
            raise ValueError(f"{arg!r}: unknown placeholder {err}") from None
    return tuple(raw)


def parse_health_checks(check: Checker, raw: Any,
                        pools: Mapping[str, tuple[Backend, ...]]) -> dict[str, HealthPolicy]:
    """The ``health_checks`` mapping: pool name -> policy."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        check.fail("health_checks", f"expected a mapping of pool name to check, got "
                   f"{type(raw).__name__}")
        return {}
    policies: dict[str, HealthPolicy] = {}
    keys = {"kind", "interval", "timeout", "rise", "fall", "port", "path", "host",
            "expect_status", "expect_body", "command", "netns", "slow_start", "on_down",
            "when_all_down", "sorry_server", "agent"}
    for pool, raw_policy in raw.items():
        path = f"health_checks.{pool}"
        data = check.mapping(raw_policy, path, keys, {"kind"})
        if not data:
            continue
        before = len(check.problems)
        kind = check.value(data.get("kind"), f"{path}.kind", parse_choice(CHECK_KINDS))
        interval = check.value(data.get("interval", 2.0), f"{path}.interval", _interval)
        timeout = check.value(data.get("timeout", 1.0), f"{path}.timeout", parse_seconds)
        if interval is not None and timeout is not None and not 0 < timeout <= interval:
            check.fail(f"{path}.timeout", f"{timeout} must be above 0 and at most the interval "
                       f"({interval}): a check ends before the next one starts")
        rise = check.value(data.get("rise", 2), f"{path}.rise", parse_int(1, 100))
        fall = check.value(data.get("fall", 3), f"{path}.fall", parse_int(1, 100))
        port = None
        if data.get("port") is not None:
            port = check.value(data["port"], f"{path}.port", parse_int(1, 65535))
        url = data.get("path", "/")
        if not isinstance(url, str) or not url.startswith("/") or any(
                c.isspace() or ord(c) < 0x21 or ord(c) > 0x7E for c in url):
            check.fail(f"{path}.path", f"{url!r} is not a request path (starts with '/', "
                       "visible ASCII)")
        host = data.get("host")
        if host is not None and not (isinstance(host, str) and host and all(
                c.isalnum() or c in "-.:[]" for c in host)):
            check.fail(f"{path}.host", f"{host!r} is not a host name")
        status = check.value(data.get("expect_status", 200), f"{path}.expect_status",
                             _status_codes)
        body = data.get("expect_body")
        if body is not None and not (isinstance(body, str) and body):
            check.fail(f"{path}.expect_body", f"{body!r} is not a non-empty string")
        command: tuple[str, ...] = ()
        if kind == "command":
            command = check.value(data.get("command"), f"{path}.command", _command) or ()
        elif "command" in data:
            check.fail(f"{path}.command", "only applies to kind command")
        for key in ("path", "host", "expect_status", "expect_body"):
            if key in data and kind not in ("http", "https"):
                check.fail(f"{path}.{key}", "only applies to kinds http and https")
        netns = None
        if data.get("netns") is not None:
            netns = check.value(data["netns"], f"{path}.netns", _netns_path)
        slow_start = check.value(data.get("slow_start", 0), f"{path}.slow_start", parse_seconds)
        on_down = check.value(data.get("on_down", "keep"), f"{path}.on_down", parse_choice(ON_DOWN))
        all_down = check.value(data.get("when_all_down", "reject"), f"{path}.when_all_down",
                               parse_choice(WHEN_ALL_DOWN))
        sorry = None
        if data.get("sorry_server") is not None:
            sorry = parse_backend(check, data["sorry_server"], f"{path}.sorry_server")
            if sorry is not None and any(b.name == sorry.name for b in pools.get(pool, ())):
                check.fail(f"{path}.sorry_server.name", f"{sorry.name!r} is already a server "
                           f"of pool {pool!r}")
        if (all_down == "sorry") != (data.get("sorry_server") is not None):
            check.fail(f"{path}.sorry_server", "is required with when_all_down: sorry, and "
                       "only then")
        agent = _parse_agent(check, data.get("agent"), f"{path}.agent")
        if len(check.problems) > before:
            continue
        assert kind and interval is not None and timeout is not None and rise and fall
        assert slow_start is not None and on_down and all_down and status
        policies[str(pool)] = HealthPolicy(
            kind, interval, timeout, rise, fall, port, url, host, status, body, command, netns,
            slow_start, on_down, all_down, sorry, agent)
    return policies


def _parse_agent(check: Checker, raw: Any, path: str) -> AgentCheck | None:
    if raw is None:
        return None
    data = check.mapping(raw, path, {"port", "interval", "timeout"}, {"port"})
    port = check.value(data.get("port"), f"{path}.port", parse_int(1, 65535))
    interval = check.value(data.get("interval", 2.0), f"{path}.interval", _interval)
    timeout = check.value(data.get("timeout", 1.0), f"{path}.timeout", parse_seconds)
    if interval is not None and timeout is not None and not 0 < timeout <= interval:
        check.fail(f"{path}.timeout", f"{timeout} must be above 0 and at most the interval "
                   f"({interval})")
        return None
    if port is None or interval is None or timeout is None:
        return None
    return AgentCheck(port, interval, timeout)
