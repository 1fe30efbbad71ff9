"""P4Runtime conformance checks driven through p4runtime-shell, in p4runtime-shell's own venv.

Run by ``.venv-shell/bin/python`` (p4runtime-shell 0.0.6, its own protobuf), never imported by
the main test environment.  Usage::

    shell_conformance.py GRPC_ADDRESS P4INFO_TXTPB BMV2_JSON

The device must serve the mini fixture program (tests/p4runtime/fixtures) with CPU port 64
and a loopback cable from port 1 to port 2 (what leaves on port 1 comes back in on port 2).
Every check runs even when an earlier one fails; the results are printed on stdout as one
JSON object ``{"checks": [{"name": ..., "ok": ..., "detail": ...}]}``.  Everything the
shell itself prints goes to stderr.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import sys
import traceback
from collections.abc import Callable

import grpc
import p4runtime_sh.shell as sh
from google.rpc import code_pb2
from p4.v1 import p4runtime_pb2
from p4runtime_sh.p4runtime import P4RuntimeClient, P4RuntimeWriteException

PRIMARY_ELECTION_ID = (0, 2)
BACKUP_ELECTION_ID = (0, 1)
API_VERSION = "1.3.0"  # what simple_switch_grpc (PI) reports

Check = Callable[[], str]
CHECKS: list[tuple[str, Check]] = []


class CheckFailed(Exception):
    pass


def check(function: Check) -> Check:
    CHECKS.append((function.__name__, function))
    return function


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def write_error_code(action: Callable[[], object]) -> str:
    """The code name of the single failing update of a Write the shell sends."""
    try:
        action()
    except P4RuntimeWriteException as err:
        (_, error), = err.errors
        return str(code_pb2.Code.Name(error.canonical_code))
    raise CheckFailed("the write succeeded")


def rpc_error_code(action: Callable[[], object]) -> str:
    try:
        action()
    except grpc.RpcError as err:
        return str(err.code().name)
    except sh.P4RuntimeException as err:
        return str(err.grpc_error.code().name)
    raise CheckFailed("the RPC succeeded")


def ipv4_packet(src: str, dst: str) -> bytes:
    """An Ethernet + IPv4 header (no payload): all the mini program parses."""
    ethernet = bytes.fromhex("000000000002" "000000000001" "0800")
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20, 1, 0, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    return ethernet + ip


def lpm_entry(prefix: str, port: str = "2") -> sh.TableEntry:
    entry = sh.TableEntry("MyIngress.ipv4_lpm")(action="MyIngress.set_nhop")
    entry.match["hdr.ipv4.dstAddr"] = prefix
    entry.action["dmac"] = "00:00:00:00:00:01"
    entry.action["port"] = port
    return entry


def acl_entry(src: str, priority: int, action: str) -> sh.TableEntry:
    entry = sh.TableEntry("MyIngress.acl")(action=action, priority=priority)
    entry.match["hdr.ipv4.srcAddr"] = src
    return entry


def read_all(entity: object) -> list:
    return list(entity.read())  # type: ignore[attr-defined]


# --- pipeline ------------------------------------------------------------------------------

@check
def pipeline_config_round_trip() -> str:
    p4info = sh.client.get_p4info()
    names = sorted(t.preamble.name for t in p4info.tables)
    expect(names == ["MyIngress.acl", "MyIngress.ecmp", "MyIngress.ipv4_lpm",
                     "MyIngress.mac_learn"], f"tables {names}")
    request = p4runtime_pb2.GetForwardingPipelineConfigRequest(
        device_id=0, response_type=p4runtime_pb2.GetForwardingPipelineConfigRequest.COOKIE_ONLY)
    config = sh.client.stub.GetForwardingPipelineConfig(request).config
    expect(not config.HasField("p4info") and not config.p4_device_config,
           "COOKIE_ONLY returned more than the cookie")
    return f"{len(names)} tables"


@check
def capabilities_api_version() -> str:
    version = sh.APIVersion()
    expect(version == API_VERSION, f"version {version!r}")
    return version


# --- tables --------------------------------------------------------------------------------

@check
def exact_insert_modify_delete() -> str:
    entry = sh.TableEntry("MyIngress.mac_learn")(action="NoAction")
    entry.match["hdr.ethernet.srcAddr"] = "00:00:00:00:00:09"
    entry.insert()
    found = read_all(sh.TableEntry("MyIngress.mac_learn"))
    expect(len(found) == 1, f"{len(found)} entries after insert")
    expect(found[0].match["hdr.ethernet.srcAddr"].exact.value == b"\x09",
           "exact value not in canonical form")
    entry = sh.TableEntry("MyIngress.mac_learn")(action="MyIngress.learn")
    entry.match["hdr.ethernet.srcAddr"] = "00:00:00:00:00:09"
    entry.modify()
    (found,) = read_all(sh.TableEntry("MyIngress.mac_learn"))
    expect(found.msg().action.action.action_id == sh.Action("MyIngress.learn")._action_id,
           "modify did not change the action")
    entry.delete()
    expect(read_all(sh.TableEntry("MyIngress.mac_learn")) == [], "entry left after delete")
    return "ok"


@check
def lpm_read_is_canonical_and_filtered() -> str:
    lpm_entry("10.0.0.0/8").insert()
    lpm_entry("10.1.0.0/16").insert()
    everything = read_all(sh.TableEntry("MyIngress.ipv4_lpm"))
    expect(len(everything) == 2, f"{len(everything)} entries")
    one = sh.TableEntry("MyIngress.ipv4_lpm")
    one.match["hdr.ipv4.dstAddr"] = "10.1.0.0/16"
    (found,) = read_all(one)
    lpm = found.match["hdr.ipv4.dstAddr"].lpm
    expect((lpm.value, lpm.prefix_len) == (b"\x0a\x01\x00\x00", 16), f"read back {lpm}")
    port = found.msg().action.action.params[1].value
    expect(port == b"\x02", f"port param {port!r} not canonical")
    for prefix in ("10.0.0.0/8", "10.1.0.0/16"):
        lpm_entry(prefix).delete()
    return "ok"


@check
def default_entry_read_modify_reset() -> str:
    default = sh.TableEntry("MyIngress.ipv4_lpm")
    default.is_default = True
    (found,) = read_all(default)
    drop_id = sh.Action("MyIngress.drop")._action_id
    expect(found.msg().is_default_action, "is_default_action not set in the read")
    expect(found.msg().action.action.action_id == drop_id, "initial default is not drop")
    new = sh.TableEntry("MyIngress.ipv4_lpm")(action="MyIngress.set_nhop", is_default=True)
    new.action["dmac"] = "00:00:00:00:00:07"
    new.action["port"] = "3"
    new.modify()
    (found,) = read_all(default)
    expect(found.msg().action.action.action_id == sh.Action("MyIngress.set_nhop")._action_id,
           "default action not modified")
    reset = sh.TableEntry("MyIngress.ipv4_lpm")
    reset.is_default = True
    reset.modify()
    (found,) = read_all(default)
    expect(found.msg().action.action.action_id == drop_id, "MODIFY without action: no reset")
    expect(read_all(sh.TableEntry("MyIngress.ipv4_lpm")) == [],
           "a wildcard read returned the default entry")
    return "ok"


@check
def default_entry_insert_is_invalid() -> str:
    entry = sh.TableEntry("MyIngress.ipv4_lpm")(action="MyIngress.drop", is_default=True)
    code = write_error_code(entry.insert)
    expect(code == "INVALID_ARGUMENT", code)
    return code


@check
def ternary_priorities() -> str:
    acl_entry("10.0.0.0&&&255.0.0.0", 10, "MyIngress.send_to_cpu").insert()
    acl_entry("10.0.0.2&&&255.255.255.255", 20, "MyIngress.drop").insert()
    acl_entry("10.0.0.0&&&255.0.0.0", 5, "NoAction").insert()  # same key, other priority
    found = read_all(sh.TableEntry("MyIngress.acl"))
    priorities = sorted(e.priority for e in found)
    expect(priorities == [5, 10, 20], f"priorities {priorities}")
    duplicate = acl_entry("10.0.0.0&&&255.0.0.0", 10, "MyIngress.drop")
    code = write_error_code(duplicate.insert)
    expect(code == "ALREADY_EXISTS", f"duplicate (key, priority): {code}")
    acl_entry("10.0.0.0&&&255.0.0.0", 5, "NoAction").delete()
    return "ok"


@check
def range_match_read_back() -> str:
    entry = sh.TableEntry("MyIngress.acl")(action="NoAction", priority=1)
    entry.match["hdr.ipv4.protocol"] = "6..17"
    entry.insert()
    one = sh.TableEntry("MyIngress.acl")(priority=1)
    one.match["hdr.ipv4.protocol"] = "6..17"
    (found,) = read_all(one)
    rng = found.match["hdr.ipv4.protocol"].range
    expect((rng.low, rng.high) == (b"\x06", b"\x11"), f"range {rng}")
    entry.delete()
    return "ok"


# --- data plane: packet-out, loopback, packet-in, digests, counters -----------------------

@check
def packet_out_loopback_packet_in() -> str:
    sniffer = sh.PacketIn()
    sh.PacketOut(ipv4_packet("10.0.0.1", "192.168.0.1"), egress_port="1", _pad="0").send()
    sh.PacketOut(ipv4_packet("10.0.0.2", "192.168.0.1"), egress_port="1", _pad="0").send()
    received = list(sniffer.sniff(timeout=1.5))
    expect(len(received) == 1, f"{len(received)} packet-ins (priority 20 drops 10.0.0.2)")
    packet = received[0].packet
    metadata = {m.metadata_id: m.value for m in packet.metadata}
    expect(metadata.get(1) == b"\x02", f"ingress_port metadata {metadata}")
    expect(packet.payload == ipv4_packet("10.0.0.1", "192.168.0.1"), "payload changed")
    return "ok"


@check
def direct_counter_counts_and_writes() -> str:
    counter = sh.DirectCounterEntry("MyIngress.acl_counter")
    counter.table_entry.match["hdr.ipv4.srcAddr"] = "10.0.0.0&&&255.0.0.0"
    counter.table_entry.priority = 10
    (found,) = read_all(counter)
    expect(found.packet_count == 1 and found.byte_count == 34,
           f"counted {found.packet_count} packets / {found.byte_count} bytes")
    counter.packet_count = 0
    counter.byte_count = 0
    counter.modify()
    (found,) = read_all(counter)
    expect(found.packet_count == 0, "direct counter not reset")
    entry = sh.TableEntry("MyIngress.acl")(priority=10)
    entry.match["hdr.ipv4.srcAddr"] = "10.0.0.0&&&255.0.0.0"
    (plain,) = read_all(entry)
    expect(not plain.msg().HasField("counter_data"), "counter_data read when not requested")
    return "ok"


@check
def indirect_counter_counts_and_writes() -> str:
    counter = sh.CounterEntry("MyIngress.port_counter")
    counter.index = 2
    (found,) = read_all(counter)
    expect(found.packet_count == 2, f"port 2 counted {found.packet_count} packets")
    counter.packet_count = 100
    counter.byte_count = 1000
    counter.modify()
    (found,) = read_all(counter)
    expect((found.packet_count, found.byte_count) == (100, 1000), "counter write lost")
    everything = read_all(sh.CounterEntry("MyIngress.port_counter"))
    expect(len(everything) == 512, f"wildcard read returned {len(everything)} cells")
    out_of_range = sh.CounterEntry("MyIngress.port_counter")
    out_of_range.index = 512
    code = rpc_error_code(lambda: read_all(out_of_range))
    expect(code == "OUT_OF_RANGE", code)
    return "ok"


@check
def digest_list_and_ack() -> str:
    digest = sh.DigestEntry("learn_t")
    digest.max_list_size = 1
    digest.max_timeout_ns = 0
    digest.ack_timeout_ns = 1_000_000_000
    digest.insert()
    (config,) = read_all(sh.DigestEntry("learn_t"))
    expect(config.max_list_size == 1, "digest config not read back")
    lists = sh.DigestList()
    sh.PacketOut(ipv4_packet("10.9.0.1", "192.168.0.1"), egress_port="1", _pad="0").send()
    received = list(lists.sniff(timeout=1.5))
    expect(len(received) == 1, f"{len(received)} digest lists")
    digest_list = received[0].digest
    expect(digest_list.digest_id == digest.id and digest_list.list_id >= 1,
           f"digest_id {digest_list.digest_id} list_id {digest_list.list_id}")
    (sample,) = digest_list.data
    src, port = (member.bitstring for member in sample.struct.members)
    expect((src, port) == (b"\x01", b"\x02"), f"sample {src!r} {port!r}")
    digest.delete()
    return f"list_id {digest_list.list_id}"


@check
def idle_timeout_notification_and_time_since_last_hit() -> str:
    notifications = sh.IdleTimeoutNotification()
    entry = lpm_entry("10.7.0.0/16")
    entry.idle_timeout_ns = 300_000_000
    entry.insert()
    query = sh.TableEntry("MyIngress.ipv4_lpm")
    query.match["hdr.ipv4.dstAddr"] = "10.7.0.0/16"
    _ = query.time_since_last_hit  # touching it requests the field in the read
    (found,) = read_all(query)
    message = found.msg()
    expect(message.idle_timeout_ns == 300_000_000, "idle_timeout_ns not read back")
    expect(message.HasField("time_since_last_hit"), "time_since_last_hit not returned")
    received = list(notifications.sniff(timeout=2))  # 300 ms + sweep period
    expect(len(received) >= 1, "no idle timeout notification")
    (expired,) = received[0].idle_timeout_notification.table_entry
    expect(expired.match[0].lpm.prefix_len == 16 and expired.idle_timeout_ns == 300_000_000,
           f"notified entry {expired}")
    entry.delete()
    return f"after {message.time_since_last_hit.elapsed_ns} ns since insertion"


# --- externs -------------------------------------------------------------------------------

@check
def meter_config_round_trip() -> str:
    meter = sh.MeterEntry("MyIngress.port_meter")
    meter.index = 3
    meter.cir, meter.cburst, meter.pir, meter.pburst = 1000, 100, 2000, 200
    meter.modify()
    (found,) = read_all(meter)
    values = (found.cir, found.cburst, found.pir, found.pburst)
    expect(values == (1000, 100, 2000, 200), f"read back {values}")
    return "ok"


@check
def action_selector_members_and_groups() -> str:
    for member_id, port in ((1, "1"), (2, "2")):
        member = sh.ActionProfileMember("MyIngress.ecmp_selector")(
            member_id=member_id, action="MyIngress.set_nhop")
        member.action["dmac"] = "00:00:00:00:00:0" + port
        member.action["port"] = port
        member.insert()
    group = sh.ActionProfileGroup("MyIngress.ecmp_selector")(group_id=7)
    group.add(1).add(2)
    group.insert()
    entry = sh.TableEntry("MyIngress.ecmp")(group_id=7)
    entry.match["hdr.ipv4.dstAddr"] = "192.168.0.1"
    entry.insert()
    (found,) = read_all(sh.TableEntry("MyIngress.ecmp"))
    expect(found.msg().action.action_profile_group_id == 7, "entry does not use group 7")
    (group_read,) = read_all(sh.ActionProfileGroup("MyIngress.ecmp_selector"))
    members = sorted(m.member_id for m in group_read.msg().members)
    expect(members == [1, 2], f"group members {members}")
    in_use = sh.ActionProfileMember("MyIngress.ecmp_selector")(member_id=1)
    code = write_error_code(in_use.delete)
    expect(code != "OK", code)
    entry.delete()
    group.delete()
    for member_id in (1, 2):
        sh.ActionProfileMember("MyIngress.ecmp_selector")(member_id=member_id).delete()
    expect(read_all(sh.ActionProfileMember("MyIngress.ecmp_selector")) == [], "members left")
    return f"member in use: {code}"


# --- packet replication engine -------------------------------------------------------------

@check
def multicast_group_lifecycle() -> str:
    group = sh.MulticastGroupEntry(1).add(1, 1).add(2, 1)
    group.insert()
    (found,) = read_all(sh.MulticastGroupEntry(1))
    replicas = sorted((r.egress_port, r.instance)
                      for r in found.msg().multicast_group_entry.replicas)
    expect(replicas == [(1, 1), (2, 1)], f"replicas {replicas}")
    sh.MulticastGroupEntry(1).add(3, 2).modify()
    (found,) = read_all(sh.MulticastGroupEntry(1))
    modified = found.msg().multicast_group_entry.replicas
    expect([(r.egress_port, r.instance) for r in modified] == [(3, 2)], "modify ignored")
    code = write_error_code(sh.MulticastGroupEntry(1).add(1, 1).insert)
    expect(code == "ALREADY_EXISTS", code)
    sh.MulticastGroupEntry(1).delete()
    code = write_error_code(sh.MulticastGroupEntry(1).delete)
    expect(code == "NOT_FOUND", code)
    return "ok"


@check
def clone_session_lifecycle() -> str:
    truncating = sh.CloneSessionEntry(5).add(3, 1)
    truncating.packet_length_bytes = 100
    code = write_error_code(truncating.insert)
    expect(code == "UNKNOWN", f"truncating session (BMv2 cannot): {code}")
    with_cos = sh.CloneSessionEntry(5).add(3, 1)
    with_cos.cos = 2
    code = write_error_code(with_cos.insert)
    expect(code == "UNIMPLEMENTED", f"session with a class of service (PI cannot): {code}")
    sh.CloneSessionEntry(5).add(3, 1).insert()
    (found,) = read_all(sh.CloneSessionEntry(5))
    message = found.msg().clone_session_entry
    expect(message.packet_length_bytes == 0 and message.class_of_service == 0,
           f"session read back as {message}")
    expect([(r.egress_port, r.instance) for r in message.replicas] == [(3, 1)], "replicas")
    sh.CloneSessionEntry(5).delete()
    expect(read_all(sh.CloneSessionEntry(5)) == [], "session left after delete")
    return "ok"


# --- errors --------------------------------------------------------------------------------

@check
def duplicate_insert_already_exists() -> str:
    lpm_entry("10.2.0.0/16").insert()
    code = write_error_code(lpm_entry("10.2.0.0/16").insert)
    lpm_entry("10.2.0.0/16").delete()
    expect(code == "ALREADY_EXISTS", code)
    return code


@check
def delete_and_modify_missing_not_found() -> str:
    codes = (write_error_code(lpm_entry("10.3.0.0/16").delete),
             write_error_code(lpm_entry("10.3.0.0/16").modify))
    expect(codes == ("NOT_FOUND", "NOT_FOUND"), str(codes))
    return "ok"


def send_update(kind: int, table_entry: p4runtime_pb2.TableEntry) -> None:
    update = p4runtime_pb2.Update(type=kind)
    update.entity.table_entry.CopyFrom(table_entry)
    sh.client.write_update(update)


@check
def too_wide_value_invalid_argument() -> str:
    message = lpm_entry("10.4.0.0/16").msg()
    message.action.action.params[1].value = b"\x02\x00"  # 512 does not fit bit<9>
    code = write_error_code(lambda: send_update(p4runtime_pb2.Update.INSERT, message))
    expect(code == "INVALID_ARGUMENT", code)
    return code


@check
def unknown_ids_invalid_argument() -> str:
    message = lpm_entry("10.5.0.0/16").msg()
    message.table_id = 0x02FFFFFF
    table_code = write_error_code(
        lambda: send_update(p4runtime_pb2.Update.INSERT, message))
    message = lpm_entry("10.5.0.0/16").msg()
    message.action.action.action_id = 0x01FFFFFF
    action_code = write_error_code(
        lambda: send_update(p4runtime_pb2.Update.INSERT, message))
    expect((table_code, action_code) == ("INVALID_ARGUMENT", "INVALID_ARGUMENT"),
           f"table {table_code}, action {action_code}")
    return "ok"


# --- arbitration ---------------------------------------------------------------------------

@check
def backup_client_cannot_write() -> str:
    backup = P4RuntimeClient(0, ADDRESS, BACKUP_ELECTION_ID)
    try:
        update = p4runtime_pb2.Update(type=p4runtime_pb2.Update.INSERT)
        update.entity.table_entry.CopyFrom(lpm_entry("10.6.0.0/16").msg())
        code = rpc_error_code(lambda: backup.write_update(update))
        expect(code == "PERMISSION_DENIED", f"backup write: {code}")
        entity = p4runtime_pb2.Entity()
        entity.table_entry.table_id = sh.TableEntry("MyIngress.acl").id
        (response,) = list(backup.read_one(entity))
        expect(len(response.entities) == 2, "a backup cannot read")
    finally:
        backup.tear_down()
    return code


ADDRESS = ""


def main() -> int:
    global ADDRESS
    ADDRESS, p4info, bmv2_json = sys.argv[1:4]
    results = []
    with contextlib.redirect_stdout(sys.stderr):
        sh.setup(device_id=0, grpc_addr=ADDRESS, election_id=PRIMARY_ELECTION_ID,
                 config=sh.FwdPipeConfig(p4info, bmv2_json), verbose=False)
        try:
            for name, function in CHECKS:
                try:
                    results.append({"name": name, "ok": True, "detail": function()})
                except CheckFailed as failure:
                    results.append({"name": name, "ok": False, "detail": str(failure)})
                except Exception:  # report it, keep checking the rest
                    results.append({"name": name, "ok": False,
                                    "detail": traceback.format_exc(limit=3)})
        finally:
            sh.teardown()
    print(json.dumps({"checks": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
