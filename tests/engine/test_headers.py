"""Header operations: add/remove (and the packet length register), assign_header,
header unions, P4_16 push/pop on stacks."""

from __future__ import annotations

from engine_jsonkit import (
    ProgramBuilder,
    assign,
    ex,
    extract,
    fld,
    hdr,
    hexv,
    prim,
    state,
    transition,
)

from p4sim.engine import Engine

SM = "standard_metadata"


def program(ingress: list[dict], egress: list[dict] | None = None) -> Engine:
    b = ProgramBuilder()
    b.header_type("eth_t", [["dst", 48, False], ["src", 48, False], ["kind", 16, False]])
    b.header_type("tag_t", [["v", 8, False]])
    b.header("eth", "eth_t")
    for name in ("a", "b", "u_x", "u_y"):
        b.header(name, "tag_t")
    ids = [b.header(f"st[{i}]", "tag_t") for i in range(3)]
    b.json["header_stacks"] = [{"name": "st", "id": 0, "header_type": "tag_t", "size": 3,
                                "header_ids": ids}]
    b.json["header_union_types"] = [{"name": "u_t", "id": 0,
                                     "headers": [["x", "tag_t"], ["y", "tag_t"]]}]
    b.json["header_unions"] = [{"name": "u", "id": 0, "union_type": "u_t",
                                "header_ids": [ids[0] - 2, ids[0] - 1]}]
    b.parser([state("start", [extract("eth")], [fld("eth", "kind")],
                    [transition("tag", 1), transition(None)]),
              state("tag", [extract("a")], [], [transition(None)])])
    b.deparser(["eth", "a", "b", "u_x", "u_y", "st[0]", "st[1]", "st[2]"])
    b.action("ing", [], [assign(fld(SM, "egress_spec"), hexv(1))] + ingress)
    b.table("ingress", "t", [], ["ing"], default="ing")
    if egress:
        b.action("eg", [], egress)
        b.table("egress", "e", [], ["eg"], default="eg")
    return Engine(b.json)


ETH = bytes(12)


def run(engine: Engine, data: bytes) -> bytes:
    return engine.process(0, data).packets[0][1]


def test_add_header_zeroes_fields_and_grows_packet_length() -> None:
    engine = program([prim("add_header", hdr("b"))],
                     [assign(fld("eth", "dst"), fld(SM, "packet_length"))])
    data = ETH + b"\x00\x02" + b"payload"
    out = run(engine, data)
    assert int.from_bytes(out[:6], "big") == len(data) + 1
    assert out[14:15] == b"\x00" and out[15:] == b"payload"


def test_remove_header_and_assign_from_invalid_source() -> None:
    engine = program([prim("remove_header", hdr("a")),
                      prim("add_header", hdr("b")), assign(fld("b", "v"), hexv(9)),
                      prim("assign_header", hdr("b"), hdr("a"))],
                     [assign(fld("eth", "dst"), fld(SM, "packet_length"))])
    data = ETH + b"\x00\x01" + b"\x05" + b"rest"
    out = run(engine, data)
    assert out[14:] == b"rest"                             # a removed, b invalidated
    assert int.from_bytes(out[:6], "big") == len(data) - 1 + 1   # -a +b (lengths only)


def test_assign_header_copies_a_valid_header() -> None:
    engine = program([prim("assign_header", hdr("b"), hdr("a"))])
    assert run(engine, ETH + b"\x00\x01\x05") == ETH + b"\x00\x01\x05\x05"


def test_union_member_validity_is_exclusive() -> None:
    engine = program([prim("add_header", hdr("u_x")), assign(fld("u_x", "v"), hexv(1)),
                      prim("add_header", hdr("u_y")), assign(fld("u_y", "v"), hexv(2))])
    assert run(engine, ETH + b"\x00\x02") == ETH + b"\x00\x02\x02"
    engine = program([prim("add_header", hdr("u_x")),
                      assign(fld("eth", "kind"),
                             ex("b2d", None, ex("valid_union", None,
                                                {"type": "header_union", "value": "u"})))])
    assert run(engine, ETH + b"\x00\x02") == ETH + b"\x00\x01\x00"


def test_push_front_adds_invalid_entries_pop_front_shifts_down() -> None:
    stack = {"type": "header_stack", "value": "st"}
    engine = program([prim("add_header", hdr("st[0]")), assign(fld("st[0]", "v"), hexv(1)),
                      prim("push", stack, hexv(1)),
                      prim("add_header", hdr("st[0]")), assign(fld("st[0]", "v"), hexv(2))])
    assert run(engine, ETH + b"\x00\x02") == ETH + b"\x00\x02\x02\x01"
    engine = program([prim("add_header", hdr("st[0]")), assign(fld("st[0]", "v"), hexv(1)),
                      prim("add_header", hdr("st[1]")), assign(fld("st[1]", "v"), hexv(2)),
                      prim("pop", stack, hexv(1))])
    assert run(engine, ETH + b"\x00\x02") == ETH + b"\x00\x02\x02"
