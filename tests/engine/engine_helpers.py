"""Packet builders and a fake clock shared by the engine tests."""

from __future__ import annotations

from typing import Any

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw


class FakeClock:
    """A settable nanosecond clock for meters, timestamps and idle timeouts."""

    def __init__(self, start_ns: int = 1_000_000_000) -> None:
        self.now = start_ns

    def __call__(self) -> int:
        return self.now

    def advance_ms(self, ms: float) -> None:
        self.now += int(ms * 1_000_000)


def tcp_packet(dst: str = "10.0.1.5", src: str = "10.0.0.1", sport: int = 1234,
               dport: int = 80, payload: bytes = b"payload", **ip: Any) -> bytes:
    pkt: Packet = (Ether(dst="aa:bb:cc:dd:ee:ff", src="00:00:00:00:00:01")
                   / IP(src=src, dst=dst, **ip) / TCP(sport=sport, dport=dport) / Raw(payload))
    return bytes(pkt)


def udp_packet(dst: str = "10.0.1.5", src: str = "10.0.0.1", sport: int = 1234,
               dport: int = 53, payload: bytes = b"payload") -> bytes:
    pkt: Packet = (Ether(dst="aa:bb:cc:dd:ee:ff", src="00:00:00:00:00:01")
                   / IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / Raw(payload))
    return bytes(pkt)
