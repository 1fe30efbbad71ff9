"""The TCP splicer: the controller side of a content-aware (L7) service (docs/l7.md).

It answers a client's SYN with a SYN cookie (no state), reads the HTTP request head that
follows, lets the service's content rules and the pool's scheduler choose a backend,
opens the connection to that backend with the client's initial sequence number, asks for
the splice entries to be installed and hands the buffered request to the backend.  From
then on the switch forwards the connection; the splicer only hears of it again when it
closes (FIN, RST) or idles out, and then asks for the entries to be removed.

The class is sans-I/O: every input (a frame from the switch, a close notification, a clock
tick) returns the list of :data:`Effect` to carry out **in order** (an
:class:`InstallSplice` must be written before the :class:`Transmit` that follows it), so
the state machine is tested without a switch and the agent owns all P4Runtime traffic.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from http import HTTPStatus
from ipaddress import IPv4Address
from typing import Any

from controller.config import Backend, TlsConfig
from controller.l7.http_request import HttpRequestError, RequestHead, RequestHeadParser
from controller.l7.locality import ContentScheduler, LardThresholds, make_content_scheduler
from controller.l7.relay import mac_bytes, relay_frame
from controller.l7.rules import ContentRules, RuleMatch
from controller.l7.segments import (
    ACK,
    FIN,
    PSH,
    RST,
    SYN,
    Endpoint,
    Segment,
    build_segment,
    parse_segment,
    reset_reply,
    syn_options,
    timestamp_option,
)
from controller.l7.seqmap import (
    Direction,
    Splice,
    WindowScaling,
    advertised_mss,
    clamp_mss,
    seq_add,
    seq_delta,
    timestamp_offset,
)
from controller.l7.syncookies import (
    Flow,
    SynCookies,
    TimestampOptions,
    decode_timestamp,
    encode_timestamp,
)
from controller.l7.tls_affinity import AffinityTable
from controller.l7.tls_client_hello import (
    TLS13,
    ClientHello,
    ClientHelloParser,
    ServerHello,
    ServerHelloParser,
    TlsHelloError,
)
from controller.schedulers import Candidate

ADVERTISED_WINDOW = 0xFFFF  # the window field of every segment the splicer sends
ADVERTISED_WSCALE = 7  # full profile: the shift offered to clients (Linux's usual choice)
FULL_PROFILE = "full"
LOCAL_PORTS = range(1024, 65536)  # the splice address's ports towards backends


@dataclass(frozen=True)
class ContentService:
    """What the splicer needs of one L7 service."""

    name: str
    vip: Endpoint
    rules: ContentRules
    pools: Mapping[str, tuple[Backend, ...]]
    scheduler: str = "wlc"
    lard: LardThresholds = LardThresholds()
    request_timeout_s: float = 10.0
    max_request_head: int = 8192
    splice_profile: str = "full"  # timestamps, SACK, window scaling when offered; "basic": none
    transparent: bool = False  # backends see the client's address, not the splice address
    relay: bool = False  # no splice entries: the splicer relays every segment (relay.py)
    tls: TlsConfig | None = None  # read the ClientHello instead of an HTTP request head


@dataclass(frozen=True)
class SplicerLimits:
    """Timers and bounds; the defaults follow RFC 6298 (1 s initial RTO, doubling)."""

    max_pending: int = 4096  # connections past the cookie but not spliced yet
    syn_timeout_s: float = 1.0
    syn_tries: int = 4  # SYNs sent to a backend before the client gets a 503
    close_linger_s: float = 2.0  # entries stay this long after both FINs (last ACKs)
    error_linger_s: float = 2.0  # an error response waits this long for the client's FIN
    path_mtu: int = 1500
    maglev_size: int = 251
    relay_idle_s: float = 300.0  # a relayed connection with no segment this long is dropped
    server_hello_wait_s: float = 2.0  # TLS affinity: splice anyway if no ServerHello by then


@dataclass(frozen=True)
class SpliceSpec:
    """Everything the data plane needs for one spliced connection.

    Client -> server: ``client -> vip`` becomes ``local -> backend``, seq unchanged, ack
    ``+ splice.to_server_ack``.  Server -> client: ``backend -> local`` becomes
    ``vip -> client``, seq ``+ splice.to_client_seq``, ack unchanged.  ``local`` is the
    switch's splice address and a port the splicer chose, or the client itself when the
    service is transparent.
    """

    client: Endpoint
    vip: Endpoint
    local: Endpoint
    backend: Endpoint
    splice: Splice

    def installed_form(self) -> tuple:
        """What the two entries hold: equal for a spec and the one read back from them
        (the entries keep window shifts, not the four scale options)."""
        splice = self.splice
        return (self.client, self.vip, self.local, self.backend,
                splice.deltas(Direction.TO_SERVER), splice.deltas(Direction.TO_CLIENT),
                splice.ts_offset or 0, splice.windows.shift(Direction.TO_SERVER),
                splice.windows.shift(Direction.TO_CLIENT))


@dataclass(frozen=True)
class Transmit:
    """Send ``frame`` into the switch pipeline (packet-out, as if it arrived on ``port``)."""

    frame: bytes
    port: int


@dataclass(frozen=True)
class InstallSplice:
    spec: SpliceSpec


@dataclass(frozen=True)
class RemoveSplice:
    spec: SpliceSpec


@dataclass(frozen=True)
class BackendFailed:
    """A passive health signal: the backend refused or never answered a connection."""

    pool: str
    backend: str
    reason: str


Effect = Transmit | InstallSplice | RemoveSplice | BackendFailed


class Phase(Enum):
    READING = "reading request"  # cookie checked, head not complete
    CONNECTING = "connecting"  # SYN sent to the backend
    SPLICED = "spliced"  # entries installed; the switch forwards
    CLOSING = "closing"  # an error response was sent to the client
    LINGER = "linger"  # both sides closed; entries go when the linger ends


@dataclass(eq=False)
class SplicedConnection:
    """Per-connection state, created only once the client's ACK proved the cookie."""

    service: ContentService
    client: Endpoint
    port: int  # switch port the client's packets arrive on
    client_isn: int
    cookie_isn: int
    client_mss: int
    deadline: float
    parser: RequestHeadParser
    phase: Phase = Phase.READING
    next_seq: int = 0  # next request byte expected from the client
    client_window: int = ADVERTISED_WINDOW
    request: bytearray = field(default_factory=bytearray)
    head: RequestHead | None = None
    pool: str | None = None
    backend: Backend | None = None
    local: Endpoint | None = None
    syn_sent: int = 0
    server_isn: int | None = None
    server_mss: int = 536
    spec: SpliceSpec | None = None
    client_fin: bool = False
    server_fin: bool = False
    our_fin_seq: int = 0  # CLOSING: sequence number after our FIN
    since: float = 0.0  # when the cookie was accepted (or the splice adopted)
    # full profile: what the client's SYN offered (decoded from the cookie's timestamp)
    timestamps: bool = False
    client_wscale: int | None = None
    sack_ok: bool = False
    client_tsval: int = 0  # the latest TSval of the client's in-order segments
    our_tsval: int = 0  # the TSval the splicer sent the client (the SYN-ACK's)
    installed: bool = False  # the splice entries are (being) written
    # TLS services: the client's hello; with affinity, the backend's ServerHello is read
    # (its segments relayed) before the entries are installed
    hello_parser: ClientHelloParser | None = None
    hello: ClientHello | None = None
    server_hello: ServerHelloParser | None = None
    server_next: int = 0  # next server byte expected while reading the ServerHello

    @property
    def vip(self) -> Endpoint:
        return self.service.vip

    @property
    def backend_endpoint(self) -> Endpoint:
        assert self.backend is not None
        return Endpoint(self.backend.address, self.backend.port)


class Splicer:
    """The splicer of one switch (frames come from and go to that switch)."""

    def __init__(self, *, router_mac: str, splice_address: IPv4Address | None,
                 cookies: SynCookies, limits: SplicerLimits = SplicerLimits(),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.router_mac = router_mac
        self.splice_address = splice_address  # None: every service is transparent
        self.cookies = cookies
        self.limits = limits
        self.clock = clock
        self.path_mss = advertised_mss(limits.path_mtu)
        self.services: dict[Endpoint, ContentService] = {}
        self.by_client: dict[tuple[Endpoint, Endpoint], SplicedConnection] = {}
        self.by_server: dict[tuple[Endpoint, Endpoint], SplicedConnection] = {}
        self._schedulers: dict[tuple[str, str], ContentScheduler] = {}
        self._active: dict[tuple[str, str, str], int] = {}  # (service, pool, backend)
        self._ports_in_use: set[int] = set()
        # A random start: a controller that takes over (or restarts) must not reuse the
        # ports its predecessor used last, which the backends still hold in TIME_WAIT.
        self._next_port = secrets.choice(LOCAL_PORTS)
        self._affinity: dict[str, AffinityTable] = {}  # TLS services with affinity
        self.counters: dict[str, int] = {}  # event -> count (lbd's metrics, docs/observability.md)
        self.opened: dict[tuple[str, str], int] = {}  # (service, backend) -> connections sent

    # ----- configuration and queries ----------------------------------------------------
    def set_services(self, services: Iterable[ContentService]) -> None:
        """Replace the L7 services; connections already under way keep theirs."""
        self.services = {s.vip: s for s in services}
        live = {(s.name, pool) for s in self.services.values() for pool in s.pools}
        for key in [k for k in self._schedulers if k not in live]:
            del self._schedulers[key]
        tables: dict[str, AffinityTable] = {}
        for service in self.services.values():
            tls = service.tls
            if tls is None or tls.affinity == "off":
                continue
            table = self._affinity.get(service.name)
            if table is None or (table.lifetime_s, table.size) != \
                    (tls.affinity_timeout_s, tls.affinity_size):
                table = AffinityTable(lifetime_s=tls.affinity_timeout_s,
                                      size=tls.affinity_size, clock=self.clock)
            members = {b.name for pool in service.pools.values() for b in pool}
            for gone in table.backends() - members:
                table.forget_backend(gone)
            tables[service.name] = table
        self._affinity = tables

    def affinity(self, service: str) -> AffinityTable | None:
        """The session-affinity table of a TLS service (None: not TLS or affinity off)."""
        return self._affinity.get(service)

    @property
    def pending(self) -> int:
        return sum(1 for c in self.by_client.values()
                   if c.phase in (Phase.READING, Phase.CONNECTING))

    def spliced(self) -> list[SplicedConnection]:
        return [c for c in self.by_client.values() if c.spec is not None]

    def active_on(self, service: str, backend: str) -> int:
        """Connections of a backend of a service over all its pools."""
        return sum(count for (name, _, member), count in self._active.items()
                   if name == service and member == backend)

    def active(self, service: str, pool: str, backend: str) -> int:
        """Connections of a backend (connecting or spliced): the schedulers' load."""
        return self._active.get((service, pool, backend), 0)

    # ----- inputs -----------------------------------------------------------------------
    def on_frame(self, frame: bytes, port: int) -> list[Effect]:
        """A frame the switch sent to the controller (arrived on switch port ``port``)."""
        segment = parse_segment(frame)
        if segment is None:
            self._count("malformed")
            return []
        src, dst = Endpoint(segment.src, segment.sport), Endpoint(segment.dst, segment.dport)
        conn = self.by_client.get((src, dst))
        if conn is not None:
            return self._from_client(conn, segment, frame)
        conn = self.by_server.get((src, dst))
        if conn is not None:
            return self._from_server(conn, segment, frame)
        service = self.services.get(dst)
        if service is not None:
            return self._new_client_segment(service, segment, src, port)
        if dst.address == self.splice_address and not segment.flags & RST:
            return [self._reset_reply(segment, port)]  # a backend talking to a closed port
        self._count("unrelated")
        return []

    def on_teardown(self, src: Endpoint, dst: Endpoint, *, to_server: bool,
                    flags: int) -> list[Effect]:
        """The data plane forwarded a FIN or RST of a spliced connection (its teardown
        digest: the tuple as received, ``to_server`` for the client's direction)."""
        conn = self._spliced(src, dst, to_server)
        if conn is None or not flags & (FIN | RST):
            return []
        return self._closed(conn, reset=bool(flags & RST), from_client=to_server)

    def on_idle(self, src: Endpoint, dst: Endpoint, *, to_server: bool) -> list[Effect]:
        """A splice entry (keyed by ``src -> dst`` of its direction) idled out."""
        conn = self._spliced(src, dst, to_server)
        if conn is None:
            return []
        self._count("idle_timeouts")
        return self._finish(conn)

    def _spliced(self, src: Endpoint, dst: Endpoint, to_server: bool
                 ) -> SplicedConnection | None:
        conn = (self.by_client if to_server else self.by_server).get((src, dst))
        return conn if conn is not None and conn.spec is not None else None

    def on_install_failed(self, spec: SpliceSpec) -> list[Effect]:
        """The switch refused the splice entries: reset both sides, forget the connection."""
        conn = self.by_client.get((spec.client, spec.vip))
        if conn is None or conn.spec != spec:
            return []
        effects: list[Effect] = [RemoveSplice(spec), self._reset_server(conn),
                                 self._reset_client(conn)]
        self._forget(conn)
        return effects

    def tick(self) -> list[Effect]:
        """Timers: request timeout, SYN retransmission, error and close lingers."""
        now = self.clock()
        effects: list[Effect] = []
        for conn in [c for c in self.by_client.values() if c.deadline <= now]:
            if conn.phase is Phase.READING:
                self._count("request_timeouts")
                effects.append(self._reset_client(conn))
                self._forget(conn)
            elif conn.phase is Phase.CONNECTING:
                if conn.syn_sent >= self.limits.syn_tries:
                    self._count("backend_timeouts")
                    effects += self._backend_failed(conn, "no answer to the splicer's SYN")
                    effects += self._error(conn, HTTPStatus.SERVICE_UNAVAILABLE)
                else:
                    effects.append(self._send_syn(conn))
            elif conn.phase is Phase.CLOSING:
                effects.append(self._reset_client(conn))
                self._forget(conn)
            elif conn.phase is Phase.SPLICED and conn.server_hello is not None:
                self._count("server_hello_timeouts")  # splice without learning
                effects += self._install(conn)
            elif conn.phase in (Phase.LINGER, Phase.SPLICED):  # SPLICED: an idle relay
                effects += self._finish(conn)
        return effects

    def adopt(self, found: Iterable[SpliceSpec]) -> list[Effect]:
        """Reconcile with the splices a switch holds after a (re)connection.

        Splices the splicer knows stay; unknown ones of a current service whose backend is
        still in one of its pools are adopted (a controller restart must not cut live
        connections); the rest are removed.  Splices the switch lost are forgotten (those
        connections cannot continue)."""
        effects: list[Effect] = []
        found = list(found)
        present = {(s.client, s.vip) for s in found}
        for conn in [c for c in self.by_client.values()
                     if c.spec is not None and c.installed
                     and (c.client, c.vip) not in present]:
            self._forget(conn)
        for spec in found:
            known = self.by_client.get((spec.client, spec.vip))
            if known is not None:
                if known.spec is None:  # being set up again: the switch's entries are stale
                    effects.append(RemoveSplice(spec))
                elif known.spec.installed_form() != spec.installed_form():
                    effects += [RemoveSplice(spec), InstallSplice(known.spec)]  # repair
                continue
            adopted = self._adopted(spec)
            if adopted is None:
                effects.append(RemoveSplice(spec))
        self._resume_ports()
        return effects

    def _resume_ports(self) -> None:
        """Take ports on where the splices' owner left off (a takeover or restart): just
        after the used port that the widest free stretch of ports follows, so
        the ports it freed last, which backends still hold in TIME_WAIT, come last."""
        used = sorted(self._ports_in_use)
        if not used:
            return
        gaps = [((used[(i + 1) % len(used)] - port) % len(LOCAL_PORTS), port)
                for i, port in enumerate(used)]
        _, before_gap = max(gaps)
        following = before_gap + 1
        self._next_port = following if following < LOCAL_PORTS.stop else LOCAL_PORTS.start

    # ----- client side ------------------------------------------------------------------
    def _new_client_segment(self, service: ContentService, segment: Segment,
                            client: Endpoint, port: int) -> list[Effect]:
        flow = Flow(client.address, client.port, service.vip.address, service.vip.port)
        if segment.flags & RST:
            return []
        if segment.flags & (SYN | ACK) == SYN:
            cookie, _ = self.cookies.make(flow, segment.seq, segment.mss or 536)
            self._count("syn_cookies")
            return [self._to_client(service.vip, client, port, seq=cookie,
                                    ack=seq_add(segment.seq, 1), flags=SYN | ACK,
                                    options=self._synack_options(service, segment))]
        if not segment.flags & ACK or segment.flags & SYN:
            return []
        client_mss = self.cookies.check(flow, segment.seq, segment.ack)
        if client_mss is None:
            self._count("bad_cookies")
            return [self._reset_reply(segment, port)]
        self._count("cookies_validated")
        if self.pending >= self.limits.max_pending:
            self._count("pending_limit")
            return [self._reset_reply(segment, port)]
        conn = SplicedConnection(
            service=service, client=client, port=port, client_isn=seq_add(segment.seq, -1),
            cookie_isn=seq_add(segment.ack, -1), client_mss=client_mss,
            deadline=self.clock() + service.request_timeout_s,
            parser=RequestHeadParser(service.max_request_head), next_seq=segment.seq,
            since=self.clock(),
            hello_parser=None if service.tls is None
            else ClientHelloParser(service.tls.max_client_hello))
        if service.splice_profile == FULL_PROFILE and segment.timestamp is not None:
            # The client offered timestamps (else our SYN-ACK had none and it sends none);
            # its echo of our TSval carries the rest of what its SYN offered.
            offered = decode_timestamp(segment.timestamp[1])
            conn.timestamps, conn.client_wscale, conn.sack_ok = True, offered.wscale, \
                offered.sack_ok
            conn.client_tsval, conn.our_tsval = segment.timestamp
        self.by_client[(client, service.vip)] = conn
        return self._from_client(conn, segment)

    def _from_client(self, conn: SplicedConnection, segment: Segment,
                     frame: bytes = b"") -> list[Effect]:
        if segment.flags & RST and self._relaying(conn):
            return self._relay(conn, frame, Direction.TO_SERVER, segment)
        if segment.flags & RST:
            return self._client_reset(conn)
        if conn.phase is Phase.READING:
            return self._read_request(conn, segment)
        if conn.phase is Phase.CONNECTING:
            if self._take_new_bytes(conn, segment) is None and segment.payload:
                return [self._send_syn(conn)]  # a retransmission: our SYN may be lost
            return []
        if conn.phase is Phase.CLOSING:
            if conn.client_fin and segment.flags & ACK and segment.ack == conn.our_fin_seq:
                self._forget(conn)  # our FIN is acknowledged and theirs was: closed
                return []
            if segment.flags & FIN:
                effects: list[Effect] = [self._to_client(conn.vip, conn.client, conn.port,
                                           seq=conn.our_fin_seq,
                                           ack=seq_add(segment.seq, segment.sequence_length),
                                           flags=ACK)]
                self._forget(conn)
                return effects
            return []
        if self._relaying(conn):
            return self._relay(conn, frame, Direction.TO_SERVER, segment)
        if segment.flags & FIN and conn.spec is not None:
            return self._closed(conn, reset=False, from_client=True)
        return []

    def _read_request(self, conn: SplicedConnection, segment: Segment) -> list[Effect]:
        if segment.flags & SYN:
            return []  # not from this connection's client: its SYN was answered already
        fresh = self._take_new_bytes(conn, segment)
        if conn.hello_parser is not None:
            return self._read_hello(conn, conn.hello_parser, segment, fresh)
        if fresh:
            try:
                conn.head = conn.parser.feed(fresh)
            except HttpRequestError as err:
                self._count(f"http_{err.status}")
                return self._error(conn, HTTPStatus(err.status))
            if conn.head is not None:
                self._count("requests_parsed")
        if conn.head is None:
            if segment.flags & FIN and seq_add(segment.seq, len(segment.payload)) == \
                    conn.next_seq:
                conn.client_fin = True
                self._count("http_400")
                return self._error(conn, HTTPStatus.BAD_REQUEST)  # closed before the head
            return []
        return self._choose_and_connect(conn, conn.head)

    def _read_hello(self, conn: SplicedConnection, parser: ClientHelloParser,
                    segment: Segment, fresh: bytes | None) -> list[Effect]:
        """A TLS service: the ClientHello chooses the pool (and, resuming, the server)."""
        if fresh:
            try:
                conn.hello = parser.feed(fresh)
            except TlsHelloError:
                self._count("bad_client_hello")
                tls = conn.service.tls
                default = conn.service.rules.default()
                if tls is not None and tls.bad_hello == "default" and default is not None:
                    return self._connect(conn, default, "")  # the server sends the alert
                return self._error(conn, HTTPStatus.BAD_REQUEST)
        if conn.hello is None:
            if segment.flags & FIN and seq_add(segment.seq, len(segment.payload)) == \
                    conn.next_seq:
                self._count("bad_client_hello")
                return self._error(conn, HTTPStatus.BAD_REQUEST)  # closed before the hello
            return []
        self._count("client_hellos")
        match = conn.service.rules.select_hello(conn.hello)
        if match is None:
            self._count("no_pool")
            return self._error(conn, HTTPStatus.SERVICE_UNAVAILABLE)
        return self._connect(conn, match, conn.hello.server_name or "")

    def _take_new_bytes(self, conn: SplicedConnection, segment: Segment) -> bytes | None:
        """Append the segment's bytes not received yet; None if it brings nothing new
        (a retransmission, or out of order: the client will send it again)."""
        conn.client_window = segment.window
        offset = seq_delta(conn.next_seq, segment.seq)
        if not segment.payload or offset >= len(segment.payload):
            return None
        fresh = segment.payload[offset:]
        if conn.timestamps and segment.timestamp is not None:
            conn.client_tsval = segment.timestamp[0]
        room = conn.service.max_request_head + ADVERTISED_WINDOW - len(conn.request)
        fresh = fresh[:max(room, 0)]
        conn.request += fresh
        conn.next_seq = seq_add(conn.next_seq, len(fresh))
        return fresh

    def _choose_and_connect(self, conn: SplicedConnection, head: RequestHead) -> list[Effect]:
        match = conn.service.rules.select(head)
        if match is None:
            self._count("no_pool")
            return self._error(conn, HTTPStatus.SERVICE_UNAVAILABLE)
        return self._connect(conn, match, head.url)

    def _connect(self, conn: SplicedConnection, match: RuleMatch, key: str) -> list[Effect]:
        """Pool ``match.pool``: a server (session affinity first, then the scheduler with
        ``key`` as its locality key) and the SYN to it."""
        service = conn.service
        if match.pool not in service.pools:
            self._count("no_pool")
            return self._error(conn, HTTPStatus.SERVICE_UNAVAILABLE)
        pool = service.pools[match.pool]
        scheduler = self._schedulers.get((service.name, match.pool))
        if scheduler is None:
            scheduler = make_content_scheduler(service.scheduler, self.limits.maglev_size,
                                               lard_thresholds=service.lard)
            self._schedulers[(service.name, match.pool)] = scheduler
        candidates = [Candidate(b.name, b.weight, self.active(service.name, match.pool,
                                                              b.name)) for b in pool]
        chosen = self._affine(conn, candidates)
        if chosen is None:
            chosen = scheduler.pick(candidates, key, conn.client.address)
        backend = next((b for b in pool if b.name == chosen), None)
        local = self._local_endpoint(conn, backend)
        if backend is None or local is None:
            self._count("no_backend")
            return self._error(conn, HTTPStatus.SERVICE_UNAVAILABLE)
        conn.pool, conn.backend, conn.local, conn.phase = match.pool, backend, local, \
            Phase.CONNECTING
        self.by_server[(conn.backend_endpoint, local)] = conn
        load = (service.name, match.pool, backend.name)
        self._active[load] = self._active.get(load, 0) + 1
        opened = (service.name, backend.name)
        self.opened[opened] = self.opened.get(opened, 0) + 1
        return [self._send_syn(conn)]

    def _affine(self, conn: SplicedConnection, candidates: list[Candidate]) -> str | None:
        """The server holding the session a TLS client asks to resume, if it may serve:
        in the pool with weight > 0 and, for ``preferred`` affinity, with at most twice
        the least-loaded server's connections plus one."""
        table = self._affinity.get(conn.service.name)
        if table is None or conn.hello is None:
            return None
        by_name = {c.name: c for c in candidates if c.weight > 0}
        least = min((c.active for c in by_name.values()), default=0)
        preferred = conn.service.tls is not None and conn.service.tls.affinity == "preferred"

        def usable(name: str) -> bool:
            found = by_name.get(name)
            return found is not None and (not preferred or found.active <= 2 * least + 1)

        return table.lookup(conn.hello.resumption_keys, conn.client.address, usable)

    def _local_endpoint(self, conn: SplicedConnection, backend: Backend | None
                        ) -> Endpoint | None:
        """The splicer's side of the backend connection: a free port of the splice
        address, taken round-robin so a port is reused as late as possible."""
        if backend is None:
            return None
        if conn.service.transparent or self.splice_address is None:
            local = conn.client
            return None if (Endpoint(backend.address, backend.port), local) in \
                self.by_server else local
        for _ in LOCAL_PORTS:
            port = self._next_port
            self._next_port = port + 1 if port + 1 < LOCAL_PORTS.stop else LOCAL_PORTS.start
            if port not in self._ports_in_use:
                self._ports_in_use.add(port)
                return Endpoint(self.splice_address, port)
        return None

    def _client_reset(self, conn: SplicedConnection) -> list[Effect]:
        effects: list[Effect] = []
        if conn.phase is Phase.CONNECTING:
            effects.append(self._reset_server(conn))
        elif conn.spec is not None:
            return self._closed(conn, reset=True, from_client=True)
        self._forget(conn)
        return effects

    # ----- server side ------------------------------------------------------------------
    def _from_server(self, conn: SplicedConnection, segment: Segment,
                     frame: bytes = b"") -> list[Effect]:
        syn_ack = segment.flags & (SYN | ACK | RST) == SYN | ACK
        acks_syn = segment.ack == seq_add(conn.client_isn, 1)
        if conn.phase is Phase.CONNECTING and syn_ack and acks_syn:
            if conn.timestamps and segment.timestamp is None:
                # The client would get segments without the timestamps it negotiated.
                self._count("backend_without_timestamps")
                return self._error(conn, HTTPStatus.SERVICE_UNAVAILABLE)
            conn.server_isn, conn.server_mss = segment.seq, segment.mss or 536
            ts_offset = None
            if conn.timestamps and segment.timestamp is not None:
                ts_offset = timestamp_offset(conn.our_tsval, segment.timestamp[0])
            windows = WindowScaling.negotiate(conn.client_wscale, ADVERTISED_WSCALE,
                                              segment.wscale)
            conn.spec = SpliceSpec(conn.client, conn.vip, self._local(conn),
                                   conn.backend_endpoint,
                                   Splice.from_handshakes(client_isn=conn.client_isn,
                                                          cookie_isn=conn.cookie_isn,
                                                          server_isn=segment.seq,
                                                          ts_offset=ts_offset,
                                                          windows=windows))
            conn.phase, conn.deadline = Phase.SPLICED, float("inf")
            if conn.service.relay:
                self._count("relayed")
                conn.deadline = self.clock() + self.limits.relay_idle_s
                return self._forward_request(conn, segment.window)
            self._count("spliced")
            if conn.service.name in self._affinity and conn.hello is not None:
                # read the ServerHello first: its segments are relayed until then
                conn.server_hello = ServerHelloParser()
                conn.server_next = seq_add(segment.seq, 1)
                conn.deadline = self.clock() + self.limits.server_hello_wait_s
                return self._forward_request(conn, segment.window)
            conn.installed = True
            return [InstallSplice(conn.spec), *self._forward_request(conn, segment.window)]
        if conn.phase is Phase.CONNECTING and segment.flags & RST and acks_syn:
            self._count("backend_refused")
            return [*self._backend_failed(conn, "refused the splicer's connection"),
                    *self._error(conn, HTTPStatus.SERVICE_UNAVAILABLE)]
        if conn.phase in (Phase.SPLICED, Phase.LINGER) and syn_ack and \
                segment.seq == conn.server_isn:
            return self._forward_request(conn, segment.window)  # our request was lost
        if self._relaying(conn):
            effects = self._read_server_hello(conn, segment)
            return effects + self._relay(conn, frame, Direction.TO_CLIENT, segment)
        if conn.spec is not None and segment.flags & (FIN | RST):
            return self._closed(conn, reset=bool(segment.flags & RST), from_client=False)
        return []

    def _forward_request(self, conn: SplicedConnection, window: int) -> list[Effect]:
        """Re-inject the buffered request exactly as the client sent it (client -> VIP,
        ack = cookie + 1): the splice entries translate it on its way to the backend, and
        its first segment completes the backend's handshake (docs/dataplane.md)."""
        data = bytes(conn.request[:max(window, 1)])  # a SYN-ACK's window is never scaled
        mss = clamp_mss(self.path_mss, conn.server_mss)
        chunks = [data[i:i + mss] for i in range(0, len(data), mss)] or [b""]
        ack = seq_add(conn.cookie_isn, 1)
        if not conn.installed:  # no entries to translate the request: do it here
            assert conn.spec is not None
            return [Transmit(self._relayed_frame(conn, build_segment(
                self.router_mac, conn.client, conn.vip, seq=seq_add(conn.client_isn,
                                                                    1 + index * mss),
                ack=ack, flags=ACK | (PSH if chunk else 0), window=conn.client_window,
                options=self._client_timestamp(conn), payload=chunk), Direction.TO_SERVER),
                conn.port) for index, chunk in enumerate(chunks)]
        return [Transmit(build_segment(self.router_mac, conn.client, conn.vip,
                                       seq=seq_add(conn.client_isn, 1 + index * mss), ack=ack,
                                       flags=ACK | (PSH if chunk else 0),
                                       window=conn.client_window,
                                       options=self._client_timestamp(conn), payload=chunk),
                         conn.port)
                for index, chunk in enumerate(chunks)]

    def _read_server_hello(self, conn: SplicedConnection, segment: Segment) -> list[Effect]:
        """TLS affinity: learn from the backend's ServerHello, then install the splice
        (the segment itself is relayed after the install)."""
        parser = conn.server_hello
        if parser is None or not segment.payload:
            return []
        offset = seq_delta(conn.server_next, segment.seq)
        if offset < 0 or offset >= len(segment.payload):
            return []  # a gap (relayed; the hello is read when its segment comes) or old
        fresh = segment.payload[offset:]
        conn.server_next = seq_add(conn.server_next, len(fresh))
        try:
            hello = parser.feed(fresh)
        except TlsHelloError:
            self._count("bad_server_hello")
            return self._install(conn)
        if hello is None:
            return []
        self._learn(conn, hello)
        return self._install(conn)

    def _learn(self, conn: SplicedConnection, server: ServerHello) -> None:
        table, client = self._affinity.get(conn.service.name), conn.hello
        if table is None or client is None or conn.backend is None or server.hello_retry:
            return
        keys: list[tuple[str, bytes]] = []
        resumed = False
        if server.selected_psk is not None:  # TLS 1.3 resumption
            if server.selected_psk < len(client.psk_identities):
                keys.append(("psk", client.psk_identities[server.selected_psk]))
                resumed = True
        elif server.version < TLS13 and server.session_id:
            keys.append(("session", server.session_id))  # named or accepted
            resumed = server.session_id == client.session_id
            if resumed and client.session_ticket:
                keys.append(("ticket", client.session_ticket))
        self._count("tls_resumed" if resumed else "tls_full")
        table.learn(keys, conn.client.address, conn.backend.name, resumed=resumed)

    def _install(self, conn: SplicedConnection) -> list[Effect]:
        assert conn.spec is not None
        conn.installed, conn.server_hello, conn.deadline = True, None, float("inf")
        return [InstallSplice(conn.spec)]

    @staticmethod
    def _relaying(conn: SplicedConnection) -> bool:
        """Set up but without splice entries: relay mode, or a ServerHello being read."""
        return conn.spec is not None and not conn.installed

    # ----- teardown ---------------------------------------------------------------------
    def _closed(self, conn: SplicedConnection, *, reset: bool,
                from_client: bool) -> list[Effect]:
        if reset:
            self._count("resets")
            return self._finish(conn)
        if from_client:
            conn.client_fin = True
        else:
            conn.server_fin = True
        if conn.client_fin and conn.server_fin and conn.phase is not Phase.LINGER:
            conn.phase = Phase.LINGER
            conn.deadline = self.clock() + self.limits.close_linger_s
        return []

    def _finish(self, conn: SplicedConnection) -> list[Effect]:
        effects: list[Effect] = [RemoveSplice(conn.spec)] \
            if conn.spec is not None and conn.installed else []
        if effects:
            self._count("splices_removed")
        self._forget(conn)
        return effects

    def _forget(self, conn: SplicedConnection) -> None:
        self.by_client.pop((conn.client, conn.vip), None)
        if conn.local is not None and conn.backend is not None:
            self.by_server.pop((conn.backend_endpoint, conn.local), None)
            if self.splice_address is not None and conn.local.address == self.splice_address:
                self._ports_in_use.discard(conn.local.port)
            assert conn.pool is not None
            key = (conn.service.name, conn.pool, conn.backend.name)
            remaining = self._active.get(key, 0) - 1
            if remaining > 0:
                self._active[key] = remaining
            else:
                self._active.pop(key, None)
        conn.local = conn.backend = None

    def _adopted(self, spec: SpliceSpec) -> SplicedConnection | None:
        service = self.services.get(spec.vip)
        if service is None:
            return None
        for pool_name, pool in service.pools.items():
            backend = next((b for b in pool
                            if Endpoint(b.address, b.port) == spec.backend), None)
            if backend is None:
                continue
            if self.splice_address is not None and spec.local.address == self.splice_address:
                if spec.local.port in self._ports_in_use:
                    return None
                self._ports_in_use.add(spec.local.port)
            conn = SplicedConnection(
                service=service, client=spec.client, port=0, client_isn=0, cookie_isn=0,
                client_mss=0, deadline=float("inf"), parser=RequestHeadParser(),
                phase=Phase.SPLICED, pool=pool_name, backend=backend, local=spec.local,
                spec=spec, since=self.clock(), installed=True)
            self.by_client[(spec.client, spec.vip)] = conn
            self.by_server[(spec.backend, spec.local)] = conn
            key = (service.name, pool_name, backend.name)
            self._active[key] = self._active.get(key, 0) + 1
            self._count("adopted")
            return conn
        return None

    # ----- relay mode -------------------------------------------------------------------
    def _relay(self, conn: SplicedConnection, frame: bytes, direction: Direction,
               segment: Segment) -> list[Effect]:
        """Forward a segment of a relayed connection, translated as the switch would; a FIN
        or RST is also the teardown notice the data plane gives for spliced ones."""
        self._count("relayed_segments")
        if conn.phase is Phase.SPLICED and conn.service.relay:  # LINGER keeps its deadline
            conn.deadline = self.clock() + self.limits.relay_idle_s
        effects: list[Effect] = [Transmit(self._relayed_frame(conn, frame, direction),
                                          conn.port)]
        if segment.flags & (FIN | RST):
            effects += self._closed(conn, reset=bool(segment.flags & RST),
                                    from_client=direction is Direction.TO_SERVER)
        return effects

    def _relayed_frame(self, conn: SplicedConnection, frame: bytes,
                       direction: Direction) -> bytes:
        spec = conn.spec
        assert spec is not None
        if direction is Direction.TO_SERVER:
            src, dst = spec.local, spec.backend
        else:
            src, dst = spec.vip, spec.client
        return relay_frame(frame, spec.splice, direction,
                           src=(src.address.packed, src.port),
                           dst=(dst.address.packed, dst.port),
                           router_mac=mac_bytes(self.router_mac))

    # ----- frames -----------------------------------------------------------------------
    def _backend_failed(self, conn: SplicedConnection, reason: str) -> list[Effect]:
        if conn.pool is None or conn.backend is None:
            return []
        return [BackendFailed(conn.pool, conn.backend.name, reason)]

    def _error(self, conn: SplicedConnection, status: HTTPStatus) -> list[Effect]:
        """Answer the request with ``status`` and a FIN, then wait for the client's FIN.
        A TLS client cannot read an HTTP answer: it is reset instead."""
        effects: list[Effect] = []
        if conn.phase is Phase.CONNECTING:
            effects.append(self._reset_server(conn))
        if conn.service.tls is not None:
            self._count("tls_resets")
            effects.append(self._reset_client(conn))
            self._forget(conn)
            return effects
        self._forget(conn)
        self.by_client[(conn.client, conn.vip)] = conn  # kept until the client's FIN
        body = (f"HTTP/1.1 {status.value} {status.phrase}\r\nContent-Length: 0\r\n"
                "Connection: close\r\n\r\n").encode()
        seq = seq_add(conn.cookie_isn, 1)
        ack = seq_add(conn.next_seq, 1 if conn.client_fin else 0)
        effects.append(self._to_client(conn.vip, conn.client, conn.port, seq=seq, ack=ack,
                                       flags=PSH | ACK | FIN, payload=body,
                                       options=self._our_timestamp(conn)))
        conn.phase, conn.our_fin_seq = Phase.CLOSING, seq_add(seq, len(body) + 1)
        conn.deadline = self.clock() + self.limits.error_linger_s
        return effects

    def _send_syn(self, conn: SplicedConnection) -> Transmit:
        conn.syn_sent += 1
        conn.deadline = self.clock() + self.limits.syn_timeout_s * 2 ** (conn.syn_sent - 1)
        mss = clamp_mss(conn.client_mss, self.path_mss)
        options = syn_options(mss, sack_ok=conn.sack_ok,
                              timestamp=(conn.client_tsval, 0) if conn.timestamps else None,
                              wscale=conn.client_wscale)
        return self._to_server(conn, seq=conn.client_isn, ack=0, flags=SYN, options=options,
                               window=ADVERTISED_WINDOW)

    def _reset_client(self, conn: SplicedConnection) -> Transmit:
        seq = conn.our_fin_seq if conn.phase is Phase.CLOSING else seq_add(conn.cookie_isn, 1)
        return self._to_client(conn.vip, conn.client, conn.port, seq=seq, ack=0, flags=RST)

    def _reset_server(self, conn: SplicedConnection) -> Transmit:
        return self._to_server(conn, seq=seq_add(conn.client_isn, 1), ack=0, flags=RST)

    def _reset_reply(self, segment: Segment, port: int) -> Transmit:
        return Transmit(reset_reply(self.router_mac, segment), port)

    def _synack_options(self, service: ContentService, syn: Segment) -> list[tuple[str, Any]]:
        """Basic profile: MSS only.  Full profile, if the client offers timestamps: what it
        offered, with SACK-permitted and its window scale encoded in our TSval (no state:
        its ACK echoes them back)."""
        if service.splice_profile != FULL_PROFILE or syn.timestamp is None:
            return syn_options(self.path_mss)
        offered = TimestampOptions(wscale=syn.wscale, sack_ok=syn.sack_ok)
        tsval = encode_timestamp(int(self.clock() * 1000), offered)
        return syn_options(self.path_mss, sack_ok=syn.sack_ok,
                           timestamp=(tsval, syn.timestamp[0]),
                           wscale=None if syn.wscale is None else ADVERTISED_WSCALE)

    @staticmethod
    def _client_timestamp(conn: SplicedConnection) -> list[tuple[str, Any]]:
        """The timestamp option of a re-injected client segment (as the client sent it)."""
        return timestamp_option((conn.client_tsval, conn.our_tsval) if conn.timestamps
                                else None)

    @staticmethod
    def _our_timestamp(conn: SplicedConnection) -> list[tuple[str, Any]]:
        return timestamp_option((conn.our_tsval, conn.client_tsval) if conn.timestamps
                                else None)

    def _to_client(self, vip: Endpoint, client: Endpoint, port: int, *, seq: int, ack: int,
                   flags: int, options: Sequence[tuple[str, Any]] = (),
                   payload: bytes = b"") -> Transmit:
        window = 0 if flags & RST else ADVERTISED_WINDOW
        return Transmit(build_segment(self.router_mac, vip, client, seq=seq, ack=ack,
                                      flags=flags, window=window, options=options,
                                      payload=payload), port)

    def _to_server(self, conn: SplicedConnection, *, seq: int, ack: int, flags: int,
                   options: Sequence[tuple[str, Any]] = (), window: int | None = None,
                   payload: bytes = b"") -> Transmit:
        if window is None:
            window = 0 if flags & RST else conn.client_window
        return Transmit(build_segment(self.router_mac, self._local(conn),
                                      conn.backend_endpoint, seq=seq, ack=ack, flags=flags,
                                      window=window, options=options, payload=payload),
                        conn.port)

    @staticmethod
    def _local(conn: SplicedConnection) -> Endpoint:
        assert conn.local is not None
        return conn.local

    def _count(self, what: str) -> None:
        self.counters[what] = self.counters.get(what, 0) + 1

