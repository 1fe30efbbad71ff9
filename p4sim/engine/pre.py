"""Packet replication engine state: multicast groups and clone (mirroring) sessions."""

from __future__ import annotations

from collections.abc import Sequence

from p4sim.engine.errors import InvalidEntryError, NotFoundError
from p4sim.engine.types import CloneSession

MAX_PORT = (1 << 9) - 1


def _check_replicas(replicas: Sequence[tuple[int, int]], what: str) -> tuple[tuple[int, int], ...]:
    out = []
    for replica in replicas:
        if not isinstance(replica, tuple | list) or len(replica) != 2:
            raise InvalidEntryError(f"{what}: replica {replica!r} is not (port, instance)")
        port, rid = replica
        if not isinstance(port, int) or not 0 <= port <= MAX_PORT:
            raise InvalidEntryError(f"{what}: egress port {port!r} out of range [0, {MAX_PORT}]")
        if not isinstance(rid, int) or not 0 <= rid < 1 << 16:
            raise InvalidEntryError(f"{what}: instance {rid!r} out of range [0, 65535]")
        out.append((port, rid))
    if len(set(out)) != len(out):
        raise InvalidEntryError(f"{what}: duplicate replica")
    return tuple(out)


def replication_order(replicas: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """The order BMv2 emits copies in as PI programs it: one node per instance (rid), each
    node's ports in increasing order; nodes here in order of first appearance."""
    ports_by_rid: dict[int, list[int]] = {}
    for port, rid in replicas:
        ports_by_rid.setdefault(rid, []).append(port)
    return tuple((port, rid) for rid, ports in ports_by_rid.items() for port in sorted(ports))


class ReplicationEngine:
    def __init__(self) -> None:
        self.groups: dict[int, tuple[tuple[int, int], ...]] = {}
        """Replicas as the control plane gave them."""
        self.copies: dict[int, tuple[tuple[int, int], ...]] = {}
        """The same replicas in replication order."""
        self.sessions: dict[int, CloneSession] = {}
        self.session_copies: dict[int, tuple[tuple[int, int], ...]] = {}

    def set_group(self, group_id: int, replicas: Sequence[tuple[int, int]]) -> None:
        if not isinstance(group_id, int) or not 0 < group_id < 1 << 16:
            raise InvalidEntryError(f"multicast group id {group_id!r} out of range [1, 65535]")
        checked = _check_replicas(replicas, f"multicast group {group_id}")
        self.groups[group_id] = checked
        self.copies[group_id] = replication_order(checked)

    def delete_group(self, group_id: int) -> None:
        if self.groups.pop(group_id, None) is None:
            raise NotFoundError(f"no multicast group {group_id}")
        del self.copies[group_id]

    def set_session(self, session_id: int, replicas: Sequence[tuple[int, int]],
                    class_of_service: int, packet_length_bytes: int) -> None:
        if not isinstance(session_id, int) or not 0 <= session_id < 1 << 15:
            raise InvalidEntryError(f"clone session id {session_id!r} out of range [0, 32767]")
        if not isinstance(packet_length_bytes, int) or packet_length_bytes < 0:
            raise InvalidEntryError("clone session: packet_length_bytes must be >= 0")
        checked = _check_replicas(replicas, f"clone session {session_id}")
        self.sessions[session_id] = CloneSession(checked, class_of_service, packet_length_bytes)
        self.session_copies[session_id] = replication_order(checked)

    def delete_session(self, session_id: int) -> None:
        if self.sessions.pop(session_id, None) is None:
            raise NotFoundError(f"no clone session {session_id}")
        del self.session_copies[session_id]
