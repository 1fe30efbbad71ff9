"""Runs STF packet tests (the format of p4c's bmv2 tests) on p4sim's compiler and engine.

An STF file drives a program with control-plane commands and packets and says which packets
must come out, as p4c's ``backends/bmv2/bmv2stf.py`` does with simple_switch:

    add <table> [<priority>] <key>:<value> ... <action>(<param>:<value>, ...)
    setdefault <table> <action>(<param>:<value>, ...)
    packet <port> <hex bytes>
    expect <port> <hex bytes, '*' any nibble, '$' end of packet>   (no bytes: any packets)
    mirroring_add <session> <port>
    mc_mgrp_create <group> / mc_node_create <rid> <ports...> / mc_node_associate <group> <node>
    register_write <register> <index> <value>

Names may be suffixes of the JSON names (``t`` for ``ingress.t``), as in bmv2stf.  Each
port's packets are compared in order, an expected packet being a prefix of the received
one unless it ends with ``$``; every port named by a ``packet`` or ``expect`` line must
receive exactly its expected number.  Ports the file never names are not watched, as
bmv2stf gives simple_switch an interface only for the ports it names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from p4sim.engine import ActionCall, Engine, Exact, Lpm, Optional, Range, Ternary
from p4sim.engine.types import MatchParam


class StfError(Exception):
    """The STF file is malformed or names something the program does not have."""


@dataclass
class StfResult:
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def _int(text: str) -> int:
    text = text.strip().replace("_", "")
    negative = text.startswith("-")
    value = int(text.lstrip("-"), 0)
    return -value if negative else value


def _packet_bytes(digits: str) -> bytes:
    """Hex digits two by two, a last odd digit making a byte of its own (as bmv2stf's
    HexToByte reads them)."""
    return bytes(int(digits[i:i + 2], 16) for i in range(0, len(digits), 2))


def _by_suffix(names: Iterable[str], wanted: str, what: str) -> str:
    names = list(names)
    if wanted in names:
        return wanted
    found = [n for n in names if n.endswith("." + wanted)]
    if len(found) != 1:
        raise StfError(f"{what} {wanted!r}: {'ambiguous' if found else 'not found'}")
    return found[0]


def _ternary(text: str, width: int) -> Ternary:
    if "&&&" in text:
        value, mask = text.split("&&&")
        return Ternary(_int(value), _int(mask))
    base = {"0x": 16, "0b": 2, "0o": 8}.get(text[:2].lower())
    if base is None:
        return Ternary(_int(text), (1 << width) - 1)
    digits = text[2:]
    bits = {16: 4, 2: 1, 8: 3}[base]
    value = mask = 0
    for digit in digits:
        value <<= bits
        mask <<= bits
        if digit != "*":
            value |= int(digit, base)
            mask |= (1 << bits) - 1
    return Ternary(value, mask)


def _lpm(text: str, width: int) -> Lpm:
    if "/" in text:
        value, length = text.split("/")
        return Lpm(_int(value), int(length))
    if text[:2].lower() in ("0x", "0b", "0o"):
        bits = {"0x": 4, "0b": 1, "0o": 3}[text[:2].lower()]
        digits = text[2:]
        known = len(digits) - digits.count("*")
        return Lpm(_int(text[:2] + digits.replace("*", "0")), known * bits)
    return Lpm(_int(text), width)


class StfRunner:
    """One STF file's commands applied in order to one Engine (or to ``engine``, anything
with the Engine methods the commands use, e.g. a running switch)."""

    def __init__(self, bmv2_json: dict[str, Any], engine: Any = None) -> None:
        self.json = bmv2_json
        self.engine = engine if engine is not None else Engine(bmv2_json)
        self.tables = {t["name"]: t for p in bmv2_json["pipelines"] for t in p["tables"]}
        self.actions = {a["id"]: a for a in bmv2_json["actions"]}
        self.received: dict[int, list[bytes]] = {}
        self.expected: dict[int, list[str]] = {}
        self.any_ports: set[int] = set()
        self.ports: set[int] = set()
        self.mc_nodes: dict[int, tuple[int, list[int]]] = {}
        self.mc_groups: dict[int, list[int]] = {}

    # ------------------------------------------------------------------ commands --
    def run(self, text: str) -> StfResult:
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                self.command(line)
        return self.check()

    def command(self, line: str) -> None:
        verb, _, rest = line.partition(" ")
        rest = rest.strip()
        if verb == "add":
            self._add(rest)
        elif verb == "setdefault":
            table, _, call = rest.partition(" ")
            name = _by_suffix(self.tables, table, "table")
            self.engine.table_set_default(name, self._action(name, call.strip()))
        elif verb == "packet":
            port, _, data = rest.partition(" ")
            self.ports.add(int(port))
            result = self.engine.process(int(port), _packet_bytes("".join(data.split())))
            for out_port, packet in result.packets:
                self.received.setdefault(out_port, []).append(packet)
        elif verb == "expect":
            port, _, data = rest.partition(" ")
            data = "".join(data.split())
            self.ports.add(int(port))
            if data:
                self.expected.setdefault(int(port), []).append(data.upper())
            else:
                self.any_ports.add(int(port))
        elif verb == "mirroring_add":
            session, port = rest.split()
            self.engine.clone_session_set(_int(session), [(_int(port), 0)])
        elif verb == "mc_mgrp_create":
            self.mc_groups[_int(rest)] = []
            self._set_group(_int(rest))
        elif verb == "mc_node_create":
            rid, *ports = rest.split()
            self.mc_nodes[len(self.mc_nodes)] = (_int(rid), [_int(p) for p in ports])
        elif verb == "mc_node_associate":
            group, node = (_int(w) for w in rest.split())
            self.mc_groups.setdefault(group, []).append(node)
            self._set_group(group)
        elif verb == "register_write":
            name, index, value = rest.split()
            self.engine.register_write(self._register(name), _int(index), _int(value))
        elif verb in ("wait", "register_read", "register_reset", "check_counter", "no_packet"):
            pass  # packets are processed synchronously; counters are not checked here
        else:
            raise StfError(f"unknown STF command {verb!r}")

    def _register(self, name: str) -> str:
        return _by_suffix([r["name"] for r in self.json["register_arrays"]], name, "register")

    def _set_group(self, group: int) -> None:
        replicas = [(port, rid) for node in self.mc_groups[group]
                    for rid, ports in [self.mc_nodes[node]] for port in ports]
        self.engine.mc_group_set(group, replicas)

    def _action(self, table: str, call: str) -> ActionCall:
        match = re.fullmatch(r"([\w.$]+)\s*\((.*)\)", call.strip(), re.S)
        if match is None:
            raise StfError(f"bad action call {call!r}")
        names = [self.actions[i]["name"] for i in self.tables[table]["action_ids"]]
        action_name = _by_suffix(names, match.group(1), "action")
        action = next(self.actions[i] for i in self.tables[table]["action_ids"]
                      if self.actions[i]["name"] == action_name)
        values: dict[str, int] = {}
        for arg in filter(None, (a.strip() for a in match.group(2).split(","))):
            key, _, value = arg.partition(":")
            values[key.strip()] = _int(value)
        params = []
        for data in action["runtime_data"]:
            if data["name"] not in values:
                raise StfError(f"action {action_name}: no value for {data['name']}")
            params.append(values[data["name"]] & ((1 << data["bitwidth"]) - 1))
        return ActionCall(action_name, tuple(params))

    def _add(self, rest: str) -> None:
        table_word, _, rest = rest.partition(" ")
        table = _by_suffix(self.tables, table_word, "table")
        words = rest.strip()
        priority: int | None = None
        first, _, after = words.partition(" ")
        if re.fullmatch(r"\d+", first):
            priority, words = 10000 - int(first), after
        paren = words.index("(")
        head, call = words[:paren], words[paren:]
        *key_words, action_word = head.split()
        call = action_word + call
        if "=" in call:
            call = call.split("=")[0]
        key_json = self.tables[table]["key"]
        given: dict[int, str] = {}
        for word in key_words:
            name, _, value = word.rpartition(":")
            given[self._key_index(key_json, name)] = value
        params: list[MatchParam] = []
        for i, key in enumerate(key_json):
            width = self._key_width(key)
            text = given.get(i)
            kind = key["match_type"]
            if kind == "ternary":
                params.append(_ternary(text, width) if text else Ternary(0, 0))
            elif kind == "lpm":
                params.append(_lpm(text, width) if text else Lpm(0, 0))
            elif kind == "range":
                if text is None:
                    params.append(Range(0, (1 << width) - 1))
                else:
                    low, _, high = text.partition("->")
                    params.append(Range(_int(low), _int(high or low)))
            elif kind == "optional":
                params.append(Optional(_int(text) if text else None))
            else:
                params.append(Exact(_int(text) if text else 0))
        if priority is None and any(k["match_type"] in ("ternary", "range", "optional")
                                    for k in key_json):
            priority = 10000
        self.engine.table_add(table, params, self._action(table, call.strip()),
                              priority=priority)

    @staticmethod
    def _key_names(key: dict[str, Any]) -> list[str]:
        target = key["target"]
        names = [key.get("name", "")]
        if isinstance(target, list):
            names.append(".".join(target))
        return [n for n in names if n]

    def _key_index(self, key_json: list[dict[str, Any]], name: str) -> int:
        name = re.sub(r"\$([0-9]+)", r"[\1]", name)
        for candidate in (name, name + ".$valid$", name[:-len(".valid")] + ".$valid$"
                          if name.endswith(".valid") else None):
            if candidate is None:
                continue
            for i, key in enumerate(key_json):
                for known in self._key_names(key):
                    if known == candidate or known.endswith("." + candidate):
                        return i
        raise StfError(f"unknown key field {name!r}")

    def _key_width(self, key: dict[str, Any]) -> int:
        target = key["target"]
        if not isinstance(target, list):
            return 1
        header, field_name = target
        instance = next(h for h in self.json["headers"] if h["name"] == header)
        header_type = next(t for t in self.json["header_types"]
                           if t["name"] == instance["header_type"])
        if field_name == "$valid$":
            return 1
        width: int = next(f[1] for f in header_type["fields"] if f[0] == field_name)
        return width

    # ------------------------------------------------------------------ checking --
    def check(self) -> StfResult:
        result = StfResult()
        for port in sorted(self.ports):
            if port in self.any_ports:
                continue
            got = self.received.get(port, [])
            want = self.expected.get(port, [])
            if len(got) != len(want):
                result.failures.append(f"port {port}: expected {len(want)} packets, got "
                                       f"{len(got)}: {[g.hex() for g in got]}")
                continue
            for i, (packet, pattern) in enumerate(zip(got, want, strict=True)):
                if not _matches(pattern, packet.hex().upper()):
                    result.failures.append(f"port {port} packet {i}: expected {pattern}, "
                                           f"got {packet.hex().upper()}")
        return result


def _matches(pattern: str, received: str) -> bool:
    exact = pattern.endswith("$")
    pattern = pattern.rstrip("$")
    if len(received) < len(pattern) or (exact and len(received) != len(pattern)):
        return False
    return all(p in ("*", r) for p, r in zip(pattern, received, strict=False))


def run_stf(bmv2_json: dict[str, Any], stf_text: str) -> StfResult:
    """Run the STF commands on a fresh engine loaded with ``bmv2_json``."""
    return StfRunner(bmv2_json).run(stf_text)
