"""Packet replication engine entities: multicast groups and clone sessions."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from finsy.proto import p4r

from p4sim.engine import Engine
from p4sim.p4runtime import bytestrings
from p4sim.p4runtime.errors import (
    P4RuntimeError,
    check_update_target,
    engine_errors,
    invalid_argument,
    unimplemented,
)

PORT_BITS = 32
# PI reserves multicast group ids from 2**15 up for the groups behind clone sessions, and
# accepts clone session ids in [1, 2**15) (pre_mc_mgr.h, pre_clone_mgr.h).
FIRST_RESERVED_GROUP_ID = 1 << 15
MAX_CLONE_SESSION_ID = 1 << 15


def _replicas(replicas: Sequence[p4r.Replica]) -> list[tuple[int, int]]:
    decoded: list[tuple[int, int]] = []
    for replica in replicas:
        if replica.WhichOneof("port_kind") == "port":
            port = bytestrings.decode(replica.port, PORT_BITS, "replica port")
        else:
            port = replica.egress_port
        if port < 0:
            raise invalid_argument("Replica port must not be negative")
        pair = (port, replica.instance)
        if pair in decoded:
            raise invalid_argument(f"Duplicate replica (port {port}, instance {replica.instance})")
        decoded.append(pair)
    return decoded


class PacketReplication:
    """PRE writes and reads; the caller holds the device lock."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def write(self, update_type: int, entry: p4r.PacketReplicationEngineEntry) -> None:
        kind = entry.WhichOneof("type")
        if kind == "multicast_group_entry":
            self._write_group(update_type, entry.multicast_group_entry)
        elif kind == "clone_session_entry":
            self._write_session(update_type, entry.clone_session_entry)
        else:
            raise invalid_argument("Empty PacketReplicationEngineEntry")

    def _write_group(self, update_type: int, group: p4r.MulticastGroupEntry) -> None:
        if group.multicast_group_id == 0:
            raise invalid_argument("0 is not a valid group id")
        if group.multicast_group_id >= FIRST_RESERVED_GROUP_ID:
            raise P4RuntimeError(grpc.StatusCode.OUT_OF_RANGE, "Group id value is too high")
        what = f"Multicast group {group.multicast_group_id}"
        check_update_target(update_type, group.multicast_group_id in self._engine.mc_groups(),
                            duplicate=f"{what} already exists", missing=f"{what} does not exist")
        with engine_errors(what):
            if update_type == p4r.Update.DELETE:
                self._engine.mc_group_delete(group.multicast_group_id)
            else:
                self._engine.mc_group_set(group.multicast_group_id, _replicas(group.replicas))

    def _write_session(self, update_type: int, session: p4r.CloneSessionEntry) -> None:
        if not 0 < session.session_id < MAX_CLONE_SESSION_ID:
            raise invalid_argument("Clone session id out-of-range")
        what = f"Clone session {session.session_id}"
        check_update_target(update_type, session.session_id in self._engine.clone_sessions(),
                            duplicate=f"{what} already exists", missing=f"{what} does not exist")
        if update_type != p4r.Update.DELETE:
            # simple_switch_grpc's limits: PI refuses a class of service, and BMv2's clone
            # implementation refuses truncation (pi_clone_imp.cpp), which PI reports as a
            # target error.
            if session.class_of_service != 0:
                raise unimplemented("COS for clone sessions not supported yet")
            if session.packet_length_bytes != 0:
                raise P4RuntimeError(grpc.StatusCode.UNKNOWN,
                                     "Error when creating clone session in target")
        with engine_errors(what):
            if update_type == p4r.Update.DELETE:
                self._engine.clone_session_delete(session.session_id)
            else:
                self._engine.clone_session_set(
                    session.session_id, _replicas(session.replicas),
                    class_of_service=session.class_of_service,
                    packet_length_bytes=session.packet_length_bytes)

    def read(self, request: p4r.PacketReplicationEngineEntry) -> list[p4r.Entity]:
        found: list[p4r.Entity] = []
        kind = request.WhichOneof("type")
        if kind == "multicast_group_entry":
            wanted = request.multicast_group_entry.multicast_group_id
            for group_id, replicas in sorted(self._engine.mc_groups().items()):
                if wanted and group_id != wanted:
                    continue
                entity = p4r.Entity()
                group = entity.packet_replication_engine_entry.multicast_group_entry
                group.multicast_group_id = group_id
                for port, instance in replicas:
                    group.replicas.add(egress_port=port, instance=instance)
                found.append(entity)
        elif kind == "clone_session_entry":
            wanted = request.clone_session_entry.session_id
            for session_id, clone in sorted(self._engine.clone_sessions().items()):
                if wanted and session_id != wanted:
                    continue
                entity = p4r.Entity()
                session = entity.packet_replication_engine_entry.clone_session_entry
                session.session_id = session_id
                session.class_of_service = clone.class_of_service
                session.packet_length_bytes = clone.packet_length_bytes
                for port, instance in clone.replicas:
                    session.replicas.add(egress_port=port, instance=instance)
                found.append(entity)
        else:
            raise invalid_argument("Empty PacketReplicationEngineEntry in read request")
        return found
