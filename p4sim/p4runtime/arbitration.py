"""Primary/backup election per (device_id, role), as the P4Runtime spec (section 5) defines it.

The primary of a role is the connected controller with the highest election_id, provided that
id is at least the highest one ever seen for the role: when a primary goes away, its backups
are told there is no primary (NOT_FOUND) until one of them sends an election_id that is at
least as high.  A duplicate election_id within a role ends that stream with INVALID_ARGUMENT,
as simple_switch_grpc (PI) does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from finsy.proto import p4r, rpc_code

from p4sim.p4runtime.errors import invalid_argument, resource_exhausted

MAX_CONTROLLERS = 16
"""Streams a device accepts at once (simple_switch_grpc's limit too)."""

Sender = Callable[[p4r.StreamMessageResponse], None]


def election_id_of(uint128: p4r.Uint128) -> int:
    return (uint128.high << 64) | uint128.low


@dataclass(eq=False, slots=True)
class Controller:
    """One StreamChannel that has sent its first arbitration update."""

    role: str
    election_id: int
    send: Sender


@dataclass(slots=True)
class _RoleState:
    controllers: list[Controller] = field(default_factory=list)
    highest_seen: int = 0

    def primary(self) -> Controller | None:
        if not self.controllers:
            return None
        best = max(self.controllers, key=lambda c: c.election_id)
        return best if best.election_id >= self.highest_seen else None


class Arbitrator:
    """Election bookkeeping of one device; thread-safe."""

    def __init__(self, device_id: int) -> None:
        self.device_id = device_id
        self._lock = threading.Lock()
        self._roles: dict[str, _RoleState] = {}

    def join(self, role: str, election_id: int, send: Sender) -> Controller:
        with self._lock:
            if sum(len(s.controllers) for s in self._roles.values()) >= MAX_CONTROLLERS:
                raise resource_exhausted("Too many connections")
            state = self._roles.setdefault(role, _RoleState())
            self._check_unique(state, election_id, None)
            before = state.primary()
            controller = Controller(role, election_id, send)
            state.controllers.append(controller)
            state.highest_seen = max(state.highest_seen, election_id)
            self._announce(state, before, controller)
            return controller

    def update(self, controller: Controller, election_id: int) -> None:
        with self._lock:
            state = self._roles[controller.role]
            self._check_unique(state, election_id, controller)
            before = state.primary()
            controller.election_id = election_id
            state.highest_seen = max(state.highest_seen, election_id)
            self._announce(state, before, controller)

    def leave(self, controller: Controller) -> None:
        with self._lock:
            state = self._roles.get(controller.role)
            if state is None or controller not in state.controllers:
                return
            before = state.primary()
            state.controllers.remove(controller)
            if before is controller:
                for other in state.controllers:
                    self._notify(state, other)
            if not state.controllers:
                # Nobody left: the next controller starts a fresh election.
                del self._roles[controller.role]

    def may_write(self, role: str, election_id: int | None) -> bool:
        """Whether a Write/SetForwardingPipelineConfig with this election_id is from the primary.

        As in simple_switch_grpc, a request without election_id is accepted while no
        controller is connected for the role (convenient for simple tools and tests).
        """
        with self._lock:
            state = self._roles.get(role)
            if state is None or not state.controllers:
                return election_id is None
            primary = state.primary()
            return primary is not None and election_id == primary.election_id

    def is_primary(self, controller: Controller) -> bool:
        with self._lock:
            state = self._roles.get(controller.role)
            return state is not None and state.primary() is controller

    def primaries(self) -> list[Controller]:
        with self._lock:
            found = (state.primary() for state in self._roles.values())
            return [c for c in found if c is not None]

    @staticmethod
    def _check_unique(state: _RoleState, election_id: int, me: Controller | None) -> None:
        if any(c.election_id == election_id and c is not me for c in state.controllers):
            raise invalid_argument("Election id already exists")

    def _announce(self, state: _RoleState, before: Controller | None, changed: Controller) -> None:
        if state.primary() is not before:
            for controller in state.controllers:
                self._notify(state, controller)
        else:
            self._notify(state, changed)

    def _notify(self, state: _RoleState, controller: Controller) -> None:
        primary = state.primary()
        update = p4r.MasterArbitrationUpdate(device_id=self.device_id)
        if controller.role:
            update.role.name = controller.role
        update.election_id.high = state.highest_seen >> 64
        update.election_id.low = state.highest_seen & ((1 << 64) - 1)
        if primary is controller:
            update.status.code = rpc_code.OK
            update.status.message = "Is primary"
        elif primary is not None:
            update.status.code = rpc_code.ALREADY_EXISTS
            update.status.message = "Is backup"
        else:
            update.status.code = rpc_code.NOT_FOUND
            update.status.message = "No primary"
        controller.send(p4r.StreamMessageResponse(arbitration=update))
