"""Action profile members and groups, including one-shot action selector programming.

Members and groups keep the controller's ids in the engine.  A table entry programmed with an
``action_profile_action_set`` (one-shot) gets a hidden group of hidden members whose engine ids
lie above the 32-bit P4Runtime id space, so they never collide and never show up in reads.
"""

from __future__ import annotations

import itertools

from finsy.proto import p4r

from p4sim.engine import ActionCall, Engine, GroupRef
from p4sim.p4runtime.actions import decode_action, encode_action
from p4sim.p4runtime.errors import (
    check_update_target,
    engine_errors,
    invalid_argument,
    not_found,
    resource_exhausted,
)
from p4sim.p4runtime.p4info_index import ActionProfileSpec, P4InfoIndex

HIDDEN_ID_BASE = 1 << 32


class ActionProfiles:
    """Member/group bookkeeping of one pipeline; the caller holds the device lock."""

    def __init__(self, engine: Engine, index: P4InfoIndex) -> None:
        self._engine = engine
        self._index = index
        self._members: dict[int, dict[int, ActionCall]] = {i: {} for i in index.action_profiles}
        self._groups: dict[int, dict[int, list[tuple[int, int]]]] = {
            i: {} for i in index.action_profiles}
        self._hidden_ids = itertools.count(HIDDEN_ID_BASE)

    def profile(self, profile_id: int) -> ActionProfileSpec:
        spec = self._index.action_profiles.get(profile_id)
        if spec is None:
            raise invalid_argument(f"Unknown action profile id {profile_id}")
        return spec

    def _allowed_actions(self, spec: ActionProfileSpec) -> set[int]:
        allowed: set[int] = set()
        for table_id in spec.table_ids:
            table = self._index.tables.get(table_id)
            if table is not None:
                allowed |= table.entry_action_ids
        return allowed

    # --- members -------------------------------------------------------------------------

    def write_member(self, update_type: int, member: p4r.ActionProfileMember) -> None:
        spec = self.profile(member.action_profile_id)
        members = self._members[spec.id]
        check_update_target(
            update_type, member.member_id in members,
            duplicate=f"Member {member.member_id} already exists in '{spec.name}'",
            missing=f"Member {member.member_id} not found in '{spec.name}'")
        if update_type == p4r.Update.DELETE:
            if any(member.member_id in (m for m, _ in g)
                   for g in self._groups[spec.id].values()):
                raise invalid_argument(
                    f"Member {member.member_id} is still used by a group of '{spec.name}'")
            with engine_errors(f"deleting member {member.member_id}"):
                self._engine.act_prof_delete_member(spec.name, member.member_id)
            del members[member.member_id]
            return
        if update_type == p4r.Update.INSERT and 0 < spec.size <= len(members):
            raise resource_exhausted(f"Action profile '{spec.name}' is full")
        call = decode_action(self._index, member.action, self._allowed_actions(spec),
                             f"in action profile '{spec.name}'")
        with engine_errors(f"writing member {member.member_id}"):
            self._engine.act_prof_set_member(spec.name, member.member_id, call)
        members[member.member_id] = call

    def read_members(self, profile_id: int) -> list[p4r.ActionProfileMember]:
        ids = [profile_id] if profile_id else sorted(self._members)
        found: list[p4r.ActionProfileMember] = []
        for pid in ids:
            self.profile(pid)
            for member_id, call in sorted(self._members[pid].items()):
                found.append(p4r.ActionProfileMember(
                    action_profile_id=pid, member_id=member_id,
                    action=encode_action(self._index, call)))
        return found

    # --- groups --------------------------------------------------------------------------

    def write_group(self, update_type: int, group: p4r.ActionProfileGroup) -> None:
        spec = self.profile(group.action_profile_id)
        if not spec.with_selector:
            raise invalid_argument(f"Action profile '{spec.name}' has no selector: no groups")
        groups = self._groups[spec.id]
        check_update_target(
            update_type, group.group_id in groups,
            duplicate=f"Group {group.group_id} already exists in '{spec.name}'",
            missing=f"Group {group.group_id} not found in '{spec.name}'")
        if update_type == p4r.Update.DELETE:
            with engine_errors(f"deleting group {group.group_id}"):
                self._engine.act_prof_delete_group(spec.name, group.group_id)
            del groups[group.group_id]
            return
        if spec.max_group_size and group.max_size > spec.max_group_size:
            raise invalid_argument(
                f"Group max_size {group.max_size} exceeds the max_group_size "
                f"{spec.max_group_size} of '{spec.name}'")
        members: list[tuple[int, int]] = []
        for member in group.members:
            if member.member_id not in self._members[spec.id]:
                raise not_found(f"Member {member.member_id} not found in '{spec.name}'")
            if any(m == member.member_id for m, _ in members):
                raise invalid_argument(f"Duplicate member {member.member_id} in group")
            if member.weight < 0:
                raise invalid_argument(f"Negative weight for member {member.member_id}")
            members.append((member.member_id, max(1, member.weight)))
        limit = group.max_size or spec.max_group_size
        if limit and len(members) > limit:
            raise resource_exhausted(
                f"Group {group.group_id} has {len(members)} members, more than {limit}")
        with engine_errors(f"writing group {group.group_id}"):
            self._engine.act_prof_set_group(spec.name, group.group_id, members)
        groups[group.group_id] = members

    def read_groups(self, profile_id: int) -> list[p4r.ActionProfileGroup]:
        ids = [profile_id] if profile_id else sorted(self._groups)
        found: list[p4r.ActionProfileGroup] = []
        for pid in ids:
            spec = self.profile(pid)
            for group_id, members in sorted(self._groups[pid].items()):
                message = p4r.ActionProfileGroup(action_profile_id=pid, group_id=group_id,
                                                 max_size=spec.max_group_size)
                for member_id, weight in members:
                    message.members.add(member_id=member_id, weight=weight)
                found.append(message)
        return found

    def check_reference(self, profile_id: int, action: p4r.TableAction) -> None:
        """NOT_FOUND unless the member or group a table entry points to exists."""
        kind = action.WhichOneof("type")
        if kind == "action_profile_member_id":
            if action.action_profile_member_id not in self._members[profile_id]:
                raise not_found(f"Member {action.action_profile_member_id} not found")
        elif kind == "action_profile_group_id":
            if action.action_profile_group_id not in self._groups[profile_id]:
                raise not_found(f"Group {action.action_profile_group_id} not found")

    # --- one-shot ------------------------------------------------------------------------

    def create_one_shot(self, profile_id: int, action_set: p4r.ActionProfileActionSet) -> GroupRef:
        """A hidden group realising an action set; removed again with :meth:`delete_one_shot`."""
        spec = self.profile(profile_id)
        actions = action_set.action_profile_actions
        if not actions:
            raise invalid_argument("Empty action_profile_action_set")
        if not spec.with_selector and len(actions) > 1:
            raise invalid_argument(
                f"Action profile '{spec.name}' has no selector: one action at most")
        if spec.max_group_size and len(actions) > spec.max_group_size:
            raise resource_exhausted(
                f"Action set of {len(actions)} exceeds max_group_size {spec.max_group_size}")
        calls: list[tuple[ActionCall, int]] = []
        for item in actions:
            if item.weight < 0:
                raise invalid_argument("Negative weight in action_profile_action_set")
            call = decode_action(self._index, item.action, self._allowed_actions(spec),
                                 f"in action profile '{spec.name}'")
            calls.append((call, max(1, item.weight)))
        member_ids: list[tuple[int, int]] = []
        group_id = next(self._hidden_ids)
        try:
            with engine_errors("programming action set"):
                for call, weight in calls:
                    member_id = next(self._hidden_ids)
                    self._engine.act_prof_set_member(spec.name, member_id, call)
                    member_ids.append((member_id, weight))
                self._engine.act_prof_set_group(spec.name, group_id, member_ids)
        except Exception:
            self._remove_hidden(spec.name, None, [m for m, _ in member_ids])
            raise
        return GroupRef(group_id)

    def delete_one_shot(self, profile_id: int, group: GroupRef) -> None:
        spec = self.profile(profile_id)
        members = self._engine.act_prof_groups(spec.name).get(group.group_id, [])
        self._remove_hidden(spec.name, group.group_id, [m for m, _ in members])

    def _remove_hidden(self, profile: str, group_id: int | None, member_ids: list[int]) -> None:
        with engine_errors("removing action set"):
            if group_id is not None:
                self._engine.act_prof_delete_group(profile, group_id)
            for member_id in dict.fromkeys(member_ids):
                self._engine.act_prof_delete_member(profile, member_id)

    def encode_one_shot(self, profile_id: int, group: GroupRef) -> p4r.ActionProfileActionSet:
        spec = self.profile(profile_id)
        members = self._engine.act_prof_members(spec.name)
        action_set = p4r.ActionProfileActionSet()
        for member_id, weight in self._engine.act_prof_groups(spec.name).get(group.group_id, []):
            action_set.action_profile_actions.add(
                action=encode_action(self._index, members[member_id]), weight=weight)
        return action_set
