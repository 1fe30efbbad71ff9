"""Parser semantics: stacks, lookahead, verify, value sets, varbit, errors, checksum verify."""

from __future__ import annotations

from engine_helpers import udp_packet
from engine_jsonkit import (
    ProgramBuilder,
    assign,
    ex,
    extract,
    fld,
    hexv,
    prim,
    state,
    transition,
)
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from p4sim.engine import Engine

SM = "standard_metadata"
ETH = [["dstAddr", 48, False], ["srcAddr", 48, False], ["etherType", 16, False]]


def report_program(b: ProgramBuilder, extra: list[dict] | None = None) -> dict:
    """Ingress copies parser_error into ethernet.srcAddr and sends everything to port 1."""
    b.action("report", [], [assign(fld("ethernet", "srcAddr"), fld(SM, "parser_error")),
                            assign(fld(SM, "egress_spec"), hexv(1))] + (extra or []))
    b.table("ingress", "t", [], ["report"], default="report")
    return b.json


def parser_error(engine: Engine, data: bytes) -> int:
    return int.from_bytes(engine.process(0, data).packets[0][1][6:12], "big")


def mpls_program() -> dict:
    b = ProgramBuilder()
    b.header_type("ethernet_t", ETH)
    b.header_type("mpls_t", [["label", 20, False], ["tc", 3, False], ["bos", 1, False],
                             ["ttl", 8, False]])
    b.header("ethernet", "ethernet_t")
    ids = [b.header(f"mpls[{i}]", "mpls_t") for i in range(3)]
    b.json["header_stacks"] = [{"name": "mpls", "id": 0, "header_type": "mpls_t",
                                "size": 3, "header_ids": ids}]
    b.parser([
        state("start", [extract("ethernet")], [fld("ethernet", "etherType")],
              [transition("parse_mpls", 0x8847), transition(None)]),
        state("parse_mpls", [{"op": "extract", "parameters": [{"type": "stack",
                                                                "value": "mpls"}]}],
              [{"type": "stack_field", "value": ["mpls", "bos"]}],
              [transition("parse_mpls", 0), transition(None, 1)]),
    ])
    b.deparser(["ethernet", "mpls[0]", "mpls[1]", "mpls[2]"])
    last_label = {"type": "expression", "value": {
        "op": "access_field",
        "left": {"type": "expression", "value": {
            "op": "dereference_header_stack", "left": {"type": "header_stack", "value": "mpls"},
            "right": ex("last_stack_index", None, {"type": "header_stack", "value": "mpls"})}},
        "right": 0}}
    return report_program(b, [assign(fld("ethernet", "dstAddr"), last_label),
                              prim("pop", {"type": "header_stack", "value": "mpls"}, hexv(1))])


def mpls(labels: list[int]) -> bytes:
    out = bytes(Ether(type=0x8847))
    for i, label in enumerate(labels):
        word = (label << 12) | ((1 if i == len(labels) - 1 else 0) << 8) | 64
        out += word.to_bytes(4, "big")
    return out


def test_header_stack_extract_last_index_and_pop() -> None:
    engine = Engine(mpls_program())
    port, out = engine.process(0, mpls([100, 200]) + b"rest").packets[0]
    assert int.from_bytes(out[0:6], "big") == 200      # label of the last extracted entry
    assert int.from_bytes(out[6:12], "big") == 0       # NoError
    # pop_front(1): the first label is gone, the stack shifted down
    assert out[14:18] == ((200 << 12) | (1 << 8) | 64).to_bytes(4, "big")
    assert out[18:] == b"rest"


def test_stack_overflow_and_short_packet_errors() -> None:
    engine = Engine(mpls_program())
    assert parser_error(engine, mpls([1, 2, 3, 4])) == 3      # StackOutOfBounds
    assert parser_error(engine, mpls([1, 2])[:-2]) == 1       # PacketTooShort


def test_no_matching_case_without_default_accepts_like_bmv2() -> None:
    b = ProgramBuilder()
    b.header_type("ethernet_t", ETH)
    b.header("ethernet", "ethernet_t")
    b.parser([state("start", [extract("ethernet")], [fld("ethernet", "etherType")],
                    [transition("start", 0x1)])])
    b.deparser(["ethernet"])
    engine = Engine(report_program(b))
    assert parser_error(engine, bytes(Ether(type=0x9000))) == 0


def test_lookahead_verify_vset_and_nomatch() -> None:
    b = ProgramBuilder()
    b.header_type("ethernet_t", ETH)
    b.header_type("tag_t", [["kind", 8, False], ["value", 8, False]])
    b.header("ethernet", "ethernet_t")
    b.header("tag", "tag_t")
    b.json["errors"].append(["BadTag", 7])
    b.json["parse_vsets"] = [{"name": "kinds", "id": 0, "compressed_bitwidth": 8}]
    b.parser([
        state("start", [extract("ethernet")],
              [{"type": "lookahead", "value": [0, 8]}],
              [transition("parse_tag", 0xAA), transition("parse_tag", "kinds", kind="parse_vset"),
               transition("skip", 0x10, 0xF0), transition("no_match")]),
        state("no_match", [{"op": "verify", "parameters": [{"type": "bool", "value": False},
                                                           hexv(2)]}], [], [transition(None)]),
        state("parse_tag", [extract("tag"),
                            {"op": "verify", "parameters": [
                                ex("!=", fld("tag", "value"), hexv(0)), hexv(7)]}],
              [], [transition(None)]),
        state("skip", [{"op": "advance", "parameters": [hexv(16)]}], [], [transition(None)]),
    ])
    b.deparser(["ethernet", "tag"])
    engine = Engine(report_program(b))
    eth = bytes(Ether(type=0x9000))
    assert parser_error(engine, eth + b"\xaa\x01") == 0
    assert parser_error(engine, eth + b"\xaa\x00") == 7        # verify -> BadTag
    assert parser_error(engine, eth + b"\xbb\x01") == 2        # NoMatch (p4c's noMatch state)
    engine.parse_vset_set("kinds", [0xBB])
    assert parser_error(engine, eth + b"\xbb\x01") == 0
    out = engine.process(0, eth + b"\x1f\x02payload").packets[0][1]
    assert out[14:] == b"payload"          # advanced-over bytes are consumed, as in BMv2
    assert parser_error(engine, eth) == 1                       # lookahead past the end
    assert engine.info.parse_vsets == {"kinds": 8}


def test_varbit_ipv4_options() -> None:
    b = ProgramBuilder()
    b.header_type("ethernet_t", ETH)
    b.header_type("ipv4_t", [["version", 4, False], ["ihl", 4, False], ["rest", 152, False]])
    b.header_type("opts_t", [["options", "*"]], max_length=40)
    b.header_type("udp_t", [["sport", 16, False], ["dport", 16, False], ["len", 16, False],
                            ["csum", 16, False]])
    for name in ("ethernet", "ipv4", "opts", "udp"):
        b.header(name, name + "_t")
    length = ex("-", ex("<<", fld("ipv4", "ihl"), hexv(5)), hexv(160))
    b.parser([
        state("start", [extract("ethernet"), extract("ipv4"),
                        {"op": "extract_VL", "parameters": [
                            {"type": "regular", "value": "opts"},
                            {"type": "expression", "value": length}]},
                        extract("udp")], [], [transition(None)]),
    ])
    b.deparser(["ethernet", "ipv4", "opts", "udp"])
    engine = Engine(report_program(b, [assign(fld("udp", "dport"), hexv(4242))]))
    pkt = bytes(Ether() / IP(options=b"\x94\x04\x00\x00") / UDP(dport=53) / b"data")
    out = engine.process(0, pkt).packets[0][1]
    assert out[6:12] == b"\x00" * 6
    parsed = Ether(out)
    assert parsed[IP].options[0].option == 20 and parsed[UDP].dport == 4242
    too_long = bytearray(pkt)
    too_long[14] = 0x4F                                     # ihl 15: 40 bytes of options
    assert parser_error(engine, bytes(too_long)) == 1      # PacketTooShort


def test_checksum_verify_sets_checksum_error() -> None:
    from engine_jsonkit import eth_ipv4_program
    b = eth_ipv4_program()
    b.action("flag", [], [assign(fld("ipv4", "diffserv"), fld(SM, "checksum_error")),
                          assign(fld(SM, "egress_spec"), hexv(1))])
    b.table("ingress", "t", [], ["flag"], default="flag")
    b.json["checksums"][0]["update"] = False
    engine = Engine(b.json)
    good = udp_packet()
    assert engine.process(0, good).packets[0][1][15] == 0
    bad = bytearray(good)
    bad[24] ^= 0xFF
    assert engine.process(0, bytes(bad)).packets[0][1][15] == 1
