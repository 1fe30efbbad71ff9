"""The compiler's corpus programs (tests/compiler/corpus) compiled and run packet by packet."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

from engine_helpers import tcp_packet, udp_packet
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from p4sim.compiler import compile_file
from p4sim.engine import ActionCall, Engine, Exact, GroupRef, Lpm
from p4sim.engine.engine import INGRESS_CLONE, REPLICATION
from p4sim.engine.hashing import make_hash

CORPUS = Path(__file__).resolve().parents[1] / "compiler" / "corpus"


@cache
def _json(name: str) -> dict:
    return compile_file(str(CORPUS / f"{name}.p4")).bmv2_json


def engine_for(name: str) -> Engine:
    return Engine(_json(name))


def test_udp_checksum_verify_and_update_with_payload() -> None:
    engine = engine_for("udp_checksum")
    good = udp_packet(dport=53, payload=b"odd-length!")
    port, out = engine.process(4, good).packets[0]
    assert port == 4
    udp = Ether(out)[UDP]
    assert udp.dport == 54
    fixed = Ether(out)
    del fixed[UDP].chksum
    assert Ether(bytes(fixed))[UDP].chksum == udp.chksum
    bad = bytearray(good)
    bad[-1] ^= 0x01
    assert engine.process(4, bytes(bad)).packets == []
    unchecked = bytearray(good)
    unchecked[40:42] = b"\x00\x00"          # checksum 0: not verified
    assert len(engine.process(4, bytes(unchecked)).packets) == 1


def test_stateful_externs_hash_counter_register_direct_counter() -> None:
    engine = engine_for("externs_stateful")
    table = "MyIngress.port_table"
    handle = engine.table_add(table, [Exact(1)], ActionCall("MyIngress.count_port", (2,)))
    data = udp_packet(src="10.0.0.1", dst="10.0.1.5")
    for _ in range(3):
        assert engine.process(1, data).packets[0][0] == 2
    crc32 = make_hash("crc32")
    assert crc32 is not None
    index = crc32(bytes([10, 0, 0, 1, 10, 0, 1, 5, 17])) % 1024
    assert engine.counter_read("MyIngress.flow_counter", index) == (3 * len(data), 3)
    assert engine.register_read("MyIngress.seen", index) == 3
    assert engine.direct_counter_read(table, handle)[1] == 3
    engine.direct_meter_set(table, handle, [(1.0, 1), (1.0, 1)])
    assert engine.direct_meter_get(table, handle) == [(1.0, 1), (1.0, 1)]


def test_mac_learning_digest_flood_and_clone_to_cpu() -> None:
    engine = engine_for("mac_learning")
    engine.mc_group_set(1, [(1, 0), (2, 0), (3, 0)])
    engine.clone_session_set(100, [(255, 0)])
    frame = bytes(Ether(src="00:00:00:00:00:0a", dst="00:00:00:00:00:0b", type=0x1234)) + b"x"
    result = engine.process(2, frame)
    assert [(d.name, d.values) for d in result.digests] == [("learn_digest_t", (0x0A, 2))]
    ports = sorted(port for port, _ in result.packets)
    assert ports == [1, 2, 3, 255]
    to_cpu = next(data for port, data in result.packets if port == 255)
    # packet_in header (ingress_port 9 bits + pad 7) in front, original port preserved
    assert int.from_bytes(to_cpu[:2], "big") >> 7 == 2
    assert to_cpu[2:] == frame
    engine.table_add("MyIngress.smac", [Exact(0x0A)], ActionCall("NoAction", ()), timeout_ms=50)
    engine.table_add("MyIngress.dmac", [Exact(0x0B)], ActionCall("MyIngress.forward", (3,)))
    result = engine.process(2, frame)
    assert result.digests == [] and result.packets == [(3, frame)]
    out_frame = (3 << 7).to_bytes(2, "big") + frame           # packet_out from the CPU
    assert engine.process(255, out_frame).packets == [(3, frame)]
    assert (INGRESS_CLONE, REPLICATION) == (1, 5)


def test_ecmp_selector_member_choice_follows_crc16_of_selector_fields() -> None:
    cfg = copy.deepcopy(_json("ecmp_selector"))
    # p4c leaves default_action out of tables with an action profile (BMv2 rejects it)
    for pipeline in cfg["pipelines"]:
        for table in pipeline["tables"]:
            if table["type"] != "simple":
                table.pop("default_entry", None)
    engine = Engine(cfg)
    prof = engine.info.tables["MyIngress.ecmp"].implementation
    assert prof is not None
    for member in range(3):
        engine.act_prof_set_member(prof, member,
                                   ActionCall("MyIngress.set_nexthop", (0xA0 + member, member + 1)))
    engine.act_prof_set_group(prof, 1, [(0, 1), (1, 1), (2, 1)])
    engine.table_add("MyIngress.ecmp", [Lpm(0x0A000000, 8)], GroupRef(1))
    crc16 = make_hash("crc16")
    assert crc16 is not None
    for sport in range(1000, 1010):
        data = tcp_packet(src="10.0.0.1", dst="10.1.2.3", sport=sport, dport=80)
        port, out = engine.process(1, data).packets[0]
        key = bytes([10, 0, 0, 1, 6]) + sport.to_bytes(2, "big") + (80).to_bytes(2, "big")
        assert port == crc16(key) % 3 + 1
        assert Ether(out)[IP].ttl == 63 and Ether(out)[TCP].sport == sport


def test_acl_const_entries_and_switch_on_action_run() -> None:
    engine = engine_for("acl_const_entries")

    def port(**kw: object) -> int | None:
        packets = engine.process(9, udp_packet(**kw)).packets  # type: ignore[arg-type]
        return packets[0][0] if packets else None

    assert port(src="10.1.1.1", dst="10.0.0.7", dport=80) == 3     # permit(1), then route
    assert port(src="10.1.1.1", dst="192.168.0.1", dport=80) == 1   # permit(1), no route
    assert port(src="11.1.1.1", dst="192.168.0.1", dport=53) is None  # deny outranks 53..53
    assert port(src="11.1.1.1", dst="192.168.0.2", dport=53) == 2
    assert port(src="11.1.1.1", dst="192.168.0.2", dport=54) is None  # const default deny


def test_tunnel_encap_decap_and_mpls_push() -> None:
    engine = engine_for("tunnel_encap")
    table = "MyIngress.tunnel"
    engine.table_add(table, [Exact(0x0A000105), Exact(0)],
                     ActionCall("MyIngress.encap", (0xC0A80001, 0xC0A80002, 2)))
    data = udp_packet(dst="10.0.1.5")
    port, out = engine.process(1, data).packets[0]
    outer = Ether(out)[IP]
    assert port == 2 and outer.proto == 4 and outer.dst == "192.168.0.2"
    assert outer.len == Ether(data)[IP].len + 20
    assert IP(bytes(outer.payload))[UDP].dport == 53
    engine.table_add(table, [Exact(0xC0A80002), Exact(1)], ActionCall("MyIngress.decap", (3,)))
    port, back = engine.process(1, out).packets[0]
    assert port == 3 and Ether(back)[IP].dst == "10.0.1.5"


def test_parser_features_varbit_lookahead_range_select_and_subparser() -> None:
    engine = engine_for("parser_features")
    eth = bytes(6) + bytes(5) + b"\x01"

    def run(kind: int, rest: bytes) -> tuple[int, bytes]:
        return engine.process(0, eth + kind.to_bytes(2, "big") + rest).packets[0]

    port, out = run(0x0005, b"\x02\xaa\xbb" + b"tail")      # options: 2 bytes of data
    assert port == 1 and out == eth + b"\x00\x05\x02\xaa\xbb" + b"tail"
    assert run(0x1234, b"\x07rest")[0] == 11                # small tag via the sub-parser
    assert run(0x9999, b"\x00\x07rest")[0] == 12            # large tag
    port, out = run(0x0010, b"\x09" + bytes(9))             # 72 bits > varbit<64>
    assert port == 0                                         # HeaderTooShort: band never set
