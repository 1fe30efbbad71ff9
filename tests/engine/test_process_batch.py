"""``Engine.process_batch`` over a batch gives, frame for frame, what the frames give one at a
time through ``Engine.process``: nothing one frame leaves in the generated loop's locals
reaches the next."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import cast

import pytest
from engine_helpers import FakeClock, tcp_packet, udp_packet
from scapy.layers.l2 import Ether

from p4sim.compiler import compile_file
from p4sim.engine import ActionCall, BatchOutput, Engine, Exact, Lpm, ProcessResult

CORPUS = Path(__file__).resolve().parents[1] / "compiler" / "corpus"


def _routes(engine: Engine) -> None:
    engine.table_add("MyIngress.ipv4_lpm", [Lpm(0x0A000100, 24)],
                     ActionCall("MyIngress.ipv4_forward", (0x112233445566, 3)))


def _flood_and_clone(engine: Engine) -> None:
    engine.mc_group_set(1, [(1, 0), (2, 0), (3, 0)])
    engine.clone_session_set(100, [(255, 0)])
    engine.table_add("MyIngress.dmac", [Exact(0x0B)], ActionCall("MyIngress.forward", (3,)))


SETUPS: dict[str, Callable[[Engine], None]] = {"basic_ipv4": _routes,
                                               "mac_learning": _flood_and_clone}


@cache
def _json(name: str) -> dict:
    return compile_file(str(CORPUS / f"{name}.p4")).bmv2_json


def _engine(name: str) -> Engine:
    engine = Engine(_json(name), cpu_port=255, clock_ns=FakeClock())
    SETUPS.get(name, lambda _: None)(engine)
    return engine


def _frames() -> list[bytes]:
    tcp = tcp_packet(dst="10.0.1.5")
    udp = udp_packet(dst="10.0.1.9", payload=b"odd-length!")
    learned = bytes(Ether(src="00:00:00:00:00:0a", dst="00:00:00:00:00:0b", type=0x1234)) + b"x"
    bad_checksum = bytearray(udp)
    bad_checksum[-1] ^= 1
    return [tcp, udp, tcp_packet(dst="192.168.7.7"), learned, bytes(bad_checksum),
            tcp[:20], tcp[:34], b"", b"\xff" * 64, udp, learned, tcp]


def _expected(result: ProcessResult) -> list[BatchOutput]:
    if not result.packets and not result.digests:
        return []
    if len(result.packets) == 1 and not result.digests:
        return [result.packets[0]]
    return [result]


@pytest.mark.parametrize("name", sorted(p.stem for p in CORPUS.glob("*.p4")
                                        if p.stem != "common_headers"))
def test_batch_equals_process_frame_by_frame(name: str) -> None:
    single, batched = _engine(name), _engine(name)
    frames = _frames()
    expected: list[BatchOutput] = []
    for frame in frames:
        expected += _expected(single.process(2, frame))
    outputs: list[BatchOutput] = []
    batched.process_batch(2, frames, outputs)
    assert outputs == expected


def test_batch_covers_forwarding_drop_and_everything_else() -> None:
    """Each kind of output: one frame, none (a drop), and a whole result."""
    outputs: list[BatchOutput] = []
    _engine("basic_ipv4").process_batch(1, [tcp_packet(dst="10.0.1.5"),
                                            tcp_packet(dst="10.9.9.9")], outputs)
    assert [port for port, _ in cast(list[tuple[int, bytes]], outputs)] == [3]
    outputs = []
    frame = bytes(Ether(src="00:00:00:00:00:0a", dst="00:00:00:00:00:0c", type=0x1234)) + b"x"
    _engine("mac_learning").process_batch(2, [frame], outputs)
    (result,) = outputs
    assert isinstance(result, ProcessResult)
    assert sorted(port for port, _ in result.packets) == [1, 2, 3, 255]
    assert [d.name for d in result.digests] == ["learn_digest_t"]


def test_a_packet_the_engine_fails_on_does_not_stop_the_batch(
        caplog: pytest.LogCaptureFixture) -> None:
    engine = _engine("basic_ipv4")
    good = tcp_packet(dst="10.0.1.5")
    outputs: list[BatchOutput] = []
    with caplog.at_level(logging.ERROR, logger="p4sim.engine"):
        engine.process_batch(1, cast(list[bytes], [good, None, good]), outputs)
    assert [port for port, _ in cast(list[tuple[int, bytes]], outputs)] == [3, 3]
    assert "engine failure on a packet from port 1" in caplog.text
    assert engine.process(1, cast(bytes, None)) == ProcessResult([], [])
