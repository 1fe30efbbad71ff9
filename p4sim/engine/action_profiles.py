"""Action profiles and action selectors: members, groups, and BMv2's member choice."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from p4sim.engine.errors import InvalidEntryError, NotFoundError
from p4sim.engine.types import ActionCall


@dataclass(slots=True)
class Member:
    member_id: int
    handle: int
    call: ActionCall
    fn: Callable[..., None]
    args: tuple[int, ...]
    extra_handles: list[int] = field(default_factory=list)
    """PI realises a weight w as w target members with the same action: the copies' handles."""


@dataclass(slots=True)
class Group:
    group_id: int
    members: list[tuple[int, int]]
    choices: list[Member] = field(default_factory=list)
    """Members replicated by weight, in member-handle order: BMv2 picks hash % len."""


class ActionProfile:
    def __init__(self, name: str, id_: int, max_size: int,
                 selector: Callable[[Any, list[int]], int] | None,
                 bind_action: Callable[[ActionCall], tuple[Callable[..., None], tuple[int, ...]]]
                 ) -> None:
        self.name = name
        self.id = id_
        self.max_size = max_size  # the JSON's size, informational: BMv2 does not cap members
        self.selector = selector
        self.bind_action = bind_action
        self.members: dict[int, Member] = {}
        self.groups: dict[int, Group] = {}
        self.member_users: dict[int, int] = {}
        self.group_users: dict[int, int] = {}
        self._free_handles: list[int] = []
        self._next_handle = 0

    def _handle(self) -> int:
        if self._free_handles:
            self._free_handles.sort()
            return self._free_handles.pop(0)
        self._next_handle += 1
        return self._next_handle - 1

    def set_member(self, member_id: int, call: ActionCall) -> None:
        fn, args = self.bind_action(call)
        existing = self.members.get(member_id)
        if existing is not None:
            existing.call, existing.fn, existing.args = call, fn, args
            for group in self.groups.values():
                self._expand(group)
            return
        self.members[member_id] = Member(member_id, self._handle(), call, fn, args)

    def delete_member(self, member_id: int) -> None:
        member = self.members.get(member_id)
        if member is None:
            raise NotFoundError(f"action profile {self.name!r}: no member {member_id}")
        if self.member_users.get(member_id):
            raise InvalidEntryError(f"action profile {self.name!r}: member {member_id} is "
                                    "still used by a table entry")
        for group in self.groups.values():
            if any(mid == member_id for mid, _ in group.members):
                raise InvalidEntryError(f"action profile {self.name!r}: member {member_id} "
                                        f"is still in group {group.group_id}")
        del self.members[member_id]
        self._free_handles.append(member.handle)
        self._free_handles.extend(member.extra_handles)

    def set_group(self, group_id: int, members: Sequence[tuple[int, int]]) -> None:
        if self.selector is None:
            raise InvalidEntryError(f"action profile {self.name!r} has no selector: "
                                    "groups are not supported")
        seen = set()
        for pair in members:
            if not isinstance(pair, tuple | list) or len(pair) != 2 or not all(
                    isinstance(v, int) for v in pair):
                raise InvalidEntryError(f"action profile {self.name!r}: group member {pair!r} "
                                        "is not (member_id, weight)")
            member_id, weight = pair
            if member_id not in self.members:
                raise NotFoundError(f"action profile {self.name!r}: no member {member_id}")
            if weight < 1:
                raise InvalidEntryError(f"action profile {self.name!r}: member {member_id} "
                                        f"has weight {weight} (must be >= 1)")
            if member_id in seen:
                raise InvalidEntryError(f"action profile {self.name!r}: member {member_id} "
                                        "appears twice in the group")
            seen.add(member_id)
        group = self.groups.get(group_id)
        if group is None:
            group = Group(group_id, [])
            self.groups[group_id] = group
        group.members = [(int(m), int(w)) for m, w in members]
        self._expand(group)

    def _expand(self, group: Group) -> None:
        """BMv2 picks the (hash % n)-th member handle of the group in increasing order."""
        by_handle: list[tuple[int, Member]] = []
        for member_id, weight in group.members:
            member = self.members[member_id]
            while len(member.extra_handles) < weight - 1:
                member.extra_handles.append(self._handle())
            handles = [member.handle, *member.extra_handles[:weight - 1]]
            by_handle.extend((h, member) for h in handles)
        group.choices = [member for _, member in sorted(by_handle, key=lambda hm: hm[0])]

    def delete_group(self, group_id: int) -> None:
        if group_id not in self.groups:
            raise NotFoundError(f"action profile {self.name!r}: no group {group_id}")
        if self.group_users.get(group_id):
            raise InvalidEntryError(f"action profile {self.name!r}: group {group_id} is "
                                    "still used by a table entry")
        del self.groups[group_id]

    def choose(self, group: Group, p: Any, f: list[int]) -> Member | None:
        choices = group.choices
        if not choices:
            return None
        if len(choices) == 1 or self.selector is None:
            return choices[0]
        return choices[self.selector(p, f) % len(choices)]
