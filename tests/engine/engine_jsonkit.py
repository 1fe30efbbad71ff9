"""A small builder for BMv2 JSON test programs (written from docs/JSON_format.md).

Programs start from an Ethernet/IPv4/TCP/UDP parser with standard_metadata as p4c declares
it; tests add actions, tables and conditionals to the ingress/egress pipelines.
"""

from __future__ import annotations

import copy
from typing import Any

Json = dict[str, Any]

STANDARD_METADATA = [
    ["ingress_port", 9, False], ["egress_spec", 9, False], ["egress_port", 9, False],
    ["instance_type", 32, False], ["packet_length", 32, False], ["enq_timestamp", 32, False],
    ["enq_qdepth", 19, False], ["deq_timedelta", 32, False], ["deq_qdepth", 19, False],
    ["ingress_global_timestamp", 48, False], ["egress_global_timestamp", 48, False],
    ["mcast_grp", 16, False], ["egress_rid", 16, False], ["checksum_error", 1, False],
    ["parser_error", 32, False], ["priority", 3, False], ["_padding", 3, False],
]

ERRORS = [["NoError", 0], ["PacketTooShort", 1], ["NoMatch", 2], ["StackOutOfBounds", 3],
          ["HeaderTooShort", 4], ["ParserTimeout", 5], ["ParserInvalidArgument", 6]]


def fld(header: str, name: str) -> Json:
    return {"type": "field", "value": [header, name]}


def hexv(value: int) -> Json:
    return {"type": "hexstr", "value": hex(value) if value >= 0 else "-" + hex(-value)}


def param(index: int) -> Json:
    return {"type": "runtime_data", "value": index}


def local(index: int) -> Json:
    """Action data inside an expression (a whole primitive parameter is ``param``)."""
    return {"type": "local", "value": index}


def hdr(name: str) -> Json:
    return {"type": "header", "value": name}


def ex(op: str, left: Json | None, right: Json | None, **extra: Json) -> Json:
    value: Json = {"op": op, "left": left, "right": right}
    value.update(extra)
    return {"type": "expression", "value": value}


def prim(op: str, *params: Json) -> Json:
    return {"op": op, "parameters": [_parameter(p) for p in params]}


def _parameter(value: Json) -> Json:
    """A primitive parameter as BMv2 reads it: an ``expression`` parameter's value is a
    typed node, so an operator node is wrapped once more (as p4c writes it)."""
    if value.get("type") == "expression" and "op" in value.get("value", {}):
        return {"type": "expression", "value": value}
    return value


def assign(dst: Json, src: Json) -> Json:
    return prim("assign", dst, src)


def transition(next_state: str | None, value: int | str | None = None, mask: int | None = None,
               kind: str | None = None) -> Json:
    if kind is None:
        kind = "default" if value is None else "hexstr"
    return {"type": kind, "value": hex(value) if isinstance(value, int) else value,
            "mask": hex(mask) if mask is not None else None, "next_state": next_state}


def state(name: str, ops: list[Json], key: list[Json], transitions: list[Json]) -> Json:
    return {"name": name, "id": 0, "parser_ops": ops, "transition_key": key,
            "transitions": transitions}


def extract(header: str) -> Json:
    return {"op": "extract", "parameters": [{"type": "regular", "value": header}]}


class ProgramBuilder:
    def __init__(self) -> None:
        self.json: Json = {
            "__meta__": {"version": [2, 23], "compiler": "p4sim engine tests"},
            "header_types": [
                {"name": "scalars_0", "id": 0, "fields": []},
                {"name": "standard_metadata", "id": 1, "fields": copy.deepcopy(STANDARD_METADATA)},
            ],
            "headers": [
                {"name": "scalars", "id": 0, "header_type": "scalars_0", "metadata": True},
                {"name": "standard_metadata", "id": 1, "header_type": "standard_metadata",
                 "metadata": True},
            ],
            "header_stacks": [], "header_union_types": [], "header_unions": [],
            "header_union_stacks": [], "field_lists": [], "errors": copy.deepcopy(ERRORS),
            "enums": [], "parsers": [], "parse_vsets": [], "deparsers": [],
            "meter_arrays": [], "counter_arrays": [], "register_arrays": [],
            "calculations": [], "learn_lists": [], "actions": [],
            "pipelines": [
                {"name": "ingress", "id": 0, "init_table": None, "tables": [],
                 "action_profiles": [], "conditionals": []},
                {"name": "egress", "id": 1, "init_table": None, "tables": [],
                 "action_profiles": [], "conditionals": []},
            ],
            "checksums": [], "force_arith": [], "extern_instances": [], "field_aliases": [],
        }
        self.action("NoAction", [], [])

    # --- declarations -------------------------------------------------------------

    def header_type(self, name: str, fields: list[list[Any]], **extra: Any) -> None:
        types = self.json["header_types"]
        types.append({"name": name, "id": len(types), "fields": fields, **extra})

    def header(self, name: str, type_name: str, metadata: bool = False) -> int:
        headers = self.json["headers"]
        headers.append({"name": name, "id": len(headers), "header_type": type_name,
                        "metadata": metadata})
        return len(headers) - 1

    def metadata(self, name: str, fields: list[list[Any]]) -> None:
        self.header_type(name + "_t", fields)
        self.header(name, name + "_t", metadata=True)

    def parser(self, states: list[Json], init: str = "start") -> None:
        for i, st in enumerate(states):
            st["id"] = i
        self.json["parsers"] = [{"name": "parser", "id": 0, "init_state": init,
                                 "parse_states": states}]

    def deparser(self, order: list[str]) -> None:
        self.json["deparsers"] = [{"name": "deparser", "id": 0, "order": order,
                                   "primitives": []}]

    def action(self, name: str, params: list[tuple[str, int]], primitives: list[Json]) -> int:
        actions = self.json["actions"]
        actions.append({"name": name, "id": len(actions),
                        "runtime_data": [{"name": n, "bitwidth": w} for n, w in params],
                        "primitives": primitives})
        return len(actions) - 1

    def action_id(self, name: str) -> int:
        return next(a["id"] for a in self.json["actions"] if a["name"] == name)

    def pipeline(self, which: str) -> Json:
        return next(p for p in self.json["pipelines"] if p["name"] == which)

    def table(self, which: str, name: str, key: list[tuple[str, Any]], actions: list[str],
              *, default: str = "NoAction", default_data: list[int] | None = None,
              default_const: bool = False, next_tables: Json | None = None,
              entries: list[Json] | None = None, **extra: Any) -> Json:
        pipe = self.pipeline(which)
        kinds = {mt for mt, _ in key}
        match_type = ("range" if "range" in kinds else "ternary" if kinds & {"ternary", "optional"}
                      else "lpm" if "lpm" in kinds else "exact")
        table: Json = {
            "name": name, "id": len(pipe["tables"]) + (100 if which == "egress" else 0),
            "key": [{"match_type": mt, "target": target, "mask": None} for mt, target in key],
            "match_type": match_type, "type": "simple", "max_size": 1024,
            "with_counters": False, "support_timeout": False, "direct_meters": None,
            "action_ids": [self.action_id(a) for a in actions], "actions": actions,
            "base_default_next": None,
            "next_tables": next_tables if next_tables is not None else {a: None for a in actions},
            "default_entry": {"action_id": self.action_id(default), "action_const": default_const,
                              "action_data": [hex(v) for v in (default_data or [])],
                              "action_entry_const": default_const},
        }
        if entries is not None:
            table["entries"] = entries
        table.update(extra)
        pipe["tables"].append(table)
        if pipe["init_table"] is None:
            pipe["init_table"] = name
        return table

    def conditional(self, which: str, name: str, expression: Json, true_next: str | None,
                    false_next: str | None) -> None:
        pipe = self.pipeline(which)
        pipe["conditionals"].append({"name": name, "id": len(pipe["conditionals"]),
                                     "expression": expression, "true_next": true_next,
                                     "false_next": false_next})

    def calculation(self, name: str, algo: str, inputs: list[Json]) -> None:
        calcs = self.json["calculations"]
        calcs.append({"name": name, "id": len(calcs), "algo": algo, "input": inputs})


def eth_ipv4_program() -> ProgramBuilder:
    """Ethernet -> IPv4 -> TCP/UDP parser, deparser in that order, IPv4 checksum update."""
    b = ProgramBuilder()
    b.header_type("ethernet_t", [["dstAddr", 48, False], ["srcAddr", 48, False],
                                 ["etherType", 16, False]])
    b.header_type("ipv4_t", [["version", 4, False], ["ihl", 4, False], ["diffserv", 8, False],
                             ["totalLen", 16, False], ["identification", 16, False],
                             ["flags", 3, False], ["fragOffset", 13, False], ["ttl", 8, False],
                             ["protocol", 8, False], ["hdrChecksum", 16, False],
                             ["srcAddr", 32, False], ["dstAddr", 32, False]])
    b.header_type("tcp_t", [["srcPort", 16, False], ["dstPort", 16, False], ["seqNo", 32, False],
                            ["ackNo", 32, False], ["dataOffset", 4, False], ["res", 4, False],
                            ["flags", 8, False], ["window", 16, False], ["checksum", 16, False],
                            ["urgentPtr", 16, False]])
    b.header_type("udp_t", [["srcPort", 16, False], ["dstPort", 16, False],
                            ["length", 16, False], ["checksum", 16, False]])
    for name, type_name in (("ethernet", "ethernet_t"), ("ipv4", "ipv4_t"), ("tcp", "tcp_t"),
                            ("udp", "udp_t")):
        b.header(name, type_name)
    b.parser([
        state("start", [extract("ethernet")], [fld("ethernet", "etherType")],
              [transition("parse_ipv4", 0x0800), transition(None)]),
        state("parse_ipv4", [extract("ipv4")], [fld("ipv4", "protocol")],
              [transition("parse_tcp", 6), transition("parse_udp", 17), transition(None)]),
        state("parse_tcp", [extract("tcp")], [], [transition(None)]),
        state("parse_udp", [extract("udp")], [], [transition(None)]),
    ])
    b.deparser(["ethernet", "ipv4", "tcp", "udp"])
    ipv4_fields = ["version", "ihl", "diffserv", "totalLen", "identification", "flags",
                   "fragOffset", "ttl", "protocol", "srcAddr", "dstAddr"]
    b.calculation("ipv4_csum", "csum16", [fld("ipv4", f) for f in ipv4_fields])
    b.json["checksums"].append({
        "name": "cksum", "id": 0, "target": ["ipv4", "hdrChecksum"], "type": "generic",
        "calculation": "ipv4_csum", "verify": True, "update": True,
        "if_cond": ex("d2b", None, fld("ipv4", "$valid$"))})
    b.action("drop", [], [prim("mark_to_drop", hdr("standard_metadata"))])
    b.action("forward", [("port", 9)],
             [assign(fld("standard_metadata", "egress_spec"), param(0))])
    return b
