"""Declarative load-balancer configuration: YAML -> validated, immutable dataclasses.

Validation collects every problem it finds and reports each with the key path that holds
it (``services[0].vip: '10.0.0.300' is not an IPv4 address``), so an operator fixes a file
in one pass.  Nothing is applied from a config that has any error: callers get either a
complete :class:`LbConfig` or a :class:`ConfigError`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from controller.l7.locality import CONTENT_SCHEDULERS, LardThresholds
from controller.l7.rules import ContentRules, RulesError, parse_content_rules

if TYPE_CHECKING:
    from controller.health_config import HealthPolicy

MODES = ("nat", "dr", "tun")
L7_MODE = "l7"  # content-aware: spliced by the controller (docs/l7.md)
SERVICE_MODES = (*MODES, L7_MODE)
SPLICE_PROFILES = ("basic", "full")  # full: timestamps, SACK, window scaling if offered
PROTOCOLS = {"tcp": 6, "udp": 17}
SCHEDULERS = ("rr", "wrr", "lc", "wlc", "sh", "mh", "sed", "nq")
L7_SCHEDULERS = (*SCHEDULERS, *CONTENT_SCHEDULERS)  # all run by the splicer (mh: on the
# client address, with the same Maglev table the data plane would use)
MAX_REQUEST_HEAD = 65536
TLS_PORT = 443  # an l7 service on this port reads ClientHellos unless tls: false
AFFINITY_MODES = ("strict", "preferred", "off")
BAD_HELLO_ACTIONS = ("default", "reset")
MAX_WEIGHT = 65535
MAX_SERVICES = 255  # data-plane ids 1..255 (service_id < 256 indexes counters and meters)
MAX_BACKENDS = 1023  # (service, backend) pairs: backend_id 1..1023
DEFAULT_SOCKET = "/run/p4lb/lbd.sock"
_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

T = TypeVar("T")


class ConfigError(ValueError):
    """An invalid configuration; ``problems`` lists every ``path: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class PipelineConfig:
    p4info: Path
    bmv2_json: Path


@dataclass(frozen=True)
class ApiConfig:
    """Where the management API listens: a Unix socket, or 127.0.0.1:port with a token."""

    unix_socket: Path | None = Path(DEFAULT_SOCKET)
    tcp_port: int | None = None
    token: str | None = None


@dataclass(frozen=True)
class HaConfig:
    """High availability (docs/ha.md): this instance's P4Runtime election id (the highest
    connected one is primary), the other instances' management APIs (a backup follows the
    primary's changes there) and the SYN-cookie secret every instance shares."""

    election_id: int
    peers: tuple[ApiConfig, ...] = ()
    cookie_secret_file: Path | None = None
    sync_interval_s: float = 0.2


@dataclass(frozen=True)
class Route:
    """Traffic to ``prefix`` leaves by ``egress_port`` towards the next hop ``mac``."""

    prefix: ipaddress.IPv4Network
    egress_port: str | int
    mac: str


@dataclass(frozen=True)
class SwitchConfig:
    """A switch: P4Runtime endpoint, named ports, its router MAC, addresses and routes."""

    name: str
    address: str
    device_id: int
    ports: Mapping[str, int]
    router_mac: str
    addresses: tuple[ipaddress.IPv4Address, ...] = ()
    routes: tuple[Route, ...] = ()
    splice_address: ipaddress.IPv4Address | None = None  # source of spliced connections

    def port_number(self, port: str | int) -> int:
        return port if isinstance(port, int) else self.ports[port]


@dataclass(frozen=True)
class Backend:
    """One real server.

    ``mac`` and ``egress_port`` say the server is directly attached (the switch installs a
    host route to it); without them it is reached through the switch's routes.
    """

    name: str
    address: ipaddress.IPv4Address
    port: int
    mac: str | None
    egress_port: str | int | None
    weight: int = 1


@dataclass(frozen=True)
class Persistence:
    """Clients in the same ``netmask`` network stick to one backend for ``timeout_s``."""

    timeout_s: float
    netmask: ipaddress.IPv4Address = ipaddress.IPv4Address("255.255.255.255")


@dataclass(frozen=True)
class RateLimit:
    """New connections per second a service may send to the controller (packet-ins)."""

    rate: int
    burst: int


@dataclass(frozen=True)
class TlsConfig:
    """A TLS l7 service: the splicer reads the ClientHello, not an HTTP head (docs/l7.md).

    ``affinity``: ``strict`` sends a resuming client to the server holding its session
    whenever that server is in the pool; ``preferred`` (pools sharing ticket keys) only
    while it is not loaded beyond twice the least-loaded server plus one; ``off``: the
    scheduler alone.  ``bad_hello``: a hello that cannot be read goes to the default pool
    (``default``, when there is one) or is reset."""

    affinity: str = "strict"
    affinity_timeout_s: float = 300.0
    affinity_size: int = 65536
    max_client_hello: int = 16384
    bad_hello: str = "default"


@dataclass(frozen=True)
class ContentConfig:
    """The L7 part of a service: content rules and how requests are read and spliced.

    ``raw_rules`` keeps the rules as written, so that they can be listed and edited
    (``lbctl rule``) and parsed again."""

    rules: ContentRules
    raw_rules: tuple[Any, ...] = ()
    default_pool: str | None = None
    lard: LardThresholds = LardThresholds()
    request_timeout_s: float = 10.0
    max_request_head: int = 8192
    transparent: bool = False  # backends see the client's address instead of the switch's
    splice_profile: str = "full"
    relay: bool = False  # lbd relays every packet itself instead of splicing in the switch
    tls: TlsConfig | None = None  # None: the service reads HTTP request heads

    @property
    def pools(self) -> tuple[str, ...]:
        """Every pool the service may send to: the default pool first, then rule order."""
        names = [self.default_pool] if self.default_pool else []
        names += [rule.pool for rule in self.rules.rules]
        return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class Service:
    name: str
    vip: ipaddress.IPv4Address
    port: int
    protocol: str
    mode: str
    scheduler: str
    pool: str
    persistence: Persistence | None = None
    switches: tuple[str, ...] | None = None  # None: every switch
    removal_timeout_s: float = 300.0
    new_connection_limit: RateLimit | None = None  # None: unlimited
    content: ContentConfig | None = None  # set exactly for mode l7

    @property
    def pools(self) -> tuple[str, ...]:
        """The pools whose backends the service uses (``pool`` comes first)."""
        return self.content.pools if self.content is not None else (self.pool,)

    @property
    def protocol_number(self) -> int:
        return PROTOCOLS[self.protocol]

    def runs_on(self, switch: str) -> bool:
        return self.switches is None or switch in self.switches


@dataclass(frozen=True)
class LbConfig:
    pipeline: PipelineConfig
    switches: tuple[SwitchConfig, ...]
    services: tuple[Service, ...]
    pools: Mapping[str, tuple[Backend, ...]]
    api: ApiConfig = field(default_factory=ApiConfig)
    connection_idle_timeout_s: float = 60.0
    health: Mapping[str, HealthPolicy] = field(default_factory=dict)  # pool -> checks
    ha: HaConfig | None = None

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)


class Checker:
    """Walks the raw YAML tree, recording ``path: problem`` for each bad value."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def mapping(self, raw: Any, path: str, allowed: set[str], required: set[str]) -> dict:
        if not isinstance(raw, dict):
            self.fail(path, f"expected a mapping, got {_kind(raw)}")
            return {}
        for key in raw:
            if key not in allowed:
                self.fail(f"{path}.{key}" if path else str(key), "unknown key")
        for key in sorted(required - raw.keys()):
            self.fail(f"{path}.{key}" if path else key, "is required")
        return raw

    def seq(self, raw: Any, path: str) -> list:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.fail(path, f"expected a list, got {_kind(raw)}")
            return []
        return raw

    def value(self, raw: Any, path: str, convert: Callable[[Any], T]) -> T | None:
        if any(p.startswith(f"{path}: ") for p in self.problems):
            return None  # already reported (a missing required key)
        try:
            return convert(raw)
        except ValueError as err:
            self.fail(path, str(err))
            return None


def _kind(raw: Any) -> str:
    return "nothing" if raw is None else type(raw).__name__


def parse_ipv4(raw: Any) -> ipaddress.IPv4Address:
    if isinstance(raw, str):
        try:
            return ipaddress.IPv4Address(raw)
        except ValueError:
            pass
    raise ValueError(f"{raw!r} is not an IPv4 address")


def parse_netmask(raw: Any) -> ipaddress.IPv4Address:
    """Accept a dotted netmask (255.255.255.0) or a prefix length (24 or "/24")."""
    text = str(raw).lstrip("/")
    if text.isdigit() and 0 <= int(text) <= 32:
        return ipaddress.IPv4Network(f"0.0.0.0/{text}").netmask
    try:
        mask = ipaddress.IPv4Address(raw) if isinstance(raw, str) else None
        valid = mask is not None and ipaddress.IPv4Network(f"0.0.0.0/{mask}").netmask == mask
    except ValueError:
        valid = False
    if not valid or mask is None:
        raise ValueError(f"{raw!r} is not a netmask (use 255.255.255.0 or a prefix length)")
    return mask


def parse_int(low: int, high: int) -> Callable[[Any], int]:
    def convert(raw: Any) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
            raise ValueError(f"{raw!r} is not an integer in [{low}, {high}]")
        return raw

    return convert


def parse_seconds(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
        raise ValueError(f"{raw!r} is not a non-negative number of seconds")
    return float(raw)


def parse_name(raw: Any) -> str:
    if not isinstance(raw, str) or not _NAME_RE.match(raw):
        raise ValueError(f"{raw!r} is not a name (1-64 of letters, digits, '_.:-')")
    return raw


def parse_choice(choices: tuple[str, ...] | Mapping[str, int]) -> Callable[[Any], str]:
    def convert(raw: Any) -> str:
        if raw not in choices:
            raise ValueError(f"{raw!r} is not one of {', '.join(choices)}")
        return str(raw)

    return convert


def parse_mac(raw: Any) -> str:
    if not isinstance(raw, str) or not _MAC_RE.match(raw):
        raise ValueError(f"{raw!r} is not a MAC address (aa:bb:cc:dd:ee:ff)")
    return raw.lower()


def parse_grpc_address(raw: Any) -> str:
    if isinstance(raw, str):
        host, sep, port = raw.rpartition(":")
        if sep and host and port.isdigit() and 0 < int(port) < 65536:
            return raw
    raise ValueError(f"{raw!r} is not a gRPC address HOST:PORT")


def parse_backend(check: Checker, raw: Any, path: str) -> Backend | None:
    """Parse one backend mapping (also used by the management API for `backend add`)."""
    keys = {"name", "address", "port", "mac", "egress_port", "weight"}
    data = check.mapping(raw, path, keys, {"address", "port"})
    if not data:
        return None
    address = check.value(data.get("address"), f"{path}.address", parse_ipv4)
    port = check.value(data.get("port"), f"{path}.port", parse_int(1, 65535))
    mac = egress = None
    if ("mac" in data) != ("egress_port" in data):
        missing = "egress_port" if "mac" in data else "mac"
        check.fail(f"{path}.{missing}", "is required with "
                   f"{'mac' if missing == 'egress_port' else 'egress_port'} "
                   "(a directly attached backend needs both)")
    elif "mac" in data:
        mac = check.value(data["mac"], f"{path}.mac", parse_mac)
        egress = check.value(data["egress_port"], f"{path}.egress_port", parse_port_ref)
    weight = check.value(data.get("weight", 1), f"{path}.weight", parse_int(0, MAX_WEIGHT))
    default_name = f"{data.get('address')}:{data.get('port')}"
    name = check.value(data.get("name", default_name), f"{path}.name", parse_name)
    if address is None or port is None or weight is None or name is None:
        return None
    return Backend(name, address, port, mac, egress, weight)


def parse_port_ref(raw: Any) -> str | int:
    """A switch port: a name from the switch's ``ports`` or a number."""
    if isinstance(raw, str) and raw:
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= 511:
        return raw
    raise ValueError(f"{raw!r} is not a port name or number in [0, 511]")


def parse_prefix(raw: Any) -> ipaddress.IPv4Network:
    try:
        if isinstance(raw, str):
            return ipaddress.IPv4Network(raw)
    except ValueError:
        pass
    raise ValueError(f"{raw!r} is not an IPv4 prefix with no host bits (10.0.0.0/24)")


def parse_service(check: Checker, raw: Any, path: str,
                  pools: Collection[str] | None = None) -> Service | None:
    """Parse one service mapping (also used by the management API for `service add`).

    ``pools``, when known, are the pool names content rules may refer to."""
    keys = {"name", "vip", "port", "protocol", "mode", "scheduler", "pool", "persistence",
            "switches", "removal_timeout", "new_connection_limit"}
    is_l7 = isinstance(raw, dict) and raw.get("mode") == L7_MODE
    data = check.mapping(raw, path, keys | (L7_KEYS if is_l7 else set()),
                         {"name", "vip", "port"} | (set() if is_l7 else {"pool"}))
    if not data:
        return None
    name = check.value(data.get("name"), f"{path}.name", parse_name)
    vip = check.value(data.get("vip"), f"{path}.vip", parse_ipv4)
    port = check.value(data.get("port"), f"{path}.port", parse_int(1, 65535))
    protocol = check.value(data.get("protocol", "tcp"), f"{path}.protocol", parse_choice(PROTOCOLS))
    mode = check.value(data.get("mode", "nat"), f"{path}.mode", parse_choice(SERVICE_MODES))
    scheduler = check.value(data.get("scheduler", "wlc"), f"{path}.scheduler",
                            parse_choice(L7_SCHEDULERS if is_l7 else SCHEDULERS))
    content = _parse_content(check, data, path, pools) if is_l7 else None
    pool: str | None
    if is_l7:
        if "pool" in data:
            check.fail(f"{path}.pool", "an l7 service names its pools in rules and "
                       "default_pool")
        pool = content.pools[0] if content is not None and content.pools else None
        if content is not None and pool is None:
            check.fail(f"{path}.rules", "an l7 service needs a rule or a default_pool")
        if protocol is not None and protocol != "tcp":
            check.fail(f"{path}.protocol", "an l7 service is TCP (HTTP/1.x or TLS)")
    else:
        pool = check.value(data.get("pool"), f"{path}.pool", parse_name)
    removal = check.value(data.get("removal_timeout", 300), f"{path}.removal_timeout",
                          parse_seconds)
    persistence = None
    if data.get("persistence") is not None:
        ppath = f"{path}.persistence"
        pdata = check.mapping(data["persistence"], ppath, {"timeout", "netmask"}, {"timeout"})
        timeout = check.value(pdata.get("timeout"), f"{ppath}.timeout", parse_seconds)
        netmask = check.value(pdata.get("netmask", 32), f"{ppath}.netmask", parse_netmask)
        if timeout is not None and netmask is not None:
            persistence = Persistence(timeout, netmask)
        if is_l7:
            check.fail(ppath, "is not available for l7 services (use scheduler sh, lard or "
                       "lblc for affinity)")
    switches = None
    if data.get("switches") is not None:
        names = [check.value(s, f"{path}.switches[{i}]", parse_name)
                 for i, s in enumerate(check.seq(data["switches"], f"{path}.switches"))]
        switches = tuple(n for n in names if n is not None)
    limit = None
    if data.get("new_connection_limit") is not None:
        lpath = f"{path}.new_connection_limit"
        ldata = check.mapping(data["new_connection_limit"], lpath, {"rate", "burst"}, {"rate"})
        rate = check.value(ldata.get("rate"), f"{lpath}.rate", parse_int(1, 10**9))
        burst = check.value(ldata.get("burst", rate), f"{lpath}.burst", parse_int(1, 10**9))
        if rate is not None and burst is not None:
            limit = RateLimit(rate, burst)
    for key, what in (("persistence", persistence), ("new_connection_limit", limit)):
        if what is not None and scheduler == "mh" and not is_l7:
            check.fail(f"{path}.{key}", "is not available with scheduler mh (the data plane "
                       "schedules every connection on its own)")
    if None in (name, vip, port, protocol, mode, scheduler, pool, removal) or \
            (is_l7 and content is None):
        return None
    assert name and vip and port and protocol and mode and scheduler and pool
    assert removal is not None
    return Service(name, vip, port, protocol, mode, scheduler, pool, persistence, switches,
                   removal, limit, content)


L7_KEYS = {"rules", "default_pool", "lard", "request_timeout", "max_request_head",
           "transparent", "splice_profile", "relay", "tls"}
TLS_KEYS = {"affinity", "affinity_timeout", "affinity_size", "max_client_hello", "bad_hello"}


def _parse_tls(check: Checker, data: dict, path: str) -> TlsConfig | None:
    """``tls: true``, ``tls: false`` or a mapping of TLS_KEYS; port 443 means true."""
    raw = data.get("tls", data.get("port") == TLS_PORT)
    if raw is False:
        return None
    if raw is True:
        return TlsConfig()
    tpath = f"{path}.tls"
    tdata = check.mapping(raw, tpath, TLS_KEYS, set())
    if not tdata and not isinstance(raw, dict):
        return None
    default = TlsConfig()
    affinity = check.value(tdata.get("affinity", default.affinity), f"{tpath}.affinity",
                           parse_choice(AFFINITY_MODES))
    timeout = check.value(tdata.get("affinity_timeout", default.affinity_timeout_s),
                          f"{tpath}.affinity_timeout", parse_seconds)
    size = check.value(tdata.get("affinity_size", default.affinity_size),
                       f"{tpath}.affinity_size", parse_int(1, 10**7))
    hello = check.value(tdata.get("max_client_hello", default.max_client_hello),
                        f"{tpath}.max_client_hello", parse_int(512, 65536))
    bad = check.value(tdata.get("bad_hello", default.bad_hello), f"{tpath}.bad_hello",
                      parse_choice(BAD_HELLO_ACTIONS))
    if timeout is not None and timeout <= 0:
        check.fail(f"{tpath}.affinity_timeout", "must be positive")
        return None
    if None in (affinity, timeout, size, hello, bad):
        return None
    assert affinity and timeout and size and hello and bad
    return TlsConfig(affinity, timeout, size, hello, bad)


def _parse_content(check: Checker, data: dict, path: str,
                   pools: Collection[str] | None) -> ContentConfig | None:
    """The l7 keys of a service; rule problems are merged with their key paths."""
    raw_rules = data.get("rules")
    tls = _parse_tls(check, data, path)
    try:
        rules = parse_content_rules(raw_rules, where=f"{path}.rules",
                                    default_pool=data.get("default_pool"),
                                    default_pool_where=f"{path}.default_pool", pools=pools,
                                    tls=data.get("tls", data.get("port") == TLS_PORT)
                                    is not False)
    except RulesError as err:
        for problem in err.problems:
            check.problems.append(problem)
        rules = None
    lard = LardThresholds()
    if data.get("lard") is not None:
        lpath = f"{path}.lard"
        ldata = check.mapping(data["lard"], lpath, {"t_low", "t_high"}, set())
        low = check.value(ldata.get("t_low", lard.low), f"{lpath}.t_low", parse_int(0, 10**6))
        high = check.value(ldata.get("t_high", lard.high), f"{lpath}.t_high",
                           parse_int(1, 10**6))
        if low is not None and high is not None:
            if low >= high:
                check.fail(lpath, f"t_low ({low}) must be below t_high ({high})")
            else:
                lard = LardThresholds(low, high)
        if data.get("scheduler") != "lard":
            check.fail(lpath, "only applies to scheduler lard")
    timeout = check.value(data.get("request_timeout", 10), f"{path}.request_timeout",
                          parse_seconds)
    if timeout is not None and not 0 < timeout <= 3600:
        check.fail(f"{path}.request_timeout", f"{timeout} is not in (0, 3600] seconds")
    head = check.value(data.get("max_request_head", 8192), f"{path}.max_request_head",
                       parse_int(256, MAX_REQUEST_HEAD))
    transparent = data.get("transparent", False)
    if not isinstance(transparent, bool):
        check.fail(f"{path}.transparent", f"{transparent!r} is not true or false")
    relay = data.get("relay", False)
    if not isinstance(relay, bool):
        check.fail(f"{path}.relay", f"{relay!r} is not true or false")
    profile = check.value(data.get("splice_profile", "full"), f"{path}.splice_profile",
                          parse_choice(SPLICE_PROFILES))
    if rules is None or timeout is None or head is None or profile is None:
        return None
    return ContentConfig(rules, tuple(raw_rules or ()), data.get("default_pool"), lard,
                         timeout, head, bool(transparent), profile, bool(relay), tls)


def parse_config(raw: Any, base_dir: Path = Path(".")) -> LbConfig:
    """Validate a raw YAML tree; relative pipeline paths resolve against ``base_dir``."""
    check = Checker()
    # health_config builds on this module's parsers, so it is imported here, not on top.
    from controller.health_config import parse_health_checks

    top = check.mapping(raw, "", {"pipeline", "api", "switches", "services", "pools",
                                  "connection_idle_timeout", "health_checks", "ha"},
                        {"pipeline", "switches", "services", "pools"})

    pipe = check.mapping(top.get("pipeline"), "pipeline", {"p4info", "bmv2_json"},
                         {"p4info", "bmv2_json"}) if "pipeline" in top else {}
    paths = {}
    for key in ("p4info", "bmv2_json"):
        value = pipe.get(key)
        if key in pipe and not (isinstance(value, str) and value):
            check.fail(f"pipeline.{key}", f"{value!r} is not a file path")
        paths[key] = base_dir / str(value)

    api = _parse_api(check, top.get("api"))
    ha = _parse_ha(check, top.get("ha"), base_dir) if "ha" in top else None
    idle = check.value(top.get("connection_idle_timeout", 60), "connection_idle_timeout",
                       parse_seconds)

    switches: list[SwitchConfig] = []
    for i, raw_sw in enumerate(check.seq(top.get("switches"), "switches")):
        sw = _parse_switch(check, raw_sw, f"switches[{i}]")
        if sw is not None:
            if any(s.name == sw.name for s in switches):
                check.fail(f"switches[{i}].name", f"duplicate switch name {sw.name!r}")
            if any(s.address == sw.address and s.device_id == sw.device_id for s in switches):
                check.fail(f"switches[{i}].address", f"{sw.address} is listed twice")
            switches.append(sw)
    if "switches" in top and not switches and not check.problems:
        check.fail("switches", "at least one switch is required")

    pools: dict[str, tuple[Backend, ...]] = {}
    raw_pools = top.get("pools")
    if raw_pools is not None and not isinstance(raw_pools, dict):
        check.fail("pools", f"expected a mapping of pool name to backends, got {_kind(raw_pools)}")
        raw_pools = {}
    for pool_name, raw_backends in (raw_pools or {}).items():
        path = f"pools.{pool_name}"
        check.value(pool_name, path, parse_name)
        backends: list[Backend] = []
        for j, raw_be in enumerate(check.seq(raw_backends, path)):
            be = parse_backend(check, raw_be, f"{path}[{j}]")
            if be is None:
                continue
            if any(b.name == be.name for b in backends):
                check.fail(f"{path}[{j}].name", f"duplicate backend name {be.name!r}")
            backends.append(be)
        pools[str(pool_name)] = tuple(backends)

    services: list[Service] = []
    for i, raw_svc in enumerate(check.seq(top.get("services"), "services")):
        svc = parse_service(check, raw_svc, f"services[{i}]", set(pools))
        if svc is None:
            continue
        check_service_fits(check, svc, f"services[{i}]", services, pools, switches)
        services.append(svc)

    for pool_name, members in pools.items():
        for j, be in enumerate(members):
            check_backend_port(check, be, f"pools.{pool_name}[{j}].egress_port", switches)

    health = parse_health_checks(check, top.get("health_checks"), pools)
    check_health(check, health, pools, switches)
    check_capacity(check, services, pools)
    if check.problems:
        raise ConfigError(check.problems)
    assert idle is not None
    return LbConfig(PipelineConfig(paths["p4info"], paths["bmv2_json"]), tuple(switches),
                    tuple(services), pools, api, idle, health, ha)


def check_service_fits(check: Checker, svc: Service, path: str, others: list[Service],
                       pools: Mapping[str, tuple[Backend, ...]],
                       switches: list[SwitchConfig]) -> None:
    """Cross-reference checks: unique name and VIP:port, known pool and switches."""
    for other in others:
        if other.name == svc.name:
            check.fail(f"{path}.name", f"duplicate service name {svc.name!r}")
        if (other.vip, other.port, other.protocol) == (svc.vip, svc.port, svc.protocol):
            check.fail(f"{path}.vip", f"{svc.vip}:{svc.port}/{svc.protocol} is already "
                       f"used by service {other.name!r}")
    if svc.content is not None:
        _check_content_service(check, svc, path, others, pools, switches)
    elif svc.pool not in pools:
        check.fail(f"{path}.pool", f"unknown pool {svc.pool!r}")
    elif svc.mode == "dr" and any(b.mac is None for b in pools[svc.pool]):
        routed = next(b for b in pools[svc.pool] if b.mac is None)
        check.fail(f"{path}.pool", f"backend {routed.name!r} has no mac/egress_port: DR mode "
                   "needs directly attached backends")
    elif svc.mode == "nat":
        # NAT replies are translated by backend endpoint: one NAT service per endpoint.
        mine = {(b.address, b.port) for b in pools[svc.pool]}
        for other in others:
            if other.mode == "nat" and other.protocol == svc.protocol and other.pool in pools:
                shared = mine & {(b.address, b.port) for b in pools[other.pool]}
                if shared:
                    address, port = sorted(shared)[0]
                    check.fail(f"{path}.pool", f"backend {address}:{port} already serves NAT "
                               f"service {other.name!r} (a NAT backend serves one service)")
        for other in others:
            if other.content is not None and other.protocol == svc.protocol:
                shared = mine & _endpoints(other, pools)
                if shared:
                    address, port = sorted(shared)[0]
                    check.fail(f"{path}.pool", f"backend {address}:{port} already serves l7 "
                               f"service {other.name!r} (the switch splices everything it "
                               "sends)")
    if svc.content is None and svc.vip in _splice_addresses(switches):
        check.fail(f"{path}.vip", f"{svc.vip} is a switch's splice_address")
    known = {s.name for s in switches}
    for k, name in enumerate(svc.switches or ()):
        if name not in known:
            check.fail(f"{path}.switches[{k}]", f"unknown switch {name!r}")


def _endpoints(service: Service, pools: Mapping[str, tuple[Backend, ...]]
               ) -> set[tuple[ipaddress.IPv4Address, int]]:
    return {(b.address, b.port) for pool in service.pools for b in pools.get(pool, ())}


def _splice_addresses(switches: list[SwitchConfig]) -> set[ipaddress.IPv4Address]:
    return {s.splice_address for s in switches if s.splice_address is not None}


def _check_content_service(check: Checker, svc: Service, path: str, others: list[Service],
                           pools: Mapping[str, tuple[Backend, ...]],
                           switches: list[SwitchConfig]) -> None:
    """An l7 service: its pools exist, a backend name means one endpoint across them, its
    backends serve no NAT service, and its switches have a splice address (unless it is
    transparent) that is not a VIP."""
    assert svc.content is not None
    for pool in svc.pools:
        if pool not in pools:
            check.fail(f"{path}.rules", f"unknown pool {pool!r}")
    seen: dict[str, Backend] = {}
    for pool in svc.pools:
        for backend in pools.get(pool, ()):
            first = seen.setdefault(backend.name, backend)
            if (first.address, first.port) != (backend.address, backend.port):
                check.fail(f"pools.{pool}", f"backend name {backend.name!r} means two "
                           f"endpoints in the pools of l7 service {svc.name!r}")
    mine = _endpoints(svc, pools)
    for other in others:
        if other.mode == "nat" and other.protocol == svc.protocol:
            shared = mine & _endpoints(other, pools)
            if shared:
                address, port = sorted(shared)[0]
                check.fail(f"{path}.rules", f"backend {address}:{port} already serves NAT "
                           f"service {other.name!r} (the switch splices everything an l7 "
                           "backend sends)")
    splice_addresses = _splice_addresses(switches)
    if svc.vip in splice_addresses:
        check.fail(f"{path}.vip", f"{svc.vip} is a switch's splice_address")
    if not svc.content.transparent:
        for switch in switches:
            if svc.runs_on(switch.name) and switch.splice_address is None:
                check.fail(f"{path}.mode", f"switch {switch.name!r} has no splice_address "
                           "(needed unless the service is transparent)")


def check_capacity(check: Checker, services: list[Service] | tuple[Service, ...],
                   pools: Mapping[str, tuple[Backend, ...]]) -> None:
    """The data plane's id spaces: service ids and (service, backend) ids."""
    if len(services) > MAX_SERVICES:
        check.fail("services", f"{len(services)} services, at most {MAX_SERVICES} fit")
    pairs = sum(len({b.name for pool in s.pools for b in pools.get(pool, ())})
                for s in services)
    if pairs > MAX_BACKENDS:
        check.fail("pools", f"{pairs} (service, backend) pairs, at most {MAX_BACKENDS} fit")


def cross_check(config: LbConfig) -> list[str]:
    """Problems of a whole config built in code (management changes), as parse_config finds."""
    check = Checker()
    for i, svc in enumerate(config.services):
        check_service_fits(check, svc, f"services[{i}]", list(config.services[:i]),
                           config.pools, list(config.switches))
    for pool_name, members in config.pools.items():
        for j, be in enumerate(members):
            check_backend_port(check, be, f"pools.{pool_name}[{j}].egress_port",
                               config.switches)
    check_health(check, config.health, config.pools, config.switches)
    check_capacity(check, config.services, config.pools)
    return check.problems


def check_health(check: Checker, health: Mapping[str, HealthPolicy],
                 pools: Mapping[str, tuple[Backend, ...]],
                 switches: list[SwitchConfig] | tuple[SwitchConfig, ...]) -> None:
    """Checked pools exist, and a sorry server's port, like a backend's, is a switch's."""
    for pool, policy in health.items():
        if pool not in pools:
            check.fail(f"health_checks.{pool}", f"unknown pool {pool!r}")
        if policy.sorry_server is not None:
            check_backend_port(check, policy.sorry_server,
                               f"health_checks.{pool}.sorry_server.egress_port", switches)


def check_backend_port(check: Checker, be: Backend, path: str,
                       switches: list[SwitchConfig] | tuple[SwitchConfig, ...]) -> None:
    """A named egress port must exist on every switch (numbers are taken as they are)."""
    if isinstance(be.egress_port, str):
        for sw in switches:
            if be.egress_port not in sw.ports:
                check.fail(path, f"port {be.egress_port!r} is not in switch {sw.name!r} ports")


def _parse_api(check: Checker, raw: Any, path: str = "api") -> ApiConfig:
    if raw is None:
        return ApiConfig()
    data = check.mapping(raw, path, {"unix_socket", "tcp_port", "token"}, set())
    tcp_port = data.get("tcp_port")
    if tcp_port is not None:
        check.value(tcp_port, f"{path}.tcp_port", parse_int(1, 65535))
        token = data.get("token")
        if not isinstance(token, str) or len(token) < 16:
            check.fail(f"{path}.token",
                       "a token of at least 16 characters is required with tcp_port")
        return ApiConfig(None, tcp_port, token if isinstance(token, str) else None)
    sock = data.get("unix_socket", DEFAULT_SOCKET)
    if not isinstance(sock, str) or not sock.startswith("/"):
        check.fail(f"{path}.unix_socket", f"{sock!r} is not an absolute path")
    return ApiConfig(Path(str(sock)), None, None)


MAX_ELECTION_ID = (1 << 64) - 1


def _parse_ha(check: Checker, raw: Any, base_dir: Path) -> HaConfig | None:
    data = check.mapping(raw, "ha", {"election_id", "peers", "cookie_secret_file",
                                     "sync_interval"}, {"election_id"})
    if not data:
        return None
    # finsy bids one lower when an id is taken, so an instance's id must leave room below.
    election_id = check.value(data.get("election_id"), "ha.election_id",
                              parse_int(2, MAX_ELECTION_ID))
    peers: list[ApiConfig] = []
    for i, peer in enumerate(check.seq(data.get("peers"), "ha.peers")):
        if isinstance(peer, dict) and peer:
            peers.append(_parse_api(check, peer, f"ha.peers[{i}]"))
        else:
            check.fail(f"ha.peers[{i}]", "expected a mapping with unix_socket, or tcp_port "
                       "and token")
    secret = data.get("cookie_secret_file")
    if secret is not None and not (isinstance(secret, str) and secret):
        check.fail("ha.cookie_secret_file", f"{secret!r} is not a file path")
    interval = check.value(data.get("sync_interval", 0.2), "ha.sync_interval", parse_seconds)
    if interval is not None and interval < 0.01:
        check.fail("ha.sync_interval", f"{interval} is below 0.01 s")
    if election_id is None or interval is None:
        return None
    return HaConfig(election_id, tuple(peers),
                    base_dir / secret if isinstance(secret, str) and secret else None, interval)


def _parse_switch(check: Checker, raw: Any, path: str) -> SwitchConfig | None:
    data = check.mapping(raw, path, {"name", "address", "device_id", "ports", "router_mac",
                                     "addresses", "routes", "splice_address"},
                         {"name", "address", "router_mac"})
    if not data:
        return None
    name = check.value(data.get("name"), f"{path}.name", parse_name)
    address = check.value(data.get("address"), f"{path}.address", parse_grpc_address)
    device_id = check.value(data.get("device_id", 1), f"{path}.device_id",
                            parse_int(0, 2**64 - 1))
    router_mac = check.value(data.get("router_mac"), f"{path}.router_mac", parse_mac)
    addresses = [check.value(a, f"{path}.addresses[{i}]", parse_ipv4)
                 for i, a in enumerate(check.seq(data.get("addresses"), f"{path}.addresses"))]
    routes: list[Route] = []
    for i, raw_route in enumerate(check.seq(data.get("routes"), f"{path}.routes")):
        rpath = f"{path}.routes[{i}]"
        rdata = check.mapping(raw_route, rpath, {"prefix", "egress_port", "mac"},
                              {"prefix", "egress_port", "mac"})
        prefix = check.value(rdata.get("prefix"), f"{rpath}.prefix", parse_prefix)
        egress = check.value(rdata.get("egress_port"), f"{rpath}.egress_port", parse_port_ref)
        mac = check.value(rdata.get("mac"), f"{rpath}.mac", parse_mac)
        if prefix is not None and egress is not None and mac is not None:
            if any(r.prefix == prefix for r in routes):
                check.fail(f"{rpath}.prefix", f"duplicate route {prefix}")
            routes.append(Route(prefix, egress, mac))
    ports: dict[str, int] = {}
    raw_ports = data.get("ports") or {}
    if not isinstance(raw_ports, dict):
        check.fail(f"{path}.ports", f"expected a mapping of port name to number, got "
                   f"{_kind(raw_ports)}")
        raw_ports = {}
    for port_name, number in raw_ports.items():
        if check.value(number, f"{path}.ports.{port_name}", parse_int(0, 511)) is not None:
            ports[str(port_name)] = number
    for i, route in enumerate(routes):
        if isinstance(route.egress_port, str) and route.egress_port not in ports:
            check.fail(f"{path}.routes[{i}].egress_port",
                       f"port {route.egress_port!r} is not in this switch's ports")
    splice_address = None
    if data.get("splice_address") is not None:
        splice_address = check.value(data["splice_address"], f"{path}.splice_address",
                                     parse_ipv4)
    if name is None or address is None or device_id is None or router_mac is None:
        return None
    return SwitchConfig(name, address, device_id, ports, router_mac,
                        tuple(a for a in addresses if a is not None), tuple(routes),
                        splice_address)


def load_config(path: str | Path) -> LbConfig:
    """Read and validate a YAML config file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError([f"{path}: cannot read: {err.strerror}"]) from err
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError([f"{path}: invalid YAML: {err}"]) from err
    return parse_config(raw, path.parent)


