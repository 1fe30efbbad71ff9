"""The load-balancer P4 program's control-plane contract (docs/dataplane.md), as code.

:func:`desired_entries` turns the controller's desired state into the table entries one
switch must hold; :class:`Entry` is a plain, hashable table entry (ints only) that is
compared with what the switch returns on a Read and converted to finsy entities to write.
Nothing here talks to a switch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from finsy import MACAddress, P4TableAction, P4TableEntry, P4TableMatch

from controller.config import Backend, Service, SwitchConfig
from controller.l7.segments import Endpoint
from controller.l7.seqmap import Direction, Splice, WindowScaling
from controller.l7.splicer import SpliceSpec
from controller.state import Connection, FlowKey, LbState

# Table, action, digest and controller-metadata names (P4Info aliases).
ROUTER_MAC_TABLE = "router_mac_table"
ARP_TABLE = "arp_table"
VIP_TABLE = "vip_table"
SERVICE_TABLE = "service_table"
CONNECTION_TABLE = "connection_table"
MAGLEV_TABLE = "maglev_table"
BACKEND_TABLE = "backend_table"
NAT_REVERSE_TABLE = "nat_reverse_table"
ROUTE_TABLE = "ipv4_lpm_table"
NEXTHOP_TABLE = "nexthop_table"
SERVICE_COUNTER = "service_counter"
BACKEND_COUNTER = "backend_counter"
PACKET_IN_METER = "packet_in_meter"
NEW_CONNECTION_DIGEST = "new_connection_digest_t"
SPLICE_TO_SERVER_TABLE = "splice_to_server_table"
SPLICE_TO_CLIENT_TABLE = "splice_to_client_table"
SPLICE_BACKEND_TABLE = "splice_backend_table"
SPLICE_TEARDOWN_DIGEST = "splice_teardown_digest_t"
PACKET_IN_COUNTER = "packet_in_counter"

FORWARDING_MODES = {"nat": 1, "dr": 2, "tun": 3}
SCHED_MAGLEV = 1
SCHED_CONTROLLER = 2
SCHED_SPLICE = 3
PACKET_IN_REASON_NEW_CONNECTION = 1
PACKET_IN_REASON_SPLICE_CLIENT = 2
PACKET_IN_REASON_SPLICE_SERVER = 3
SPLICE_DIRECTION_TO_SERVER = 1
SPLICE_DIRECTION_TO_CLIENT = 2
PACKET_OUT_MODE_PIPELINE = 1

# The tables lbd owns (it reconciles them and leaves any other table alone), in the
# order writes go so that nothing points at an entry not yet installed (deletes go in
# the reverse order).
WRITE_ORDER = (NEXTHOP_TABLE, ROUTE_TABLE, BACKEND_TABLE, NAT_REVERSE_TABLE, MAGLEV_TABLE,
               CONNECTION_TABLE, SPLICE_BACKEND_TABLE, SERVICE_TABLE, VIP_TABLE, ARP_TABLE,
               ROUTER_MAC_TABLE)
# Per-connection splice entries: written by the splicer, reconciled separately.
SPLICE_TABLES = (SPLICE_TO_SERVER_TABLE, SPLICE_TO_CLIENT_TABLE)

MatchValue = int | tuple[int, int]  # exact value, or LPM (value, prefix length)


@dataclass(frozen=True)
class Entry:
    """A table entry with integer values, comparable with what a switch reports."""

    table: str
    match: tuple[tuple[str, MatchValue], ...]
    action: str
    params: tuple[tuple[str, int], ...] = ()
    idle_timeout_ns: int = 0

    @property
    def key(self) -> tuple[str, tuple[tuple[str, MatchValue], ...]]:
        return self.table, self.match

    def to_p4(self) -> P4TableEntry:
        return P4TableEntry(self.table, match=P4TableMatch(dict(self.match)),
                            action=P4TableAction(self.action, **dict(self.params)),
                            idle_timeout_ns=self.idle_timeout_ns)

    @classmethod
    def from_p4(cls, entry: P4TableEntry) -> Entry:
        """Normalise an entry read from a switch (addresses become ints, fields sorted)."""
        match = tuple(sorted((name, _as_match_value(value))
                             for name, value in (entry.match or {}).items()))
        action = entry.action
        if not isinstance(action, P4TableAction):
            raise ValueError(f"{entry.table_id}: unexpected indirect action {action!r}")
        params = tuple(sorted((name, _as_int(value)) for name, value in action.args.items()))
        return cls(entry.table_id, match, action.name, params, entry.idle_timeout_ns)


def entry(table: str, match: dict[str, MatchValue], action: str, idle_timeout_ns: int = 0,
          **params: int) -> Entry:
    return Entry(table, tuple(sorted(match.items())), action, tuple(sorted(params.items())),
                 idle_timeout_ns)


def _as_int(value: Any) -> int:
    if isinstance(value, IPv4Address | MACAddress):
        return int(value)
    if isinstance(value, int):
        return value
    raise ValueError(f"unexpected value {value!r}")


def _as_match_value(value: Any) -> MatchValue:
    if isinstance(value, IPv4Network):
        return int(value.network_address), value.prefixlen
    if isinstance(value, tuple):
        return _as_int(value[0]), int(value[1])
    return _as_int(value)


def mac_int(mac: str) -> int:
    return int(mac.replace(":", ""), 16)


def flow_match(flow: FlowKey) -> dict[str, MatchValue]:
    return {"client_addr": int(flow.client), "vip": int(flow.vip), "protocol": flow.protocol,
            "client_port": flow.client_port, "vip_port": flow.vport}


def flow_of(entry: Entry) -> FlowKey:
    """The flow of a connection_table entry."""
    fields = dict(entry.match)
    values = [fields[k] for k in ("client_addr", "client_port", "vip", "vip_port", "protocol")]
    if not all(isinstance(v, int) for v in values):
        raise ValueError(f"malformed connection entry {entry}")
    client, client_port, vip, vport, protocol = (int(v) for v in values)  # type: ignore[arg-type]
    return FlowKey(IPv4Address(client), client_port, IPv4Address(vip), vport, protocol)


def connection_entry(state: LbState, conn: Connection) -> Entry:
    service = state.service(conn.service)
    return entry(CONNECTION_TABLE, flow_match(conn.flow), "set_connection_backend",
                 idle_timeout_ns=int(state.config.connection_idle_timeout_s * 1e9),
                 backend_id=state.backend_id(service, conn.backend))


def desired_entries(state: LbState, switch: SwitchConfig) -> dict[tuple, Entry]:
    """Every entry ``switch`` must hold except connection_table (handled incrementally)."""
    out: list[Entry] = [entry(ROUTER_MAC_TABLE, {"dst_mac": mac_int(switch.router_mac)},
                              "NoAction")]
    services = state.services_on(switch.name)
    answered = {int(a) for a in switch.addresses} | {int(s.vip) for s in services}
    if switch.splice_address is not None and any(s.content for s in services):
        answered.add(int(switch.splice_address))  # backends answer spliced connections
    out += [entry(ARP_TABLE, {"target_addr": a}, "reply", mac=mac_int(switch.router_mac))
            for a in sorted(answered)]
    out += [entry(VIP_TABLE, {"vip": v}, "NoAction")
            for v in sorted({int(s.vip) for s in services})]
    for service in services:
        out += _service_entries(state, service)
    out += _routing_entries(state, switch, services)
    return {e.key: e for e in out}


def desired_meters(state: LbState, switch: SwitchConfig) -> dict[int, tuple[int, int]]:
    """packet_in_meter index (service id) -> (packets/s, burst) of rate-limited services.

    CIR and PIR are both the limit (BMv2 trTCM): anything above it is not green, so it
    is dropped instead of reaching the controller.  Other indices stay unconfigured
    (always green)."""
    return {state.service_id(s): (s.new_connection_limit.rate, s.new_connection_limit.burst)
            for s in state.services_on(switch.name)
            if s.new_connection_limit is not None
            and (s.scheduler != "mh" or s.content is not None)}


def _service_entries(state: LbState, service: Service) -> list[Entry]:
    service_id = state.service_id(service)
    if service.content is not None:
        return _content_service_entries(state, service, service_id)
    # With no server up, Maglev would drop new connections: lbd takes them and refuses
    # them (a RST) instead of leaving the clients to time out.
    scheduler = SCHED_MAGLEV if service.scheduler == "mh" and state.can_serve(service) \
        else SCHED_CONTROLLER
    out = [entry(SERVICE_TABLE, {"vip": int(service.vip), "protocol": service.protocol_number,
                                 "port": service.port}, "set_service", service_id=service_id,
                 forwarding_mode=FORWARDING_MODES[service.mode], scheduler=scheduler)]
    for backend in state.backends_in_use(service):
        backend_id = state.backend_id(service, backend.name)
        out.append(entry(BACKEND_TABLE, {"backend_id": backend_id}, "set_backend",
                         addr=int(backend.address), port=backend.port))
        if service.mode == "nat":
            out.append(entry(NAT_REVERSE_TABLE, {"backend_addr": int(backend.address),
                                                 "protocol": service.protocol_number,
                                                 "backend_port": backend.port},
                             "rewrite_source_to_vip", vip=int(service.vip),
                             vip_port=service.port, service_id=service_id,
                             backend_id=backend_id))
    if service.scheduler == "mh":
        for bucket, name in enumerate(state.maglev(service)):
            out.append(entry(MAGLEV_TABLE, {"service_id": service_id, "bucket": bucket},
                             "set_maglev_backend",
                             backend_id=state.backend_id(service, name)))
    return out


def _routing_entries(state: LbState, switch: SwitchConfig,
                     services: Iterable[Service]) -> list[Entry]:
    """Routes and next hops: configured routes plus a host route per attached backend."""
    routes: dict[tuple[int, int], tuple[int, str]] = {}
    for route in switch.routes:
        key = (int(route.prefix.network_address), route.prefix.prefixlen)
        routes[key] = (switch.port_number(route.egress_port), route.mac)
    attached: list[Backend] = [b for s in services for b in state.backends_in_use(s)
                               if b.mac is not None and b.egress_port is not None]
    for backend in attached:
        assert backend.mac is not None and backend.egress_port is not None
        routes.setdefault((int(backend.address), 32),
                          (switch.port_number(backend.egress_port), backend.mac))
    nexthops = {hop: index for index, hop in enumerate(sorted(set(routes.values())), start=1)}
    out = [entry(NEXTHOP_TABLE, {"nexthop_id": index}, "forward", port=port,
                 dst_mac=mac_int(mac), src_mac=mac_int(switch.router_mac))
           for (port, mac), index in nexthops.items()]
    out += [entry(ROUTE_TABLE, {"dst_addr": prefix}, "set_nexthop", nexthop_id=nexthops[hop])
            for prefix, hop in sorted(routes.items())]
    return out


def _content_service_entries(state: LbState, service: Service, service_id: int
                             ) -> list[Entry]:
    """An l7 service: spliced by the controller; its backends' segments are the splice
    stage's (their handshakes reach the splicer)."""
    out = [entry(SERVICE_TABLE, {"vip": int(service.vip), "protocol": service.protocol_number,
                                 "port": service.port}, "set_service", service_id=service_id,
                 forwarding_mode=FORWARDING_MODES["nat"], scheduler=SCHED_SPLICE)]
    for backend in state.backends_in_use(service):
        out.append(entry(SPLICE_BACKEND_TABLE, {"backend_addr": int(backend.address),
                                                "backend_port": backend.port},
                         "set_splice_backend", service_id=service_id))
    return out


def splice_entries(spec: SpliceSpec, service_id: int, backend_id: int,
                   idle_timeout_ns: int) -> tuple[Entry, Entry]:
    """The two entries of one spliced connection (to-server, to-client), with the deltas
    as docs/dataplane.md installs them (every delta added mod 2^32; basic profile: no
    timestamp deltas, no window shifts)."""
    splice = spec.splice
    tsval = 0 if splice.ts_offset is None else splice.ts_offset
    common = {"service_id": service_id, "backend_id": backend_id}
    to_server = entry(
        SPLICE_TO_SERVER_TABLE,
        {"client_addr": int(spec.client.address), "client_port": spec.client.port,
         "vip": int(spec.vip.address), "vip_port": spec.vip.port},
        "splice_connection", idle_timeout_ns,
        src_addr=int(spec.local.address), src_port=spec.local.port,
        dst_addr=int(spec.backend.address), dst_port=spec.backend.port,
        seq_delta=splice.to_server_seq, ack_delta=splice.to_server_ack,
        tsval_delta=0, tsecr_delta=(-tsval) % 2**32,
        **_shifts(splice.windows.shift(Direction.TO_SERVER)), **common)
    to_client = entry(
        SPLICE_TO_CLIENT_TABLE,
        {"backend_addr": int(spec.backend.address), "backend_port": spec.backend.port,
         "splice_addr": int(spec.local.address), "splice_port": spec.local.port},
        "splice_connection", idle_timeout_ns,
        src_addr=int(spec.vip.address), src_port=spec.vip.port,
        dst_addr=int(spec.client.address), dst_port=spec.client.port,
        seq_delta=splice.to_client_seq, ack_delta=splice.to_client_ack,
        tsval_delta=tsval, tsecr_delta=0,
        **_shifts(splice.windows.shift(Direction.TO_CLIENT)), **common)
    return to_server, to_client


def _shifts(shift: int) -> dict[str, int]:
    return {"window_shift_left": max(shift, 0), "window_shift_right": max(-shift, 0)}


def splice_specs(to_server: Iterable[Entry], to_client: Iterable[Entry]
                 ) -> tuple[list[SpliceSpec], list[Entry]]:
    """Splices read back from a switch: pairs of entries that describe one connection, and
    the entries that belong to no complete pair (to delete)."""
    reverse = {}
    for found in to_client:
        match = dict(found.match)
        reverse[(match["backend_addr"], match["backend_port"], match["splice_addr"],
                 match["splice_port"])] = found
    specs: list[SpliceSpec] = []
    orphans: list[Entry] = []
    for found in to_server:
        match, params = dict(found.match), dict(found.params)
        partner = reverse.pop((params["dst_addr"], params["dst_port"], params["src_addr"],
                               params["src_port"]), None)
        if partner is None:
            orphans.append(found)
            continue
        back = dict(partner.params)
        # The four scale options are not in the entries, only the shifts they give: put
        # them back as a scaling with the same shifts.
        windows = WindowScaling(client=params["window_shift_left"],
                                to_server=params["window_shift_right"],
                                server=back["window_shift_left"],
                                to_client=back["window_shift_right"])
        splice = Splice(to_server_seq=params["seq_delta"], to_server_ack=params["ack_delta"],
                        to_client_seq=back["seq_delta"], to_client_ack=back["ack_delta"],
                        ts_offset=back["tsval_delta"] or None, windows=windows)
        specs.append(SpliceSpec(
            client=_endpoint(match["client_addr"], match["client_port"]),
            vip=_endpoint(match["vip"], match["vip_port"]),
            local=_endpoint(params["src_addr"], params["src_port"]),
            backend=_endpoint(params["dst_addr"], params["dst_port"]), splice=splice))
    return specs, orphans + list(reverse.values())


def _endpoint(address: MatchValue, port: MatchValue) -> Endpoint:
    if not isinstance(address, int) or not isinstance(port, int):
        raise ValueError(f"malformed splice entry field {address!r}:{port!r}")
    return Endpoint(IPv4Address(address), port)
