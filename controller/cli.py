"""lbctl: command-line client of lbd's management API (docs/lbctl.md).

Exit codes: 0 success, 1 the daemon refused the request or cannot be reached (its
message is printed), 2 bad command-line arguments (argparse usage error).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from controller.api import ApiError, call
from controller.config import (
    DEFAULT_SOCKET,
    L7_MODE,
    L7_SCHEDULERS,
    PROTOCOLS,
    SCHEDULERS,
    SERVICE_MODES,
)
from controller.health_config import CHECK_KINDS, ON_DOWN


def _ipv4(text: str) -> str:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IPv4 address") from None


def _ranged(low: int, high: int) -> Callable[[str], int]:
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not in [{low}, {high}]")
        return value

    return convert


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative")
    return value


def _egress(text: str) -> str | int:
    return int(text) if text.isdigit() else text


def _header(text: str) -> dict[str, str]:
    """NAME (present), NAME=VALUE (exact value) or NAME~REGEX."""
    for separator, key in (("=", "value"), ("~", "regex")):
        name, found, value = text.partition(separator)
        if found:
            return {"name": name, key: value}
    return {"name": text}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lbctl", description="Manage the P4 load balancer.")
    parser.add_argument("--socket", type=Path,
                        default=Path(os.environ.get("LBD_SOCKET", DEFAULT_SOCKET)),
                        help="lbd Unix socket (default %(default)s, env LBD_SOCKET)")
    parser.add_argument("--tcp-port", type=_ranged(1, 65535),
                        help="talk to lbd on 127.0.0.1:PORT instead of the Unix socket")
    parser.add_argument("--token", default=os.environ.get("LBCTL_TOKEN"),
                        help="API token for --tcp-port (env LBCTL_TOKEN)")
    parser.add_argument("--json", action="store_true", help="print the raw JSON result")
    parser.add_argument("--timeout", type=_seconds, default=10.0, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)

    service = commands.add_parser("service", help="virtual services").add_subparsers(
        dest="action", required=True)
    service.add_parser("list", help="list services and their backends")
    add = service.add_parser("add", help="add a virtual service")
    add.add_argument("name")
    add.add_argument("--vip", type=_ipv4, required=True)
    add.add_argument("--port", type=_ranged(1, 65535), required=True)
    add.add_argument("--protocol", choices=list(PROTOCOLS), default="tcp")
    add.add_argument("--mode", choices=SERVICE_MODES, default="nat",
                     help="l7: content-aware, spliced (add rules with 'lbctl rule add')")
    add.add_argument("--scheduler", choices=list(dict.fromkeys(SCHEDULERS + L7_SCHEDULERS)),
                     default="wlc", help="lard and lblc are for l7 services")
    add.add_argument("--pool", help="backend pool (created empty if new); for l7: the "
                     "default pool")
    add.add_argument("--persistence", type=_seconds, metavar="SECONDS",
                     help="keep a client on its backend for SECONDS")
    add.add_argument("--netmask", help="persistence granularity: prefix length or netmask "
                     "(default 32)")
    add.add_argument("--switch", action="append", dest="switches",
                     help="only on this switch (repeatable; default: every switch)")
    add.add_argument("--removal-timeout", type=_seconds, default=300.0, metavar="SECONDS")
    add.add_argument("--new-connection-rate", type=_ranged(1, 10**9), metavar="PER_SECOND",
                     help="at most this many new connections per second reach lbd "
                     "(switch meter; not with mh)")
    add.add_argument("--new-connection-burst", type=_ranged(1, 10**9), metavar="PACKETS",
                     help="burst allowed above the rate (default: the rate)")
    delete = service.add_parser("del", help="delete a virtual service")
    delete.add_argument("name")

    backend = commands.add_parser("backend", help="real servers").add_subparsers(
        dest="action", required=True)
    badd = backend.add_parser("add", help="add a backend to SERVICE's pool")
    badd.add_argument("service")
    badd.add_argument("--name", help="backend name (default ADDRESS:PORT)")
    badd.add_argument("--address", type=_ipv4, required=True)
    badd.add_argument("--port", type=_ranged(1, 65535), required=True)
    badd.add_argument("--mac", help="MAC of a directly attached backend (with --egress-port)")
    badd.add_argument("--egress-port", type=_egress,
                      help="switch port name or number of a directly attached backend")
    badd.add_argument("--weight", type=_ranged(0, 65535), default=1)
    for verb, text in (("del", "remove once its connections end or time out"),
                       ("drain", "set weight 0: no new connections")):
        sub = backend.add_parser(verb, help=text)
        sub.add_argument("service")
        sub.add_argument("backend")
    blist = backend.add_parser("list", help="backends with their health and weights")
    blist.add_argument("service", nargs="?")
    weight = backend.add_parser("weight", help="set a backend's weight")
    weight.add_argument("service")
    weight.add_argument("backend")
    weight.add_argument("weight", type=_ranged(0, 65535))

    health = commands.add_parser("health", help="health checks of pools").add_subparsers(
        dest="action", required=True)
    hset = health.add_parser("set", help="check POOL's servers (replaces its check)")
    hset.add_argument("pool")
    hset.add_argument("--kind", choices=CHECK_KINDS, required=True)
    hset.add_argument("--interval", type=float, help="seconds between checks (default 2)")
    hset.add_argument("--timeout", type=float, help="seconds a check may take (default 1)")
    hset.add_argument("--rise", type=int, help="passes in a row to come up (default 2)")
    hset.add_argument("--fall", type=int, help="failures in a row to go down (default 3)")
    hset.add_argument("--port", type=_ranged(1, 65535), help="port to check (default: "
                      "each backend's)")
    hset.add_argument("--path", help="HTTP(S) request path (default /)")
    hset.add_argument("--expect-status", type=int, action="append",
                      help="accepted HTTP status (repeatable; default 200)")
    hset.add_argument("--expect-body", help="text the HTTP(S) body must contain")
    hset.add_argument("--slow-start", type=float, help="seconds to ramp a server back up")
    hset.add_argument("--on-down", choices=ON_DOWN, help="established connections of a "
                      "down server (default keep)")
    hset.add_argument("--netns", help="network namespace the checks run in")
    hset.add_argument("--command", nargs="+", metavar="ARG", dest="check_command",
                      help="kind command: argv, with {address} and {port}")
    hdel = health.add_parser("del", help="stop checking POOL's servers")
    hdel.add_argument("pool")

    rule = commands.add_parser("rule", help="content rules of l7 services").add_subparsers(
        dest="action", required=True)
    rlist = rule.add_parser("list", help="SERVICE's rules in order (first match wins)")
    rlist.add_argument("service")
    radd = rule.add_parser("add", help="add a rule: requests matching every condition go "
                           "to POOL")
    radd.add_argument("service")
    radd.add_argument("--pool", required=True)
    radd.add_argument("--host", help="exact host, or *.suffix")
    radd.add_argument("--path-prefix")
    radd.add_argument("--path-regex")
    radd.add_argument("--extension", action="append", dest="extensions",
                      help="file extension of the path (repeatable)")
    radd.add_argument("--method", action="append", dest="methods", help="repeatable")
    radd.add_argument("--header", action="append", dest="headers", type=_header,
                      metavar="NAME[=VALUE|~REGEX]", help="header present, with an exact "
                      "value, or matching a regex (repeatable)")
    radd.add_argument("--position", type=_ranged(0, 10**6),
                      help="insert before rule N (default: last)")
    rdel = rule.add_parser("del", help="delete rule INDEX (as 'rule list' numbers them)")
    rdel.add_argument("service")
    rdel.add_argument("index", type=_ranged(0, 10**6))
    rdefault = rule.add_parser("default", help="set the pool for requests no rule matches "
                               "(no POOL: none, they get 503)")
    rdefault.add_argument("service")
    rdefault.add_argument("pool", nargs="?")

    tls = commands.add_parser("tls", help="TLS services: SNI/ALPN rules, session-affinity "
                              "tables (size, hit rate)")
    tls.add_argument("service", nargs="?")

    switch = commands.add_parser("switch", help="switches lbd drives").add_subparsers(
        dest="action", required=True)
    switch.add_parser("list", help="each switch: P4Runtime connection, synchronisation, "
                      "primary and backup controllers")
    ha = commands.add_parser("ha", help="controller high availability").add_subparsers(
        dest="action", required=True)
    ha.add_parser("status", help="this lbd's role (primary or backup), election id and the "
                  "change journal it follows")

    stats = commands.add_parser("stats", help="packets, bytes and connections")
    stats.add_argument("service", nargs="?")
    conns = commands.add_parser("conns", help="the connection table")
    conns.add_argument("--service")
    conns.add_argument("--switch")

    top = commands.add_parser("top", help="services, backends and rates, refreshed in place")
    top.add_argument("--interval", type=_seconds, default=1.0, help="seconds between "
                     "frames (default %(default)s)")
    top.add_argument("--count", type=_ranged(1, 10**6),
                     help="show this many frames, then exit (default: until Ctrl-C)")

    config = commands.add_parser("config", help="configuration").add_subparsers(
        dest="action", required=True)
    apply = config.add_parser("apply", help="replace services and pools with FILE's")
    apply.add_argument("file", type=Path)
    return parser


def request_for(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The API method and params for parsed arguments."""
    match args.command, getattr(args, "action", None):
        case "service", "list":
            return "service.list", {}
        case "service", "add":
            service: dict[str, Any] = {
                "name": args.name, "vip": args.vip, "port": args.port,
                "protocol": args.protocol, "mode": args.mode, "scheduler": args.scheduler,
                "removal_timeout": args.removal_timeout}
            service["default_pool" if args.mode == L7_MODE else "pool"] = args.pool
            if args.persistence is not None:
                service["persistence"] = {"timeout": args.persistence,
                                          "netmask": args.netmask or "32"}
            if args.switches:
                service["switches"] = args.switches
            if args.new_connection_rate is not None:
                service["new_connection_limit"] = {
                    "rate": args.new_connection_rate,
                    "burst": args.new_connection_burst or args.new_connection_rate}
            return "service.add", {"service": service}
        case "service", "del":
            return "service.del", {"service": args.name}
        case "backend", "add":
            backend = {"address": args.address, "port": args.port, "weight": args.weight}
            for key in ("name", "mac", "egress_port"):
                if getattr(args, key) is not None:
                    backend[key] = getattr(args, key)
            return "backend.add", {"service": args.service, "backend": backend}
        case "backend", ("del" | "drain") as verb:
            return f"backend.{verb}", {"service": args.service, "backend": args.backend}
        case "backend", "weight":
            return "backend.weight", {"service": args.service, "backend": args.backend,
                                      "weight": args.weight}
        case "backend", "list":
            return "backend.list", {} if args.service is None else {"service": args.service}
        case "health", "set":
            check: dict[str, Any] = {"kind": args.kind}
            for key in ("interval", "timeout", "rise", "fall", "port", "path",
                        "expect_body", "on_down", "netns"):
                if getattr(args, key) is not None:
                    check[key] = getattr(args, key)
            if args.check_command is not None:
                check["command"] = args.check_command
            if args.expect_status:
                check["expect_status"] = args.expect_status
            if args.slow_start is not None:
                check["slow_start"] = args.slow_start
            return "health.set", {"pool": args.pool, "check": check}
        case "health", "del":
            return "health.del", {"pool": args.pool}
        case "rule", "list":
            return "rule.list", {"service": args.service}
        case "rule", "add":
            rule: dict[str, Any] = {"pool": args.pool}
            for key in ("host", "path_prefix", "path_regex", "extensions", "methods",
                        "headers"):
                if getattr(args, key) is not None:
                    rule[key] = getattr(args, key)
            params: dict[str, Any] = {"service": args.service, "rule": rule}
            if args.position is not None:
                params["position"] = args.position
            return "rule.add", params
        case "rule", "del":
            return "rule.del", {"service": args.service, "index": args.index}
        case "rule", "default":
            return "rule.default", {"service": args.service, "pool": args.pool}
        case "tls", _:
            return "tls.list", {} if args.service is None else {"service": args.service}
        case "switch", "list":
            return "switch.list", {}
        case "ha", "status":
            return "ha.status", {}
        case "stats", _:
            return "stats", {} if args.service is None else {"service": args.service}
        case "conns", _:
            return "conns", {k: v for k, v in (("service", args.service),
                                               ("switch", args.switch)) if v is not None}
        case "config", "apply":
            try:
                text = args.file.read_text()
            except OSError as err:
                raise ApiError(f"{args.file}: cannot read: {err.strerror}") from err
            return "config.apply", {"yaml": text, "path": str(args.file.resolve())}
    raise AssertionError(f"unhandled command {args.command}")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [list(headers)] + [["-" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
                     for row in cells)


def render(method: str, result: Any) -> str:
    """Human-readable output of a result."""
    if method == "service.list":
        rows = []
        for s in result:
            persist = "-" if s["persistence"] is None else \
                f"{s['persistence']['timeout']:g}s/{s['persistence']['netmask']}"
            rows.append([s["name"], f"{s['vip']}:{s['port']}/{s['protocol']}", s["mode"],
                         s["scheduler"], persist, ",".join(s.get("pools") or [s["pool"]]),
                         ", ".join(f"{b['name']}({b['weight']}{_flag(b['state'])})"
                                   for b in s["backends"]) or "-"])
        return format_table(["SERVICE", "VIRTUAL", "MODE", "SCHED", "PERSIST", "POOL",
                             "BACKENDS(WEIGHT)"], rows)
    if method == "backend.list":
        return format_table(
            ["SERVICE", "BACKEND", "ADDRESS", "WEIGHT", "NOW", "STATE", "HEALTH", "SINCE(s)",
             "LAST CHECK"],
            [[b["service"], b["name"], f"{b['address']}:{b['port']}", b["weight"],
              b["effective_weight"], b["state"], _health_flag(b), b.get("since_change_s"),
              b.get("check")] for b in result])
    if method == "rule.list":
        return _rules_table(result)
    if method == "tls.list":
        return _tls_tables(result)
    if method == "stats":
        rows = []
        for s in result:
            rows.append([s["name"], "", "", "", s["active"], s["packets"], s["bytes"]])
            rows.extend(["", b["name"], b["state"], _health_flag(b), b["active"],
                         b["packets"], b["bytes"]] for b in s["backends"])
        return format_table(["SERVICE", "BACKEND", "STATE", "HEALTH", "ACTIVE", "PACKETS",
                             "BYTES"], rows)
    if method == "switch.list":
        return format_table(
            ["SWITCH", "ADDRESS", "DEVICE", "CONNECTED", "ROLE", "SYNCHRONISED", "PRIMARY",
             "BACKUPS", "STATUS"],
            [[s["name"], s["address"], s["device_id"], _yes_no(s["connected"]), s.get("role"),
              _yes_no(s["synchronised"]), s.get("primary"),
              ",".join(s["backups"]) if s.get("backups") else None, s["status"]]
             for s in result])
    if method == "ha.status":
        return "\n".join([
            f"api        {result['api']}", f"role       {result['role']}",
            f"election   {result['election_id'] or '- (no ha section)'}",
            f"journal    {result['journal']} ({result['changes']} changes)",
            f"following  {result['following'] or '-'}",
            f"peers      {', '.join(result['peers']) or '-'}"])
    if method == "conns":
        return format_table(
            ["SWITCH", "CLIENT", "VIRTUAL", "SERVICE", "BACKEND", "ORIGIN", "AGE(s)"],
            [[c["switch"], f"{c['client']}:{c['client_port']}", f"{c['vip']}:{c['vport']}",
              c["service"], c["backend"], c["origin"], c["age_s"]] for c in result])
    switches = result.get("switches", {}) if isinstance(result, dict) else {}
    lines = ["ok"] + [f"  switch {name}: {status}" for name, status in sorted(switches.items())
                      if status != "ok"]
    return "\n".join(lines)


def _rules_table(service: dict[str, Any]) -> str:
    rows = [[index, rule.get("pool") if isinstance(rule, dict) else "?", _conditions(rule)]
            for index, rule in enumerate(service["rules"])]
    rows.append(["default", service["default_pool"] or "(none: 503)", ""])
    return format_table(["RULE", "POOL", "CONDITIONS"], rows)


def _tls_tables(services: list[dict[str, Any]]) -> str:
    """One row per service and switch (its affinity table), then each service's rules."""
    rows = []
    for s in services:
        first = [s["name"], f"{s['vip']}:{s['port']}", s["affinity"],
                 None if s["affinity"] == "off" else f"{s['affinity_timeout']:g}"]
        for table in s["tables"] or [None]:
            rows.append([*first, *_affinity_row(table)])
            first = ["", "", "", ""]
    parts = [format_table(["SERVICE", "VIRTUAL", "AFFINITY", "TIMEOUT(s)", "SWITCH",
                           "ENTRIES", "CLIENTS", "LOOKUPS", "HITS", "HINTS", "HIT RATE",
                           "RESUMED", "FULL"], rows)]
    for s in services:
        parts.append(f"\n{s['name']}: rules by SNI/ALPN (first match wins), bad hello -> "
                     f"{s['bad_hello']}\n{_rules_table(s)}")
    return "\n".join(parts)


def _affinity_row(table: dict[str, Any] | None) -> list[Any]:
    if table is None:
        return [None] * 9
    rate = f"{table['hit_rate']:.1%}" if table["lookups"] else None
    return [table["switch"], f"{table['entries']}/{table['size']}", table["clients"],
            table["lookups"], table["hits"], table["hints"], rate, table["resumed"],
            table["full"]]


def _conditions(rule: Any) -> str:
    if not isinstance(rule, dict):
        return repr(rule)
    return " ".join(f"{key}={json.dumps(value)}" for key, value in rule.items()
                    if key != "pool")


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def _health_flag(backend: dict[str, Any]) -> str:
    health = str(backend.get("health", "unchecked"))
    agent = backend.get("agent")
    if agent and agent.get("state") != "up":
        health += f" (agent: {agent['state']})"
    return health + (" (slow start)" if backend.get("slow_start") else "")


def _flag(state: str) -> str:
    return "" if state == "active" else f", {state}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.tcp_port is not None and not args.token:
        parser.error("--tcp-port needs --token or LBCTL_TOKEN")
    if args.command == "service" and args.action == "add" and args.pool is None \
            and args.mode != L7_MODE:
        parser.error("--pool is required (except for --mode l7, where it is the default pool)")
    if getattr(args, "netmask", None) is not None and args.persistence is None:
        parser.error("--netmask needs --persistence")
    if getattr(args, "new_connection_burst", None) is not None \
            and args.new_connection_rate is None:
        parser.error("--new-connection-burst needs --new-connection-rate")
    if (getattr(args, "mac", None) is None) != (getattr(args, "egress_port", None) is None):
        parser.error("--mac and --egress-port go together (a directly attached backend)")
    token = args.token if args.tcp_port is not None else None
    try:
        if args.command == "top":
            from controller import top  # it uses format_table: imported here, not above
            try:
                top.run(lambda: call("observe", {}, unix_socket=args.socket,
                                     tcp_port=args.tcp_port, token=token,
                                     timeout=args.timeout),
                        sys.stdout, interval=args.interval, count=args.count,
                        in_place=sys.stdout.isatty())
            except KeyboardInterrupt:
                pass
            return 0
        method, params = request_for(args)
        result = call(method, params, unix_socket=args.socket, tcp_port=args.tcp_port,
                      token=token, timeout=args.timeout)
    except ApiError as err:
        print(f"lbctl: {err}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if args.json else render(method, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
