"""Const entries and const default actions (compiled from P4 source): immutable, readable.

The spec forbids changing them; as simple_switch_grpc, writes are refused with
PERMISSION_DENIED and the default entry can never be inserted or deleted (INVALID_ARGUMENT).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from finsy.proto import p4i, p4r
from p4rt_testlib import Client, Server, delete, insert, modify

from p4sim.compiler import compile_source

INVALID, PERMISSION_DENIED = 3, 7
PROGRAM = """
#include <core.p4>
#include <v1model.p4>
header ethernet_t { bit<48> dstAddr; bit<48> srcAddr; bit<16> etherType; }
struct headers { ethernet_t ethernet; }
struct metadata { }
parser P(packet_in pkt, out headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.ethernet); transition accept; }
}
control VC(inout headers hdr, inout metadata meta) { apply { } }
control I(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) {
    action fwd(bit<9> port) { sm.egress_spec = port; }
    action drop() { mark_to_drop(sm); }
    table fixed {
        key = { hdr.ethernet.etherType: exact; }
        actions = { fwd; drop; }
        const entries = { 0x0800 : fwd(1); }
        default_action = drop();
    }
    table pinned {
        key = { hdr.ethernet.dstAddr: exact; }
        actions = { fwd; drop; }
        const default_action = drop();
    }
    apply { fixed.apply(); pinned.apply(); }
}
control E(inout headers hdr, inout metadata meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers hdr, inout metadata meta) { apply { } }
control D(packet_out pkt, in headers hdr) { apply { pkt.emit(hdr.ethernet); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


def ids(p4info: p4i.P4Info) -> dict[str, int]:
    found = {t.preamble.name: t.preamble.id for t in p4info.tables}
    found.update({a.preamble.name: a.preamble.id for a in p4info.actions})
    return found


@pytest.fixture
def const_client() -> Iterator[tuple[Client, dict[str, int]]]:
    program = compile_source(PROGRAM)
    config = p4r.ForwardingPipelineConfig(p4info=program.p4info,
                                          p4_device_config=program.json_text().encode())
    with Server() as server, Client(server.address) as client:
        client.become_primary(1)
        client.set_pipeline(config)
        yield client, ids(program.p4info)


def entry(table: int, value: bytes, action: int, port: bytes | None = None) -> p4r.TableEntry:
    message = p4r.TableEntry(table_id=table)
    message.match.add(field_id=1, exact=p4r.FieldMatch.Exact(value=value))
    message.action.action.action_id = action
    if port is not None:
        message.action.action.params.add(param_id=1, value=port)
    return message


def test_const_entries_are_read_and_immutable(
        const_client: tuple[Client, dict[str, int]]) -> None:
    client, names = const_client
    fixed, fwd = names["I.fixed"], names["I.fwd"]
    (read,) = client.read(p4r.Entity(table_entry=p4r.TableEntry(table_id=fixed)))
    expected = entry(fixed, b"\x08\x00", fwd, b"\x01")
    expected.is_const = True
    assert read.table_entry == expected
    errors = client.write_errors(
        insert(table_entry=entry(fixed, b"\x08\x06", fwd, b"\x02")),
        modify(table_entry=entry(fixed, b"\x08\x00", fwd, b"\x02")),
        delete(table_entry=entry(fixed, b"\x08\x00", fwd, b"\x01")))
    assert [e.canonical_code for e in errors] == [PERMISSION_DENIED] * 3


def test_const_default_action_cannot_change(
        const_client: tuple[Client, dict[str, int]]) -> None:
    client, names = const_client
    pinned, fwd, drop = names["I.pinned"], names["I.fwd"], names["I.drop"]
    default = p4r.TableEntry(table_id=pinned, is_default_action=True)
    default.action.action.action_id = fwd
    default.action.action.params.add(param_id=1, value=b"\x01")
    errors = client.write_errors(modify(table_entry=default), insert(table_entry=default),
                                 delete(table_entry=default))
    assert [e.canonical_code for e in errors] == [PERMISSION_DENIED, INVALID, INVALID]
    (read,) = client.read(p4r.Entity(table_entry=p4r.TableEntry(
        table_id=pinned, is_default_action=True)))
    assert read.table_entry.action.action.action_id == drop
    client.write(insert(table_entry=entry(pinned, b"\x01", fwd, b"\x02")))  # entries are free
