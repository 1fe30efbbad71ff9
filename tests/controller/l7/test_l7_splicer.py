"""The splicer's state machine with fake packet I/O: frames in, effects out."""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from controller.config import Backend
from controller.l7.rules import parse_content_rules
from controller.l7.segments import Endpoint, parse_segment
from controller.l7.seqmap import Direction
from controller.l7.splicer import (
    BackendFailed,
    ContentService,
    Effect,
    InstallSplice,
    RemoveSplice,
    Splicer,
    SplicerLimits,
    Transmit,
)
from controller.l7.syncookies import SynCookies

ROUTER_MAC = "00:00:00:00:01:00"
CLIENT = Endpoint(IPv4Address("10.0.1.10"), 40000)
VIP = Endpoint(IPv4Address("10.0.0.100"), 80)
SPLICE_ADDRESS = IPv4Address("10.0.2.1")
CLIENT_ISN = 0xFFFFFF00  # wraps during the request
SERVER_ISN = 0x12345678
PORT = 1


def backend(name: str, last: int) -> Backend:
    return Backend(name, IPv4Address(f"10.0.2.{last}"), 8080, None, None, 1)


POOLS = {"static": (backend("s1", 11),), "web": (backend("w1", 21), backend("w2", 22))}
RULES = parse_content_rules([{"path_prefix": "/static/", "pool": "static"}],
                            default_pool="web", pools=POOLS)
SERVICE = ContentService("shop", VIP, RULES, POOLS, scheduler="rr", request_timeout_s=5.0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def splicer(clock: Clock) -> Splicer:
    cookies = SynCookies(b"k" * 32, clock=lambda: 1_700_000_000.0)
    out = Splicer(router_mac=ROUTER_MAC, splice_address=SPLICE_ADDRESS, cookies=cookies,
                  limits=SplicerLimits(max_pending=8), clock=clock)
    out.set_services([SERVICE])
    return out


def frame(src: Endpoint, dst: Endpoint, *, seq: int, ack: int = 0, flags: str = "A",
          payload: bytes = b"", mss: int | None = None) -> bytes:
    options = [("MSS", mss)] if mss else []
    packet = (Ether(dst=ROUTER_MAC) / IP(src=str(src.address), dst=str(dst.address))
              / TCP(sport=src.port, dport=dst.port, seq=seq, ack=ack, flags=flags,
                    window=29200, options=options))
    return bytes(packet / payload if payload else packet)


def sent(effects: list[Effect]) -> list:
    """The transmitted frames, decoded by scapy (an independent parser)."""
    return [Ether(e.frame) for e in effects if isinstance(e, Transmit)]


def handshake(splicer: Splicer, client: Endpoint = CLIENT) -> int:
    """SYN and the cookie ACK; returns the cookie ISN."""
    (synack,) = sent(splicer.on_frame(frame(client, VIP, seq=CLIENT_ISN, flags="S",
                                            mss=1460), PORT))
    cookie = synack[TCP].seq
    assert splicer.on_frame(frame(client, VIP, seq=CLIENT_ISN + 1, ack=cookie + 1), PORT) == []
    return cookie


def request(splicer: Splicer, cookie: int, data: bytes, client: Endpoint = CLIENT,
            offset: int = 0) -> list[Effect]:
    seq = (CLIENT_ISN + 1 + offset) % 2**32
    return splicer.on_frame(frame(client, VIP, seq=seq, ack=cookie + 1, flags="PA",
                                  payload=data), PORT)


def server_synack(splicer: Splicer, syn, isn: int = SERVER_ISN) -> list[Effect]:
    reply = frame(Endpoint(IPv4Address(syn[IP].dst), syn[TCP].dport),
                  Endpoint(IPv4Address(syn[IP].src), syn[TCP].sport), seq=isn,
                  ack=(syn[TCP].seq + 1) % 2**32, flags="SA", mss=1460)
    return splicer.on_frame(reply, 2)


GET_STATIC = b"GET /static/a.png HTTP/1.1\r\nHost: shop.example\r\n\r\n"


def test_syn_is_answered_with_a_cookie_and_leaves_no_state(splicer: Splicer) -> None:
    (synack,) = sent(splicer.on_frame(frame(CLIENT, VIP, seq=CLIENT_ISN, flags="S",
                                            mss=1460), PORT))
    assert synack[TCP].flags == "SA"
    assert synack[TCP].ack == (CLIENT_ISN + 1) % 2**32
    assert (synack[IP].src, synack[IP].dst) == (str(VIP.address), str(CLIENT.address))
    assert synack.dst == ROUTER_MAC and dict(synack[TCP].options)["MSS"] == 1460
    assert splicer.by_client == {} and splicer.pending == 0


def test_request_in_two_segments_is_spliced_to_the_rule_pool(splicer: Splicer) -> None:
    cookie = handshake(splicer)
    assert request(splicer, cookie, GET_STATIC[:10]) == []
    (syn,) = sent(request(splicer, cookie, GET_STATIC[10:], offset=10))
    assert syn[TCP].flags == "S" and syn[TCP].seq == CLIENT_ISN  # the client's ISN
    assert (syn[IP].src, syn[IP].dst, syn[TCP].dport) == (str(SPLICE_ADDRESS), "10.0.2.11",
                                                          8080)
    effects = server_synack(splicer, syn)
    install, *rest = effects
    assert isinstance(install, InstallSplice)
    spec = install.spec
    assert (spec.client, spec.vip, spec.backend) == (CLIENT, VIP,
                                                     Endpoint(IPv4Address("10.0.2.11"), 8080))
    assert spec.local == Endpoint(SPLICE_ADDRESS, syn[TCP].sport)
    assert spec.splice.to_server_seq == 0 and spec.splice.to_client_ack == 0
    assert spec.splice.to_server_ack == (SERVER_ISN - cookie) % 2**32
    assert spec.splice.to_client_seq == (cookie - SERVER_ISN) % 2**32
    (head,) = sent(rest)  # re-injected as the client sent it: the splice translates it
    assert (head[IP].src, head[IP].dst, head[TCP].dport) == (str(CLIENT.address),
                                                             str(VIP.address), VIP.port)
    assert head[TCP].seq == (CLIENT_ISN + 1) % 2**32 and head[TCP].ack == cookie + 1
    assert bytes(head[TCP].payload) == GET_STATIC
    assert spec.splice.ack(Direction.TO_SERVER, head[TCP].ack) == SERVER_ISN + 1
    assert splicer.active("shop", "static", "s1") == 1 and splicer.pending == 0
    assert splicer.active_on("shop", "s1") == 1 and splicer.active_on("shop", "w1") == 0


def test_body_bytes_and_overlapping_retransmissions_are_forwarded_once(
        splicer: Splicer) -> None:
    body = b"x" * 3000
    post = b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 3000\r\n\r\n" + body
    cookie = handshake(splicer)
    assert request(splicer, cookie, post[:20]) == []
    (syn,) = sent(request(splicer, cookie, post[5:1400], offset=5))
    assert syn[IP].dst in ("10.0.2.21", "10.0.2.22")
    assert request(splicer, cookie, post[1400:], offset=1400) == []
    segments = sent(server_synack(splicer, syn)[1:])
    assert b"".join(bytes(s[TCP].payload) for s in segments) == post
    assert all(len(s[TCP].payload) <= 1460 for s in segments)


def test_lost_syn_is_retransmitted_with_backoff_then_503(splicer: Splicer,
                                                         clock: Clock) -> None:
    cookie = handshake(splicer)
    (syn,) = sent(request(splicer, cookie, GET_STATIC))
    clock.now += 0.9
    assert splicer.tick() == []
    clock.now += 0.2
    (again,) = sent(splicer.tick())
    assert bytes(again) == bytes(syn)
    clock.now += 1.5
    assert splicer.tick() == []  # the second timer is 2 s
    clock.now += 0.6
    assert len(sent(splicer.tick())) == 1
    (retransmit_syn,) = sent(request(splicer, cookie, GET_STATIC))  # client retransmission
    assert retransmit_syn[TCP].flags == "S"
    clock.now += 100
    effects = splicer.tick()
    assert BackendFailed("static", "s1", "no answer to the splicer's SYN") in effects
    reset, response = sent(effects)
    assert reset[TCP].flags == "R" and reset[IP].dst == "10.0.2.11"
    assert bytes(response[TCP].payload).startswith(b"HTTP/1.1 503 ")
    assert response[TCP].flags == "FPA" and response[TCP].ack == (CLIENT_ISN + 1 +
                                                                  len(GET_STATIC)) % 2**32
    assert splicer.active("shop", "static", "s1") == 0


def test_a_backend_refusing_the_splicer_is_a_passive_failure(splicer: Splicer) -> None:
    cookie = handshake(splicer)
    (syn,) = sent(request(splicer, cookie, GET_STATIC))
    refusal = frame(Endpoint(IPv4Address(syn[IP].dst), syn[TCP].dport),
                    Endpoint(IPv4Address(syn[IP].src), syn[TCP].sport), seq=0,
                    ack=(syn[TCP].seq + 1) % 2**32, flags="RA")
    effects = splicer.on_frame(refusal, 2)
    assert effects[0] == BackendFailed("static", "s1", "refused the splicer's connection")
    response = sent(effects)[-1]
    assert bytes(response[TCP].payload).startswith(b"HTTP/1.1 503 ")


@pytest.mark.parametrize(("data", "status"), [
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b"400"),  # a TLS ClientHello
    (b"GET / HTTP/2.0\r\n\r\n", b"505"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"y" * 9000, b"431"),
])
def test_bad_request_gets_an_error_then_the_connection_is_gone(
        splicer: Splicer, data: bytes, status: bytes) -> None:
    cookie = handshake(splicer)
    effects: list[Effect] = []
    for start in range(0, len(data), 1400):
        effects += request(splicer, cookie, data[start:start + 1400], offset=start)
    (response,) = sent(effects)
    assert bytes(response[TCP].payload).split(b" ")[1] == status
    fin_seq = response[TCP].seq + len(response[TCP].payload) + 1
    acked = response[TCP].ack
    (ack,) = sent(splicer.on_frame(frame(CLIENT, VIP, seq=acked, ack=fin_seq, flags="FA"),
                                   PORT))
    assert ack[TCP].flags == "A" and ack[TCP].ack == acked + 1
    assert splicer.by_client == {} and splicer.by_server == {}


def test_client_that_never_completes_its_request_is_reset(splicer: Splicer,
                                                          clock: Clock) -> None:
    cookie = handshake(splicer)
    request(splicer, cookie, b"GET / HTTP/1.1\r\n")
    clock.now += 5.1
    (reset,) = sent(splicer.tick())
    assert reset[TCP].flags == "R" and reset[TCP].seq == cookie + 1
    assert splicer.by_client == {}


def test_forged_ack_is_reset_without_state(splicer: Splicer) -> None:
    (reset,) = sent(splicer.on_frame(frame(CLIENT, VIP, seq=5, ack=1234), PORT))
    assert reset[TCP].flags == "R" and reset[TCP].seq == 1234
    assert splicer.by_client == {} and splicer.counters["bad_cookies"] == 1


def test_pending_setups_are_limited(splicer: Splicer) -> None:
    for index in range(8):
        handshake(splicer, Endpoint(CLIENT.address, 1000 + index))
    extra = Endpoint(CLIENT.address, 2000)
    (synack,) = sent(splicer.on_frame(frame(extra, VIP, seq=1, flags="S"), PORT))
    (reset,) = sent(splicer.on_frame(frame(extra, VIP, seq=2, ack=synack[TCP].seq + 1), PORT))
    assert reset[TCP].flags == "R" and splicer.pending == 8


def spliced(splicer: Splicer, client: Endpoint = CLIENT) -> tuple[InstallSplice, object]:
    cookie = handshake(splicer, client)
    (syn,) = sent(request(splicer, cookie, GET_STATIC, client))
    install = server_synack(splicer, syn)[0]
    assert isinstance(install, InstallSplice)
    return install, syn


def test_fin_from_both_sides_removes_the_entries_after_the_linger(splicer: Splicer,
                                                                  clock: Clock) -> None:
    install, _ = spliced(splicer)
    spec = install.spec
    assert splicer.on_teardown(CLIENT, VIP, to_server=True, flags=0x11) == []
    assert splicer.on_teardown(CLIENT, VIP, to_server=True, flags=0x11) == []  # duplicate
    assert splicer.on_teardown(spec.backend, spec.local, to_server=False, flags=0x11) == []
    assert splicer.tick() == []
    clock.now += 2.1
    assert splicer.tick() == [RemoveSplice(install.spec)]
    assert splicer.by_client == {} and splicer.by_server == {}
    assert splicer.active("shop", "static", "s1") == 0


def test_reset_from_the_server_seen_as_a_frame_removes_the_entries(splicer: Splicer) -> None:
    install, syn = spliced(splicer)
    rst = frame(install.spec.backend, install.spec.local, seq=SERVER_ISN + 1, flags="R")
    assert splicer.on_frame(rst, 2) == [RemoveSplice(install.spec)]
    assert splicer.by_server == {}


def test_lost_request_is_sent_again_when_the_server_retransmits_its_synack(
        splicer: Splicer) -> None:
    _, syn = spliced(splicer)
    (head,) = sent(server_synack(splicer, syn))
    assert bytes(head[TCP].payload) == GET_STATIC


def test_idle_timeout_removes_the_entries(splicer: Splicer) -> None:
    install, _ = spliced(splicer)
    spec = install.spec
    assert splicer.on_idle(spec.backend, spec.local, to_server=False) == [RemoveSplice(spec)]
    assert splicer.on_idle(CLIENT, VIP, to_server=True) == []


def test_many_connections_leave_nothing_behind(splicer: Splicer, clock: Clock) -> None:
    removed = 0
    for index in range(300):
        install, _ = spliced(splicer, Endpoint(CLIENT.address, 10000 + index))
        spec = install.spec
        effects = splicer.on_teardown(spec.client, VIP, to_server=True,
                                      flags=0x14 if index % 2 else 0x11)
        effects += splicer.on_teardown(spec.backend, spec.local, to_server=False, flags=0x11)
        clock.now += 3
        effects += splicer.tick()
        removed += effects.count(RemoveSplice(install.spec))
    assert removed == 300
    assert splicer.by_client == {} and splicer.by_server == {}
    assert splicer._active == {} and splicer._ports_in_use == set()


def test_transparent_service_keeps_the_client_address(clock: Clock) -> None:
    splicer = Splicer(router_mac=ROUTER_MAC, splice_address=SPLICE_ADDRESS,
                      cookies=SynCookies(b"t" * 32), clock=clock)
    splicer.set_services([dataclasses.replace(SERVICE, transparent=True)])
    install, syn = spliced(splicer)
    assert (syn[IP].src, syn[TCP].sport) == (str(CLIENT.address), CLIENT.port)
    assert install.spec.local == CLIENT


def test_adopt_keeps_known_adopts_live_and_removes_foreign_splices(splicer: Splicer) -> None:
    install, _ = spliced(splicer)
    known = install.spec
    other = Endpoint(CLIENT.address, 555)
    adopted = type(known)(other, VIP, Endpoint(SPLICE_ADDRESS, 60000),
                          Endpoint(IPv4Address("10.0.2.21"), 8080), known.splice)
    foreign = type(known)(other, Endpoint(IPv4Address("10.9.9.9"), 80),
                          Endpoint(SPLICE_ADDRESS, 60001), known.backend, known.splice)
    assert splicer.adopt([known, adopted, foreign]) == [RemoveSplice(foreign)]
    assert splicer.active("shop", "web", "w1") == 1
    assert splicer.adopt([]) == []
    assert splicer.by_client == {} and splicer._ports_in_use == set()


def test_a_backend_segment_for_a_closed_port_is_reset(splicer: Splicer) -> None:
    stray = frame(Endpoint(IPv4Address("10.0.2.11"), 8080), Endpoint(SPLICE_ADDRESS, 3000),
                  seq=7, ack=9, flags="SA")
    (reset,) = sent(splicer.on_frame(stray, 2))
    assert reset[TCP].flags == "R" and reset[TCP].seq == 9


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_garbage_frames_never_raise(data: bytes) -> None:
    splicer = Splicer(router_mac=ROUTER_MAC, splice_address=SPLICE_ADDRESS,
                      cookies=SynCookies(b"g" * 32))
    splicer.set_services([SERVICE])
    header = bytes(Ether(dst=ROUTER_MAC) / IP(src="10.0.1.10", dst="10.0.0.100"))[:14]
    for candidate in (data, header + data):
        effects = splicer.on_frame(candidate, PORT)  # at most a SYN-ACK or a RST
        assert all(isinstance(e, Transmit) for e in effects) and len(effects) <= 1
        assert splicer.by_client == {}


def test_bad_tcp_checksum_is_ignored(splicer: Splicer) -> None:
    good = bytearray(frame(CLIENT, VIP, seq=1, flags="S"))
    good[-3] ^= 0xFF  # inside the TCP header: checksum no longer matches
    assert splicer.on_frame(bytes(good), PORT) == []
    assert splicer.counters == {"malformed": 1}
    assert parse_segment(bytes(good)) is None


FULL = ContentService("full", VIP, RULES, POOLS, scheduler="rr", splice_profile="full")


def full_syn(client: Endpoint = CLIENT, *, timestamps: bool = True) -> bytes:
    options: list = [("MSS", 1460), ("SAckOK", b"")]
    if timestamps:
        options.append(("Timestamp", (5000, 0)))
    options += [("NOP", None), ("WScale", 9)]
    return bytes(Ether(dst=ROUTER_MAC) / IP(src=str(client.address), dst=str(VIP.address))
                 / TCP(sport=client.port, dport=VIP.port, seq=CLIENT_ISN, flags="S",
                       options=options))


def established(client: Endpoint, *, seq: int, ack: int, tsval: int, tsecr: int,
                payload: bytes = b"") -> bytes:
    packet = (Ether(dst=ROUTER_MAC) / IP(src=str(client.address), dst=str(VIP.address))
              / TCP(sport=client.port, dport=VIP.port, seq=seq, ack=ack, flags="PA",
                    window=501, options=[("NOP", None), ("NOP", None),
                                         ("Timestamp", (tsval, tsecr))]))
    return bytes(packet / payload if payload else packet)


@pytest.fixture
def full(clock: Clock) -> Splicer:
    out = Splicer(router_mac=ROUTER_MAC, splice_address=SPLICE_ADDRESS,
                  cookies=SynCookies(b"f" * 32, clock=lambda: 1_700_000_000.0), clock=clock)
    out.set_services([FULL])
    return out


def test_full_profile_negotiates_timestamps_sack_and_scaling(full: Splicer) -> None:
    (synack,) = sent(full.on_frame(full_syn(), PORT))
    options = dict(synack[TCP].options)
    assert options["MSS"] == 1460 and options["WScale"] == 7 and "SAckOK" in options
    tsval, tsecr = options["Timestamp"]
    assert tsecr == 5000 and tsval & 0x3F == 9 | 0x10  # client's shift and SACK, encoded
    assert full.by_client == {}  # still no state
    cookie = synack[TCP].seq
    ack = established(CLIENT, seq=CLIENT_ISN + 1, ack=cookie + 1, tsval=5001, tsecr=tsval)
    assert full.on_frame(ack, PORT) == []
    request_frame = established(CLIENT, seq=(CLIENT_ISN + 1) % 2**32, ack=cookie + 1,
                                tsval=5002, tsecr=tsval, payload=GET_STATIC)
    (syn,) = sent(full.on_frame(request_frame, PORT))
    syn_options = dict(syn[TCP].options)
    assert syn_options["Timestamp"] == (5002, 0) and syn_options["WScale"] == 9
    assert "SAckOK" in syn_options and syn_options["MSS"] == 1460
    reply = bytes(Ether(dst=ROUTER_MAC) / IP(src=syn[IP].dst, dst=syn[IP].src)
                  / TCP(sport=syn[TCP].dport, dport=syn[TCP].sport, seq=SERVER_ISN,
                        ack=(CLIENT_ISN + 1) % 2**32, flags="SA",
                        options=[("MSS", 1400), ("SAckOK", b""), ("Timestamp", (777, 5002)),
                                 ("NOP", None), ("WScale", 9)]))
    install, head = full.on_frame(reply, 2)
    assert isinstance(install, InstallSplice)
    splice = install.spec.splice
    assert splice.ts_offset == (tsval - 777) % 2**32
    assert splice.windows.shift(Direction.TO_CLIENT) == 2
    assert splice.windows.shift(Direction.TO_SERVER) == 0
    (reinjected,) = sent([head])
    assert reinjected[TCP].options == [("NOP", None), ("NOP", None),
                                       ("Timestamp", (5002, tsval))]
    assert splice.timestamps(Direction.TO_SERVER, 5002, tsval) == (5002, 777)


def test_full_profile_refuses_a_backend_without_timestamps(full: Splicer) -> None:
    (synack,) = sent(full.on_frame(full_syn(), PORT))
    cookie, tsval = synack[TCP].seq, dict(synack[TCP].options)["Timestamp"][0]
    (syn,) = sent(full.on_frame(established(CLIENT, seq=CLIENT_ISN + 1, ack=cookie + 1,
                                            tsval=5001, tsecr=tsval, payload=GET_STATIC),
                                PORT))
    effects = full.on_frame(frame(Endpoint(IPv4Address(syn[IP].dst), syn[TCP].dport),
                                  Endpoint(IPv4Address(syn[IP].src), syn[TCP].sport),
                                  seq=SERVER_ISN, ack=CLIENT_ISN + 1, flags="SA", mss=1460), 2)
    reset, response = sent(effects)
    assert reset[TCP].flags == "R" and bytes(response[TCP].payload).startswith(b"HTTP/1.1 503")
    assert dict(response[TCP].options)["Timestamp"] == (tsval, 5001)
    assert not any(isinstance(e, InstallSplice) for e in effects)


def test_full_profile_without_client_timestamps_is_basic(full: Splicer) -> None:
    (synack,) = sent(full.on_frame(full_syn(timestamps=False), PORT))
    assert [name for name, _ in synack[TCP].options] == ["MSS"]


segment_strategy = st.tuples(
    st.booleans(),  # from the client (else from the backend)
    st.sampled_from(["S", "A", "PA", "FA", "R", "SA", "RA", "F", ""]),
    st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
    st.binary(max_size=40), st.floats(0, 3))


@settings(max_examples=60, deadline=None)
@given(st.lists(segment_strategy, max_size=12), st.sampled_from(["reading", "connecting",
                                                                  "spliced"]))
def test_any_segments_in_any_phase_keep_the_tables_consistent(steps: list, phase: str
                                                              ) -> None:
    clock = Clock()
    splicer = Splicer(router_mac=ROUTER_MAC, splice_address=SPLICE_ADDRESS,
                      cookies=SynCookies(b"z" * 32, clock=lambda: 1_700_000_000.0),
                      clock=clock)
    splicer.set_services([SERVICE])
    cookie = handshake(splicer)
    backend_side = None
    installed: set = set()
    if phase != "reading":
        (syn,) = sent(request(splicer, cookie, GET_STATIC))
        backend_side = (Endpoint(IPv4Address(syn[IP].dst), syn[TCP].dport),
                        Endpoint(IPv4Address(syn[IP].src), syn[TCP].sport))
        if phase == "spliced":
            install = server_synack(splicer, syn)[0]
            assert isinstance(install, InstallSplice)
            installed.add(install.spec)
    for from_client, flags, seq, ack, payload, wait in steps:
        src, dst = (CLIENT, VIP) if from_client or backend_side is None else backend_side
        clock.now += wait
        effects = splicer.on_frame(frame(src, dst, seq=seq, ack=ack, flags=flags,
                                         payload=payload), PORT) + splicer.tick()
        for effect in effects:
            if isinstance(effect, InstallSplice):
                installed.add(effect.spec)
            elif isinstance(effect, RemoveSplice):
                installed.discard(effect.spec)
    live = {c.spec for c in splicer.by_client.values() if c.spec is not None}
    assert live <= installed | {c.spec for c in splicer.spliced()}
    assert set(splicer.by_server.values()) <= set(splicer.by_client.values())
    for _ in range(8):  # every timer runs out (SYN retries one per tick), spliced ones stay
        clock.now += 1000
        for effect in splicer.tick():
            if isinstance(effect, RemoveSplice):
                installed.discard(effect.spec)
    assert all(c.spec is not None for c in splicer.by_client.values())
    assert installed == {c.spec for c in splicer.spliced()}


def test_a_full_profile_splice_read_back_from_the_switch_is_kept(full: Splicer) -> None:
    from controller.dataplane import splice_entries, splice_specs
    (synack,) = sent(full.on_frame(full_syn(), PORT))
    cookie, tsval = synack[TCP].seq, dict(synack[TCP].options)["Timestamp"][0]
    (syn,) = sent(full.on_frame(established(CLIENT, seq=CLIENT_ISN + 1, ack=cookie + 1,
                                            tsval=5001, tsecr=tsval, payload=GET_STATIC),
                                PORT))
    reply = bytes(Ether(dst=ROUTER_MAC) / IP(src=syn[IP].dst, dst=syn[IP].src)
                  / TCP(sport=syn[TCP].dport, dport=syn[TCP].sport, seq=SERVER_ISN,
                        ack=(CLIENT_ISN + 1) % 2**32, flags="SA",
                        options=[("MSS", 1460), ("Timestamp", (9, 5001)), ("NOP", None),
                                 ("WScale", 10)]))
    install = full.on_frame(reply, 2)[0]
    assert isinstance(install, InstallSplice)
    (read_back,), orphans = splice_specs(*([e] for e in splice_entries(install.spec, 1, 1, 0)))
    assert orphans == [] and read_back != install.spec  # the scale options are not kept
    assert full.adopt([read_back]) == []
    assert [c.spec for c in full.spliced()] == [install.spec]


def test_adopt_repairs_a_splice_the_switch_holds_differently(splicer: Splicer) -> None:
    install, _ = spliced(splicer)
    known = install.spec
    wrong = dataclasses.replace(known, local=Endpoint(SPLICE_ADDRESS, 9))
    assert splicer.adopt([wrong]) == [RemoveSplice(wrong), InstallSplice(known)]
    handshake(splicer, Endpoint(CLIENT.address, 7))  # that client is reading its request
    stale = dataclasses.replace(known, client=Endpoint(CLIENT.address, 7))
    assert splicer.adopt([known, stale]) == [RemoveSplice(stale)]


@pytest.mark.parametrize(("ports", "next_port"), [
    ((60000, 60001, 60002), 60003),
    ((65534, 65535, 1024), 1025),  # the predecessor's ports wrapped around
])
def test_after_adopting_ports_continue_where_the_predecessor_left_off(
        splicer: Splicer, clock: Clock, ports: tuple[int, ...], next_port: int) -> None:
    """A takeover or restart must not reuse the ports freed last (the backends hold them in
    TIME_WAIT): the splicer goes on after the newest port in use."""
    template = spliced(splicer)[0].spec
    successor = Splicer(router_mac=ROUTER_MAC, splice_address=SPLICE_ADDRESS,
                        cookies=splicer.cookies, clock=clock)
    successor.set_services([SERVICE])
    specs = [dataclasses.replace(template, client=Endpoint(CLIENT.address, 5000 + i),
                                 local=Endpoint(SPLICE_ADDRESS, port))
             for i, port in enumerate(ports)]
    assert successor.adopt(specs) == []
    _, syn = spliced(successor)
    assert syn[TCP].sport == next_port  # type: ignore[index]
