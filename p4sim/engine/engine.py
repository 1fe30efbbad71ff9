"""The Engine: a v1model (simple_switch) software switch core over a loaded BMv2 JSON."""

from __future__ import annotations

import logging
import struct
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from p4sim.engine.errors import ConfigError, EngineError, InvalidEntryError, NotFoundError
from p4sim.engine.externs import Meter, check_rates
from p4sim.engine.loader import Loader, Program, empty_pipeline, load_json
from p4sim.engine.packet import Packet, PacketAbort
from p4sim.engine.pre import ReplicationEngine
from p4sim.engine.tables import Entry, Table
from p4sim.engine.types import (
    DEFAULT_ENTRY,
    ActionCall,
    ActionRef,
    CloneSession,
    DigestSample,
    EntryView,
    Frame,
    MatchParam,
    ProcessResult,
    ProgramInfo,
    SplitFrame,
)

log = logging.getLogger(__name__)

DROP_PORT = 511

NORMAL, INGRESS_CLONE, EGRESS_CLONE, COALESCED, RECIRC, REPLICATION, RESUBMIT = range(7)
"""standard_metadata.instance_type values (simple_switch's PktInstanceType)."""

BatchOutput = tuple[int, Frame] | ProcessResult
"""What :attr:`Engine.process_batch` gives for an input packet: its one output frame as
(port, frame), or, when the packet did anything else, all it produced."""


class BatchProcess(Protocol):
    """The signature of :attr:`Engine.process_batch`."""

    def __call__(self, ingress_port: int, frames: Sequence[bytes], outputs: list[BatchOutput],
                 l4_partial: bool = False, split: bool = False, /) -> None: ...

MAX_PASSES = 64
"""Pipeline passes (ingress or egress runs) one input packet may cause; BMv2 has no limit,
but a program that resubmits or recirculates forever must not hang the caller."""


class _StdMeta:
    """Slots of the standard/intrinsic/queueing metadata fields simple_switch touches."""

    def __init__(self, program: Program) -> None:
        layout = program.layout

        def slot(*names: str) -> int | None:
            for name in names:
                s = layout.field_slot(name)
                if s is not None:
                    return s
            return None

        self.ingress_port = slot("standard_metadata.ingress_port")
        self.egress_spec = slot("standard_metadata.egress_spec")
        self.egress_port = slot("standard_metadata.egress_port")
        self.instance_type = slot("standard_metadata.instance_type")
        self.packet_length = slot("standard_metadata.packet_length")
        # the names simple_switch looks up (p4c aliases them into standard_metadata)
        self.mcast_grp = slot("intrinsic_metadata.mcast_grp", "standard_metadata.mcast_grp")
        self.egress_rid = slot("intrinsic_metadata.egress_rid", "standard_metadata.egress_rid")
        self.parser_error = slot("standard_metadata.parser_error")
        self.checksum_error = slot("standard_metadata.checksum_error")
        self.ingress_ts = slot("intrinsic_metadata.ingress_global_timestamp",
                               "standard_metadata.ingress_global_timestamp")
        self.egress_ts = slot("intrinsic_metadata.egress_global_timestamp",
                              "standard_metadata.egress_global_timestamp")
        self.enq_ts = slot("queueing_metadata.enq_timestamp", "standard_metadata.enq_timestamp")
        self.enq_qdepth = slot("queueing_metadata.enq_qdepth", "standard_metadata.enq_qdepth")
        self.deq_timedelta = slot("queueing_metadata.deq_timedelta",
                                  "standard_metadata.deq_timedelta")
        self.deq_qdepth = slot("queueing_metadata.deq_qdepth", "standard_metadata.deq_qdepth")
        self.qid = slot("queueing_metadata.qid")
        self.priority = slot("intrinsic_metadata.priority", "standard_metadata.priority")
        missing = [n for n in ("ingress_port", "egress_spec", "egress_port", "instance_type",
                               "packet_length") if getattr(self, n) is None]
        if missing:
            raise ConfigError("simple_switch requires standard_metadata fields "
                              + ", ".join(missing))


def _require_ints(what: str, **values: object) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidEntryError(f"{what}: {name} must be an integer, got {value!r}")


class Engine:
    """Executes a BMv2 JSON program with simple_switch semantics.  Not thread-safe."""

    process_batch: BatchProcess
    """``process_batch(ingress_port, frames, outputs, l4_partial=False, split=False)``:
    :meth:`process` for each of ``frames``, in order, with what each produced appended to
    ``outputs`` (see :data:`BatchOutput`; nothing for a dropped packet) and no call or result
    object per packet in the usual case.  A packet the engine fails on is logged and
    dropped; the others go on.  Generated for the program (see :meth:`_build_process`)."""

    def __init__(self, bmv2_json: dict[str, Any] | str | bytes, *, cpu_port: int | None = None,
                 clock_ns: Callable[[], int] = time.monotonic_ns) -> None:
        self.cpu_port = cpu_port
        self.clock_ns = clock_ns
        self._origin_ns = clock_ns()
        self.program = Loader(load_json(bmv2_json), clock_ns).load()
        self.info: ProgramInfo = self.program.info
        self.pre = ReplicationEngine()
        self._std = _StdMeta(self.program)
        self._template = self.program.layout.template
        self._now_us = 0
        std = self._std
        self._egress_zeroed = tuple(s for s in (std.deq_timedelta, std.deq_qdepth, std.qid)
                                    if s is not None)
        """Queueing metadata an egress pass reads as zero (no queues here)."""
        self._ingress_q: deque[Packet] = deque()
        self._egress_q: deque[Packet] = deque()
        self.process_batch = self._build_process()

    # ================================================================== data path =====

    def _reset_metadata(self, f: list[int]) -> None:
        for first, count in self.program.metadata_slots:
            f[first:first + count] = [0] * count

    def _copy_field_list(self, dst: list[int], src: list[int], field_list_id: int) -> None:
        for slot in self.program.field_lists.get(field_list_id, ()):
            dst[slot] = src[slot]

    def _mark_copy(self, copy: Packet, src: list[int], field_list_id: int,
                   instance_type: int) -> None:
        """A PRE copy (clone, resubmit, recirculate) starts with fresh metadata except the
        preserved field list, and says what kind of instance it is."""
        self._reset_metadata(copy.f)
        self._copy_field_list(copy.f, src, field_list_id)
        copy.f[self._std.instance_type] = instance_type  # type: ignore[index]

    def _build_process(self) -> BatchProcess:
        """``process_batch`` as one function generated for the program: the slots of the standard
        metadata and the checksums folded in, and the usual case -- one packet through
        ingress and egress, no clone, resubmit, recirculation, multicast or digest -- run
        straight through.  When a pass leaves any of those to do, the rest goes through
        :meth:`_ingress_tail` / :meth:`_egress_tail` and the packet queues, as BMv2's
        steps."""
        prog = self.program
        std = self._std
        ns: dict[str, Any] = dict(prog.namespace)
        ns.update(E_engine=self, E_template=self._template, E_Packet=Packet,
                  E_Result=ProcessResult, E_clock=self.clock_ns, E_origin=self._origin_ns,
                  E_parse=prog.parse, E_ingress=prog.ingress, E_egress=prog.egress,
                  E_deparse=prog.deparse, E_deparse_headers=prog.deparse_headers,
                  E_Split=SplitFrame, E_Abort=PacketAbort, E_EngineError=EngineError, E_log=log,
                  E_unpackable=(OverflowError, struct.error))
        lines = ["if type(data) is not bytes:",
                 "    data = bytes(data)",
                 "f = E_template.copy()",
                 "p = E_Packet(f, data)",
                 "if l4_partial:",
                 "    p.l4_partial = True",
                 f"f[{std.ingress_port}] = ingress_port & 0x1FF",
                 f"f[{std.packet_length}] = len(data)",
                 # one timestamp per input packet: everything it causes happens "at the same
                 # time"
                 "now_us = E_engine._now_us = (E_clock() - E_origin) // 1000"]
        if std.ingress_ts is not None:
            lines.append(f"f[{std.ingress_ts}] = now_us & 0xFFFFFFFFFFFF")
        body = ["ingress_length = p.length_reg"]
        if prog.parse_inline is not None:  # no call for the parser
            body += [*prog.parse_inline, "code = code_"]
        else:
            body.append("code = E_parse(p)")
        if std.parser_error is not None:
            body.append(f"f[{std.parser_error}] = code")
        # with nothing to verify, checksum_error keeps the 0 of the fresh field vector
        verified = [(i, ck) for i, ck in enumerate(prog.checksums) if ck.verify]
        if verified:
            body.append("ok = True")
            for i, ck in verified:
                ns[f"E_calc{i}"] = ck.calc
                skip = [f"not f[{ck.header_valid_slot}]"]
                if ck.with_payload:
                    skip.append("p.l4_partial")
                if ck.cond_expr is not None:
                    skip.append(f"not ({ck.cond_expr})")
                body.append(f"if not ({' or '.join(skip)}) and (E_calc{i}(p, f) & "
                            f"{ck.target_mask}) != (f[{ck.target_slot}] & {ck.target_mask}):")
                body.append("    ok = False")
            if std.checksum_error is not None:
                body.append(f"f[{std.checksum_error}] = 0 if ok else 1")
        if prog.ingress_start is not None:  # the nodes walked here: no call for the pipeline
            ns["E_ingress_start"] = prog.ingress_start
            body += ["node = E_ingress_start", "while node is not None:",
                     "    node = node(p, f)"]
        special = ["p.clone_session", "p.learn_id", "p.resubmit_field_list"]
        if std.mcast_grp is not None:
            special.append(f"f[{std.mcast_grp}]")
        body += ["p.exit = False",
                 f"if {' or '.join(special)}:",
                 "    append(E_engine._finish_ingress(p, ingress_length, E_Result([], []),",
                 "                                    ingress_port))",
                 "    continue",
                 f"port = f[{std.egress_spec}]",
                 f"if port == {DROP_PORT}:",
                 "    continue",
                 f"f[{std.instance_type}] = {NORMAL}"]
        if std.priority is not None:
            # simple_switch has one queue per port: other priorities are dropped
            body += [f"if f[{std.priority}] != 0:", "    continue"]
        body.append("p.egress_port = port")
        if std.enq_ts is not None:
            body.append(f"f[{std.enq_ts}] = now_us & 0xFFFFFFFF")
        if std.enq_qdepth is not None:
            body.append(f"f[{std.enq_qdepth}] = 0")
        if std.egress_ts is not None:
            body.append(f"f[{std.egress_ts}] = now_us & 0xFFFFFFFFFFFF")
        body += [f"f[{slot}] = 0" for slot in self._egress_zeroed]
        body += [f"f[{std.egress_port}] = port",
                 f"f[{std.egress_spec}] = 0",
                 f"f[{std.packet_length}] = p.length_reg"]
        if prog.egress is not empty_pipeline:
            body.append("E_egress(p, f)")
        body += ["p.exit = False",
                 "if p.clone_session or p.recirculate_field_list:",
                 "    append(E_engine._finish_egress(p, E_Result([], []), ingress_port))",
                 "    continue",
                 f"if f[{std.egress_spec}] == {DROP_PORT}:",
                 "    continue"]
        for i, ck in enumerate(prog.checksums):
            if not ck.update:
                continue
            ns[f"E_calc{i}"] = ck.calc
            store = f"f[{ck.target_slot}] = E_calc{i}(p, f) & {ck.target_mask}"
            if ck.cond_expr is None:
                body.append(store)
            else:
                body += [f"if {ck.cond_expr}:", "    " + store]
        body += ["try:",
                 "    if split and p.truncate_length is None and type(p.payload) is memoryview:",
                 "        append((port, E_Split(E_deparse_headers(p), p.payload)))",
                 "        continue",
                 "    out = E_deparse(p)",
                 "except E_unpackable:",
                 "    continue",
                 "limit = p.truncate_length",
                 "if limit is not None and len(out) > limit:",
                 "    out = out[:limit]",
                 "append((port, out))"]
        lines += ["try:", *("    " + line for line in body),
                  "except E_Abort as exc:",
                  # where BMv2 would abort the whole process, only this packet is dropped
                  "    E_log.debug('packet from port %d dropped: %s', ingress_port, exc)"]
        source = ("def process_batch(ingress_port, frames, outputs, l4_partial=False, "
                  "split=False):\n"
                  "    append = outputs.append\n"
                  "    for data in frames:\n"
                  "        try:\n"
                  + "".join(f"            {line}\n" for line in lines)
                  + "        except E_EngineError as err:\n"
                  "            E_log.warning('packet from port %d dropped: %s', ingress_port, "
                  "err)\n"
                  "        except Exception:  # a malformed packet must not stop the batch\n"
                  "            E_log.exception('engine failure on a packet from port %d', "
                  "ingress_port)\n")
        exec(compile(source, "<p4sim:process>", "exec"), ns)  # noqa: S102 - generated
        fn: BatchProcess = ns["process_batch"]
        return fn

    def process(self, ingress_port: int, data: bytes, *, l4_partial: bool = False,
                split: bool = False) -> ProcessResult:
        """Run one packet through parser, ingress, PRE, egress and deparser.

        ``l4_partial``: the packet's L4 checksum is a partial one (see
        ``Packet.l4_partial``); every packet it causes inherits that.  ``split``: the usual
        case's output is a :class:`SplitFrame` when the payload is a view (a large one), so
        the caller can send it without a copy.  A packet the engine fails on is logged and
        dropped (an empty result)."""
        outputs: list[BatchOutput] = []
        self.process_batch(ingress_port, (data,), outputs, l4_partial, split)
        if not outputs:
            return ProcessResult([], [])
        output = outputs[0]
        return output if isinstance(output, ProcessResult) else ProcessResult([output], [])

    def _finish_ingress(self, p: Packet, ingress_length: int, result: ProcessResult,
                        ingress_port: int) -> ProcessResult:
        """The rest of an ingress pass that cloned, resubmitted, multicast or sent a digest,
        then every pass it causes."""
        # the queues are the engine's own (process is not reentrant): emptied, not made anew
        self._ingress_q.clear()
        self._egress_q.clear()
        try:
            self._ingress_tail(p, ingress_length, self._egress_q, self._ingress_q, result)
        except PacketAbort as exc:
            log.debug("packet from port %d dropped: %s", ingress_port, exc)
        self._drain(1, result, ingress_port)
        return result

    def _finish_egress(self, p: Packet, result: ProcessResult,
                       ingress_port: int) -> ProcessResult:
        """The rest of an egress pass that cloned or recirculated, then every pass it
        causes."""
        self._ingress_q.clear()
        self._egress_q.clear()
        try:
            self._egress_tail(p, self._egress_q, self._ingress_q, result)
        except PacketAbort as exc:
            log.debug("packet from port %d dropped: %s", ingress_port, exc)
        self._drain(2, result, ingress_port)
        return result

    def _drain(self, passes: int, result: ProcessResult, ingress_port: int) -> None:
        """Run the queued passes, egress first (``passes``: how many the input packet has
        caused so far)."""
        ingress_q = self._ingress_q
        egress_q = self._egress_q
        while ingress_q or egress_q:
            passes += 1
            if passes > MAX_PASSES:
                break
            try:
                if egress_q:
                    self._egress(egress_q.popleft(), egress_q, ingress_q, result)
                else:
                    self._ingress(ingress_q.popleft(), egress_q, ingress_q, result)
            except PacketAbort as exc:
                # where BMv2 would abort the whole process, only this packet is dropped
                log.debug("packet from port %d dropped: %s", ingress_port, exc)

    def _ingress(self, p: Packet, egress_q: deque[Packet], ingress_q: deque[Packet],
                 result: ProcessResult) -> None:
        prog = self.program
        std = self._std
        f = p.f
        ingress_length = p.length_reg
        code = prog.parse(p)
        if std.parser_error is not None:
            f[std.parser_error] = code
        if prog.checksums:
            ok = self._verify_checksums(p, f)
            if std.checksum_error is not None:
                f[std.checksum_error] = 0 if ok else 1
        prog.ingress(p, f)
        p.exit = False
        self._ingress_tail(p, ingress_length, egress_q, ingress_q, result)

    def _ingress_tail(self, p: Packet, ingress_length: int, egress_q: deque[Packet],
                      ingress_q: deque[Packet], result: ProcessResult) -> None:
        """What simple_switch does after the ingress pipeline: clone, digest, resubmit,
        multicast or unicast."""
        prog = self.program
        std = self._std
        f = p.f
        egress_spec = f[std.egress_spec]  # type: ignore[index]
        mgid = f[std.mcast_grp] if std.mcast_grp is not None else 0

        if p.clone_session:
            session = self.pre.sessions.get(p.clone_session & 0x7FFF)
            if session is not None:
                copy = Packet(self._template.copy(), p.data)
                copy.l4_partial = p.l4_partial
                copy.length_reg = ingress_length
                copy.ingress_length = ingress_length
                # the parser may branch on the ingress port: BMv2 restores it for the re-parse
                copy.f[std.ingress_port] = f[std.ingress_port]  # type: ignore[index]
                prog.parse(copy)
                self._mark_copy(copy, f, p.clone_field_list, INGRESS_CLONE)
                self._multicast(copy, self.pre.session_copies[p.clone_session & 0x7FFF],
                                egress_q, session.packet_length_bytes)
            p.clone_session = 0

        if p.learn_id:
            learn = prog.learn_lists.get(p.learn_id)
            if learn is not None:
                result.digests.append(DigestSample(
                    learn.id, learn.name, tuple(f[s] & m for s, m in learn.slots)))

        if p.resubmit_field_list:
            copy = Packet(self._template.copy(), p.data)
            copy.l4_partial = p.l4_partial
            self._mark_copy(copy, f, p.resubmit_field_list, RESUBMIT)
            copy.length_reg = ingress_length
            copy.ingress_length = p.ingress_length
            copy.f[std.packet_length] = ingress_length  # type: ignore[index]
            ingress_q.appendleft(copy)
            return

        if mgid:
            f[std.instance_type] = REPLICATION  # type: ignore[index]
            replicas = self.pre.copies.get(mgid)
            if replicas:
                self._multicast(p, replicas, egress_q, 0)
            return

        if egress_spec == DROP_PORT:
            return
        f[std.instance_type] = NORMAL  # type: ignore[index]
        self._enqueue(p, egress_spec, egress_q)

    def _enqueue(self, p: Packet, port: int, egress_q: deque[Packet]) -> None:
        std = self._std
        if std.priority is not None and p.f[std.priority] != 0:
            return  # simple_switch has one queue per port: other priorities are dropped
        p.egress_port = port
        if std.enq_ts is not None:
            p.f[std.enq_ts] = self._now_us & 0xFFFFFFFF
        if std.enq_qdepth is not None:
            p.f[std.enq_qdepth] = 0
        egress_q.append(p)

    def _multicast(self, p: Packet, replicas: Sequence[tuple[int, int]],
                   egress_q: deque[Packet], truncate_to: int) -> None:
        std = self._std
        for port, rid in replicas:
            copy = _parsed_copy(p)
            # a copy is a new BMv2 packet: only a clone session's length truncates it
            copy.truncate_length = truncate_to or None
            if std.egress_rid is not None:
                copy.f[std.egress_rid] = rid
            self._enqueue(copy, port, egress_q)

    def _egress(self, p: Packet, egress_q: deque[Packet], ingress_q: deque[Packet],
                result: ProcessResult) -> None:
        prog = self.program
        std = self._std
        f = p.f
        if std.egress_ts is not None:
            f[std.egress_ts] = self._now_us & 0xFFFFFFFFFFFF
        for slot in self._egress_zeroed:
            f[slot] = 0
        f[std.egress_port] = p.egress_port  # type: ignore[index]
        f[std.egress_spec] = 0  # type: ignore[index]
        f[std.packet_length] = p.length_reg  # type: ignore[index]
        prog.egress(p, f)
        p.exit = False
        self._egress_tail(p, egress_q, ingress_q, result)

    def _egress_tail(self, p: Packet, egress_q: deque[Packet], ingress_q: deque[Packet],
                     result: ProcessResult) -> None:
        """What simple_switch does after the egress pipeline: clone, drop, deparse,
        recirculate or transmit."""
        prog = self.program
        std = self._std
        f = p.f
        if p.clone_session:
            session = self.pre.sessions.get(p.clone_session & 0x7FFF)
            if session is not None:
                copy = _parsed_copy(p)
                self._mark_copy(copy, f, p.clone_field_list, EGRESS_CLONE)
                self._multicast(copy, self.pre.session_copies[p.clone_session & 0x7FFF],
                                egress_q, session.packet_length_bytes)
            p.clone_session = 0

        if f[std.egress_spec] == DROP_PORT:  # type: ignore[index]
            return
        if prog.checksums:
            self._update_checksums(p, f)
        try:
            out = prog.deparse(p)
        except (OverflowError, struct.error):
            return

        if p.recirculate_field_list:
            copy = Packet(self._template.copy(), out)
            copy.l4_partial = p.l4_partial
            self._mark_copy(copy, f, p.recirculate_field_list, RECIRC)
            copy.f[std.packet_length] = len(out)  # type: ignore[index]
            ingress_q.appendleft(copy)
            return
        limit = p.truncate_length
        if limit is not None and len(out) > limit:
            out = out[:limit]
        result.packets.append((p.egress_port, out))

    def _verify_checksums(self, p: Packet, f: list[int]) -> bool:
        ok = True
        for ck in self.program.checksums:
            if not ck.verify or not f[ck.header_valid_slot] or (
                    ck.with_payload and p.l4_partial) or (
                    ck.cond is not None and not ck.cond(p, f)):
                continue
            if (ck.calc(p, f) & ck.target_mask) != (f[ck.target_slot] & ck.target_mask):
                ok = False
        return ok

    def _update_checksums(self, p: Packet, f: list[int]) -> None:
        for ck in self.program.checksums:
            if not ck.update or (ck.cond is not None and not ck.cond(p, f)):
                continue
            f[ck.target_slot] = ck.calc(p, f) & ck.target_mask

    # ===================================================================== tables =====

    def _table(self, name: str) -> Table:
        table = self.program.tables.get(name)
        if table is None:
            raise NotFoundError(f"no table named {name!r}")
        return table

    def table_add(self, table: str, key: Sequence[MatchParam], action: ActionRef, *,
                  priority: int | None = None, timeout_ms: int | None = None) -> int:
        return self._table(table).add(key, action, priority, timeout_ms)

    def table_modify(self, table: str, handle: int, action: ActionRef) -> None:
        self._table(table).modify(handle, action)

    def table_delete(self, table: str, handle: int) -> None:
        self._table(table).delete(handle)

    def table_clear(self, table: str) -> None:
        self._table(table).clear()

    def table_find(self, table: str, key: Sequence[MatchParam],
                   priority: int | None) -> int | None:
        return self._table(table).find(key, priority)

    def _view(self, entry: Entry) -> EntryView:
        return EntryView(entry.handle, entry.key, entry.priority, entry.ref, entry.timeout_ms,
                         entry.is_const, max(0, self.clock_ns() - entry.last_hit_ns))

    def table_entries(self, table: str) -> list[EntryView]:
        t = self._table(table)
        return [self._view(e) for _, e in sorted(t.entries.items())]

    def table_get_entry(self, table: str, handle: int) -> EntryView:
        return self._view(self._table(table).get(handle))

    def table_set_default(self, table: str, action: ActionRef) -> None:
        self._table(table).set_default(action)

    def table_reset_default(self, table: str) -> None:
        self._table(table).reset_default()

    def table_get_default(self, table: str) -> ActionRef:
        ref: ActionRef = self._table(table).default.ref
        return ref

    def table_set_timeout(self, table: str, handle: int, timeout_ms: int) -> None:
        t = self._table(table)
        if not t.support_timeout:
            raise InvalidEntryError(f"table {table!r} does not support idle timeouts")
        if not isinstance(timeout_ms, int) or timeout_ms < 0:
            raise InvalidEntryError(f"table {table!r}: bad timeout {timeout_ms!r}")
        entry = t.get(handle)
        entry.timeout_ms = timeout_ms
        entry.expired = False

    def expired_entries(self) -> list[tuple[str, int]]:
        now = self.clock_ns()
        out = []
        for name, t in self.program.tables.items():
            if not t.support_timeout:
                continue
            for handle, entry in sorted(t.entries.items()):
                if entry.timeout_ms is None or entry.expired:
                    continue
                if now - entry.last_hit_ns >= entry.timeout_ms * 1_000_000:
                    entry.expired = True
                    out.append((name, handle))
        return out

    # ============================================================ direct resources =====

    def _entry(self, table: str, handle: int) -> tuple[Table, Entry]:
        t = self._table(table)
        return t, (t.default if handle == DEFAULT_ENTRY else t.get(handle))

    def direct_counter_read(self, table: str, handle: int) -> tuple[int, int]:
        t, entry = self._entry(table, handle)
        if not t.with_counters:
            raise NotFoundError(f"table {table!r} has no direct counter")
        return entry.bytes, entry.packets

    def direct_counter_write(self, table: str, handle: int, bytes_: int, packets: int) -> None:
        t, entry = self._entry(table, handle)
        if not t.with_counters:
            raise NotFoundError(f"table {table!r} has no direct counter")
        _require_ints(f"direct counter of table {table!r}", bytes=bytes_, packets=packets)
        if bytes_ < 0 or packets < 0:
            raise InvalidEntryError("counter values must be non-negative")
        entry.bytes, entry.packets = bytes_, packets

    def _direct_meter(self, table: str, handle: int) -> tuple[Table, Meter]:
        t, entry = self._entry(table, handle)
        if t.meter_factory is None:
            raise NotFoundError(f"table {table!r} has no direct meter")
        if entry.meter is None:
            entry.meter = t.meter_factory()
        return t, entry.meter

    def direct_meter_set(self, table: str, handle: int,
                         rates: Sequence[tuple[float, int]] | None) -> None:
        t, meter = self._direct_meter(table, handle)
        check_rates(rates, t.direct_meter_rates, f"direct meter of table {table!r}")
        meter.configure(rates)

    def direct_meter_get(self, table: str, handle: int) -> list[tuple[float, int]] | None:
        return self._direct_meter(table, handle)[1].get()

    # ========================================================== indirect externs =====

    def counter_read(self, name: str, index: int) -> tuple[int, int]:
        arr = self.program.counters.get(name)
        if arr is None or arr.is_direct:
            raise NotFoundError(f"no indirect counter named {name!r}")
        _require_ints(f"counter {name!r}", index=index)
        arr.check(index)
        return arr.bytes[index], arr.packets[index]

    def counter_write(self, name: str, index: int, bytes_: int, packets: int) -> None:
        arr = self.program.counters.get(name)
        if arr is None or arr.is_direct:
            raise NotFoundError(f"no indirect counter named {name!r}")
        _require_ints(f"counter {name!r}", index=index, bytes=bytes_, packets=packets)
        arr.check(index)
        if bytes_ < 0 or packets < 0:
            raise InvalidEntryError("counter values must be non-negative")
        arr.bytes[index], arr.packets[index] = bytes_, packets

    def _meter(self, name: str, index: int) -> Meter:
        arr = self.program.meters.get(name)
        if arr is None or self.info.meters[name].is_direct:
            raise NotFoundError(f"no indirect meter named {name!r}")
        _require_ints(f"meter {name!r}", index=index)
        return arr.cell(index)

    def meter_set(self, name: str, index: int,
                  rates: Sequence[tuple[float, int]] | None) -> None:
        meter = self._meter(name, index)
        check_rates(rates, self.program.meters[name].rate_count, f"meter {name!r}")
        meter.configure(rates)

    def meter_get(self, name: str, index: int) -> list[tuple[float, int]] | None:
        return self._meter(name, index).get()

    def register_read(self, name: str, index: int) -> int:
        arr = self.program.registers.get(name)
        if arr is None:
            raise NotFoundError(f"no register named {name!r}")
        _require_ints(f"register {name!r}", index=index)
        arr.check(index)
        return arr.cells[index]

    def register_write(self, name: str, index: int, value: int) -> None:
        arr = self.program.registers.get(name)
        if arr is None:
            raise NotFoundError(f"no register named {name!r}")
        _require_ints(f"register {name!r}", index=index)
        arr.check(index)
        if not isinstance(value, int) or value < 0 or value > arr.mask:
            raise InvalidEntryError(f"register {name!r}: value {value!r} does not fit in "
                                    f"{arr.bitwidth} bits")
        arr.cells[index] = value

    # ============================================================ action profiles =====

    def _profile(self, name: str) -> Any:
        prof = self.program.profiles.get(name)
        if prof is None:
            raise NotFoundError(f"no action profile named {name!r}")
        return prof

    def act_prof_set_member(self, prof: str, member_id: int, action: ActionCall) -> None:
        if not isinstance(action, ActionCall):
            raise InvalidEntryError("an action profile member needs an ActionCall")
        self._profile(prof).set_member(member_id, action)

    def act_prof_delete_member(self, prof: str, member_id: int) -> None:
        self._profile(prof).delete_member(member_id)

    def act_prof_set_group(self, prof: str, group_id: int,
                           members: Sequence[tuple[int, int]]) -> None:
        self._profile(prof).set_group(group_id, members)

    def act_prof_delete_group(self, prof: str, group_id: int) -> None:
        self._profile(prof).delete_group(group_id)

    def act_prof_members(self, prof: str) -> dict[int, ActionCall]:
        return {mid: m.call for mid, m in self._profile(prof).members.items()}

    def act_prof_groups(self, prof: str) -> dict[int, list[tuple[int, int]]]:
        return {gid: list(g.members) for gid, g in self._profile(prof).groups.items()}

    # ======================================================================= PRE =====

    def mc_group_set(self, group_id: int, replicas: Sequence[tuple[int, int]]) -> None:
        self.pre.set_group(group_id, replicas)

    def mc_group_delete(self, group_id: int) -> None:
        self.pre.delete_group(group_id)

    def mc_groups(self) -> dict[int, list[tuple[int, int]]]:
        return {gid: list(r) for gid, r in self.pre.groups.items()}

    def clone_session_set(self, session_id: int, replicas: Sequence[tuple[int, int]], *,
                          class_of_service: int = 0, packet_length_bytes: int = 0) -> None:
        self.pre.set_session(session_id, replicas, class_of_service, packet_length_bytes)

    def clone_session_delete(self, session_id: int) -> None:
        self.pre.delete_session(session_id)

    def clone_sessions(self) -> dict[int, CloneSession]:
        return dict(self.pre.sessions)

    # ================================================================ parse vsets =====

    def parse_vset_set(self, name: str, values: Sequence[int]) -> None:
        """Replace the members of a parse value set (values in compressed form)."""
        vset = self.program.vsets.get(name)
        if vset is None:
            raise NotFoundError(f"no parse value set named {name!r}")
        widths = self.program.vset_widths[name]
        total = sum(widths)
        padded = set()
        for value in values:
            if not isinstance(value, int) or value < 0 or value >> total:
                raise InvalidEntryError(f"parse value set {name!r}: value {value!r} does not "
                                        f"fit in {total} bits")
            out = 0
            shift = total
            for w in widths:
                shift -= w
                out = (out << ((w + 7) // 8 * 8)) | ((value >> shift) & ((1 << w) - 1))
            padded.add(out)
        vset.clear()
        vset.update(padded)


def _parsed_copy(p: Packet) -> Packet:
    """A new packet instance with ``p``'s fields, parse position and length registers."""
    copy = Packet(p.f.copy(), p.data)
    copy.l4_partial = p.l4_partial
    copy.off = p.off
    copy.payload = p.payload
    copy.ingress_length = p.ingress_length
    copy.length_reg = p.length_reg
    return copy
