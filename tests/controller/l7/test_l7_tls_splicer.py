"""The splicer on TLS services: ClientHellos (real ones, from OpenSSL) choose the pool by
SNI and ALPN and the server by session affinity learned from real ServerHellos."""

from __future__ import annotations

import ssl
from ipaddress import IPv4Address

import pytest
from scapy.layers.inet import IP, TCP
from test_l7_splicer import (
    CLIENT,
    CLIENT_ISN,
    PORT,
    ROUTER_MAC,
    SERVER_ISN,
    SPLICE_ADDRESS,
    Clock,
    backend,
    frame,
    sent,
    server_synack,
)
from tls_memory import client_context, client_hello, make_ca, server_context
from tls_memory import handshake as tls_handshake

from controller.config import TlsConfig
from controller.l7.rules import parse_content_rules
from controller.l7.segments import Endpoint
from controller.l7.splicer import (
    ContentService,
    Effect,
    InstallSplice,
    RemoveSplice,
    Splicer,
    SplicerLimits,
)
from controller.l7.syncookies import SynCookies
from topologies.tls_certs import TlsFiles

VIP = Endpoint(IPv4Address("10.0.0.100"), 443)
POOLS = {"api": (backend("a1", 11),), "img": (backend("i1", 12),),
         "h2": (backend("h1", 13),), "web": (backend("w1", 21), backend("w2", 22))}
RULES = parse_content_rules([{"sni": "api.example.com", "pool": "api"},
                             {"sni": "*.img.example.com", "pool": "img"},
                             {"alpn": ["h2"], "pool": "h2"}],
                            default_pool="web", pools=POOLS, tls=True)


def service(**tls: object) -> ContentService:
    return ContentService("secure", VIP, RULES, POOLS, scheduler="rr",
                          tls=TlsConfig(**tls))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_splicer(clock: Clock, svc: ContentService) -> Splicer:
    cookies = SynCookies(b"k" * 32, clock=lambda: 1_700_000_000.0)
    out = Splicer(router_mac=ROUTER_MAC, splice_address=SPLICE_ADDRESS, cookies=cookies,
                  limits=SplicerLimits(max_pending=8), clock=clock)
    out.set_services([svc])
    return out


def client(port: int) -> Endpoint:
    return Endpoint(CLIENT.address, port)


def vip_frame(src: Endpoint, **kwargs: object) -> bytes:
    return frame(src, VIP, **kwargs)  # type: ignore[arg-type]


def open_hello(splicer: Splicer, data: bytes, who: Endpoint = CLIENT,
               cuts: tuple[int, ...] = ()) -> list[Effect]:
    """SYN, cookie ACK, then ``data`` in segments cut at ``cuts``."""
    (synack,) = sent(splicer.on_frame(vip_frame(who, seq=CLIENT_ISN, flags="S", mss=1460),
                                      PORT))
    cookie = synack[TCP].seq
    assert splicer.on_frame(vip_frame(who, seq=CLIENT_ISN + 1, ack=cookie + 1), PORT) == []
    effects: list[Effect] = []
    bounds = [0, *cuts, len(data)]
    for start, end in zip(bounds, bounds[1:], strict=False):
        effects = splicer.on_frame(vip_frame(who, seq=(CLIENT_ISN + 1 + start) % 2**32,
                                             ack=cookie + 1, flags="PA",
                                             payload=data[start:end]), PORT)
    return effects


def syn_to(effects: list[Effect]) -> tuple[object, str]:
    (syn,) = sent(effects)
    assert syn[TCP].flags == "S" and syn[TCP].seq == CLIENT_ISN
    return syn, syn[IP].dst


@pytest.mark.parametrize(("name", "alpn", "address"), [
    ("api.example.com", (), "10.0.2.11"), ("a.b.img.example.com", (), "10.0.2.12"),
    ("img.example.com", ("h2",), "10.0.2.13"), (None, (), "10.0.2.21"),
    ("www.example.com", ("http/1.1",), "10.0.2.21")])
def test_sni_and_alpn_choose_the_pool(ca: TlsFiles, clock: Clock, name: str | None,
                                      alpn: tuple[str, ...], address: str) -> None:
    splicer = make_splicer(clock, service(affinity="off"))
    hello = client_hello(client_context(ca, alpn=alpn), name)
    _, dst = syn_to(open_hello(splicer, hello, cuts=(3, 100)))
    assert dst == address
    assert splicer.counters["client_hellos"] == 1


def test_without_affinity_the_splice_is_installed_on_the_synack(ca: TlsFiles,
                                                                 clock: Clock) -> None:
    splicer = make_splicer(clock, service(affinity="off"))
    hello = client_hello(client_context(ca), "api.example.com")
    syn, _ = syn_to(open_hello(splicer, hello))
    install, *rest = server_synack(splicer, syn)
    assert isinstance(install, InstallSplice)
    (head,) = sent(rest)  # the hello, re-injected as the client sent it
    assert bytes(head[TCP].payload) == hello


@pytest.mark.parametrize("data", [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                                  bytes.fromhex("802e0100020015"),
                                  bytes.fromhex("16030100050200000100")])
def test_a_bad_hello_goes_to_the_default_pool_or_is_reset(clock: Clock, data: bytes) -> None:
    splicer = make_splicer(clock, service())
    _, dst = syn_to(open_hello(splicer, data))
    assert dst == "10.0.2.21" and splicer.counters["bad_client_hello"] == 1
    splicer = make_splicer(clock, service(bad_hello="reset"))
    (rst,) = sent(open_hello(splicer, data))
    assert rst[TCP].flags == "R" and rst[IP].dst == str(CLIENT.address)
    assert splicer.by_client == {} and splicer.by_server == {} and splicer.pending == 0
    assert splicer.active_on("secure", "w1") == 0


def test_a_client_closing_before_its_hello_is_reset(clock: Clock) -> None:
    splicer = make_splicer(clock, service())
    (synack,) = sent(splicer.on_frame(vip_frame(CLIENT, seq=CLIENT_ISN, flags="S",
                                                mss=1460), PORT))
    ack = synack[TCP].seq + 1
    splicer.on_frame(vip_frame(CLIENT, seq=CLIENT_ISN + 1, ack=ack), PORT)
    (rst,) = sent(splicer.on_frame(vip_frame(CLIENT, seq=CLIENT_ISN + 1, ack=ack, flags="FA",
                                             payload=b"\x16\x03\x01"), PORT))
    assert rst[TCP].flags == "R" and splicer.by_client == {}


def backend_flight(splicer: Splicer, syn: object, data: bytes) -> list[Effect]:
    """The backend's first data segment after its SYN-ACK (its ServerHello flight)."""
    src = Endpoint(IPv4Address(syn[IP].dst), syn[TCP].dport)  # type: ignore[index]
    dst = Endpoint(IPv4Address(syn[IP].src), syn[TCP].sport)  # type: ignore[index]
    return splicer.on_frame(frame(src, dst, seq=SERVER_ISN + 1, ack=CLIENT_ISN + 1,
                                  flags="PA", payload=data[:1400]), 2)


def connect(splicer: Splicer, hello: bytes, who: Endpoint) -> tuple[object, str]:
    syn, dst = syn_to(open_hello(splicer, hello, who))
    effects = server_synack(splicer, syn)
    assert not any(isinstance(e, InstallSplice) for e in effects)  # ServerHello first
    (head,) = sent(effects)  # the hello, relayed: already translated to the backend
    assert head[IP].dst == dst and head[TCP].ack == (SERVER_ISN + 1) % 2**32
    return syn, dst


@pytest.mark.parametrize(("version", "tickets"), [
    (ssl.TLSVersion.TLSv1_2, False), (ssl.TLSVersion.TLSv1_2, True),
    (ssl.TLSVersion.TLSv1_3, True)])
def test_a_resumed_session_returns_to_the_server_that_issued_it(
        ca: TlsFiles, clock: Clock, version: ssl.TLSVersion, tickets: bool) -> None:
    splicer = make_splicer(clock, service())
    context, server = client_context(ca, version=version), server_context(ca, tickets=tickets)
    first = tls_handshake(context, server)
    syn, first_server = connect(splicer, first.client_flights[0], client(40001))
    install, relayed = backend_flight(splicer, syn, first.server_flights[0])
    assert isinstance(install, InstallSplice)
    (to_client,) = sent([relayed])  # the ServerHello segment, relayed to the client
    assert (to_client[IP].src, to_client[IP].dst) == (str(VIP.address), str(CLIENT.address))
    assert splicer.counters["tls_full"] == 1
    table = splicer.affinity("secure")
    assert table is not None and table.clients == 1
    kept = []  # OpenSSL drops a session from its cache when an unclosed SSL is freed
    for port in (40002, 40003, 40004):  # rr alone would alternate w1, w2
        again = tls_handshake(context, server, session=first.session)
        kept.append(again)
        assert again.reused
        syn, dst = connect(splicer, again.client_flights[0], client(port))
        assert dst == first_server
        effects = backend_flight(splicer, syn, again.server_flights[0])
        assert isinstance(effects[0], InstallSplice)
    assert splicer.counters["tls_resumed"] == 3
    assert table.stats.lookups == 3 and table.stats.hits + table.stats.hints == 3
    assert table.stats.hit_rate == 1.0
    assert len(table) >= 1  # the key itself is known now


def test_preferred_affinity_yields_to_a_loaded_server(
        ca: TlsFiles, clock: Clock) -> None:
    splicer = make_splicer(clock, service(affinity="preferred"))
    context = client_context(ca, version=ssl.TLSVersion.TLSv1_2)
    server = server_context(ca, tickets=False)
    first = tls_handshake(context, server)
    syn, home = connect(splicer, first.client_flights[0], client(41000))
    backend_flight(splicer, syn, first.server_flights[0])
    hello = tls_handshake(context, server, session=first.session).client_flights[0]
    # its server has 1 connection, the other 0: it may take one more (<= 2 * 0 + 1),
    # then (2 > 1) the scheduler chooses, then (2 <= 2 * 1 + 1) affinity again
    chosen = [connect(splicer, hello, client(41001 + i))[1] for i in range(3)]
    assert chosen[0] == home != chosen[1] and chosen[2] == home


def test_no_server_hello_in_time_splices_without_learning(ca: TlsFiles,
                                                          clock: Clock) -> None:
    splicer = make_splicer(clock, service())
    syn, _ = connect(splicer, client_hello(client_context(ca)), CLIENT)
    assert splicer.tick() == []
    clock.now += 2.5
    (install,) = splicer.tick()
    assert isinstance(install, InstallSplice)
    assert splicer.counters["server_hello_timeouts"] == 1
    spec = install.spec
    (remove,) = splicer.on_teardown(spec.client, spec.vip, to_server=True, flags=0x04)
    assert isinstance(remove, RemoveSplice) and splicer.by_client == {}


def test_a_reset_before_the_install_leaves_nothing(ca: TlsFiles, clock: Clock) -> None:
    splicer = make_splicer(clock, service())
    syn, _ = connect(splicer, client_hello(client_context(ca)), CLIENT)
    src = Endpoint(IPv4Address(syn[IP].dst), syn[TCP].dport)  # type: ignore[index]
    dst = Endpoint(IPv4Address(syn[IP].src), syn[TCP].sport)  # type: ignore[index]
    effects = splicer.on_frame(frame(src, dst, seq=SERVER_ISN + 1, flags="R"), 2)
    assert not any(isinstance(e, (InstallSplice, RemoveSplice)) for e in effects)
    assert len(sent(effects)) == 1  # relayed to the client
    assert splicer.by_client == {} and splicer.by_server == {}
    assert splicer.active_on("secure", "w1") + splicer.active_on("secure", "w2") == 0


def test_garbage_from_the_backend_splices_without_learning(ca: TlsFiles,
                                                           clock: Clock) -> None:
    splicer = make_splicer(clock, service())
    syn, _ = connect(splicer, client_hello(client_context(ca)), CLIENT)
    install, _ = backend_flight(splicer, syn, b"HTTP/1.1 400 Bad Request\r\n\r\n")
    assert isinstance(install, InstallSplice) and splicer.counters["bad_server_hello"] == 1


def test_affinity_table_is_bounded_and_expires(clock: Clock) -> None:
    from controller.l7.tls_affinity import AffinityTable

    table = AffinityTable(lifetime_s=10, size=2, clock=clock)
    address = IPv4Address("10.0.1.1")
    for index in range(3):
        table.learn([("session", bytes([index]))], address, f"b{index}", resumed=False)
    assert len(table) == 2  # the oldest key went first
    assert table.lookup([("session", b"\x00")], address, lambda _: True) is None
    assert table.lookup([("session", b"\x02")], address, lambda _: True) == "b2"
    assert table.lookup([("session", b"\x02")], address, lambda name: name != "b2") is None
    # an unknown ticket goes where this address last completed a handshake
    assert table.lookup([("ticket", b"T")], address, lambda _: True) == "b2"
    assert table.lookup([("session", b"S")], address, lambda _: True) is None
    clock.now += 11
    table.expire()
    assert len(table) == 0 and table.clients == 0
    assert table.stats.lookups == 5 and table.stats.hits == 1 and table.stats.hints == 1
