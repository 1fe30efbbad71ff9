"""Differential test: the same P4Runtime requests against simple_switch_grpc and p4sim-switch,
both running the BMv2 JSON and P4Info that real p4c makes of fixtures/mini.p4, must give the
same status codes, per-update error codes and read results.  Skipped without BMv2 and p4c."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from finsy.proto import p4i, p4r
from google.protobuf import text_format
from p4rt_fixture import FIXTURES
from p4rt_testlib import Client, Server, batch_errors, delete, insert, modify

from topologies.p4build import compile_program, p4c_available
from topologies.switch_process import SwitchConfig, SwitchProcess, Target, bmv2_available

pytestmark = pytest.mark.skipif(not (bmv2_available() and p4c_available()),
                                reason="simple_switch_grpc and p4c are not installed")

Outcome = tuple[str, object]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Names:
    """P4Info ids by name (p4c assigns them, so the test never hard-codes one)."""

    def __init__(self, p4info: p4i.P4Info, bmv2_json: bytes) -> None:
        self.p4info = p4info
        self.config = p4r.ForwardingPipelineConfig(p4info=p4info, p4_device_config=bmv2_json)
        self.ids = {o.preamble.name: o.preamble.id for kind in (
            p4info.tables, p4info.actions, p4info.action_profiles, p4info.counters,
            p4info.meters, p4info.registers, p4info.digests) for o in kind}

    def field(self, table: str, name: str) -> int:
        spec = next(t for t in self.p4info.tables if t.preamble.name == table)
        return next(m.id for m in spec.match_fields if m.name == name)

    def lpm(self, prefix: bytes, plen: int, port: bytes = b"\x01") -> p4r.TableEntry:
        table = "MyIngress.ipv4_lpm"
        entry = p4r.TableEntry(table_id=self.ids[table])
        entry.match.add(field_id=self.field(table, "hdr.ipv4.dstAddr"),
                        lpm=p4r.FieldMatch.LPM(value=prefix, prefix_len=plen))
        entry.action.action.action_id = self.ids["MyIngress.set_nhop"]
        entry.action.action.params.add(param_id=1, value=b"\x01")
        entry.action.action.params.add(param_id=2, value=port)
        return entry

    def acl(self, priority: int) -> p4r.TableEntry:
        table = "MyIngress.acl"
        entry = p4r.TableEntry(table_id=self.ids[table], priority=priority)
        entry.match.add(field_id=self.field(table, "hdr.ipv4.srcAddr"),
                        ternary=p4r.FieldMatch.Ternary(value=b"\x0a\x00\x00\x00",
                                                       mask=b"\xff\x00\x00\x00"))
        entry.action.action.action_id = self.ids["MyIngress.drop"]
        return entry


def outcome(call: Callable[[], object]) -> Outcome:
    try:
        result = call()
    except grpc.RpcError as err:
        if err.code() == grpc.StatusCode.UNKNOWN:
            return "errors", [e.canonical_code for e in batch_errors(err)]
        return "status", err.code()
    if isinstance(result, list):
        return "read", sorted(e.SerializeToString(deterministic=True) for e in result)
    return "ok", None


def scenario(client: Client, names: Names) -> list[Outcome]:
    ids = names.ids
    client.become_primary(1)
    client.set_pipeline(names.config)
    default = p4r.TableEntry(table_id=ids["MyIngress.ipv4_lpm"], is_default_action=True)
    member = p4r.ActionProfileMember(action_profile_id=ids["MyIngress.ecmp_selector"],
                                     member_id=1)
    member.action.action_id = ids["MyIngress.set_nhop"]
    member.action.params.add(param_id=1, value=b"\x01")
    member.action.params.add(param_id=2, value=b"\x02")
    counter = p4r.CounterEntry(counter_id=ids["MyIngress.port_counter"])
    counter.index.index = 3
    group = p4r.PacketReplicationEngineEntry()
    group.multicast_group_entry.multicast_group_id = 1
    group.multicast_group_entry.replicas.add(egress_port=1, instance=0)
    register = p4r.RegisterEntry(register_id=ids["MyIngress.reg"])
    return [
        outcome(lambda: client.write(insert(table_entry=names.lpm(b"\x0a\x00\x00\x00", 8)))),
        outcome(lambda: client.write(
            insert(table_entry=names.lpm(b"\x0a\x00\x00\x00", 8)),
            modify(table_entry=names.lpm(b"\x0b\x00\x00\x00", 8)),
            delete(table_entry=names.lpm(b"\x0c\x00\x00\x00", 8)),
            insert(table_entry=names.lpm(b"\x0a\x00\x00\x01", 8)),
            insert(table_entry=names.lpm(b"\x0d\x00\x00\x00", 0)),
            insert(table_entry=names.lpm(b"\x0e\x00\x00\x00", 8, port=b"\x02\x00")),
            insert(table_entry=names.lpm(b"\x0f\x00\x00\x00", 8, port=b"\x00\x00\x03")),
            insert(table_entry=names.acl(0)), insert(table_entry=names.acl(7)))),
        outcome(lambda: client.read(p4r.Entity(table_entry=p4r.TableEntry()))),
        outcome(lambda: client.read(p4r.Entity(table_entry=default))),
        outcome(lambda: client.write(insert(action_profile_member=member))),
        outcome(lambda: client.read(p4r.Entity(action_profile_member=p4r.ActionProfileMember()))),
        outcome(lambda: client.read(p4r.Entity(counter_entry=counter))),
        outcome(lambda: client.write(insert(packet_replication_engine_entry=group))),
        outcome(lambda: client.read(p4r.Entity(register_entry=register))),
        outcome(lambda: client.write(p4r.Update(type=p4r.Update.INSERT,
                                                entity=p4r.Entity(table_entry=p4r.TableEntry(
                                                    table_id=0x02FFFFFF))))),
    ]


@pytest.fixture(scope="module")
def p4c_program(tmp_path_factory: pytest.TempPathFactory) -> Names:
    files = compile_program(FIXTURES / "mini.p4", tmp_path_factory.mktemp("p4c"), Target.BMV2)
    p4info = text_format.Parse(files.p4info_path.read_text(), p4i.P4Info())
    return Names(p4info, files.json_path.read_bytes())


def test_same_answers_as_simple_switch_grpc(p4c_program: Names, tmp_path: Path) -> None:
    bmv2 = SwitchProcess(SwitchConfig(Target.BMV2, ports=(), grpc_port=free_port(),
                                      cpu_port=64, thrift_port=free_port()),
                         tmp_path / "bmv2.log")
    bmv2.start()
    try:
        with Client(bmv2.config.grpc_addr) as client:
            theirs = scenario(client, p4c_program)
    finally:
        bmv2.stop()
    with Server() as server, Client(server.address) as client:
        ours = scenario(client, p4c_program)
    assert ours == theirs
