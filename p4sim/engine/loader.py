"""Turns a BMv2 JSON document into a :class:`Program`: generated functions plus runtime state."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from p4sim.engine.action_profiles import ActionProfile
from p4sim.engine.codegen import EXIT_STATEMENT, CodeGen, Resources, parse_hexstr
from p4sim.engine.errors import ConfigError
from p4sim.engine.externs import CounterArray, Meter, MeterArray, RegisterArray
from p4sim.engine.layout import Layout, build_layout
from p4sim.engine.packet import Packet
from p4sim.engine.parsergen import (
    CalcFn,
    ParseFn,
    ParserBuilder,
    build_calculation,
    build_deparser,
    build_ipv4_checksum,
    error_codes,
)
from p4sim.engine.placement import check_placement
from p4sim.engine.tables import ActionSpec, KeyField, NodeFn, Table
from p4sim.engine.types import (
    ActionCall,
    ActionInfo,
    ActionParamInfo,
    ActionProfileInfo,
    CounterInfo,
    Exact,
    HeaderTypeInfo,
    KeyFieldInfo,
    LearnListInfo,
    Lpm,
    MatchParam,
    MeterInfo,
    ProgramInfo,
    Range,
    RegisterInfo,
    TableInfo,
    Ternary,
)

PipelineFn = Callable[[Packet, list[int]], None]


INLINE_DEPTH = 6
"""How many conditionals / action calls deep a node's code takes in those that follow it."""


def _inlined(steps: dict[str, tuple[str, Any, Any]], name: str, depth: int = 0) -> list[str]:
    """The body of node ``name`` (a conditional, or statements: an action call or a fixed
    table): its own step, then the steps after it inlined while they are such nodes, up to
    ``INLINE_DEPTH``; every path ends returning the next node to run (None: the pipeline is
    done).  Conditions are side-effect free, so evaluating them inline keeps the order."""
    kind, code, nexts = steps[name]

    def then(next_ident: str, next_name: Any) -> list[str]:
        if next_name is None or next_name not in steps or depth + 1 >= INLINE_DEPTH:
            return [f"return {next_ident}"]
        return _inlined(steps, next_name, depth + 1)

    if kind == "if":
        true_ident, true_name, false_ident, false_name = nexts
        return [f"if {code}:", *("    " + line for line in then(true_ident, true_name)),
                *then(false_ident, false_name)]
    next_ident, next_name = nexts
    return [*code, *then(next_ident, next_name)]


def empty_pipeline(p: Packet, f: list[int]) -> None:
    """A pipeline without nodes (the engine skips calling it)."""


@dataclass(slots=True)
class Checksum:
    name: str
    target_slot: int
    target_mask: int
    calc: CalcFn
    cond: Callable[[Packet, list[int]], bool] | None
    verify: bool
    update: bool
    header_valid_slot: int
    """BMv2 skips the verification of a checksum whose target header is invalid."""
    with_payload: bool = False
    """The calculation covers the payload (``update_checksum_with_payload``)."""
    cond_expr: str | None = None
    """``cond`` as a Python expression of ``p`` and ``f`` in :attr:`Program.namespace`."""


@dataclass(slots=True)
class LearnList:
    id: int
    name: str
    fields: list[tuple[str, int]]
    slots: list[tuple[int, int]]


@dataclass
class Program:
    layout: Layout
    parse: ParseFn
    deparse: Callable[[Packet], bytes]
    deparse_headers: Callable[[Packet], bytes]
    """The deparser without the payload (``Engine.process(..., split=True)``)."""
    ingress: PipelineFn
    egress: PipelineFn
    ingress_start: NodeFn | None
    """The ingress pipeline's first node (what ``ingress`` runs from), for the engine to
    walk the nodes in its own generated code."""
    parse_inline: list[str] | None
    """The parser as lines of code to put where it is called (see ParserBuilder), if it is
    one function."""
    checksums: list[Checksum]
    tables: dict[str, Table]
    counters: dict[str, CounterArray]
    meters: dict[str, MeterArray]
    registers: dict[str, RegisterArray]
    profiles: dict[str, ActionProfile]
    learn_lists: dict[int, LearnList]
    field_lists: dict[int, list[int]]
    vsets: dict[str, set[int]]
    vset_widths: dict[str, list[int]]
    info: ProgramInfo
    metadata_slots: list[tuple[int, int]] = field(default_factory=list)
    """(first slot, count) of every metadata header's fields, for reset_metadata."""
    namespace: dict[str, Any] = field(default_factory=dict)
    """The globals of the generated functions (constants, tables, externs, helpers)."""


def load_json(source: dict[str, Any] | str | bytes) -> dict[str, Any]:
    if isinstance(source, dict):
        return source
    try:
        cfg = json.loads(source)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"the BMv2 JSON is not valid JSON: {exc}") from None
    if not isinstance(cfg, dict):
        raise ConfigError("the BMv2 JSON must be an object at the top level")
    return cfg


def _items(cfg: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = cfg.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{key!r} must be an array of objects")
    return value


def _name(obj: dict[str, Any], what: str) -> str:
    name = obj.get("name")
    if not isinstance(name, str):
        raise ConfigError(f"{what}: missing 'name'")
    return name


def _id(obj: dict[str, Any], what: str) -> int:
    value = obj.get("id", 0)
    if not isinstance(value, int):
        raise ConfigError(f"{what}: 'id' must be an integer")
    return value


def _size(obj: dict[str, Any], key: str, what: str) -> int:
    value = obj.get(key, 0)
    if not isinstance(value, int) or value < 0:
        raise ConfigError(f"{what}: {key!r} must be a non-negative integer")
    return value


class Loader:
    def __init__(self, cfg: dict[str, Any], clock_ns: Callable[[], int], *,
                 inline_parser: bool = True, inline_fixed_tables: bool = True) -> None:
        self.cfg = cfg
        self.clock_ns = clock_ns
        self.inline_parser = inline_parser
        """Parsers as one function when they can be (the tests compare with per-state)."""
        self.inline_fixed_tables = inline_fixed_tables
        """Fixed tables (see :meth:`_fixed_run`) as statements in the generated node code,
        not table lookups (the tests compare the two)."""
        self.pipeline_starts: dict[str, NodeFn | None] = {}
        """Each pipeline's first node (None: the pipeline is empty)."""
        self.where = ["the top-level objects"]
        """The JSON object being translated, for errors the checks did not anticipate."""
        self.payload_calculations: set[str] = set()

    def load(self) -> Program:
        """The program, or ConfigError naming the JSON object that could not be used."""
        try:
            return self._load()
        except ConfigError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError,
                RecursionError) as exc:
            raise ConfigError(f"malformed BMv2 JSON in {self.where[0]}: "
                              f"{type(exc).__name__}: {exc}") from None

    def _load(self) -> Program:
        cfg = self.cfg
        meta = cfg.get("__meta__")
        if isinstance(meta, dict):
            version = meta.get("version")
            if isinstance(version, list) and version and version[0] != 2:
                raise ConfigError(f"__meta__: unsupported BMv2 JSON version {version!r} "
                                  "(major version 2 expected)")
        # simple_switch refuses a node type where its loader does not take it: so do we
        check_placement(cfg)
        self.where[0] = "the headers and their types"
        self.layout = build_layout(cfg)
        self.res = Resources()
        self.cg = CodeGen(self.layout, self.res)
        self.where[0] = "'errors'"
        self.errors = error_codes(cfg)
        self.vset_compressed: dict[str, int] = {}
        cg, layout = self.cg, self.layout
        counters = self._counters()
        meters, meter_defs = self._meters()
        registers = self._registers()
        vsets, vset_widths = self._vsets()
        self.where[0] = "the deparser"
        deparsers = _items(cfg, "deparsers")
        order: list[int] = []
        if deparsers:
            for hname in deparsers[0].get("order", []) or []:
                order.append(layout.header(str(hname)).index)
        for calc in _items(cfg, "calculations"):
            name = _name(calc, "calculation")
            self.where[0] = f"calculation {name!r}"
            fn = build_calculation(cg, layout, calc)
            self.res.calculations[name] = cg.const(fn, "calc")
            if any(isinstance(i, dict) and i.get("type") == "payload"
                   for i in calc.get("input", []) or []):
                self.payload_calculations.add(name)
        actions = self._actions()
        profiles: dict[str, ActionProfile] = {}
        tables: dict[str, Table] = {}
        pipelines = {}
        for pipe in _items(cfg, "pipelines"):
            pipelines[_name(pipe, "pipeline")] = self._pipeline(pipe, actions, tables, profiles,
                                                                meter_defs, meters)
        if "ingress" not in pipelines or "egress" not in pipelines:
            raise ConfigError("pipelines: simple_switch needs pipelines named 'ingress' and "
                              f"'egress', found {sorted(pipelines)}")
        parsers = _items(cfg, "parsers")
        if not parsers:
            raise ConfigError("parsers: the program has no parser")
        pb = ParserBuilder(cg, layout, self.errors, vsets, self.where)
        parse = pb.build(parsers[0], self.inline_parser)
        checksums = self._checksums()
        self.where[0] = "the deparser"
        deparse = build_deparser(cg, layout, order)
        deparse_headers = build_deparser(cg, layout, order, payload=False)
        learn_lists = self._learn_lists()
        field_lists = self._field_lists()
        metadata_slots = [(h.base + 1, len(h.type.fields)) for h in layout.headers if h.metadata]
        info = self._info(tables, actions, counters, meters, registers, profiles, learn_lists,
                          vset_widths)
        return Program(layout, parse, deparse, deparse_headers, pipelines["ingress"],
                       pipelines["egress"], self.pipeline_starts["ingress"], pb.inlined_lines,
                       checksums, tables, counters, meters, registers,
                       profiles, learn_lists, field_lists, vsets, vset_widths, info,
                       metadata_slots, cg.ns)

    # --- externs ----------------------------------------------------------------------

    def _counters(self) -> dict[str, CounterArray]:
        out = {}
        for c in _items(self.cfg, "counter_arrays"):
            name = _name(c, "counter array")
            self.where[0] = f"counter array {name!r}"
            binding = c.get("binding")
            arr = CounterArray(name, _id(c, name), _size(c, "size", f"counter array {name!r}"),
                               bool(c.get("is_direct", False)),
                               binding if isinstance(binding, str) else None)
            out[name] = arr
            self.res.counters[name] = self.cg.const(arr, "ctr")
        return out

    def _meters(self) -> tuple[dict[str, MeterArray], dict[str, dict[str, Any]]]:
        out = {}
        defs = {}
        for m in _items(self.cfg, "meter_arrays"):
            name = _name(m, "meter array")
            self.where[0] = f"meter array {name!r}"
            kind = m.get("type", "bytes")
            if kind not in ("bytes", "packets"):
                raise ConfigError(f"meter array {name!r}: type must be 'bytes' or 'packets'")
            rate_count = m.get("rate_count", 2)
            if not isinstance(rate_count, int) or rate_count < 1:
                raise ConfigError(f"meter array {name!r}: bad rate_count {rate_count!r}")
            size = _size(m, "size", f"meter array {name!r}")
            arr = MeterArray(name, 0 if m.get("is_direct") else size, kind == "packets",
                             rate_count, self.clock_ns)
            out[name] = arr
            defs[name] = m
            self.res.meters[name] = self.cg.const(arr, "mtr")
        return out, defs

    def _registers(self) -> dict[str, RegisterArray]:
        out = {}
        for r in _items(self.cfg, "register_arrays"):
            name = _name(r, "register array")
            self.where[0] = f"register array {name!r}"
            width = r.get("bitwidth")
            if not isinstance(width, int) or width <= 0:
                raise ConfigError(f"register array {name!r}: bad bitwidth {width!r}")
            arr = RegisterArray(name, _size(r, "size", f"register array {name!r}"), width)
            out[name] = arr
            self.res.registers[name] = self.cg.const(arr, "reg")
        return out

    def _vsets(self) -> tuple[dict[str, set[int]], dict[str, list[int]]]:
        vsets: dict[str, set[int]] = {}
        widths: dict[str, list[int]] = {}
        for v in _items(self.cfg, "parse_vsets"):
            name = _name(v, "parse_vset")
            self.where[0] = f"parse_vset {name!r}"
            width = v.get("compressed_bitwidth")
            if not isinstance(width, int) or width < 0:
                raise ConfigError(f"parse_vset {name!r}: bad compressed_bitwidth {width!r}")
            vsets[name] = set()
            widths[name] = [width]
            self.vset_compressed[name] = width
        # the key layout of each vset (field widths) is known from the states using it
        self.where[0] = "the parse states using value sets"
        for parser in _items(self.cfg, "parsers"):
            for st in parser.get("parse_states", []) or []:
                for tr in st.get("transitions", []) or []:
                    if isinstance(tr, dict) and tr.get("type") == "parse_vset" and \
                            tr.get("value") in widths:
                        widths[tr["value"]] = self._key_widths(st.get("transition_key", []))
        return vsets, widths

    def _key_widths(self, keys: list[Any]) -> list[int]:
        out = []
        for tv in keys:
            if isinstance(tv, dict) and tv.get("type") == "lookahead":
                out.append(int(tv["value"][1]))
            else:
                _, fdef = self.cg.field_slot(tv, "transition key")
                out.append(fdef.width if fdef is not None else 1)
        return out

    # --- actions ----------------------------------------------------------------------

    def _actions(self) -> dict[str, ActionSpec]:
        out: dict[str, ActionSpec] = {}
        by_id: dict[int, ActionSpec] = {}
        for a in _items(self.cfg, "actions"):
            name = _name(a, "action")
            what = f"action {name!r}"
            self.where[0] = what
            widths = []
            for rd in a.get("runtime_data", []) or []:
                bw = rd.get("bitwidth") if isinstance(rd, dict) else None
                if not isinstance(bw, int) or bw < 0:
                    raise ConfigError(f"{what}: bad runtime_data {rd!r}")
                widths.append(bw)
            prims = a.get("primitives", []) or []
            if not isinstance(prims, list):
                raise ConfigError(f"{what}: 'primitives' must be an array")
            body, straight = self.cg.action_body(prims, what)
            fn = self.cg.compile(self.cg.fresh("act"), "p, f, d", body)
            spec = ActionSpec(name, _id(a, what), fn, tuple(widths),
                              tuple(body) if straight else None)
            by_id[spec.id] = spec
            # p4c may emit two actions with the same name (different ids); keep them apart
            key = name if name not in out else f"{name}#{spec.id}"
            out[key] = spec
        self.actions_by_id = by_id
        return out

    # --- pipelines --------------------------------------------------------------------

    def _pipeline(self, pipe: dict[str, Any], actions: dict[str, ActionSpec],
                  tables: dict[str, Table], profiles: dict[str, ActionProfile],
                  meter_defs: dict[str, dict[str, Any]],
                  meters: dict[str, MeterArray]) -> PipelineFn:
        cg = self.cg
        pname = _name(pipe, "pipeline")
        node_ident: dict[str, str] = {}
        for kind in ("tables", "conditionals", "action_calls"):
            for node in _items(pipe, kind):
                nname = _name(node, f"pipeline {pname!r} {kind}")
                node_ident[nname] = cg.fresh("node")

        def ref(name: Any, what: str) -> str:
            if name is None:
                return "None"
            if name not in node_ident:
                raise ConfigError(f"{what}: unknown next node {name!r}")
            return node_ident[name]

        for prof in _items(pipe, "action_profiles"):
            pname_ = _name(prof, "action profile")
            selector = None
            sel = prof.get("selector")
            if isinstance(sel, dict):
                calc = {"name": pname_, "algo": sel.get("algo"), "input": sel.get("input", [])}
                selector = build_calculation(cg, self.layout, calc)
            profiles[pname_] = ActionProfile(pname_, _id(prof, pname_),
                                             _size(prof, "max_size", pname_), selector,
                                             self._unbound_call)

        # Conditionals, action calls and fixed tables are compiled with those that follow
        # them inlined (a few levels deep), so a packet walks a chain of them in one call
        # instead of one per node; other tables stay calls that return their next node.
        steps: dict[str, tuple[str, Any, Any]] = {}
        local_tables = []
        for t in _items(pipe, "tables"):
            what = f"table {t.get('name')!r}"
            self.where[0] = what
            table = self._table(t, actions, profiles, meter_defs, meters)
            tables[table.name] = table
            local_tables.append((t, table))
            fixed = self._fixed_run(t, table) if self.inline_fixed_tables else None
            if fixed is None:
                cg.ns[node_ident[table.name]] = table.apply
            else:
                lines, next_name = fixed
                steps[table.name] = ("run", lines, (ref(next_name, what), next_name))
        for c in _items(pipe, "conditionals"):
            cname = _name(c, "conditional")
            what = f"conditional {cname!r}"
            self.where[0] = what
            steps[cname] = ("if", cg.rv(c.get("expression"), what),
                            (ref(c.get("true_next"), what), c.get("true_next"),
                             ref(c.get("false_next"), what), c.get("false_next")))
        for ac in _items(pipe, "action_calls"):
            aname = _name(ac, "action call")
            what = f"action call {aname!r}"
            spec = self.actions_by_id.get(ac.get("action_id"))  # type: ignore[arg-type]
            if spec is None:
                raise ConfigError(f"{what}: unknown action id {ac.get('action_id')!r}")
            steps[aname] = ("run", self._run_lines(spec, ()),
                            (ref(ac.get("next_node"), what), ac.get("next_node")))
        for name in steps:
            cg.compile(node_ident[name], "p, f", _inlined(steps, name))

        # link next nodes, then install defaults and const entries
        for t, table in local_tables:
            what = f"table {table.name!r}"
            self.where[0] = what
            nexts = t.get("next_tables", {}) or {}
            if not isinstance(nexts, dict):
                raise ConfigError(f"{what}: 'next_tables' must be an object")
            base_next = t.get("base_default_next")
            base_fn = cg.ns[ref(base_next, what)] if base_next is not None else None
            if "__HIT__" in nexts or "__MISS__" in nexts:
                table.hit_miss = True
                table.hit_next = cg.ns[ref(nexts.get("__HIT__"), what)] \
                    if nexts.get("__HIT__") is not None else None
                if "__MISS__" in nexts:
                    table.miss_next = cg.ns[ref(nexts["__MISS__"], what)] \
                        if nexts["__MISS__"] is not None else None
                else:
                    table.miss_next = base_fn
            else:
                for aname in table.actions:
                    if aname in nexts:
                        nxt = nexts[aname]
                        table.next_by_action[aname] = cg.ns[ref(nxt, what)] \
                            if nxt is not None else None
                    else:
                        table.next_by_action[aname] = base_fn
            self._table_defaults(t, table, base_fn)

        init = pipe.get("init_table")
        if init is None:
            self.pipeline_starts[pname] = None
            return empty_pipeline
        start = cg.ns[ref(init, f"pipeline {pname!r}")]
        self.pipeline_starts[pname] = start

        def run(p: Packet, f: list[int]) -> None:
            node: NodeFn | None = start
            while node is not None:
                node = node(p, f)

        return run

    def _run_lines(self, spec: ActionSpec, args: tuple[int, ...]) -> list[str]:
        """Statements of a node running action ``spec`` with action data ``args`` (its body
        where it runs straight through, else a call of its function), then returning None
        if it made the packet exit."""
        data = self.cg.const(args, "d")
        exit_check = ["if p.exit:", "    return None"]
        if spec.body is None:
            return [f"{self.cg.const(spec.fn, 'a')}(p, f, {data})", *exit_check]
        lines = [f"d = {data}", *spec.body] if spec.param_widths else list(spec.body)
        return lines + exit_check if EXIT_STATEMENT in spec.body else lines

    def _fixed_run(self, t: dict[str, Any], table: Table) -> tuple[list[str], Any] | None:
        """For a table that always runs the same action with the same data and then goes to
        the same node whatever the control plane does (no key, so every lookup misses; a
        const default entry; nothing counted, metered or timed): the statements of that
        action and the name of that node.  p4c makes such a table of every statement that is
        not in a table.  None for any other table."""
        de = t.get("default_entry")
        if (table.kind != "keyless" or table.profile is not None or table.with_counters
                or table.support_timeout or table.meter_factory is not None
                or not isinstance(de, dict) or "action_data" not in de
                or not de.get("action_entry_const", False)):
            return None
        what = f"table {table.name!r} default_entry"
        call = self._call_from_json(de, table, what)
        spec = self.actions_by_id[de["action_id"]]
        if len(call.params) != len(spec.param_widths):
            return None  # _table_defaults reports it
        nexts = t.get("next_tables", {}) or {}
        if not isinstance(nexts, dict):
            return None  # reported when the tables are linked
        key = "__MISS__" if "__HIT__" in nexts or "__MISS__" in nexts else call.action
        next_name = nexts[key] if key in nexts else t.get("base_default_next")
        return self._run_lines(spec, call.params), next_name

    def _unbound_call(self, call: ActionCall) -> tuple[Any, tuple[int, ...]]:
        raise ConfigError("action profile used before being bound to a table")

    def _table(self, t: dict[str, Any], actions: dict[str, ActionSpec],
               profiles: dict[str, ActionProfile], meter_defs: dict[str, dict[str, Any]],
               meters: dict[str, MeterArray]) -> Table:
        cg = self.cg
        name = _name(t, "table")
        what = f"table {name!r}"
        key_fields: list[KeyField] = []
        slots: list[tuple[str, int, int | None]] = []
        for k in t.get("key", []) or []:
            if not isinstance(k, dict):
                raise ConfigError(f"{what}: bad key element {k!r}")
            mt = k.get("match_type")
            if mt not in ("exact", "lpm", "ternary", "range", "optional", "valid"):
                raise ConfigError(f"{what}: unsupported key match type {mt!r}")
            target = k.get("target")
            if mt == "valid" or isinstance(target, str):
                hdr = self.layout.header(str(target))
                slot, width = str(hdr.base), 1
                default_name = f"{target}.$valid$"
            else:
                slot, fdef = cg.field_slot({"type": "field", "value": target}, what)
                width = fdef.width if fdef is not None else 1
                default_name = ".".join(str(x) for x in target) if isinstance(target, list) \
                    else str(target)
            mask = k.get("mask")
            mask_v = parse_hexstr(mask, what) if mask is not None else None
            given_name = k.get("name")
            kname = given_name if isinstance(given_name, str) else default_name
            key_fields.append(KeyField(kname, mt, width, 0))
            slots.append((slot, width, mask_v))
        shift = 0
        terms = []
        for kf, (slot, width, mask_v) in zip(reversed(key_fields), reversed(slots), strict=True):
            kf.shift = shift
            m = (1 << width) - 1
            if mask_v is not None:
                m &= mask_v
            term = f"(f[{slot}] & {hex(m)})"
            terms.append(f"({term} << {shift})" if shift else term)
            shift += width
        key_fn = cg.compile(cg.fresh("key"), "f", [f"return {' | '.join(terms) or '0'}"])
        mts = {kf.match_type for kf in key_fields}
        if not key_fields:
            kind = "keyless"
        elif mts & {"ternary", "range", "optional"} or sum(
                kf.match_type == "lpm" for kf in key_fields) > 1:
            kind = "ternary"
        elif "lpm" in mts:
            kind = "lpm"
        else:
            kind = "exact"
        if t.get("match_type") in ("ternary", "range") and kind != "keyless":
            kind = "ternary"
        table_actions: dict[str, ActionSpec] = {}
        action_ids = t.get("action_ids")
        names = t.get("actions", []) or []
        if isinstance(action_ids, list) and len(action_ids) == len(names):
            for aname, aid in zip(names, action_ids, strict=True):
                spec = self.actions_by_id.get(aid)
                if spec is None:
                    raise ConfigError(f"{what}: unknown action id {aid!r}")
                table_actions[aname] = spec
        else:
            for aname in names:
                if aname not in actions:
                    raise ConfigError(f"{what}: unknown action {aname!r}")
                table_actions[aname] = actions[aname]
        table = Table(name, _id(t, what), kind, key_fields, key_fn, table_actions,
                      _size(t, "max_size", what), bool(t.get("support_timeout", False)),
                      self.clock_ns)
        ttype = t.get("type", "simple")
        if ttype in ("indirect", "indirect_ws"):
            pname = t.get("action_profile")
            if pname not in profiles:
                raise ConfigError(f"{what}: unknown action profile {pname!r}")
            table.profile = profiles[pname]
            if ttype == "indirect_ws" and table.profile.selector is None:
                raise ConfigError(f"{what}: indirect_ws table needs an action selector")
            table.profile.bind_action = table.bind_call
        elif ttype != "simple":
            raise ConfigError(f"{what}: unsupported table type {ttype!r}")
        table.with_counters = bool(t.get("with_counters", False))
        dm = t.get("direct_meters")
        if dm is not None:
            if dm not in meter_defs:
                raise ConfigError(f"{what}: unknown direct meter {dm!r}")
            mdef = meter_defs[dm]
            arr = meters[dm]
            origin = self.clock_ns()
            is_packets = mdef.get("type") == "packets"
            clock = self.clock_ns
            table.meter_factory = lambda: Meter(clock, origin, is_packets)
            rt = mdef.get("result_target")
            if isinstance(rt, list) and len(rt) == 2:
                slot, fdef = cg.field_slot({"type": "field", "value": rt}, f"meter {dm!r}")
                table.meter_result_slot = int(slot)
                table.meter_result_mask = (1 << (fdef.width if fdef else 1)) - 1
            table.direct_meter = dm
            table.direct_meter_rates = arr.rate_count
        table.specialise()
        return table

    def _call_from_json(self, obj: dict[str, Any], table: Table, what: str) -> ActionCall:
        spec = self.actions_by_id.get(obj.get("action_id"))  # type: ignore[arg-type]
        if spec is None:
            raise ConfigError(f"{what}: unknown action id {obj.get('action_id')!r}")
        name = next((n for n, s in table.actions.items() if s is spec), spec.name)
        data = [parse_hexstr(x, what) for x in obj.get("action_data", []) or []]
        return ActionCall(name, tuple(data))

    def _table_defaults(self, t: dict[str, Any], table: Table, base_next: NodeFn | None) -> None:
        what = f"table {table.name!r}"
        table.no_default_next = table.miss_next if table.hit_miss else base_next
        de = t.get("default_entry")
        if de is not None and table.profile is not None:
            # BMv2 refuses to load this (p4c leaves default_action out for such tables)
            raise ConfigError(f"{what}: a table with an action profile cannot specify a "
                              "'default_entry'")
        if isinstance(de, dict) and "action_data" not in de:
            # BMv2: only the action function is pinned; there is no default entry yet
            call = self._call_from_json(de, table, f"{what} default_entry")
            if de.get("action_const", False):
                table.const_default_action = call.action
            table.default.next = table.no_default_next
        elif isinstance(de, dict):
            call = self._call_from_json(de, table, f"{what} default_entry")
            if call.action not in table.actions:
                spec = self.actions_by_id[de["action_id"]]
                table.actions[call.action] = spec
                table.next_by_action.setdefault(call.action, None)
            table.json_default = call
            if de.get("action_const", False):
                table.const_default_action = call.action
            table.default_entry_const = bool(de.get("action_entry_const", False))
            try:
                table.set_default(call, force=True)
            except Exception as exc:
                raise ConfigError(f"{what}: bad default_entry: {exc}") from None
        else:
            table.default.next = table.no_default_next
        entries = t.get("entries")
        if entries:
            if not isinstance(entries, list):
                raise ConfigError(f"{what}: 'entries' must be an array")
            table.is_const = True
            for i, e in enumerate(entries):
                ewhat = f"{what} const entry {i}"
                if not isinstance(e, dict):
                    raise ConfigError(f"{ewhat}: not an object")
                key = self._const_key(e.get("match_key", []), table, ewhat)
                call = self._call_from_json(e.get("action_entry", {}) or {}, table, ewhat)
                priority = e.get("priority") if table.kind == "ternary" else None
                if table.kind == "ternary" and not isinstance(priority, int):
                    priority = i + 1
                try:
                    table.add(key, call, priority, None, const=True)
                except Exception as exc:
                    raise ConfigError(f"{ewhat}: {exc}") from None

    def _const_key(self, match_key: Any, table: Table, what: str) -> list[MatchParam]:
        if not isinstance(match_key, list) or len(match_key) != len(table.key_fields):
            raise ConfigError(f"{what}: match_key must have {len(table.key_fields)} elements")
        out: list[MatchParam] = []
        for mk, kf in zip(match_key, table.key_fields, strict=True):
            mt = mk.get("match_type") if isinstance(mk, dict) else None
            if mt == "valid":
                out.append(Exact(1 if mk.get("key") else 0))
            elif mt == "exact":
                out.append(Exact(parse_hexstr(mk.get("key"), what)))
            elif mt == "lpm":
                out.append(Lpm(parse_hexstr(mk.get("key"), what), int(mk.get("prefix_length", 0))))
            elif mt in ("ternary", "optional"):
                value = parse_hexstr(mk.get("key"), what)
                mask = parse_hexstr(mk.get("mask"), what)
                if kf.match_type == "optional":
                    from p4sim.engine.types import Optional
                    out.append(Optional(value if mask else None))
                elif kf.match_type == "lpm":
                    out.append(Lpm(value & mask, bin(mask).count("1")))
                else:
                    out.append(Ternary(value & mask, mask))
            elif mt == "range":
                out.append(Range(parse_hexstr(mk.get("start"), what),
                                 parse_hexstr(mk.get("end"), what)))
            else:
                raise ConfigError(f"{what}: bad match key element {mk!r}")
        return out

    # --- checksums, learn lists, field lists --------------------------------------------

    def _checksums(self) -> list[Checksum]:
        out = []
        for c in _items(self.cfg, "checksums"):
            name = _name(c, "checksum")
            self.where[0] = f"checksum {name!r}"
            what = f"checksum {name!r}"
            target = c.get("target")
            slot, fdef = self.cg.field_slot({"type": "field", "value": target}, what)
            assert isinstance(target, list)  # field_slot checked its shape
            header = self.layout.resolve_field(str(target[0]), str(target[1]))[0]
            with_payload = False
            if c.get("type") == "ipv4":
                calc = build_ipv4_checksum(self.cg, header)
            else:
                calc_name = c.get("calculation")
                if calc_name not in self.res.calculations:
                    raise ConfigError(f"{what}: unknown calculation {calc_name!r}")
                calc = self.cg.ns[self.res.calculations[calc_name]]
                with_payload = calc_name in self.payload_calculations
            cond = None
            expr = None
            if c.get("if_cond") is not None:
                expr = self.cg.rv(c["if_cond"], what)
                cond = self.cg.compile(self.cg.fresh("ckc"), "p, f", [f"return {expr}"])
            out.append(Checksum(name, int(slot), (1 << (fdef.width if fdef else 1)) - 1, calc,
                                cond, bool(c.get("verify", True)), bool(c.get("update", True)),
                                header.base, with_payload, expr))
        return out

    def _field_refs(self, elements: Any, what: str) -> list[tuple[str, int, int]]:
        out = []
        for el in elements or []:
            if not isinstance(el, dict) or el.get("type") != "field":
                raise ConfigError(f"{what}: only field elements are supported, got {el!r}")
            slot, fdef = self.cg.field_slot(el, what)
            width = fdef.width if fdef is not None else 1
            out.append((".".join(el["value"]), int(slot), width))
        return out

    def _learn_lists(self) -> dict[int, LearnList]:
        out = {}
        for ll in _items(self.cfg, "learn_lists"):
            name = _name(ll, "learn list")
            self.where[0] = f"learn list {name!r}"
            refs = self._field_refs(ll.get("elements"), f"learn list {name!r}")
            lid = _id(ll, name)
            out[lid] = LearnList(lid, name, [(n, w) for n, _, w in refs],
                                 [(s, (1 << w) - 1) for _, s, w in refs])
        return out

    def _field_lists(self) -> dict[int, list[int]]:
        out = {}
        for fl in _items(self.cfg, "field_lists"):
            name = _name(fl, "field list")
            self.where[0] = f"field list {name!r}"
            out[_id(fl, name)] = [s for _, s, _ in self._field_refs(fl.get("elements"),
                                                                     f"field list {name!r}")]
        return out

    # --- info -------------------------------------------------------------------------

    def _info(self, tables: dict[str, Table], actions: dict[str, ActionSpec],
              counters: dict[str, CounterArray], meters: dict[str, MeterArray],
              registers: dict[str, RegisterArray], profiles: dict[str, ActionProfile],
              learn_lists: dict[int, LearnList], vset_widths: dict[str, list[int]]
              ) -> ProgramInfo:
        direct_counter: dict[str, str] = {}
        counter_infos = {}
        for name, arr in counters.items():
            counter_infos[name] = CounterInfo(name, arr.id, arr.size, arr.is_direct,
                                              arr.binding)
            if arr.is_direct and arr.binding is not None:
                direct_counter[arr.binding] = name
        meter_infos = {}
        for m in _items(self.cfg, "meter_arrays"):
            name = m["name"]
            meter_infos[name] = MeterInfo(
                name, _id(m, name), int(m.get("size", 0)), bool(m.get("is_direct", False)),
                m.get("binding") if isinstance(m.get("binding"), str) else None,
                str(m.get("type", "bytes")), meters[name].rate_count)
        table_infos = {}
        for name, t in tables.items():
            table_infos[name] = TableInfo(
                name, t.id,
                tuple(KeyFieldInfo(k.name, k.match_type, k.width) for k in t.key_fields),
                tuple(t.actions), t.is_const,
                t.const_default_action is not None or t.default_entry_const,
                t.profile.name if t.profile is not None else None,
                direct_counter.get(name), t.direct_meter,
                t.support_timeout, t.max_size, t.json_default)
        action_infos: dict[str, ActionInfo] = {}
        for a in _items(self.cfg, "actions"):
            aname = a["name"]
            params = tuple(ActionParamInfo(str(rd.get("name", "")), int(rd["bitwidth"]))
                           for rd in a.get("runtime_data", []) or [])
            action_infos.setdefault(aname, ActionInfo(aname, _id(a, aname), params))
        profile_infos = {}
        for name, prof in profiles.items():
            profile_infos[name] = ActionProfileInfo(
                name, prof.id, prof.max_size, prof.selector is not None,
                tuple(t.name for t in tables.values() if t.profile is prof))
        header_types = {}
        for ht in _items(self.cfg, "header_types"):
            htype = self.layout.header_types[ht["name"]]
            header_types[htype.name] = HeaderTypeInfo(
                htype.name, _id(ht, htype.name),
                tuple((fd.name, fd.width, fd.signed) for fd in htype.fields))
        return ProgramInfo(
            tables=table_infos,
            actions=action_infos,
            counters=counter_infos,
            meters=meter_infos,
            registers={n: RegisterInfo(n, _id(r, n), r["size"], r["bitwidth"])
                       for r in _items(self.cfg, "register_arrays") for n in [r["name"]]},
            action_profiles=profile_infos,
            learn_lists={ll.name: LearnListInfo(ll.id, ll.name, tuple(ll.fields))
                         for ll in learn_lists.values()},
            header_types=header_types,
            parse_vsets=dict(self.vset_compressed),
        )
