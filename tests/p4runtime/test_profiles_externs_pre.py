"""Action profiles (members, groups, one-shot), counters, meters, registers and the PRE."""

from __future__ import annotations

import grpc
from finsy.proto import p4r
from p4rt_fixture import A_DROP, A_SET_NHOP, AP_ECMP, C_PORT, M_PORT, R_REG, T_ACL, T_ECMP
from p4rt_testlib import Client, acl_entry, code_of, delete, insert, modify

INVALID, NOT_FOUND, ALREADY_EXISTS, RESOURCE_EXHAUSTED = 3, 5, 6, 8
UNIMPLEMENTED, OUT_OF_RANGE = 12, 11


def member(member_id: int, port: int) -> p4r.ActionProfileMember:
    message = p4r.ActionProfileMember(action_profile_id=AP_ECMP, member_id=member_id)
    message.action.action_id = A_SET_NHOP
    message.action.params.add(param_id=1, value=b"\x01")
    message.action.params.add(param_id=2, value=bytes([port]))
    return message


def group(group_id: int, *member_ids: int) -> p4r.ActionProfileGroup:
    message = p4r.ActionProfileGroup(action_profile_id=AP_ECMP, group_id=group_id)
    for member_id in member_ids:
        message.members.add(member_id=member_id, weight=1)
    return message


def ecmp_entry(dst: bytes) -> p4r.TableEntry:
    entry = p4r.TableEntry(table_id=T_ECMP)
    entry.match.add(field_id=1, exact=p4r.FieldMatch.Exact(value=dst))
    return entry


def test_members_groups_and_indirect_entries(client: Client) -> None:
    client.write(insert(action_profile_member=member(1, 1)),
                 insert(action_profile_member=member(2, 2)),
                 insert(action_profile_group=group(10, 1, 2)))
    entry = ecmp_entry(b"\x0a\x00\x00\x01")
    entry.action.action_profile_group_id = 10
    client.write(insert(table_entry=entry))
    members = client.read(p4r.Entity(action_profile_member=p4r.ActionProfileMember()))
    assert [m.action_profile_member for m in members] == [member(1, 1), member(2, 2)]
    (read_group,) = client.read(p4r.Entity(action_profile_group=p4r.ActionProfileGroup(
        action_profile_id=AP_ECMP)))
    assert [m.member_id for m in read_group.action_profile_group.members] == [1, 2]
    (read_entry,) = client.read(p4r.Entity(table_entry=p4r.TableEntry(table_id=T_ECMP)))
    assert read_entry.table_entry.action.action_profile_group_id == 10
    client.write(modify(action_profile_group=group(10, 2)))
    errors = client.write_errors(insert(action_profile_member=member(1, 5)),
                                 delete(action_profile_member=member(1, 1)),
                                 insert(action_profile_group=group(11, 9)),
                                 modify(action_profile_member=member(7, 1)))
    assert [e.canonical_code for e in errors] == [ALREADY_EXISTS, 0, NOT_FOUND, NOT_FOUND]


def test_group_size_limits(client: Client) -> None:
    client.write(*(insert(action_profile_member=member(i, i)) for i in range(1, 6)))
    errors = client.write_errors(insert(action_profile_group=group(1, 1, 2, 3, 4, 5)))
    assert [e.canonical_code for e in errors] == [RESOURCE_EXHAUSTED]
    too_big = group(2, 1)
    too_big.max_size = 8
    assert [e.canonical_code for e in client.write_errors(
        insert(action_profile_group=too_big))] == [INVALID]


def test_member_reference_must_exist(client: Client) -> None:
    entry = ecmp_entry(b"\x0a\x00\x00\x01")
    entry.action.action_profile_member_id = 99
    assert [e.canonical_code for e in client.write_errors(insert(table_entry=entry))] == [
        NOT_FOUND]


def test_one_shot_action_set(client: Client) -> None:
    entry = ecmp_entry(b"\x0a\x00\x00\x01")
    for port in (1, 2):
        action = entry.action.action_profile_action_set.action_profile_actions.add(weight=1)
        action.action.CopyFrom(member(0, port).action)
    client.write(insert(table_entry=entry))
    (read,) = client.read(p4r.Entity(table_entry=p4r.TableEntry(table_id=T_ECMP)))
    assert read.table_entry == entry
    # The hidden members and group do not show up.
    assert client.read(p4r.Entity(action_profile_member=p4r.ActionProfileMember())) == []
    assert client.read(p4r.Entity(action_profile_group=p4r.ActionProfileGroup())) == []
    client.write(delete(table_entry=ecmp_entry(b"\x0a\x00\x00\x01")))
    assert client.read(p4r.Entity(table_entry=p4r.TableEntry(table_id=T_ECMP))) == []


def test_indirect_counter_write_and_wildcard_read(client: Client) -> None:
    cell = p4r.CounterEntry(counter_id=C_PORT, data=p4r.CounterData(byte_count=7,
                                                                    packet_count=1))
    cell.index.index = 3
    client.write(modify(counter_entry=cell))
    one = p4r.CounterEntry(counter_id=C_PORT)
    one.index.index = 3
    assert [e.counter_entry for e in client.read(p4r.Entity(counter_entry=one))] == [cell]
    every = client.read(p4r.Entity(counter_entry=p4r.CounterEntry(counter_id=C_PORT)))
    assert len(every) == 512
    all_counters = client.read(p4r.Entity(counter_entry=p4r.CounterEntry()))
    assert len(all_counters) == 512  # the direct counter is not an indirect one
    client.write(delete(counter_entry=cell))
    assert client.read(p4r.Entity(counter_entry=one))[0].counter_entry.data.byte_count == 0
    out_of_range = p4r.CounterEntry(counter_id=C_PORT)
    out_of_range.index.index = 512
    errors = client.write_errors(modify(counter_entry=out_of_range),
                                 insert(counter_entry=cell),
                                 modify(counter_entry=p4r.CounterEntry(counter_id=C_PORT)))
    assert [e.canonical_code for e in errors] == [OUT_OF_RANGE, INVALID, UNIMPLEMENTED]


def test_meter_config(client: Client) -> None:
    cell = p4r.MeterEntry(meter_id=M_PORT, config=p4r.MeterConfig(
        cir=1000, cburst=100, pir=2000, pburst=200))
    cell.index.index = 1
    client.write(modify(meter_entry=cell))
    request = p4r.MeterEntry(meter_id=M_PORT)
    request.index.index = 1
    (read,) = client.read(p4r.Entity(meter_entry=request))
    assert read.meter_entry.config == cell.config
    bad = p4r.MeterEntry(meter_id=M_PORT, config=p4r.MeterConfig(cir=10, pir=5))
    bad.index.index = 1
    assert [e.canonical_code for e in client.write_errors(modify(meter_entry=bad))] == [
        INVALID]


def test_direct_counter_entries(client: Client) -> None:
    entry = acl_entry(b"\x0a\x00\x00\x00", b"\xff\x00\x00\x00", priority=5, action_id=A_DROP)
    client.write(insert(table_entry=entry))
    key = p4r.TableEntry(table_id=T_ACL, priority=5)
    key.match.extend(entry.match)
    written = p4r.DirectCounterEntry(table_entry=key, data=p4r.CounterData(
        byte_count=64, packet_count=1))
    client.write(modify(direct_counter_entry=written))
    (one,) = client.read(p4r.Entity(direct_counter_entry=p4r.DirectCounterEntry(
        table_entry=key)))
    assert one.direct_counter_entry == written
    every = client.read(p4r.Entity(direct_counter_entry=p4r.DirectCounterEntry(
        table_entry=p4r.TableEntry(table_id=T_ACL))))
    assert [e.direct_counter_entry for e in every] == [written]


def test_direct_resources_of_a_missing_entry_are_invalid_argument_as_in_pi(
        client: Client) -> None:
    key = p4r.TableEntry(table_id=T_ACL, priority=5)
    key.match.add(field_id=1, ternary=p4r.FieldMatch.Ternary(value=b"\x0b", mask=b"\xff"))
    missing = p4r.DirectCounterEntry(table_entry=key, data=p4r.CounterData(packet_count=1))
    assert [e.canonical_code for e in client.write_errors(
        modify(direct_counter_entry=missing))] == [INVALID]
    assert code_of(lambda: client.read(p4r.Entity(direct_counter_entry=missing))) == (
        grpc.StatusCode.INVALID_ARGUMENT)


def test_registers_are_unimplemented_as_in_simple_switch_grpc(client: Client) -> None:
    cell = p4r.RegisterEntry(register_id=R_REG)
    cell.index.index = 0
    cell.data.bitstring = b"\x01"
    assert [e.canonical_code for e in client.write_errors(modify(register_entry=cell))] == [
        UNIMPLEMENTED]
    assert code_of(lambda: client.read(p4r.Entity(register_entry=cell))) == (
        grpc.StatusCode.UNIMPLEMENTED)


def test_multicast_groups_and_clone_sessions(client: Client) -> None:
    mc = p4r.PacketReplicationEngineEntry()
    mc.multicast_group_entry.multicast_group_id = 1
    mc.multicast_group_entry.replicas.add(egress_port=1, instance=0)
    mc.multicast_group_entry.replicas.add(egress_port=2, instance=0)
    clone = p4r.PacketReplicationEngineEntry()
    clone.clone_session_entry.session_id = 5
    clone.clone_session_entry.replicas.add(egress_port=64, instance=0)
    client.write(insert(packet_replication_engine_entry=mc),
                 insert(packet_replication_engine_entry=clone))
    read_mc = p4r.PacketReplicationEngineEntry()
    read_mc.multicast_group_entry.SetInParent()
    assert [e.packet_replication_engine_entry for e in client.read(
        p4r.Entity(packet_replication_engine_entry=read_mc))] == [mc]
    read_clone = p4r.PacketReplicationEngineEntry()
    read_clone.clone_session_entry.session_id = 5
    assert [e.packet_replication_engine_entry for e in client.read(
        p4r.Entity(packet_replication_engine_entry=read_clone))] == [clone]
    errors = client.write_errors(insert(packet_replication_engine_entry=mc),
                                 delete(packet_replication_engine_entry=clone),
                                 delete(packet_replication_engine_entry=clone))
    assert [e.canonical_code for e in errors] == [ALREADY_EXISTS, 0, NOT_FOUND]


def test_pre_limits_are_those_of_simple_switch_grpc(client: Client) -> None:
    """PI's id ranges, and what BMv2's clone sessions cannot do (cos, truncation)."""
    def group(group_id: int) -> p4r.PacketReplicationEngineEntry:
        entry = p4r.PacketReplicationEngineEntry()
        entry.multicast_group_entry.multicast_group_id = group_id
        entry.multicast_group_entry.replicas.add(egress_port=1, instance=0)
        return entry

    def session(session_id: int, *, cos: int = 0,
                length: int = 0) -> p4r.PacketReplicationEngineEntry:
        entry = p4r.PacketReplicationEngineEntry()
        entry.clone_session_entry.session_id = session_id
        entry.clone_session_entry.class_of_service = cos
        entry.clone_session_entry.packet_length_bytes = length
        entry.clone_session_entry.replicas.add(egress_port=1, instance=0)
        return entry

    errors = client.write_errors(
        insert(packet_replication_engine_entry=group(0)),
        insert(packet_replication_engine_entry=group(1 << 15)),
        insert(packet_replication_engine_entry=session(0)),
        insert(packet_replication_engine_entry=session(1 << 15)),
        insert(packet_replication_engine_entry=session(7, cos=1)),
        insert(packet_replication_engine_entry=session(7, length=64)),
        insert(packet_replication_engine_entry=session((1 << 15) - 1)))
    assert [e.canonical_code for e in errors] == [
        INVALID, grpc.StatusCode.OUT_OF_RANGE.value[0], INVALID,
        INVALID, grpc.StatusCode.UNIMPLEMENTED.value[0],
        grpc.StatusCode.UNKNOWN.value[0], 0]
    assert 7 not in {e.packet_replication_engine_entry.clone_session_entry.session_id
                     for e in client.read(p4r.Entity(
                         packet_replication_engine_entry=session(0)))}


def test_replica_port_bytes_of_p4runtime_1_4_and_egress_port_are_the_same_replica(
        client: Client) -> None:
    group = p4r.PacketReplicationEngineEntry()
    group.multicast_group_entry.multicast_group_id = 3
    group.multicast_group_entry.replicas.add(port=b"\x00\x02", instance=1)
    group.multicast_group_entry.replicas.add(egress_port=2, instance=1)
    assert [e.canonical_code for e in client.write_errors(
        insert(packet_replication_engine_entry=group))] == [INVALID]  # a duplicate replica
    del group.multicast_group_entry.replicas[1]
    client.write(insert(packet_replication_engine_entry=group))
    (read,) = client.read(p4r.Entity(packet_replication_engine_entry=group))
    (replica,) = read.packet_replication_engine_entry.multicast_group_entry.replicas
    assert (replica.egress_port, replica.instance) == (2, 1)
    too_wide = p4r.PacketReplicationEngineEntry()
    too_wide.clone_session_entry.session_id = 9
    too_wide.clone_session_entry.replicas.add(port=b"\x01" * 5)
    assert [e.canonical_code for e in client.write_errors(
        insert(packet_replication_engine_entry=too_wide))] == [INVALID]
