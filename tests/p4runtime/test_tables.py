"""Table entries over gRPC: writes, reads with wildcards, default entries, batch errors."""

from __future__ import annotations

import grpc
from finsy.proto import p4r
from p4rt_fixture import (
    A_DROP,
    A_NOACTION,
    A_SEND_TO_CPU,
    A_SET_NHOP,
    T_ACL,
    T_IPV4_LPM,
    T_MAC_LEARN,
)
from p4rt_testlib import Client, acl_entry, code_of, delete, insert, lpm_entry, modify

ALL_TABLES = p4r.Entity(table_entry=p4r.TableEntry())
INVALID, NOT_FOUND, ALREADY_EXISTS = 3, 5, 6


def entries(client: Client, request: p4r.TableEntry | None = None) -> list[p4r.TableEntry]:
    entity = p4r.Entity(table_entry=request or p4r.TableEntry())
    return [e.table_entry for e in client.read(entity)]


def test_insert_read_modify_delete(client: Client) -> None:
    entry = lpm_entry(b"\x0a\x00\x00\x00", 8, controller_metadata=42)
    client.write(insert(table_entry=entry))
    assert entries(client) == [entry]
    changed = lpm_entry(b"\x0a\x00\x00\x00", 8, dmac=b"\x02", port=b"\x03",
                        controller_metadata=43)
    client.write(modify(table_entry=changed))
    assert entries(client, p4r.TableEntry(table_id=T_IPV4_LPM)) == [changed]
    client.write(delete(table_entry=lpm_entry(b"\x0a\x00\x00\x00", 8)))
    assert entries(client) == []


def test_read_returns_canonical_bytestrings(client: Client) -> None:
    client.write(insert(table_entry=lpm_entry(b"\x0a\x00\x00\x00", 8,
                                              dmac=b"\x00\x00\x00\x00\x00\x07",
                                              port=b"\x00\x02")))
    (read,) = entries(client)
    assert read.match[0].lpm.value == b"\x0a\x00\x00\x00"
    assert [p.value for p in read.action.action.params] == [b"\x07", b"\x02"]


def test_read_filters_by_match(client: Client) -> None:
    first = lpm_entry(b"\x0a\x00\x00\x00", 8)
    second = lpm_entry(b"\x0b\x00\x00\x00", 8)
    client.write(insert(table_entry=first), insert(table_entry=second))
    request = p4r.TableEntry(table_id=T_IPV4_LPM)
    request.match.add().CopyFrom(second.match[0])
    assert entries(client, request) == [second]
    assert len(entries(client)) == 2


def test_priorities_round_trip_and_distinguish_entries(client: Client) -> None:
    low = acl_entry(b"\x0a\x00\x00\x00", b"\xff\x00\x00\x00", priority=10)
    high = acl_entry(b"\x0a\x00\x00\x00", b"\xff\x00\x00\x00", priority=20,
                     action_id=A_SEND_TO_CPU)
    client.write(insert(table_entry=low), insert(table_entry=high))
    found = sorted(entries(client, p4r.TableEntry(table_id=T_ACL)), key=lambda e: e.priority)
    assert found == [low, high]


def test_duplicate_insert_and_missing_entries(client: Client) -> None:
    entry = lpm_entry(b"\x0a\x00\x00\x00", 8)
    client.write(insert(table_entry=entry))
    errors = client.write_errors(
        insert(table_entry=entry),
        modify(table_entry=lpm_entry(b"\x0c\x00\x00\x00", 8)),
        delete(table_entry=lpm_entry(b"\x0c\x00\x00\x00", 8)))
    assert [e.canonical_code for e in errors] == [ALREADY_EXISTS, NOT_FOUND, NOT_FOUND]


def test_batch_reports_every_update_and_applies_the_good_ones(client: Client) -> None:
    good = lpm_entry(b"\x0a\x00\x00\x00", 8)
    bad_width = lpm_entry(b"\x0b\x00\x00\x00", 8, port=b"\x02\x00")
    unknown_table = p4r.TableEntry(table_id=123)
    also_good = lpm_entry(b"\x0c\x00\x00\x00", 8)
    errors = client.write_errors(insert(table_entry=good), insert(table_entry=bad_width),
                                 insert(table_entry=unknown_table),
                                 insert(table_entry=also_good))
    assert [e.canonical_code for e in errors] == [0, INVALID, INVALID, 0]
    assert "does not fit within 9 bits" in errors[1].message
    assert len(entries(client)) == 2


def test_action_validation(client: Client) -> None:
    wrong_action = lpm_entry(b"\x0a\x00\x00\x00", 8)
    wrong_action.action.action.action_id = A_SEND_TO_CPU
    missing_param = lpm_entry(b"\x0a\x00\x00\x00", 8)
    del missing_param.action.action.params[1]
    unknown_param = lpm_entry(b"\x0a\x00\x00\x00", 8)
    unknown_param.action.action.params[1].param_id = 9
    no_action = lpm_entry(b"\x0a\x00\x00\x00", 8)
    no_action.ClearField("action")
    member_on_direct_table = lpm_entry(b"\x0a\x00\x00\x00", 8)
    member_on_direct_table.action.action_profile_member_id = 1
    errors = client.write_errors(*(insert(table_entry=e) for e in (
        wrong_action, missing_param, unknown_param, no_action, member_on_direct_table)))
    assert [e.canonical_code for e in errors] == [INVALID] * 5


def test_priority_rules(client: Client) -> None:
    no_priority = acl_entry(b"\x0a\x00\x00\x00", b"\xff\x00\x00\x00", priority=0)
    needless_priority = lpm_entry(b"\x0a\x00\x00\x00", 8, priority=3)
    errors = client.write_errors(insert(table_entry=no_priority),
                                 insert(table_entry=needless_priority))
    assert [e.canonical_code for e in errors] == [INVALID, INVALID]


def test_default_entry_modify_read_and_reset(client: Client) -> None:
    default = p4r.TableEntry(table_id=T_IPV4_LPM, is_default_action=True)
    (initial,) = entries(client, default)
    assert initial.action.action.action_id == A_DROP
    changed = p4r.TableEntry(table_id=T_IPV4_LPM, is_default_action=True)
    changed.action.action.action_id = A_SET_NHOP
    changed.action.action.params.add(param_id=1, value=b"\x01")
    changed.action.action.params.add(param_id=2, value=b"\x02")
    client.write(modify(table_entry=changed))
    assert entries(client, default) == [changed]
    client.write(modify(table_entry=p4r.TableEntry(table_id=T_IPV4_LPM,
                                                   is_default_action=True)))
    assert entries(client, default) == [initial]
    # Default entries are not part of a wildcard read.
    assert entries(client) == []


def test_default_entry_errors(client: Client) -> None:
    with_match = lpm_entry(b"\x0a\x00\x00\x00", 8, is_default_action=True)
    inserted = p4r.TableEntry(table_id=T_MAC_LEARN, is_default_action=True)
    inserted.action.action.action_id = A_NOACTION
    errors = client.write_errors(modify(table_entry=with_match), insert(table_entry=inserted))
    assert [e.canonical_code for e in errors] == [INVALID, INVALID]


def test_idle_timeout_only_on_tables_that_support_it(client: Client) -> None:
    client.write(insert(table_entry=lpm_entry(b"\x0a\x00\x00\x00", 8,
                                              idle_timeout_ns=5_000_000_000)))
    assert entries(client)[0].idle_timeout_ns == 5_000_000_000
    acl = acl_entry(b"\x0a\x00\x00\x00", b"\xff\x00\x00\x00", priority=1)
    acl.idle_timeout_ns = 1_000_000
    assert [e.canonical_code for e in client.write_errors(insert(table_entry=acl))] == [INVALID]


def test_direct_counter_data_in_table_entries(client: Client) -> None:
    entry = acl_entry(b"\x0a\x00\x00\x00", b"\xff\x00\x00\x00", priority=1)
    entry.counter_data.byte_count = 100
    entry.counter_data.packet_count = 2
    client.write(insert(table_entry=entry))
    request = p4r.TableEntry(table_id=T_ACL)
    request.counter_data.SetInParent()
    (read,) = entries(client, request)
    assert (read.counter_data.byte_count, read.counter_data.packet_count) == (100, 2)
    (without,) = entries(client, p4r.TableEntry(table_id=T_ACL))
    assert not without.HasField("counter_data")


def test_unsupported_atomicity_is_unimplemented(client: Client) -> None:
    call = lambda: client.write(insert(table_entry=lpm_entry(b"\x0a\x00\x00\x00", 8)),  # noqa: E731
                                atomicity=p4r.WriteRequest.ROLLBACK_ON_ERROR)
    assert code_of(call) == grpc.StatusCode.UNIMPLEMENTED
