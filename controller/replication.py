"""Controller high availability: which lbd instance may change the desired state, and how
the others follow it (docs/ha.md).

Only the primary writes to the switches: P4Runtime arbitration makes a switch refuse any
write whose election id is not its primary's, so two instances can never both program it.
The desired state has to outlive the primary, so each management change the primary
accepts goes into its journal, and backups pull the journal from their peers (``ha.peers``)
and apply every change to their own state, as the IPVS sync daemon feeds backup directors.
A backup that meets a journal it has not followed (another primary, or one that was
compacted by a ``config.apply``) starts again from its config file and replays the journal
from the start.  A journal holds every change its instance applied, its own or replayed,
so an instance that takes over serves the whole history to the next backup.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import secrets
from collections.abc import Mapping
from functools import partial
from typing import Any, Protocol

from controller.api import ApiError, Handler, call_async
from controller.config import ApiConfig, LbConfig
from controller.state import LbState

LOG = logging.getLogger(__name__)
# The management methods that change the desired state: on a backup they are refused.
MUTATIONS = frozenset({"service.add", "service.del", "backend.add", "backend.del",
                       "backend.drain", "backend.weight", "health.set", "health.del",
                       "config.apply", "rule.add", "rule.del", "rule.default"})
SUPERSEDING = "config.apply"  # replaces the whole desired state: earlier changes are moot
PEER_TIMEOUT_S = 1.0


class Roles(Protocol):
    """What replication needs from the switch fabric."""

    def role(self) -> str:
        """primary, backup or none (docs/ha.md)."""
        ...

    def switches(self) -> list[dict[str, Any]]: ...


def describe_api(api: ApiConfig) -> str:
    return f"127.0.0.1:{api.tcp_port}" if api.tcp_port is not None else str(api.unix_socket)


class Replication:
    """Guards the management methods that change state and keeps backups in step."""

    def __init__(self, config: LbConfig, state: LbState, fabric: Roles, lock: asyncio.Lock,
                 handlers: Mapping[str, Handler]) -> None:
        self.ha = config.ha
        self.base = config  # the config file as loaded at start: where a replay begins
        self.state = state
        self.fabric = fabric
        self.lock = lock  # the daemon's lock over state changes and switch writes
        self._handlers = handlers
        self._instance = secrets.token_hex(6)
        self._epoch = 0
        self.journal: list[tuple[str, dict[str, Any]]] = []
        self._changes = asyncio.Lock()  # one change at a time: the journal keeps their order
        self.following: str | None = None  # id of the journal this instance replays
        self._applied = 0  # entries of that journal applied

    @property
    def journal_id(self) -> str:
        return f"{self._instance}.{self._epoch}"

    def handlers(self) -> dict[str, Handler]:
        """The management handlers, with the changes guarded and journalled, plus
        ``ha.status`` and ``ha.journal``."""
        out = dict(self._handlers)
        for method in MUTATIONS & out.keys():
            out[method] = partial(self.change, method)
        out.update({"ha.status": self.status, "ha.journal": self.journal_since,
                    "switch.list": self.switch_list})
        return out

    async def change(self, method: str, params: dict[str, Any]) -> Any:
        """Apply one management change here, if this instance may (it is not a backup)."""
        async with self._changes:
            if self.ha is not None and self.fabric.role() == "backup":
                raise ApiError(f"this lbd (election id {self.ha.election_id}) is a backup: "
                               "send changes to the primary (lbctl switch list names it)")
            result = await self._handlers[method](params)
            self._record(method, params)
            return result

    def _record(self, method: str, params: dict[str, Any]) -> None:
        if method == SUPERSEDING:
            self._epoch += 1
            self.journal.clear()
        self.journal.append((method, copy.deepcopy(params)))

    # ----- API ----------------------------------------------------------------------------
    async def status(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"role": self.fabric.role(),
                "election_id": self.ha.election_id if self.ha is not None else None,
                "api": describe_api(self.base.api), "journal": self.journal_id,
                "changes": len(self.journal), "following": self.following,
                "peers": [describe_api(p) for p in self.ha.peers] if self.ha else [],
                "switches": self.fabric.switches()}

    async def journal_since(self, params: dict[str, Any]) -> dict[str, Any]:
        """The journal from entry ``since`` on, if the asker follows it already
        (``journal``); else whole."""
        since = params.get("since", 0)
        if isinstance(since, bool) or not isinstance(since, int) or since < 0:
            raise ApiError(f"since: {since!r} is not a non-negative integer")
        if params.get("journal") != self.journal_id or since > len(self.journal):
            since = 0
        return {"journal": self.journal_id, "role": self.fabric.role(), "start": since,
                "entries": [[m, p] for m, p in self.journal[since:]],
                "election_id": self.ha.election_id if self.ha is not None else None}

    async def switch_list(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Each switch as this instance sees it, with its primary and backups among the
        instances that answer (this one and its peers)."""
        own = self.fabric.switches()
        if self.ha is None:
            return own
        views = [(describe_api(self.base.api), own)]
        answers = await asyncio.gather(*(call_async("ha.status", {}, peer,
                                                    timeout=PEER_TIMEOUT_S)
                                         for peer in self.ha.peers), return_exceptions=True)
        for answer in answers:
            if isinstance(answer, dict) and isinstance(answer.get("switches"), list):
                views.append((str(answer.get("api")), answer["switches"]))
        for switch in own:
            # An instance is named by the election id it holds on this switch and its API.
            holders = [(f"{seen.get('election_id')}@{api}", seen.get("role"))
                       for api, switches in views for seen in switches
                       if isinstance(seen, dict) and seen.get("name") == switch["name"]
                       and seen.get("connected")]
            switch["primary"] = next((label for label, role in holders if role == "primary"),
                                     None)
            switch["backups"] = [label for label, role in holders if role == "backup"]
        return own

    # ----- following the primary -------------------------------------------------------------
    async def follow(self) -> None:
        """While a backup, pull the primary's journal every ``ha.sync_interval``."""
        if self.ha is None or not self.ha.peers:
            return
        while True:
            await asyncio.sleep(self.ha.sync_interval_s)
            if self.fabric.role() == "backup":
                await self.pull()

    async def pull(self) -> bool:
        """Apply what the primary among the peers changed since the last pull; False when
        no peer answered as primary."""
        assert self.ha is not None
        for peer in self.ha.peers:
            try:
                reply = await call_async("ha.journal", {"journal": self.following,
                                                        "since": self._applied},
                                         peer, timeout=PEER_TIMEOUT_S)
            except ApiError as err:
                LOG.debug("peer %s: %s", describe_api(peer), err)
                continue
            if isinstance(reply, dict) and reply.get("role") == "primary":
                await self._apply(reply)
                return True
        return False

    async def _apply(self, reply: dict[str, Any]) -> None:
        journal, start, entries = reply.get("journal"), reply.get("start"), reply.get("entries")
        if not isinstance(journal, str) or not isinstance(start, int) or \
                not isinstance(entries, list):
            LOG.warning("peer sent a malformed journal: %r", reply)
            return
        async with self._changes:
            if journal != self.following or start != self._applied:
                if start != 0:
                    return  # out of step with an older answer: the next pull starts over
                LOG.info("following the primary (election id %s, journal %s): replaying %d "
                         "changes on the config file", reply.get("election_id"), journal,
                         len(entries))
                async with self.lock:
                    self.state.apply_config(self.base)
                self.journal.clear()
                self.following, self._applied = journal, 0
            for entry in entries:
                await self._replay(entry)
                self._applied += 1

    async def _replay(self, entry: Any) -> None:
        method, params = entry if isinstance(entry, list) and len(entry) == 2 else (None, None)
        if method not in MUTATIONS or not isinstance(params, dict) or \
                (handler := self._handlers.get(method)) is None:
            LOG.warning("replay: not a change: %r", entry)
            return
        try:
            await handler(params)
        except (ApiError, ValueError, KeyError) as err:
            LOG.warning("replay of %s refused here: %s", method, err)
        self._record(method, params)
