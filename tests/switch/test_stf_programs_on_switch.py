"""The round-4 STF programs (tests/compiler/round4/programs) on the p4sim-switch process: the
pipeline pushed with SetForwardingPipelineConfig, the STF's table entries written through
P4Runtime, its packets sent and received on veth pairs (tests/compiler/stf.py parses the STF
and compares, as for the engine).

The kernel sends no frame shorter than an Ethernet header, and these programs' packets are a
few bytes long, so every packet gets a trailer of ``TRAILER`` bytes, which the programs pass
through as payload and which is checked and removed from each packet received."""

from __future__ import annotations

import os
import select
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from finsy.proto import p4i, p4r
from netns_testlib import Lab, can_create_namespaces

from p4sim.compiler import compile_file
from p4sim.engine import ActionCall, Exact, Lpm, Optional, Range, Ternary
from p4sim.engine.types import MatchParam
from p4sim.p4runtime.match_keys import from_engine_priority

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "p4runtime"))
sys.path.insert(0, str(REPO / "tests" / "compiler"))
from p4rt_testlib import Client, insert, update  # noqa: E402
from stf import StfRunner  # noqa: E402

pytestmark = pytest.mark.skipif(not can_create_namespaces(),
                                reason="needs root and iproute2 for network namespaces")

PROGRAMS = REPO / "tests" / "compiler" / "round4" / "programs"
STF_PROGRAMS = sorted(p.stem for p in PROGRAMS.glob("*.stf"))
PORTS = (0, 1, 2, 3, 4)  # the STF ports; port p is veth s<p+1> (h<p+1> on the hosts' side)
TRAILER = bytes(range(0xA0, 0xA0 + 14))
QUIET = 0.15  # seconds without a frame after which a packet's outputs are all in


def _bytes(value: int) -> bytes:
    """P4Runtime's canonical bytestring."""
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


@dataclass
class Result:
    packets: list[tuple[int, bytes]] = field(default_factory=list)


class SwitchTarget:
    """The Engine methods StfRunner uses, done on the running switch."""

    def __init__(self, client: Client, p4info: p4i.P4Info,
                 sockets: dict[int, socket.socket]) -> None:
        self.client = client
        self.tables = {t.preamble.name: t for t in p4info.tables}
        self.actions = {a.preamble.name: a for a in p4info.actions}
        self.sockets = sockets
        self.groups: set[int] = set()

    def _action(self, call: ActionCall) -> p4r.TableAction:
        action = self.actions[call.action]
        assert len(action.params) == len(call.params), call
        return p4r.TableAction(action=p4r.Action(action_id=action.preamble.id, params=[
            p4r.Action.Param(param_id=param.id, value=_bytes(value))
            for param, value in zip(action.params, call.params, strict=True)]))

    def table_add(self, table: str, key: list[MatchParam], action: ActionCall, *,
                  priority: int | None = None) -> None:
        info = self.tables[table]
        assert len(info.match_fields) == len(key), table
        matches = []
        for match_field, param in zip(info.match_fields, key, strict=True):
            found = _field_match(match_field, param)
            if found is not None:
                matches.append(found)
        entry = p4r.TableEntry(table_id=info.preamble.id, match=matches,
                               action=self._action(action),
                               priority=0 if priority is None else
                               from_engine_priority(priority))
        self.client.write(insert(table_entry=entry))

    def table_set_default(self, table: str, action: ActionCall) -> None:
        entry = p4r.TableEntry(table_id=self.tables[table].preamble.id,
                               is_default_action=True, action=self._action(action))
        self.client.write(update(p4r.Update.MODIFY, table_entry=entry))

    def mc_group_set(self, group: int, replicas: list[tuple[int, int]]) -> None:
        entry = p4r.PacketReplicationEngineEntry(multicast_group_entry=p4r.MulticastGroupEntry(
            multicast_group_id=group,
            replicas=[p4r.Replica(egress_port=port, instance=rid) for port, rid in replicas]))
        kind = p4r.Update.MODIFY if group in self.groups else p4r.Update.INSERT
        self.client.write(update(kind, packet_replication_engine_entry=entry))
        self.groups.add(group)

    def process(self, port: int, data: bytes) -> Result:
        self.sockets[port].send(data + TRAILER)
        result = Result()
        deadline = time.monotonic() + QUIET
        while (wait := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select(list(self.sockets.values()), [], [], wait)
            for sock in ready:
                frame, address = sock.recvfrom(65536)
                if address[2] == socket.PACKET_OUTGOING:
                    continue
                out_port = next(p for p, s in self.sockets.items() if s is sock)
                assert frame.endswith(TRAILER), f"port {out_port}: {frame.hex()}"
                result.packets.append((out_port, frame[:-len(TRAILER)]))
                deadline = time.monotonic() + QUIET
        return result


def _field_match(match_field: p4i.MatchField, param: MatchParam) -> p4r.FieldMatch | None:
    """The P4Runtime match of one key field; None for a wildcard (left out)."""
    width = match_field.bitwidth
    full = (1 << width) - 1
    fid = match_field.id
    if isinstance(param, Exact):
        return p4r.FieldMatch(field_id=fid, exact=p4r.FieldMatch.Exact(value=_bytes(param.value)))
    if isinstance(param, Ternary):
        if param.mask == 0:
            return None
        return p4r.FieldMatch(field_id=fid, ternary=p4r.FieldMatch.Ternary(
            value=_bytes(param.value & param.mask), mask=_bytes(param.mask)))
    if isinstance(param, Lpm):
        if param.prefix_len == 0:
            return None
        return p4r.FieldMatch(field_id=fid, lpm=p4r.FieldMatch.LPM(
            value=_bytes(param.value), prefix_len=param.prefix_len))
    if isinstance(param, Range):
        if (param.low, param.high) == (0, full):
            return None
        return p4r.FieldMatch(field_id=fid, range=p4r.FieldMatch.Range(
            low=_bytes(param.low), high=_bytes(param.high)))
    assert isinstance(param, Optional)
    if param.value is None:
        return None
    return p4r.FieldMatch(field_id=fid, optional=p4r.FieldMatch.Optional(
        value=_bytes(param.value)))


@pytest.fixture(scope="module")
def switch(tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[Client, dict[int, socket.socket]]]:
    socket_path = tmp_path_factory.mktemp("stf-switch") / "grpc.sock"
    interfaces = [arg for p in PORTS for arg in ("-i", f"{p}@s{p + 1}")]
    with Lab(f"stf{os.getpid() % 10000}-", len(PORTS)) as lab:
        process = lab.start_switch(socket_path, ["--no-p4", *interfaces])
        sockets = {p: lab.host_socket(p + 1) for p in PORTS}
        try:
            with Client(f"unix:{socket_path}") as client:
                client.become_primary(1)
                yield client, sockets
        finally:
            for sock in sockets.values():
                sock.close()
            process.kill()
            process.wait()


@pytest.mark.parametrize("name", STF_PROGRAMS)
def test_program_passes_its_stf_on_the_switch(switch, name: str) -> None:
    client, sockets = switch
    compiled = compile_file(str(PROGRAMS / f"{name}.p4"))
    config = p4r.ForwardingPipelineConfig(p4info=compiled.p4info,
                                          p4_device_config=compiled.json_text().encode())
    client.set_pipeline(config)
    target = SwitchTarget(client, compiled.p4info, sockets)
    runner = StfRunner(compiled.bmv2_json, engine=target)
    result = runner.run((PROGRAMS / f"{name}.stf").read_text())
    assert result.failures == []
