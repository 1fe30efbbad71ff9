"""Parsers, deparsers, calculations and checksums translated into Python functions."""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from p4sim.engine.codegen import CodeGen, parse_hexstr
from p4sim.engine.errors import ConfigError
from p4sim.engine.hashing import csum16, make_hash
from p4sim.engine.layout import HeaderDef, HeaderType, Layout
from p4sim.engine.packet import Packet, ParserError

CORE_ERRORS = {"NoError": 0, "PacketTooShort": 1, "NoMatch": 2, "StackOutOfBounds": 3,
               "HeaderTooShort": 4, "ParserTimeout": 5, "ParserInvalidArgument": 6}

MAX_PARSER_STATES = 4096
"""Parser states visited per packet before giving up with ParserTimeout (loops)."""
PAYLOAD_VIEW_BYTES = 1024
"""From this many bytes on, the unparsed payload is a view of the packet, not a copy."""
MAX_INLINED_STATES = 256
MAX_INLINE_DEPTH = 48
"""Bounds of a parser inlined into one function (states repeated on several paths count
each time; the depth is Python's nesting of the branches)."""

ParseFn = Callable[[Packet], int]
CalcFn = Callable[[Packet, list[int]], int]


def error_codes(cfg: dict[str, Any]) -> dict[str, int]:
    codes = dict(CORE_ERRORS)
    for item in cfg.get("errors", []) or []:
        if (not isinstance(item, list) or len(item) != 2 or not isinstance(item[0], str)
                or not isinstance(item[1], int)):
            raise ConfigError(f"errors: bad error declaration {item!r}")
        codes[item[0]] = item[1]
    return codes


def _make_lookahead(too_short: int) -> Callable[[bytes, int, int, int, int], int]:
    def look(data: bytes, n: int, off: int, offset_bits: int, width: int) -> int:
        start = off * 8 + offset_bits
        end = start + width
        if (end + 7) // 8 > n:
            raise ParserError(too_short)
        value = int.from_bytes(data[start // 8:(end + 7) // 8], "big")
        return (value >> (-end % 8)) & ((1 << width) - 1)

    return look


def _byte_width(width: int) -> int:
    return (width + 7) // 8


_PIECES = ((8, "Q"), (4, "I"), (2, "H"), (1, "B"))
_MAX_INT_PIECES = 16
"""Units up to this many bytes are read and written as struct integers, longer ones as
bytes (``int.from_bytes``/``to_bytes``)."""


@dataclass(slots=True)
class ByteUnit:
    """Consecutive fields of a header that start and end on a byte boundary (the fewest that
    do), with the ``struct`` codes that cover their bytes."""

    bits: int = 0
    fields: list[tuple[int, int]] = field(default_factory=list)
    """(field index, shift of the field's lowest bit within the unit)."""
    pieces: list[tuple[str, int]] = field(default_factory=list)
    """(struct code, its size in bytes), most significant first."""

    def join(self, names: list[str]) -> str:
        """The unit's value from the values of its pieces."""
        if self.pieces[0][0].endswith("s"):
            return f"int.from_bytes({names[0]}, 'big')"
        terms = []
        shift = self.bits
        for name, (_, size) in zip(names, self.pieces, strict=True):
            shift -= size * 8
            terms.append(f"({name} << {shift})" if shift else name)
        return " | ".join(terms)

    def split(self, value: str) -> list[str]:
        """The values of the unit's pieces from the unit's value (a simple expression)."""
        if self.pieces[0][0].endswith("s"):
            return [f"({value}).to_bytes({self.bits // 8}, 'big')"]
        if len(self.pieces) == 1:
            return [value]
        out = []
        shift = self.bits
        for _, size in self.pieces:
            shift -= size * 8
            part = f"({value} >> {shift})" if shift else value
            out.append(part if shift + size * 8 == self.bits
                       else f"{part} & {hex((1 << (size * 8)) - 1)}")
        return out


def byte_units(htype: HeaderType) -> list[ByteUnit]:
    """A fixed-width, byte-aligned header type's fields grouped into byte units."""
    units: list[ByteUnit] = []
    current = ByteUnit()
    for idx, fd in enumerate(htype.fields):
        current.fields.append((idx, fd.width))
        current.bits += fd.width
        if current.bits % 8 == 0:
            units.append(current)
            current = ByteUnit()
    for unit in units:
        shift = unit.bits
        fields = []
        for idx, width in unit.fields:
            shift -= width
            fields.append((idx, shift))
        unit.fields = fields
        size = unit.bits // 8
        if size > _MAX_INT_PIECES:
            unit.pieces = [(f"{size}s", size)]
            continue
        for piece, code in _PIECES:
            while size >= piece:
                unit.pieces.append((code, piece))
                size -= piece
    return units


class ParserBuilder:
    def __init__(self, cg: CodeGen, layout: Layout, errors: dict[str, int],
                 vsets: dict[str, set[int]], where: list[str]) -> None:
        self.where = where
        self.inlined_lines: list[str] | None = None
        """The inlined parser's lines from after ``data = p.data`` up to the result in
        ``code_`` (with ``f``, ``p`` and ``data`` in scope), when :meth:`build` made one."""
        self.cg = cg
        self.layout = layout
        self.errors = errors
        self.vsets = vsets
        cg.ns["ParserError"] = ParserError
        cg.ns["_look"] = _make_lookahead(errors["PacketTooShort"])

    def err(self, name: str) -> int:
        return self.errors[name]

    # --- extraction -------------------------------------------------------------------

    def _field_lines(self, hdr: HeaderDef, base: str, emit: Callable[[str], None],
                     varbit: str | None) -> None:
        """Assign every field from ``v`` (the header's bits as one int)."""
        fields = hdr.type.fields
        shift_static = 0
        shifts: list[tuple[int, bool]] = [(0, False)] * len(fields)
        for i in range(len(fields) - 1, -1, -1):
            shifts[i] = (shift_static, varbit is not None and hdr.type.varbit_index is not None
                         and i < hdr.type.varbit_index)
            if not fields[i].varbit:
                shift_static += fields[i].width
        for i, fd in enumerate(fields):
            shift, after_varbit = shifts[i]
            shift_code = f"({shift} + {varbit})" if after_varbit else str(shift)
            slot = f"{base} + {1 + i}" if not base.isdigit() else str(int(base) + 1 + i)
            if fd.varbit:
                emit(f"f[{slot}] = (v >> {shift_code}) & ((1 << {varbit}) - 1)")
            elif fd.signed:
                emit(f"f[{slot}] = _sx(v >> {shift_code}, {fd.width})")
            else:
                emit(f"f[{slot}] = (v >> {shift_code}) & {hex((1 << fd.width) - 1)}")

    def _unpack_lines(self, hdr: HeaderDef, base: str, emit: Callable[[str], None]) -> None:
        """Assign every field of a fixed-width header from one ``struct`` unpack at ``o``:
        machine-sized pieces and small-int arithmetic instead of shifts of one big int."""
        units = byte_units(hdr.type)
        fmt = "".join(code for unit in units for code, _ in unit.pieces)
        names = [f"_u{j}" for j in range(sum(len(unit.pieces) for unit in units))]
        st = self.cg.const(struct.Struct("!" + fmt), "st")
        emit(f"{', '.join(names)}, = {st}.unpack_from(data, o)")
        at = 0
        for unit in units:
            parts = names[at:at + len(unit.pieces)]
            at += len(unit.pieces)
            value = unit.join(parts)
            if len(unit.fields) > 1 and not value.isidentifier():
                emit(f"_w = {value}")
                value = "_w"
            for idx, shift in unit.fields:
                fd = hdr.type.fields[idx]
                slot = f"{base} + {1 + idx}" if not base.isdigit() else str(int(base) + 1 + idx)
                part = value
                if len(unit.fields) > 1:
                    part = f"({value} >> {shift})" if shift else value
                    if shift + fd.width < unit.bits and not fd.signed:
                        part = f"{part} & {hex((1 << fd.width) - 1)}"
                emit(f"f[{slot}] = _sx({part}, {fd.width})" if fd.signed else f"f[{slot}] = {part}")

    def extract(self, target: Any, emit: Callable[[str], None], what: str,
                varbit_expr: str | None) -> None:
        if not isinstance(target, dict):
            raise ConfigError(f"{what}: bad extract target {target!r}")
        kind = target.get("type")
        value = target.get("value")
        if kind == "regular":
            hdr = self.layout.header(str(value))
            base = str(hdr.base)
            rep = hdr
            after = ""
        elif kind == "stack":
            stack = self.layout.stacks.get(str(value))
            if stack is None:
                raise ConfigError(f"{what}: unknown header stack {value!r}")
            rep = self.layout.headers[stack.headers[0]]
            ids = self.cg.const(tuple(stack.headers), "S")
            emit(f"i = f[{stack.next_slot}]")
            emit(f"if i >= {len(stack.headers)}:")
            emit(f"    raise ParserError({self.err('StackOutOfBounds')})")
            emit(f"b = HB[{ids}[i]]")
            base = "b"
            after = f"f[{stack.next_slot}] = i + 1"
        elif kind == "union_stack":
            if not isinstance(value, list) or len(value) != 2:
                raise ConfigError(f"{what}: bad union_stack extract target {value!r}")
            ustack = self.layout.union_stacks.get(str(value[0]))
            if ustack is None:
                raise ConfigError(f"{what}: unknown header union stack {value[0]!r}")
            unions = [self.layout.unions[u] for u in ustack.unions]
            member = unions[0].member_index.get(str(value[1]))
            if member is None:
                raise ConfigError(f"{what}: union stack has no member {value[1]!r}")
            rep = self.layout.headers[unions[0].headers[member]]
            all_bases = self.cg.const(
                tuple(tuple(self.layout.headers[h].base for h in u.headers) for u in unions), "U")
            targets = self.cg.const(tuple(self.layout.headers[u.headers[member]].base
                                          for u in unions), "S")
            emit(f"i = sum(1 for u in {all_bases} if any(f[x] for x in u))")
            emit(f"if i >= {len(unions)}:")
            emit(f"    raise ParserError({self.err('StackOutOfBounds')})")
            emit(f"for x in {all_bases}[i]:")
            emit("    f[x] = 0")
            emit(f"b = {targets}[i]")
            base = "b"
            after = ""
        else:
            raise ConfigError(f"{what}: unsupported extract target type {kind!r}")
        htype = rep.type
        if htype.fixed_bits % 8:
            raise ConfigError(f"{what}: header type {htype.name!r} is not byte aligned")
        if htype.varbit_index is not None and varbit_expr is None:
            raise ConfigError(f"{what}: header type {htype.name!r} has a varbit field: "
                              "use extract_VL")
        inline = self.cg.parser_off == "o"
        if not inline:
            emit("o = p.off")
        if varbit_expr is not None:
            if htype.varbit_index is None:
                raise ConfigError(f"{what}: extract_VL on a header without varbit field")
            max_bits = htype.fields[htype.varbit_index].width
            emit(f"vw = {varbit_expr}")
            emit("if vw % 8 or vw < 0:")
            emit(f"    raise ParserError({self.err('ParserInvalidArgument')})")
            emit(f"if vw > {max_bits}:")
            emit(f"    raise ParserError({self.err('HeaderTooShort')})")
            emit(f"e = o + {htype.fixed_bits // 8} + vw // 8")
        else:
            emit(f"e = o + {htype.fixed_bits // 8}")
        emit("if e > n:")
        emit(f"    raise ParserError({self.err('PacketTooShort')})")
        if varbit_expr is None:
            self._unpack_lines(rep, base, emit)
        else:
            emit("v = int.from_bytes(data[o:e], 'big')")
            self._field_lines(rep, base, emit, "vw")
        valid = base if base.isdigit() else base
        emit(f"f[{valid}] = 1")
        if varbit_expr is not None:
            width_slot = (str(rep.varbit_width_slot) if base.isdigit()
                          else f"{base} + {1 + len(htype.fields)}")
            emit(f"f[{width_slot}] = vw")
        if kind == "regular" and rep.union is not None:
            for other in self.layout.unions[rep.union].headers:
                if other != rep.index:
                    emit(f"f[{self.layout.headers[other].base}] = 0")
        emit("o = e" if inline else "p.off = e")
        if after:
            emit(after)

    # --- states -----------------------------------------------------------------------

    def _op(self, op: Any, emit: Callable[[str], None], what: str) -> None:
        if not isinstance(op, dict) or not isinstance(op.get("op"), str):
            raise ConfigError(f"{what}: bad parser operation {op!r}")
        name = op["op"]
        params = op.get("parameters", [])
        if not isinstance(params, list):
            raise ConfigError(f"{what}: parser op {name!r} parameters must be an array")
        where = f"{what}, parser op {name!r}"
        cg = self.cg
        if name == "extract":
            if len(params) != 1:
                raise ConfigError(f"{where}: expects 1 parameter")
            self.extract(params[0], emit, where, None)
        elif name == "extract_VL":
            if len(params) != 2:
                raise ConfigError(f"{where}: expects 2 parameters")
            self.extract(params[0], emit, where, cg.rv(params[1], where))
        elif name == "set":
            if len(params) != 2:
                raise ConfigError(f"{where}: expects 2 parameters")
            slot, fdef = cg.field_slot(params[0], where)
            emit(cg.store(slot, fdef, cg.rv(params[1], where), where))
        elif name == "verify":
            if len(params) != 2:
                raise ConfigError(f"{where}: expects 2 parameters")
            emit(f"if not ({cg.rv(params[0], where)}):")
            emit(f"    raise ParserError({cg.rv(params[1], where)})")
        elif name in ("shift", "advance"):
            if len(params) != 1:
                raise ConfigError(f"{where}: expects 1 parameter")
            amount = cg.rv(params[0], where)
            if name == "shift":
                emit(f"a = ({amount}) * 8")
            else:
                emit(f"a = {amount}")
            emit("if a % 8 or a < 0:")
            emit(f"    raise ParserError({self.err('ParserInvalidArgument')})")
            off = cg.parser_off
            emit(f"if {off} + a // 8 > n:")
            emit(f"    raise ParserError({self.err('PacketTooShort')})")
            emit(f"{off} += a // 8")
        elif name == "primitive":
            if len(params) != 1:
                raise ConfigError(f"{where}: expects 1 parameter")
            cg.primitive(params[0], emit, where)
        else:
            raise ConfigError(f"{where}: unsupported parser operation")

    def _key(self, keys: list[Any], emit: Callable[[str], None], what: str) -> None:
        parts = []
        total = 0
        for tv in reversed(keys):
            if not isinstance(tv, dict):
                raise ConfigError(f"{what}: bad transition key {tv!r}")
            if tv.get("type") == "lookahead":
                width = tv["value"][1] if isinstance(tv.get("value"), list) else 0
            else:
                _, fdef = self.cg.field_slot(tv, what)
                width = fdef.width if fdef is not None else 1
            code = self.cg.rv(tv, what)
            parts.append(f"(({code}) & {hex((1 << width) - 1)}) << {total}" if total
                         else f"(({code}) & {hex((1 << width) - 1)})")
            total += _byte_width(width) * 8
        emit("k = " + (" | ".join(reversed(parts)) if parts else "0"))

    def build(self, parser: dict[str, Any], inline: bool = True) -> ParseFn:
        """The parser's function; ``inline``: as one function when it can be (see
        :meth:`_inline_parser`), else one function per state."""
        pname = parser.get("name", "?")
        what = f"parser {pname!r}"
        states = parser.get("parse_states")
        if not isinstance(states, list):
            raise ConfigError(f"{what}: 'parse_states' must be an array")
        fn_names = {}
        for st in states:
            if not isinstance(st, dict) or not isinstance(st.get("name"), str):
                raise ConfigError(f"{what}: bad parse state {st!r}")
            fn_names[st["name"]] = self.cg.fresh("ps")
        by_name = {st["name"]: st for st in states}
        self.cg.in_parser = True
        try:
            for st in states:
                self._state(st, fn_names, what)
        finally:
            self.cg.in_parser = False
        init = parser.get("init_state")
        if not isinstance(init, str) or init not in fn_names:
            raise ConfigError(f"{what}: unknown init_state {init!r}")
        # BMv2 takes NoError's value from the JSON like any error (p4c before 2019 numbered
        # the errors from 1)
        no_error = self.err("NoError")
        inlined = self._inline_parser(init, by_name, what, no_error) if inline else None
        if inlined is not None:
            return inlined
        start = self.cg.ns[fn_names[init]]
        timeout = self.err("ParserTimeout")

        def parse(p: Packet) -> int:
            f = p.f
            data = p.data
            n = len(data)
            state = start
            steps = 0
            try:
                while state is not None:
                    steps += 1
                    if steps > MAX_PARSER_STATES:
                        raise ParserError(timeout)
                    state = state(p, f, data, n)
                code = no_error
            except ParserError as exc:
                code = exc.code
            # a large payload (a GSO super-segment) is not copied: the deparser joins it,
            # or leaves it where it is (Engine.process(..., split=True))
            p.payload = data[p.off:] if n - p.off < PAYLOAD_VIEW_BYTES \
                else memoryview(data)[p.off:]
            return code

        return parse

    def _transitions(self, st: dict[str, Any], emit: Callable[[str], None], what: str
                     ) -> list[tuple[str | None, str | None]]:
        """Emit the state's key computation (when it has value transitions); the transitions
        in order as (condition on ``k``, None for the default; next state, None: accept),
        up to the first default."""
        transitions = st.get("transitions", []) or []
        keys = st.get("transition_key", []) or []
        if not isinstance(transitions, list) or not isinstance(keys, list):
            raise ConfigError(f"{what}: bad transitions")
        if any(isinstance(t, dict) and transition_kind(t) != "default" for t in transitions):
            if not keys:
                raise ConfigError(f"{what}: value transitions need a 'transition_key'")
            self._key(keys, emit, what)
        out: list[tuple[str | None, str | None]] = []
        for tr in transitions:
            if not isinstance(tr, dict):
                raise ConfigError(f"{what}: bad transition {tr!r}")
            kind = transition_kind(tr)
            mask = tr.get("mask")
            mask_v = parse_hexstr(mask, what) if mask is not None else None
            nxt = tr.get("next_state")
            if kind == "default":
                out.append((None, nxt))
                break
            if kind == "hexstr":
                value = parse_hexstr(tr.get("value"), what)
                cond = f"k == {value}" if mask_v is None else \
                    f"(k & {mask_v}) == {value & mask_v}"
            elif kind == "parse_vset":
                vname = tr.get("value")
                if vname not in self.vsets:
                    raise ConfigError(f"{what}: unknown parse_vset {vname!r}")
                vs = self.cg.const(self.vsets[vname], "VS")
                cond = f"k in {vs}" if mask_v is None else \
                    f"any((k & {mask_v}) == (x & {mask_v}) for x in {vs})"
            else:
                raise ConfigError(f"{what}: unsupported transition type {kind!r}")
            out.append((cond, nxt))
        return out

    def _state(self, st: dict[str, Any], fn_names: dict[str, str], pwhat: str) -> None:
        what = f"{pwhat}, state {st['name']!r}"
        self.where[0] = what
        body: list[str] = []
        for op in st.get("parser_ops", []) or []:
            self._op(op, body.append, what)

        def target(nxt: str | None) -> str:
            if nxt is None:
                return "None"
            if nxt not in fn_names:
                raise ConfigError(f"{what}: unknown next_state {nxt!r}")
            return fn_names[nxt]

        has_default = False
        for cond, nxt in self._transitions(st, body.append, what):
            if cond is None:
                body.append(f"return {target(nxt)}")
                has_default = True
            else:
                body.append(f"if {cond}:")
                body.append(f"    return {target(nxt)}")
        if not has_default:
            # BMv2 accepts when no case matches and there is no default (p4c's HandleNoMatch
            # pass makes the NoMatch error explicit with a verify in a "noMatch" state)
            body.append("return None")
        self.cg.compile(fn_names[st["name"]], "p, f, data, n", body)

    def _inline_parser(self, init: str, by_name: dict[str, dict[str, Any]], what: str,
                       no_error: int) -> ParseFn | None:
        """The parser as one function, every state inlined where its predecessor branches
        to it (states reached on several paths are repeated), the offset in a local: no
        call per state.  None when the state graph has a loop (which needs the step count
        of ParserTimeout) or would inline more than MAX_INLINED_STATES states."""
        body: list[str] = []
        count = [0]

        def inline(name: str, depth: int, path: tuple[str, ...]) -> bool:
            count[0] += 1
            if name in path or count[0] > MAX_INLINED_STATES or depth > MAX_INLINE_DEPTH:
                return False
            st = by_name[name]
            swhat = f"{what}, state {name!r}"
            self.where[0] = swhat
            pad = "    " * depth

            def emit(line: str) -> None:
                body.append(pad + line)

            for op in st.get("parser_ops", []) or []:
                self._op(op, emit, swhat)
            first = True
            for cond, nxt in self._transitions(st, emit, swhat):
                inner = depth
                if cond is None:
                    if not first:
                        emit("else:")
                        inner = depth + 1
                elif first:
                    emit(f"if {cond}:")
                    inner = depth + 1
                else:
                    emit(f"elif {cond}:")
                    inner = depth + 1
                first = False
                if inner > depth:
                    body.append("    " * inner + "pass")
                if nxt is not None and not inline(nxt, inner, (*path, name)):
                    return False
            return True

        self.cg.in_parser = True
        self.cg.parser_off = "o"
        try:
            ok = inline(init, 1, ())
        finally:
            self.cg.in_parser = False
            self.cg.parser_off = "p.off"
        if not ok:
            return None
        lines = ["f = p.f", "data = p.data", "n = len(data)", "o = p.off", "try:",
                 *body,
                 f"    code_ = {no_error}",
                 "except ParserError as exc_:",
                 "    code_ = exc_.code",
                 "p.off = o",
                 # as in the per-state parser: a large payload is a view, not a copy
                 f"p.payload = data[o:] if n - o < {PAYLOAD_VIEW_BYTES} else memoryview(data)[o:]",
                 "return code_"]
        fn: ParseFn = self.cg.compile(self.cg.fresh("parse"), "p", lines)
        self.inlined_lines = lines[2:-1]
        return fn


def transition_kind(tr: dict[str, Any]) -> str:
    """A transition's type as BMv2 reads it: old p4c omits "type" (hexstr) and writes the
    default case as the hexstr value "default"."""
    kind = tr.get("type", "hexstr")
    if kind == "hexstr" and tr.get("value") in ("default", None):
        return "default"
    return str(kind)


# --- calculations, checksums, deparser ---------------------------------------------------

def header_bits_expr(hdr: HeaderDef) -> tuple[str, str]:
    """(expression of the header's bits as one int, expression of its width in bits)."""
    terms = []
    shift_static = 0
    varbit_term = ""
    fields = hdr.type.fields
    after_varbit: list[tuple[int, int, bool]] = []
    for i in range(len(fields) - 1, -1, -1):
        fd = fields[i]
        slot = hdr.base + 1 + i
        if fd.varbit:
            varbit_term = f"(f[{slot}] << {shift_static})"
            continue
        value = f"(f[{slot}] & {hex((1 << fd.width) - 1)})" if fd.signed else f"f[{slot}]"
        after_varbit.append((slot, shift_static, bool(varbit_term)))
        if varbit_term:
            terms.append(f"({value} << ({shift_static} + f[{hdr.varbit_width_slot}]))")
        else:
            terms.append(f"({value} << {shift_static})" if shift_static else value)
        shift_static += fd.width
    if varbit_term:
        terms.append(varbit_term)
        width = f"({hdr.type.fixed_bits} + f[{hdr.varbit_width_slot}])"
    else:
        width = str(hdr.type.fixed_bits)
    return (" | ".join(reversed(terms)) or "0"), width


def build_calculation(cg: CodeGen, layout: Layout, calc: dict[str, Any]) -> CalcFn:
    """BMv2's BufBuilder + hash: fields of invalid headers are skipped, bits are packed MSB
    first and zero-padded to a byte, ``payload`` appends the bytes the parser left unparsed."""
    name = calc.get("name", "?")
    what = f"calculation {name!r}"
    algo = calc.get("algo")
    hash_fn = make_hash(algo) if isinstance(algo, str) else None
    if hash_fn is None:
        raise ConfigError(f"{what}: unsupported hash algorithm {algo!r}")
    inputs = calc.get("input", [])
    if not isinstance(inputs, list):
        raise ConfigError(f"{what}: 'input' must be an array")
    body = ["acc = 0", "nb = 0"]
    with_payload = False
    run_valid_slot: int | None = None
    run: list[tuple[int, int]] = []
    """Consecutive fixed-width fields of one header, (slot, width): tested valid once."""
    segments: list[tuple[int | None, list[tuple[str, int]]]] = []
    """The inputs as (slot of the header validity they depend on, [(term, width)]), when
    every width is static (``static``): what the word sum of csum16 needs."""
    static = True

    def flush_run() -> None:
        if run:
            total = sum(width for _, width in run)
            shift = total
            terms = []
            for slot, width in run:
                shift -= width
                masked = f"(f[{slot}] & {hex((1 << width) - 1)})"
                terms.append(f"({masked} << {shift})" if shift else masked)
            segments.append((run_valid_slot, [(f"(f[{slot}] & {hex((1 << width) - 1)})", width)
                                              for slot, width in run]))
            body.append(f"if f[{run_valid_slot}]:")
            body.append(f"    acc = (acc << {total}) | {' | '.join(terms)}")
            body.append(f"    nb += {total}")
            run.clear()

    for item in inputs:
        if not isinstance(item, dict):
            raise ConfigError(f"{what}: bad input {item!r}")
        kind = item.get("type")
        if kind == "field":
            value = item.get("value")
            if not isinstance(value, list) or len(value) != 2:
                raise ConfigError(f"{what}: bad field input {value!r}")
            hdr, idx = layout.resolve_field(str(value[0]), str(value[1]))
            fd = hdr.type.fields[idx] if idx >= 0 else None
            if fd is not None and not fd.varbit:
                if run_valid_slot != hdr.base:
                    flush_run()
                    run_valid_slot = hdr.base
                run.append((hdr.base + 1 + idx, fd.width))
                continue
            flush_run()
            if fd is None:
                segments.append((None, [(f"f[{hdr.base}]", 1)]))
                body.append(f"acc = (acc << 1) | f[{hdr.base}]")
                body.append("nb += 1")
            else:
                static = False
                body.append(f"if f[{hdr.base}]:")
                body.append(f"    acc = (acc << f[{hdr.varbit_width_slot}]) | "
                            f"f[{hdr.base + 1 + idx}]")
                body.append(f"    nb += f[{hdr.varbit_width_slot}]")
            continue
        flush_run()
        if kind == "hexstr":
            width = item.get("bitwidth")
            if not isinstance(width, int) or width <= 0:
                raise ConfigError(f"{what}: hexstr input needs a positive 'bitwidth'")
            value = parse_hexstr(item.get("value"), what) & ((1 << width) - 1)
            segments.append((None, [(str(value), width)]))
            body.append(f"acc = (acc << {width}) | {value}")
            body.append(f"nb += {width}")
        elif kind == "header":
            hdr = layout.header(str(item.get("value")))
            bits, width = header_bits_expr(hdr)
            if hdr.type.varbit_index is None:
                segments.append((hdr.base, [
                    (f"(f[{hdr.base + 1 + i}] & {hex((1 << fd.width) - 1)})" if fd.signed
                     else f"f[{hdr.base + 1 + i}]", fd.width)
                    for i, fd in enumerate(hdr.type.fields)]))
            else:
                static = False
            body.append(f"if f[{hdr.base}]:")
            body.append(f"    acc = (acc << {width}) | {bits}")
            body.append(f"    nb += {width}")
        elif kind == "payload":
            with_payload = True
        else:
            raise ConfigError(f"{what}: unsupported input type {kind!r}")
    flush_run()
    body.append("pad = -nb % 8")
    if hash_fn is csum16:
        # the ones' complement sum straight from the packed integer (see csum16): no bytes
        # object when nothing follows the fields
        h = cg.const(csum16, "H")
        if static and all(guard is None or sum(w for _, w in terms) % 16 == 0
                          for guard, terms in segments):
            return cg.compile(cg.fresh("calc"), "p, f", _csum16_word_sum(
                body if with_payload else [], segments, with_payload, h))
        body.extend(_csum16_of_fields(with_payload, h))
        return cg.compile(cg.fresh("calc"), "p, f", body)
    body.append("buf = (acc << pad).to_bytes((nb + pad) // 8, 'big')")
    h = cg.const(hash_fn, "H")
    if with_payload:
        # a partial L4 checksum is finished after the pipeline: no pass over the payload
        body.append(f"return {h}(buf) if p.l4_partial else {h}(buf + p.payload)")
    else:
        body.append(f"return {h}(buf)")
    return cg.compile(cg.fresh("calc"), "p, f", body)


def _csum16_word_sum(packed: list[str], segments: list[tuple[int | None, list[tuple[str, int]]]],
                     with_payload: bool, h: str) -> list[str]:
    """csum16 of the inputs as a sum of the fields, each shifted by its position modulo 16
    (2**16 = 1 modulo 0xFFFF, so the sum is the packed integer modulo 0xFFFF): valid when
    every header's fields span whole 16-bit words, which keeps every position static.
    ``packed``: the lines packing ``acc``/``nb``/``pad``, for the sum over the payload."""
    lines = []
    if with_payload:
        # a partial L4 checksum is finished after the pipeline: no pass over the payload
        lines = [*packed, "if not p.l4_partial:",
                 f"    return {h}((acc << pad).to_bytes((nb + pad) // 8, 'big') + p.payload)"]
    always = sum(w for guard, terms in segments if guard is None for _, w in terms)
    pad = -always % 8
    tail = pad + (8 if (always + pad) & 8 else 0)
    """The zero bits csum16 puts after the inputs: up to a byte, then up to a word."""
    lines.append("ws = 0")
    position = tail
    for guard, terms in reversed(segments):
        parts = []
        for term, width in reversed(terms):
            shift = position % 16
            if term.isdigit():
                if int(term):
                    parts.append(str(int(term) << shift))
            else:
                parts.append(f"({term} << {shift})" if shift else term)
            position += width
        if not parts:
            continue
        if guard is None:
            lines.append(f"ws += {' + '.join(reversed(parts))}")
        else:
            lines.append(f"if f[{guard}]:")
            lines.append(f"    ws += {' + '.join(reversed(parts))}")
    lines += ["t = ws % 0xFFFF", "return ~(t or (0xFFFF if ws else 0)) & 0xFFFF"]
    return lines


def _csum16_of_fields(with_payload: bool, h: str) -> list[str]:
    """csum16 of ``acc`` (``nb`` bits, padded by ``pad``) as integer arithmetic: an odd byte
    count is padded with a zero byte, as csum16 does."""
    integer = ["v = acc << pad",
               "if (nb + pad) & 8:",
               "    v <<= 8",
               "t = v % 0xFFFF",
               "return ~(t or (0xFFFF if v else 0)) & 0xFFFF"]
    if not with_payload:
        return integer
    # a partial L4 checksum is finished after the pipeline: no pass over the payload
    return ["if not p.l4_partial:",
            f"    return {h}((acc << pad).to_bytes((nb + pad) // 8, 'big') + p.payload)",
            *integer]


def build_ipv4_checksum(cg: CodeGen, hdr: HeaderDef) -> CalcFn:
    """BMv2's legacy checksum type "ipv4": csum16 over the target header's bytes with bytes
    10 and 11 (the IPv4 header checksum) taken as zero."""
    bits, width = header_bits_expr(hdr)
    h = cg.const(csum16, "H")
    body = [f"buf = bytearray(({bits}).to_bytes(({width}) // 8, 'big'))",
            "buf[10:12] = b'\\x00\\x00'",
            f"return {h}(bytes(buf))"]
    return cg.compile(cg.fresh("calc"), "p, f", body)


def build_deparser(cg: CodeGen, layout: Layout, order: list[int], *,
                   payload: bool = True) -> Callable[[Packet], bytes]:
    """The deparser: the valid headers in ``order``, then the payload the parser left
    (``payload=False``: the headers only, for a caller that sends the payload from where it
    is)."""
    body = ["f = p.f", "out = []"]
    for hid in order:
        hdr = layout.headers[hid]
        if hdr.type.fixed_bits % 8:
            raise ConfigError(f"deparser: header {hdr.name!r} is not byte aligned")
        body.append(f"if f[{hdr.base}]:")
        if hdr.type.varbit_index is not None:
            bits, width = header_bits_expr(hdr)
            body.append(f"    out.append(({bits}).to_bytes(({width}) // 8, 'big'))")
            continue
        body.extend("    " + line for line in _pack_lines(cg, hdr))
    if payload:
        body.append("out.append(p.payload)")
    body.append("return b''.join(out)")
    fn: Callable[[Packet], bytes] = cg.compile(cg.fresh("deparse"), "p", body)
    return fn


def _pack_lines(cg: CodeGen, hdr: HeaderDef) -> list[str]:
    """Append a fixed-width header's bytes to ``out`` with one ``struct`` pack (the fields
    hold values within their widths, signed ones are masked to their bits)."""
    lines: list[str] = []
    args: list[str] = []
    units = byte_units(hdr.type)
    for u, unit in enumerate(units):
        terms = []
        for idx, shift in unit.fields:
            fd = hdr.type.fields[idx]
            value = f"f[{hdr.base + 1 + idx}]"
            if fd.signed:
                value = f"({value} & {hex((1 << fd.width) - 1)})"
            terms.append(f"({value} << {shift})" if shift else value)
        value = " | ".join(terms)
        if len(unit.pieces) > 1 and len(terms) > 1:
            lines.append(f"_w{u} = {value}")
            value = f"_w{u}"
        args.extend(unit.split(value))
    fmt = "".join(code for unit in units for code, _ in unit.pieces)
    st = cg.const(struct.Struct("!" + fmt), "st")
    lines.append(f"out.append({st}.pack({', '.join(args)}))")
    return lines
