"""Digest delivery: DigestEntry configuration, batching into DigestList, ack suppression.

Samples of a digest are only sent once the controller configured it (DigestEntry).  They are
batched until ``max_list_size`` (0: 1024) samples are pending or the oldest waited
``max_timeout_ns``.
A sample already sent in a list that is neither acknowledged (DigestListAck) nor older than
``ack_timeout_ns`` is not sent again, and duplicates inside one batch are dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from finsy.proto import p4d, p4r

from p4sim.engine import DigestSample
from p4sim.p4runtime import bytestrings
from p4sim.p4runtime.errors import check_update_target, invalid_argument
from p4sim.p4runtime.p4info_index import P4InfoIndex

DEFAULT_MAX_LIST_SIZE = 1024
"""Samples per list when max_list_size is 0 (PI's bmv2 backend uses the same bound)."""


@dataclass(slots=True)
class _Digest:
    config: p4r.DigestEntry.Config
    pending: list[tuple[int, ...]] = field(default_factory=list)
    first_pending_ns: int = 0
    next_list_id: int = 1
    unacked: dict[int, tuple[int, set[tuple[int, ...]]]] = field(default_factory=dict)

    def in_flight(self, values: tuple[int, ...]) -> bool:
        return any(values in samples for _, samples in self.unacked.values())


class DigestManager:
    """Per-pipeline digest state; the caller serialises calls (device lock)."""

    def __init__(self, index: P4InfoIndex, learn_lists: Collection[str],
                 clock_ns: Callable[[], int] = time.monotonic_ns) -> None:
        self._index = index
        self._learn_lists = learn_lists
        self._clock_ns = clock_ns
        self._ids_by_name = {spec.name: spec.id for spec in index.digests.values()}
        self._digests: dict[int, _Digest] = {}

    def write(self, update_type: int, entry: p4r.DigestEntry) -> None:
        if entry.digest_id not in self._index.digests:
            raise invalid_argument(f"Unknown digest id {entry.digest_id}")
        name = self._index.digests[entry.digest_id].name
        if name not in self._learn_lists:
            # simple_switch_grpc finds the learn list by the P4Info digest name, too.
            raise invalid_argument(f"The BMv2 JSON has no learn list named '{name}'")
        check_update_target(update_type, entry.digest_id in self._digests,
                            duplicate=f"Digest {entry.digest_id} is already configured",
                            missing=f"Digest {entry.digest_id} is not configured")
        if update_type == p4r.Update.INSERT:
            self._digests[entry.digest_id] = _Digest(_checked(entry))
        elif update_type == p4r.Update.MODIFY:
            self._digests[entry.digest_id].config = _checked(entry)
        else:
            del self._digests[entry.digest_id]

    def read(self, digest_id: int) -> list[p4r.DigestEntry]:
        if digest_id and digest_id not in self._index.digests:
            raise invalid_argument(f"Unknown digest id {digest_id}")
        ids = [digest_id] if digest_id else sorted(self._digests)
        return [p4r.DigestEntry(digest_id=i, config=self._digests[i].config)
                for i in ids if i in self._digests]

    def add(self, samples: Iterable[DigestSample]) -> list[p4r.DigestList]:
        """Queue samples from the pipeline; returns the lists that became full."""
        now = self._clock_ns()
        ready: list[p4r.DigestList] = []
        for sample in samples:
            digest_id = self._ids_by_name.get(sample.name)
            digest = self._digests.get(digest_id) if digest_id is not None else None
            if digest is None or digest_id is None:
                continue
            self._expire_acks(digest, now)
            if sample.values in digest.pending or digest.in_flight(sample.values):
                continue
            if not digest.pending:
                digest.first_pending_ns = now
            digest.pending.append(sample.values)
            limit = digest.config.max_list_size or DEFAULT_MAX_LIST_SIZE
            if digest.config.max_timeout_ns == 0 or len(digest.pending) >= limit:
                ready.append(self._flush(digest_id, digest, now))
        return ready

    def poll(self) -> list[p4r.DigestList]:
        """Lists whose max_timeout_ns elapsed; also forgets acks that timed out."""
        now = self._clock_ns()
        ready: list[p4r.DigestList] = []
        for digest_id, digest in self._digests.items():
            self._expire_acks(digest, now)
            if digest.pending and now - digest.first_pending_ns >= digest.config.max_timeout_ns:
                ready.append(self._flush(digest_id, digest, now))
        return ready

    def ack(self, digest_id: int, list_id: int) -> None:
        digest = self._digests.get(digest_id)
        if digest is not None:
            digest.unacked.pop(list_id, None)

    def _flush(self, digest_id: int, digest: _Digest, now: int) -> p4r.DigestList:
        list_id = digest.next_list_id
        digest.next_list_id = list_id % 0xFFFFFFFF + 1
        samples = digest.pending
        digest.pending = []
        if digest.config.ack_timeout_ns > 0:
            digest.unacked[list_id] = (now + digest.config.ack_timeout_ns, set(samples))
        message = p4r.DigestList(digest_id=digest_id, list_id=list_id, timestamp=time.time_ns())
        for values in samples:
            message.data.append(_struct_data(values))
        return message

    @staticmethod
    def _expire_acks(digest: _Digest, now: int) -> None:
        for list_id in [i for i, (deadline, _) in digest.unacked.items() if deadline <= now]:
            del digest.unacked[list_id]


def _checked(entry: p4r.DigestEntry) -> p4r.DigestEntry.Config:
    config = entry.config
    if config.max_timeout_ns < 0 or config.ack_timeout_ns < 0 or config.max_list_size < 0:
        raise invalid_argument("Digest config values must not be negative")
    return config


def _struct_data(values: tuple[int, ...]) -> p4d.P4Data:
    data = p4d.P4Data()
    for value in values:
        data.struct.members.add(bitstring=bytestrings.encode(value))
    return data
