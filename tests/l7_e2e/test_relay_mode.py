"""Relay mode (``relay: true``): the splicer forwards every segment itself, translated with
the splice arithmetic, and never installs splice entries.  No root needed."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
import yaml
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from controller.config import Backend, ConfigError, parse_config
from controller.l7.rules import parse_content_rules
from controller.l7.segments import Endpoint, parse_segment
from controller.l7.seqmap import Direction
from controller.l7.splicer import (
    ContentService,
    Effect,
    InstallSplice,
    RemoveSplice,
    Splicer,
    SplicerLimits,
    Transmit,
)
from controller.l7.syncookies import SynCookies

ROUTER_MAC = "02:aa:00:00:00:01"
CLIENT = Endpoint(IPv4Address("10.0.0.11"), 40000)
VIP = Endpoint(IPv4Address("10.0.0.104"), 80)
SPLICE_ADDRESS = IPv4Address("10.0.1.254")
BACKEND = Backend("b1", IPv4Address("10.0.1.1"), 8001, None, None, 1)
CLIENT_ISN, SERVER_ISN = 0xFFFFFFF0, 0x12345678  # the client's sequence numbers wrap
PORT = 1
REQUEST = b"GET /big.bin HTTP/1.1\r\nHost: shop\r\n\r\n"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def relay_splicer(clock: Clock) -> Splicer:
    pools = {"web": (BACKEND,)}
    service = ContentService("relay", VIP, parse_content_rules([], default_pool="web",
                                                               pools=pools),
                             pools, scheduler="rr", relay=True)
    splicer = Splicer(router_mac=ROUTER_MAC, splice_address=SPLICE_ADDRESS,
                      cookies=SynCookies(b"r" * 32, clock=lambda: 1_700_000_000.0),
                      limits=SplicerLimits(relay_idle_s=30.0), clock=clock)
    splicer.set_services([service])
    return splicer


def frame(src: Endpoint, dst: Endpoint, *, seq: int, ack: int = 0, flags: str = "A",
          payload: bytes = b"", options: list | None = None, window: int = 29200) -> bytes:
    packet = (Ether(dst=ROUTER_MAC) / IP(src=str(src.address), dst=str(dst.address))
              / TCP(sport=src.port, dport=dst.port, seq=seq % 2**32, ack=ack % 2**32, flags=flags,
                    window=window, options=options or []))
    return bytes(packet / payload if payload else packet)


def transmitted(effects: list[Effect]) -> list[Ether]:
    assert not any(isinstance(e, InstallSplice | RemoveSplice) for e in effects)
    return [Ether(e.frame) for e in effects if isinstance(e, Transmit)]


def relayed_connection(splicer: Splicer) -> tuple[int, Endpoint]:
    """Handshake, request, backend SYN-ACK; returns the cookie and the splicer's local
    endpoint towards the backend."""
    (synack,) = transmitted(splicer.on_frame(
        frame(CLIENT, VIP, seq=CLIENT_ISN, flags="S", options=[("MSS", 1460)]), PORT))
    cookie = synack[TCP].seq
    splicer.on_frame(frame(CLIENT, VIP, seq=CLIENT_ISN + 1, ack=cookie + 1), PORT)
    (syn,) = transmitted(splicer.on_frame(frame(CLIENT, VIP, seq=CLIENT_ISN + 1,
                                                ack=cookie + 1, flags="PA",
                                                payload=REQUEST), PORT))
    local = Endpoint(IPv4Address(syn[IP].src), syn[TCP].sport)
    (forwarded,) = transmitted(splicer.on_frame(
        frame(Endpoint(BACKEND.address, BACKEND.port), local, seq=SERVER_ISN,
              ack=CLIENT_ISN + 1, flags="SA", options=[("MSS", 1460)]), 2))
    # The request reaches the backend already translated (no entries would do it).
    assert (forwarded[IP].src, forwarded[IP].dst) == (str(SPLICE_ADDRESS), "10.0.1.1")
    assert forwarded[TCP].ack == SERVER_ISN + 1 and bytes(forwarded[TCP].payload) == REQUEST
    assert parse_segment(bytes(forwarded)) is not None  # checksums correct
    return cookie, local


def test_every_segment_is_translated_by_the_splicer_and_no_entry_is_installed() -> None:
    splicer = relay_splicer(Clock())
    cookie, local = relayed_connection(splicer)
    server = Endpoint(BACKEND.address, BACKEND.port)
    data_seq = (CLIENT_ISN + 1 + len(REQUEST)) % 2**32
    (reply,) = transmitted(splicer.on_frame(
        frame(server, local, seq=SERVER_ISN + 1, ack=data_seq, flags="PA",
              payload=b"HTTP/1.1 200 OK\r\n\r\nx"), 5))
    assert (reply[IP].src, reply[IP].dst) == (str(VIP.address), str(CLIENT.address))
    assert (reply[TCP].sport, reply[TCP].dport) == (VIP.port, CLIENT.port)
    assert reply[TCP].seq == cookie + 1 and reply[TCP].ack == data_seq
    assert reply.src == reply.dst == ROUTER_MAC
    assert parse_segment(bytes(reply)) is not None
    (ack,) = transmitted(splicer.on_frame(
        frame(CLIENT, VIP, seq=data_seq, ack=(cookie + 1 + 20) % 2**32), PORT))
    assert (ack[IP].dst, ack[TCP].dport) == ("10.0.1.1", BACKEND.port)
    assert ack[TCP].ack == SERVER_ISN + 1 + 20 and parse_segment(bytes(ack)) is not None
    assert splicer.counters["relayed"] == 1 and "spliced" not in splicer.counters


def test_sack_blocks_and_timestamps_move_with_the_splice_arithmetic() -> None:
    splicer = relay_splicer(Clock())
    cookie, local = relayed_connection(splicer)
    conn = splicer.by_client[(CLIENT, VIP)]
    assert conn.spec is not None
    splice = conn.spec.splice
    sack = [((cookie + 1000) % 2**32, (cookie + 2000) % 2**32)]
    (out,) = transmitted(splicer.on_frame(
        frame(CLIENT, VIP, seq=CLIENT_ISN + 1 + len(REQUEST), ack=cookie + 1,
              options=[("NOP", None), ("NOP", None), ("SAck", sack[0])]), PORT))
    assert tuple(dict(out[TCP].options)["SAck"]) == splice.sack_blocks(Direction.TO_SERVER,
                                                                      sack)[0]
    assert out[TCP].ack == splice.ack(Direction.TO_SERVER, (cookie + 1) % 2**32)


def test_fin_both_ways_then_the_linger_forgets_the_connection() -> None:
    clock = Clock()
    splicer = relay_splicer(clock)
    cookie, local = relayed_connection(splicer)
    server = Endpoint(BACKEND.address, BACKEND.port)
    end = (CLIENT_ISN + 1 + len(REQUEST)) % 2**32
    assert len(transmitted(splicer.on_frame(frame(server, local, seq=SERVER_ISN + 1, ack=end,
                                                  flags="FA"), 5))) == 1
    assert len(transmitted(splicer.on_frame(frame(CLIENT, VIP, seq=end, ack=cookie + 2,
                                                  flags="FA"), PORT))) == 1
    clock.now += 3
    assert transmitted(splicer.tick()) == []
    assert splicer.by_client == {} and splicer.by_server == {}
    assert splicer.active("relay", "web", "b1") == 0


def test_an_idle_relayed_connection_is_dropped_after_relay_idle_s() -> None:
    clock = Clock()
    splicer = relay_splicer(clock)
    relayed_connection(splicer)
    clock.now += 29
    assert splicer.tick() == [] and splicer.by_client
    clock.now += 2
    assert transmitted(splicer.tick()) == [] and splicer.by_client == {}


def test_adopt_after_a_reconnection_keeps_relayed_connections() -> None:
    splicer = relay_splicer(Clock())
    relayed_connection(splicer)
    assert splicer.adopt([]) == [] and len(splicer.by_client) == 1


CONFIG = """
pipeline: {p4info: /dev/null, bmv2_json: /dev/null}
switches:
  - {name: s1, address: "127.0.0.1:9559", router_mac: "02:aa:00:00:00:01",
     ports: {c: 1, b: 2}, addresses: [10.0.0.1], splice_address: 10.0.1.254}
pools:
  web: [{name: b1, address: 10.0.1.1, port: 8001, mac: "02:00:0a:00:01:01", egress_port: b}]
services:
  - {name: relay, vip: 10.0.0.104, port: 80, mode: l7, default_pool: web, relay: RELAY}
"""


def test_config_takes_relay_as_a_boolean() -> None:
    config = parse_config(yaml.safe_load(CONFIG.replace("RELAY", "true")))
    (service,) = config.services
    assert service.content is not None and service.content.relay
    with pytest.raises(ConfigError, match=r"services\[0\]\.relay: 'yes please' is not true"):
        parse_config(yaml.safe_load(CONFIG.replace("RELAY", "yes please")))
