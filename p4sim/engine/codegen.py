"""Translation of BMv2 JSON expressions and primitives into Python source.

Generated functions work on ``p`` (a :class:`~p4sim.engine.packet.Packet`), ``f`` (its field
vector) and, in actions, ``d`` (the tuple of action data).  Everything they reference (header
bases, extern objects, helper functions) lives in one shared namespace, so the generated code
is straight-line integer arithmetic on list slots.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

from p4sim.engine.errors import ConfigError
from p4sim.engine.layout import FieldDef, HeaderDef, Layout
from p4sim.engine.packet import PacketAbort

Emit = Callable[[str], None]


def parse_hexstr(value: Any, what: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{what}: expected a hexstring, got {value!r}")
    try:
        return int(value, 16)
    except ValueError:
        raise ConfigError(f"{what}: bad hexstring {value!r}") from None


def sign_extend(value: int, width: int) -> int:
    value &= (1 << width) - 1
    return value - (1 << width) if value >> (width - 1) else value


def _stack_index(stack: tuple[int, ...], index: int) -> int:
    if 0 <= index < len(stack):
        return stack[index]
    raise PacketAbort(f"header stack index {index} out of range")


def _shl(value: int, amount: int) -> int:
    if amount < 0:
        raise PacketAbort("negative shift amount")
    if amount > 4096:
        return 0
    return value << amount


def _shr(value: int, amount: int) -> int:
    if amount < 0:
        raise PacketAbort("negative shift amount")
    return value >> amount


def _div(a: int, b: int) -> int:
    if b == 0:
        raise PacketAbort("division by zero")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _mod(a: int, b: int) -> int:
    if b == 0:
        raise PacketAbort("modulo by zero")
    return a - b * _div(a, b)


def _two_comp_mod(value: int, width: int) -> int:
    if width <= 0:
        return 0
    return sign_extend(value, width)


def _usat(value: int, width: int) -> int:
    return max(0, min(value, (1 << width) - 1))


def _sat(value: int, width: int) -> int:
    return max(-(1 << (width - 1)), min(value, (1 << (width - 1)) - 1))


def _abort(message: str) -> None:
    raise PacketAbort(message)


_program_log = logging.getLogger("p4sim.engine.log_msg")


def _log_msg(fmt: str, values: tuple[int, ...]) -> None:
    """BMv2's log_msg: each ``{}`` takes the next value (logged at INFO, like BMv2)."""
    if not _program_log.isEnabledFor(logging.INFO):
        return
    parts = fmt.split("{}")
    text = parts[0] + "".join(str(v) + part for v, part in zip(values, parts[1:], strict=False))
    _program_log.info("%s", text)


EXIT_STATEMENT = "p.exit = True"
"""What the exit primitive compiles to (the only statement that makes a packet exit)."""

BASE_NAMESPACE: dict[str, Any] = {
    "_sx": sign_extend,
    "_sidx": _stack_index,
    "_shl": _shl,
    "_shr": _shr,
    "_div": _div,
    "_mod": _mod,
    "_tcm": _two_comp_mod,
    "_usat": _usat,
    "_sat": _sat,
    "_abort": _abort,
    "_randint": random.randint,
    "_log_msg": _log_msg,
}

_THREE_OPERAND = {"add": "+", "subtract": "-", "bit_xor": "^", "bit_or": "|", "bit_and": "&",
                  "shift_left": "<<", "shift_right": ">>"}

_BINARY = {"+": "+", "-": "-", "*": "*", "&": "&", "|": "|", "^": "^",
           "==": "==", "!=": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


class Resources:
    """Named runtime objects the generated code may refer to (filled in by the engine)."""

    def __init__(self) -> None:
        self.calculations: dict[str, str] = {}      # name -> namespace identifier of fn(p, f)
        self.counters: dict[str, str] = {}
        self.meters: dict[str, str] = {}
        self.registers: dict[str, str] = {}


class CodeGen:
    def __init__(self, layout: Layout, resources: Resources) -> None:
        self.layout = layout
        self.res = resources
        self.ns: dict[str, Any] = dict(BASE_NAMESPACE)
        self.ns["HB"] = [h.base for h in layout.headers]
        self._counter = 0
        self.in_parser = False
        self.parser_off = "p.off"
        """Where parser code keeps the current offset: ``p.off``, or the local ``o`` of a
        parser whose states are inlined into one function."""

    # --- namespace ------------------------------------------------------------------

    def const(self, obj: Any, hint: str = "k") -> str:
        self._counter += 1
        ident = f"_{hint}{self._counter}"
        self.ns[ident] = obj
        return ident

    def compile(self, name: str, params: str, body: list[str]) -> Callable[..., Any]:
        lines = [f"def {name}({params}):"]
        lines.extend("    " + line for line in (body or ["pass"]))
        source = "\n".join(lines) + "\n"
        code = compile(source, f"<p4sim:{name}>", "exec")
        exec(code, self.ns)  # noqa: S102 - the source is generated from the validated JSON
        fn: Callable[..., Any] = self.ns[name]
        return fn

    def fresh(self, hint: str) -> str:
        self._counter += 1
        return f"{hint}_{self._counter}"

    # --- headers ----------------------------------------------------------------------

    def header_ref(self, tv: Any, what: str) -> tuple[str, HeaderDef]:
        """Python expression evaluating to a header id, plus a representative header."""
        if not isinstance(tv, dict):
            raise ConfigError(f"{what}: expected a header reference, got {tv!r}")
        kind = tv.get("type")
        value = tv.get("value")
        if kind in ("header", "regular"):
            if not isinstance(value, str):
                raise ConfigError(f"{what}: bad header name {value!r}")
            hdr = self.layout.header(value)
            return str(hdr.index), hdr
        if kind == "expression":
            inner = value
            if isinstance(inner, dict) and "type" in inner and "op" not in inner:
                return self.header_ref(inner, what)
            if not isinstance(inner, dict):
                raise ConfigError(f"{what}: bad header expression {inner!r}")
            op = inner.get("op")
            if op == "dereference_header_stack":
                stack = self._stack(inner.get("left"), what)
                idx = self.rv(inner.get("right"), what)
                ids = self.const(tuple(stack.headers), "S")
                return f"_sidx({ids}, {idx})", self.layout.headers[stack.headers[0]]
            if op == "access_union_header":
                union_code, union_hdrs = self.union_ref(inner.get("left"), what)
                offset = inner.get("right")
                if not isinstance(offset, int):
                    raise ConfigError(f"{what}: access_union_header needs an integer offset")
                rep = self.layout.headers[union_hdrs[0][offset]]
                table = self.const(tuple(tuple(u) for u in union_hdrs), "U")
                return f"{table}[{union_code}][{offset}]", rep
            if op == "?":
                cond = self.rv(inner.get("cond"), what)
                left, rep = self.header_ref(inner.get("left"), what)
                right, _ = self.header_ref(inner.get("right"), what)
                return f"({left} if {cond} else {right})", rep
            raise ConfigError(f"{what}: unsupported header expression op {op!r}")
        if kind == "stack":
            stack = self._stack(tv, what)
            return self._last_of(stack), self.layout.headers[stack.headers[0]]
        raise ConfigError(f"{what}: expected a header, got type {kind!r}")

    def _stack(self, tv: Any, what: str) -> Any:
        if not isinstance(tv, dict) or not isinstance(tv.get("value"), str):
            raise ConfigError(f"{what}: expected a header stack reference, got {tv!r}")
        name = tv["value"]
        if name not in self.layout.stacks:
            raise ConfigError(f"{what}: unknown header stack {name!r}")
        return self.layout.stacks[name]

    def _last_of(self, stack: Any) -> str:
        ids = self.const(tuple(stack.headers), "S")
        return f"_sidx({ids}, f[{stack.next_slot}] - 1)"

    def union_ref(self, tv: Any, what: str) -> tuple[str, list[list[int]]]:
        """Expression giving an index into a list of unions (each a list of header ids)."""
        if not isinstance(tv, dict):
            raise ConfigError(f"{what}: expected a header union, got {tv!r}")
        if tv.get("type") == "header_union" and isinstance(tv.get("value"), str):
            name = tv["value"]
            if name not in self.layout.unions:
                raise ConfigError(f"{what}: unknown header union {name!r}")
            return "0", [self.layout.unions[name].headers]
        inner = tv.get("value")
        if tv.get("type") == "expression" and isinstance(inner, dict):
            if "op" not in inner:
                return self.union_ref(inner, what)
            if inner.get("op") == "dereference_union_stack":
                left = inner.get("left")
                if not isinstance(left, dict) or left.get("value") not in self.layout.union_stacks:
                    raise ConfigError(f"{what}: unknown header union stack in {left!r}")
                ustack = self.layout.union_stacks[left["value"]]
                members = [self.layout.unions[u].headers for u in ustack.unions]
                idx = self.rv(inner.get("right"), what)
                rng = self.const(tuple(range(len(members))), "S")
                return f"_sidx({rng}, {idx})", members
        raise ConfigError(f"{what}: unsupported header union reference {tv!r}")

    # --- fields -----------------------------------------------------------------------

    def field_slot(self, tv: Any, what: str) -> tuple[str, FieldDef | None]:
        """Python expression for a field's slot, and its definition (None for ``$valid$``)."""
        if not isinstance(tv, dict):
            raise ConfigError(f"{what}: expected a field reference, got {tv!r}")
        kind = tv.get("type")
        value = tv.get("value")
        if kind == "field":
            if not isinstance(value, list) or len(value) != 2 or not all(
                    isinstance(v, str) for v in value):
                raise ConfigError(f"{what}: bad field reference {value!r}")
            hdr, idx = self.layout.resolve_field(value[0], value[1])
            return str(hdr.base + 1 + idx), (hdr.type.fields[idx] if idx >= 0 else None)
        if kind == "stack_field":
            if not isinstance(value, list) or len(value) != 2:
                raise ConfigError(f"{what}: bad stack field reference {value!r}")
            stack = self._stack({"value": value[0]}, what)
            idx = stack.type.index_of.get(value[1])
            if idx is None:
                raise ConfigError(f"{what}: header stack {value[0]!r} has no field {value[1]!r}")
            return f"HB[{self._last_of(stack)}] + {1 + idx}", stack.type.fields[idx]
        if kind == "union_stack_field":
            if not isinstance(value, list) or len(value) != 3:
                raise ConfigError(f"{what}: bad union stack field reference {value!r}")
            ustack = self.layout.union_stacks.get(value[0])
            if ustack is None:
                raise ConfigError(f"{what}: unknown header union stack {value[0]!r}")
            unions = [self.layout.unions[u] for u in ustack.unions]
            member = unions[0].member_index.get(value[1])
            if member is None:
                raise ConfigError(f"{what}: union stack {value[0]!r} has no member {value[1]!r}")
            hdrs = [u.headers[member] for u in unions]
            rep = self.layout.headers[hdrs[0]]
            fidx = rep.type.index_of.get(value[2])
            if fidx is None:
                raise ConfigError(f"{what}: no field {value[2]!r} in union stack member")
            # the last valid union: the last whose any member is valid
            valid_slots = self.const(tuple(tuple(self.layout.headers[h].base for h in u.headers)
                                           for u in unions), "U")
            bases = self.const(tuple(self.layout.headers[h].base for h in hdrs), "S")
            last = (f"max([i for i, u in enumerate({valid_slots}) if any(f[b] for b in u)]"
                    f" or [-1])")
            return f"_sidx({bases}, {last}) + {1 + fidx}", rep.type.fields[fidx]
        if kind == "expression":
            inner = value
            if isinstance(inner, dict) and "op" not in inner:
                return self.field_slot(inner, what)
            if isinstance(inner, dict) and inner.get("op") == "access_field":
                hcode, rep = self.header_ref(inner.get("left"), what)
                offset = inner.get("right")
                if not isinstance(offset, int) or not 0 <= offset < len(rep.type.fields):
                    raise ConfigError(f"{what}: bad access_field offset {offset!r}")
                if hcode.isdigit():
                    return str(self.layout.headers[int(hcode)].base + 1 + offset), \
                        rep.type.fields[offset]
                return f"HB[{hcode}] + {1 + offset}", rep.type.fields[offset]
        raise ConfigError(f"{what}: expected a field lvalue, got {tv!r}")

    def store(self, slot: str, fdef: FieldDef | None, value: str, what: str) -> str:
        if fdef is None:
            raise ConfigError(f"{what}: cannot assign the read-only $valid$ field")
        if fdef.varbit:
            return f"f[{slot}] = {value}"
        if fdef.signed:
            return f"f[{slot}] = _sx({value}, {fdef.width})"
        return f"f[{slot}] = ({value}) & {hex((1 << fdef.width) - 1)}"

    # --- rvalues ----------------------------------------------------------------------

    def rv(self, tv: Any, what: str) -> str:
        if not isinstance(tv, dict):
            raise ConfigError(f"{what}: expected a typed value, got {tv!r}")
        kind = tv.get("type")
        value = tv.get("value")
        if kind == "hexstr":
            return str(parse_hexstr(value, what))
        if kind == "bool":
            return "True" if value else "False"
        if kind in ("runtime_data", "local"):
            if not isinstance(value, int):
                raise ConfigError(f"{what}: bad runtime data index {value!r}")
            return f"d[{value}]"
        if kind in ("field", "stack_field", "union_stack_field"):
            slot, _ = self.field_slot(tv, what)
            return f"f[{slot}]"
        if kind == "header":
            # a header used as a value only appears under "valid"
            hdr = self.layout.header(str(value))
            return f"f[{hdr.base}]"
        if kind == "register":
            if not isinstance(value, list) or len(value) != 2:
                raise ConfigError(f"{what}: bad register reference {value!r}")
            reg = self.res.registers.get(value[0])
            if reg is None:
                raise ConfigError(f"{what}: unknown register array {value[0]!r}")
            return f"{reg}.read({self.rv(value[1], what)})"
        if kind == "expression":
            if isinstance(value, dict) and "op" not in value:
                return self.rv(value, what)
            if not isinstance(value, dict):
                raise ConfigError(f"{what}: bad expression {value!r}")
            return self._op(value, what)
        if kind == "lookahead":
            if not self.in_parser:
                raise ConfigError(f"{what}: lookahead is only allowed in parsers")
            if (not isinstance(value, list) or len(value) != 2
                    or not all(isinstance(v, int) and v >= 0 for v in value) or value[1] == 0):
                raise ConfigError(f"{what}: bad lookahead {value!r}")
            return f"_look(data, n, {self.parser_off}, {value[0]}, {value[1]})"
        raise ConfigError(f"{what}: unsupported value type {kind!r}")

    def _op(self, e: dict[str, Any], what: str) -> str:
        op = e.get("op")
        left, right = e.get("left"), e.get("right")
        if op == "-" and left is None:
            return f"(-{self.rv(right, what)})"
        if op in _BINARY:
            return f"({self.rv(left, what)} {_BINARY[op]} {self.rv(right, what)})"
        if op == "and":
            return f"({self.rv(left, what)} and {self.rv(right, what)})"
        if op == "or":
            return f"({self.rv(left, what)} or {self.rv(right, what)})"
        if op == "not":
            return f"(not {self.rv(right, what)})"
        if op == "~":
            return f"(~{self.rv(right, what)})"
        if op == "<<":
            r = self.rv(right, what)
            if r.isdigit() and int(r) <= 4096:
                return f"({self.rv(left, what)} << {r})"
            return f"_shl({self.rv(left, what)}, {r})"
        if op == ">>":
            r = self.rv(right, what)
            if r.isdigit():
                return f"({self.rv(left, what)} >> {r})"
            return f"_shr({self.rv(left, what)}, {r})"
        if op == "/":
            return f"_div({self.rv(left, what)}, {self.rv(right, what)})"
        if op == "%":
            return f"_mod({self.rv(left, what)}, {self.rv(right, what)})"
        if op == "d2b":
            return f"({self.rv(right, what)} != 0)"
        if op == "b2d":
            return f"(1 if {self.rv(right, what)} else 0)"
        if op == "two_comp_mod":
            return f"_tcm({self.rv(left, what)}, {self.rv(right, what)})"
        if op == "usat_cast":
            return f"_usat({self.rv(left, what)}, {self.rv(right, what)})"
        if op == "sat_cast":
            return f"_sat({self.rv(left, what)}, {self.rv(right, what)})"
        if op == "?":
            return (f"({self.rv(left, what)} if {self.rv(e.get('cond'), what)} "
                    f"else {self.rv(right, what)})")
        if op == "valid":
            operand = right if right is not None else left
            hcode, _ = self.header_ref(operand, what)
            if hcode.isdigit():
                return f"(f[{self.layout.headers[int(hcode)].base}] != 0)"
            return f"(f[HB[{hcode}]] != 0)"
        if op == "valid_union":
            operand = right if right is not None else left
            ucode, unions = self.union_ref(operand, what)
            table = self.const(tuple(tuple(self.layout.headers[h].base for h in u)
                                     for u in unions), "U")
            return f"any(f[b] for b in {table}[{ucode}])"
        if op == "access_field":
            slot, _ = self.field_slot({"type": "expression", "value": e}, what)
            return f"f[{slot}]"
        if op in ("dereference_header_stack", "access_union_header"):
            hcode, _ = self.header_ref({"type": "expression", "value": e}, what)
            return hcode
        if op == "last_stack_index":
            stack = self._stack(right if right is not None else left, what)
            return f"(f[{stack.next_slot}] - 1)"
        if op in ("size_stack", "size_stack_index"):
            stack = self._stack(right if right is not None else left, what)
            return f"f[{stack.next_slot}]"
        raise ConfigError(f"{what}: unsupported expression operator {op!r}")

    # --- primitives -------------------------------------------------------------------

    def header_def_of(self, code: str, rep: HeaderDef) -> HeaderDef | None:
        return self.layout.headers[int(code)] if code.isdigit() else None

    def set_valid(self, hcode: str, rep: HeaderDef, emit: Emit) -> None:
        """BMv2 add_header: if invalid, zero the fields, validate, grow the packet length."""
        static = self.header_def_of(hcode, rep)
        nbytes = (rep.type.fixed_bits + 7) // 8
        if static is not None:
            b = static.base
            nfields = len(static.type.fields)
            emit(f"if not f[{b}]:")
            if nfields:
                emit(f"    f[{b + 1}:{b + 1 + nfields}] = {[0] * nfields!r}")
            emit(f"    f[{b}] = 1")
            emit(f"    p.length_reg += {nbytes}")
            if static.union is not None:
                for other in self.layout.unions[static.union].headers:
                    if other != static.index:
                        emit(f"    f[{self.layout.headers[other].base}] = 0")
            return
        nfields = len(rep.type.fields)
        emit(f"b = HB[{hcode}]")
        emit("if not f[b]:")
        if nfields:
            emit(f"    f[b + 1:b + {1 + nfields}] = {[0] * nfields!r}")
        emit("    f[b] = 1")
        emit(f"    p.length_reg += {nbytes}")

    def set_invalid(self, hcode: str, rep: HeaderDef, emit: Emit) -> None:
        nbytes = (rep.type.fixed_bits + 7) // 8
        b = str(self.layout.headers[int(hcode)].base) if hcode.isdigit() else f"HB[{hcode}]"
        emit(f"if f[{b}]:")
        emit(f"    f[{b}] = 0")
        emit(f"    p.length_reg -= {nbytes}")

    def copy_header(self, dst: str, src: str, rep: HeaderDef, emit: Emit) -> None:
        """BMv2 assign_header: an invalid source only invalidates the destination."""
        n = rep.nslots()
        db = str(self.layout.headers[int(dst)].base) if dst.isdigit() else f"HB[{dst}]"
        sb = str(self.layout.headers[int(src)].base) if src.isdigit() else f"HB[{src}]"
        emit(f"if f[{sb}]:")
        emit(f"    f[{db}:{db} + {n}] = f[{sb}:{sb} + {n}]")
        if dst.isdigit():
            static = self.layout.headers[int(dst)]
            if static.union is not None:
                for other in self.layout.unions[static.union].headers:
                    if other != static.index:
                        emit(f"    f[{self.layout.headers[other].base}] = 0")
        emit("else:")
        emit(f"    f[{db}] = 0")

    def primitive(self, prim: Any, emit: Emit, what: str) -> None:
        if not isinstance(prim, dict) or not isinstance(prim.get("op"), str):
            raise ConfigError(f"{what}: bad primitive {prim!r}")
        op = prim["op"]
        params = prim.get("parameters", [])
        if not isinstance(params, list):
            raise ConfigError(f"{what}: primitive {op!r} parameters must be an array")
        where = f"{what}, primitive {op!r}"

        def need(n: int) -> None:
            if len(params) < n:
                raise ConfigError(f"{where}: expects {n} parameters, got {len(params)}")

        if op in ("assign", "modify_field"):
            need(2)
            slot, fdef = self.field_slot(params[0], where)
            emit(self.store(slot, fdef, self.rv(params[1], where), where))
        elif op == "assign_VL":
            need(2)
            dslot, dfd = self.field_slot(params[0], where)
            sslot, sfd = self.field_slot(params[1], where)
            if dfd is None or sfd is None or not (dfd.varbit and sfd.varbit):
                raise ConfigError(f"{where}: both operands must be varbit fields")
            dh, _ = self._varbit_header(params[0], where)
            sh, _ = self._varbit_header(params[1], where)
            emit(f"f[{dslot}] = f[{sslot}]")
            emit(f"f[{dh.varbit_width_slot}] = f[{sh.varbit_width_slot}]")
        elif op == "assign_header":
            need(2)
            dst, rep = self.header_ref(params[0], where)
            src, _ = self.header_ref(params[1], where)
            self.copy_header(dst, src, rep, emit)
        elif op in ("assign_union", "assign_union_stack", "assign_header_stack"):
            need(2)
            dst_hdrs = self._group_headers(params[0], where)
            src_hdrs = self._group_headers(params[1], where)
            for dst_id, src_id in zip(dst_hdrs, src_hdrs, strict=True):
                self.copy_header(str(dst_id), str(src_id), self.layout.headers[dst_id], emit)
            if op == "assign_header_stack":
                ds = self._stack(params[0], where)
                ss = self._stack(params[1], where)
                emit(f"f[{ds.next_slot}] = f[{ss.next_slot}]")
        elif op == "add_header":
            need(1)
            hcode, rep = self.header_ref(params[0], where)
            self.set_valid(hcode, rep, emit)
        elif op == "remove_header":
            need(1)
            hcode, rep = self.header_ref(params[0], where)
            self.set_invalid(hcode, rep, emit)
        elif op in ("push", "pop"):
            need(2)
            self._push_pop(op, params, emit, where)
        elif op in ("mark_to_drop", "drop"):
            self.mark_to_drop(emit)
        elif op == "exit":
            # BMv2 only marks the packet: the action runs to its end, no further node runs
            emit(EXIT_STATEMENT)
        elif op in ("clone_ingress_pkt_to_egress", "clone_egress_pkt_to_egress"):
            need(1)
            emit(f"p.clone_session = (({self.rv(params[0], where)}) & 0x7fff) | 0x8000")
            fl = self.rv(params[1], where) if len(params) > 1 else "0"
            emit(f"p.clone_field_list = {fl}")
        elif op == "resubmit":
            fl = self.rv(params[0], where) if params else "0"
            emit(f"p.resubmit_field_list = {fl}")
        elif op == "recirculate":
            fl = self.rv(params[0], where) if params else "0"
            emit(f"p.recirculate_field_list = {fl}")
        elif op == "truncate":
            need(1)
            emit(f"_t = {self.rv(params[0], where)}")
            emit("p.truncate_length = _t if p.truncate_length is None "
                 "else min(p.truncate_length, _t)")
        elif op == "generate_digest":
            need(2)
            emit(f"p.learn_id = {self.rv(params[1], where)}")
        elif op == "count":
            need(2)
            counter = self._named(params[0], self.res.counters, "counter array", where)
            emit(f"{counter}.count({self.rv(params[1], where)}, p.ingress_length)")
        elif op == "execute_meter":
            # out of range: BMv2 updates neither the meter nor the destination
            need(3)
            meter = self._named(params[0], self.res.meters, "meter array", where)
            self._store_if_in_range(emit, meter, params[1], params[2],
                                    f"{meter}.execute(_i, p.ingress_length)", where)
        elif op == "register_read":
            need(3)
            reg = self._named(params[1], self.res.registers, "register array", where)
            self._store_if_in_range(emit, reg, params[2], params[0], f"{reg}.cells[_i]", where)
        elif op == "register_write":
            need(3)
            reg = self._named(params[0], self.res.registers, "register array", where)
            emit(f"{reg}.write({self.rv(params[1], where)}, {self.rv(params[2], where)})")
        elif op == "modify_field_with_hash_based_offset":
            need(4)
            calc = self._named(params[2], self.res.calculations, "calculation", where)
            slot, fdef = self.field_slot(params[0], where)
            base = self.rv(params[1], where)
            size = self.rv(params[3], where)
            emit(f"_n = {size}")
            emit(self.store(slot, fdef,
                            f"({base}) + ({calc}(p, f) % _n if _n else 0)", where))
        elif op in ("add_to_field", "subtract_from_field"):
            need(2)
            slot, fdef = self.field_slot(params[0], where)
            sign = "+" if op == "add_to_field" else "-"
            emit(self.store(slot, fdef, f"f[{slot}] {sign} ({self.rv(params[1], where)})", where))
        elif op in _THREE_OPERAND:
            need(3)
            slot, fdef = self.field_slot(params[0], where)
            a, b = self.rv(params[1], where), self.rv(params[2], where)
            if op == "shift_left":
                value = f"_shl({a}, {b})"
            elif op == "shift_right":
                value = f"_shr({a}, {b})"
            else:
                value = f"({a}) {_THREE_OPERAND[op]} ({b})"
            emit(self.store(slot, fdef, value, where))
        elif op == "add_header_fast":
            need(1)
            hcode, _ = self.header_ref(params[0], where)
            b = str(self.layout.headers[int(hcode)].base) if hcode.isdigit() else f"HB[{hcode}]"
            emit(f"f[{b}] = 1")
        elif op == "copy_header":
            need(2)
            dst, rep = self.header_ref(params[0], where)
            src, _ = self.header_ref(params[1], where)
            self.copy_header(dst, src, rep, emit)
        elif op in ("modify_field_rng_uniform", "modify_field_rand_dist"):
            need(3)
            slot, fdef = self.field_slot(params[0], where)
            lo, hi = self.rv(params[1], where), self.rv(params[2], where)
            emit(self.store(slot, fdef, f"_randint(min({lo}, {hi}), max({lo}, {hi}))", where))
        elif op in ("assert", "assume"):
            need(1)
            emit(f"if not ({self.rv(params[0], where)}):")
            emit(f"    _abort({op + ' failed'!r})")
        elif op == "log_msg":
            need(1)
            fmt = params[0].get("value") if isinstance(params[0], dict) else None
            if not isinstance(fmt, str):
                raise ConfigError(f"{where}: the first parameter must be a string")
            values: list[str] = []
            if len(params) > 1:
                vector = params[1].get("value") if isinstance(params[1], dict) else None
                if not isinstance(vector, list):
                    raise ConfigError(f"{where}: the second parameter must be a "
                                      "parameters_vector")
                values = [self.rv(v, where) for v in vector]
            emit(f"_log_msg({fmt!r}, ({''.join(v + ', ' for v in values)}))")
        elif op == "no_op":
            pass
        elif op in ("_jump", "_jump_if_zero"):
            raise ConfigError(f"{where}: jump outside of an action body")
        else:
            raise ConfigError(f"{where}: unsupported primitive")

    def mark_to_drop(self, emit: Emit) -> None:
        spec = self.layout.field_slot("standard_metadata.egress_spec")
        if spec is None:
            raise ConfigError("mark_to_drop: standard_metadata.egress_spec is not declared")
        emit(f"f[{spec}] = 511")
        # simple_switch clears the multicast group it reads, intrinsic_metadata.mcast_grp
        # (p4c aliases it to standard_metadata.mcast_grp; P4-14 programs declare it)
        mcast = self.layout.field_slot("intrinsic_metadata.mcast_grp")
        if mcast is None:
            mcast = self.layout.field_slot("standard_metadata.mcast_grp")
        if mcast is not None:
            emit(f"f[{mcast}] = 0")

    def _varbit_header(self, tv: Any, what: str) -> tuple[HeaderDef, int]:
        if isinstance(tv, dict) and tv.get("type") == "field":
            value = tv["value"]
            return self.layout.resolve_field(value[0], value[1])
        raise ConfigError(f"{what}: varbit operands must be plain field references")

    def _group_headers(self, tv: Any, what: str) -> list[int]:
        if not isinstance(tv, dict) or not isinstance(tv.get("value"), str):
            raise ConfigError(f"{what}: bad operand {tv!r}")
        name = tv["value"]
        if tv.get("type") == "header_union" and name in self.layout.unions:
            return list(self.layout.unions[name].headers)
        if tv.get("type") == "header_stack" and name in self.layout.stacks:
            return list(self.layout.stacks[name].headers)
        if tv.get("type") == "header_union_stack" and name in self.layout.union_stacks:
            out: list[int] = []
            for u in self.layout.union_stacks[name].unions:
                out.extend(self.layout.unions[u].headers)
            return out
        raise ConfigError(f"{what}: unknown {tv.get('type')} {name!r}")

    def _push_pop(self, op: str, params: list[Any], emit: Emit, what: str) -> None:
        kind = params[0].get("type") if isinstance(params[0], dict) else None
        name = params[0].get("value") if isinstance(params[0], dict) else None
        if kind == "header_stack" and name in self.layout.stacks:
            stack = self.layout.stacks[name]
            groups = [[h] for h in stack.headers]
            next_slot: int | None = stack.next_slot
        elif kind == "header_union_stack" and name in self.layout.union_stacks:
            groups = [list(self.layout.unions[u].headers)
                      for u in self.layout.union_stacks[name].unions]
            next_slot = None
        else:
            raise ConfigError(f"{what}: expected a header stack, got {params[0]!r}")
        count = self.rv(params[1], what)
        size = len(groups)
        hdrs = self.layout.headers
        shape = self.const(tuple(tuple((hdrs[h].base, hdrs[h].nslots()) for h in g)
                                 for g in groups), "G")
        fn = "_stack_push" if op == "push" else "_stack_pop"
        self.ns.setdefault("_stack_push", _stack_push)
        self.ns.setdefault("_stack_pop", _stack_pop)
        emit(f"{fn}(f, {shape}, {count})")
        if next_slot is not None:
            if op == "push":
                emit(f"f[{next_slot}] = min(f[{next_slot}] + {count}, {size})")
            else:
                emit(f"f[{next_slot}] = max(f[{next_slot}] - {count}, 0)")

    def _store_if_in_range(self, emit: Emit, array: str, index: Any, dst: Any, value: str,
                           what: str) -> None:
        """``dst = value`` (an expression of ``_i``) when ``index`` is inside ``array``: an
        out-of-range index leaves both the array and the destination untouched, as BMv2."""
        slot, fdef = self.field_slot(dst, what)
        emit(f"_i = {self.rv(index, what)}")
        emit(f"if 0 <= _i < {array}.size:")
        emit("    " + self.store(slot, fdef, value, what))

    def _named(self, tv: Any, table: dict[str, str], kind: str, what: str) -> str:
        name = tv.get("value") if isinstance(tv, dict) else None
        if not isinstance(name, str) or name not in table:
            raise ConfigError(f"{what}: unknown {kind} {name!r}")
        return table[name]

    # --- whole actions ----------------------------------------------------------------

    def action_body(self, primitives: list[Any], what: str) -> tuple[list[str], bool]:
        """The statements of an action, and whether they run straight through (no jumps:
        then they have no ``return`` either and can be inlined)."""
        has_jumps = any(isinstance(p, dict) and p.get("op") in ("_jump", "_jump_if_zero")
                        for p in primitives)
        lines: list[str] = []
        if not has_jumps:
            for prim in primitives:
                self.primitive(prim, lines.append, what)
            return lines, True
        lines.append("pc = 0")
        lines.append("while True:")
        for i, prim in enumerate(primitives):
            lines.append(f"    {'if' if i == 0 else 'elif'} pc == {i}:")
            body: list[str] = []
            op = prim.get("op") if isinstance(prim, dict) else None
            params = prim.get("parameters", []) if isinstance(prim, dict) else []
            if op == "_jump":
                body.append(f"pc = {self.rv(params[0], what)}")
            elif op == "_jump_if_zero":
                body.append(f"pc = {self.rv(params[1], what)} "
                            f"if ({self.rv(params[0], what)}) == 0 else {i + 1}")
            else:
                self.primitive(prim, body.append, what)
                body.append(f"pc = {i + 1}")
            lines.extend("        " + b for b in body)
        lines.append("    else:")
        lines.append("        return")
        return lines, False


def _stack_push(f: list[int], groups: tuple[tuple[tuple[int, int], ...], ...], count: int) -> None:
    size = len(groups)
    count = max(0, min(count, size))
    for i in range(size - 1, count - 1, -1):
        for (db, n), (sb, _) in zip(groups[i], groups[i - count], strict=True):
            f[db:db + n] = f[sb:sb + n]
    for i in range(count):
        for b, _ in groups[i]:
            f[b] = 0


def _stack_pop(f: list[int], groups: tuple[tuple[tuple[int, int], ...], ...], count: int) -> None:
    size = len(groups)
    count = max(0, min(count, size))
    for i in range(size - count):
        for (db, n), (sb, _) in zip(groups[i], groups[i + count], strict=True):
            f[db:db + n] = f[sb:sb + n]
    for i in range(size - count, size):
        for b, _ in groups[i]:
            f[b] = 0
