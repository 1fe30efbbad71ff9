"""Desired entries follow docs/dataplane.md; the diff writes only what differs."""

from collections import Counter
from ipaddress import IPv4Address

import pytest
import yaml

from controller.config import parse_config
from controller.dataplane import (
    CONNECTION_TABLE,
    WRITE_ORDER,
    Entry,
    connection_entry,
    desired_entries,
    entry,
    flow_of,
)
from controller.packets import parse_flow
from controller.reconcile import diff_entries
from controller.state import FlowKey, LbState

CONFIG = """
pipeline: {p4info: lb.p4info.txtpb, bmv2_json: lb.json}
connection_idle_timeout: 300
switches:
  - name: s1
    address: 127.0.0.1:9559
    router_mac: "00:00:00:00:01:00"
    addresses: [10.0.1.1, 10.0.2.1]
    ports: {clients: 1, servers: 2}
    routes: [{prefix: 10.0.1.10/32, egress_port: clients, mac: "00:00:00:00:00:10"}]
pools:
  web:
    - {name: b1, address: 10.0.2.11, port: 8080, mac: "00:00:00:00:00:11", egress_port: servers}
    - {name: b2, address: 10.0.2.12, port: 8080, mac: "00:00:00:00:00:12", egress_port: servers}
  tls:
    - {name: b2, address: 10.0.2.12, port: 443, mac: "00:00:00:00:00:12", egress_port: servers}
services:
  - {name: http, vip: 10.0.0.100, port: 80, mode: nat, scheduler: mh, pool: web}
  - {name: https, vip: 10.0.0.100, port: 443, mode: dr, scheduler: rr, pool: tls}
"""

MAC = {"router": 0x000000000100, "client": 0x10, "b1": 0x11, "b2": 0x12}
VIP = int(IPv4Address("10.0.0.100"))


@pytest.fixture
def state() -> LbState:
    return LbState(parse_config(yaml.safe_load(CONFIG)))


def by_table(entries: dict) -> Counter:
    return Counter(e.table for e in entries.values())


def test_entries_of_the_worked_example(state: LbState) -> None:
    switch = state.config.switches[0]
    entries = desired_entries(state, switch)
    assert by_table(entries) == {"router_mac_table": 1, "arp_table": 3, "vip_table": 1,
                                 "service_table": 2, "backend_table": 3,
                                 "nat_reverse_table": 2, "maglev_table": 251,
                                 "nexthop_table": 3, "ipv4_lpm_table": 3}
    http, https = state.config.services
    http_id, https_id = state.service_id(http), state.service_id(https)
    b1 = state.backend_id(http, "b1")
    assert entry("service_table", {"vip": VIP, "protocol": 6, "port": 80}, "set_service",
                 service_id=http_id, forwarding_mode=1, scheduler=1) in entries.values()
    assert entry("service_table", {"vip": VIP, "protocol": 6, "port": 443}, "set_service",
                 service_id=https_id, forwarding_mode=2, scheduler=2) in entries.values()
    assert entry("nat_reverse_table", {"backend_addr": int(IPv4Address("10.0.2.11")),
                                       "protocol": 6, "backend_port": 8080},
                 "rewrite_source_to_vip", vip=VIP, vip_port=80, service_id=http_id,
                 backend_id=b1) in entries.values()
    assert entry("backend_table", {"backend_id": b1}, "set_backend",
                 addr=int(IPv4Address("10.0.2.11")), port=8080) in entries.values()
    assert entry("arp_table", {"target_addr": VIP}, "reply",
                 mac=MAC["router"]) in entries.values()
    hops = {dict(e.params)["dst_mac"]: (dict(e.match)["nexthop_id"], dict(e.params)["port"])
            for e in entries.values() if e.table == "nexthop_table"}
    assert {mac: port for mac, (_, port) in hops.items()} == {0x10: 1, 0x11: 2, 0x12: 2}
    routes = {dict(e.match)["dst_addr"]: dict(e.params)["nexthop_id"]
              for e in entries.values() if e.table == "ipv4_lpm_table"}
    assert routes[(int(IPv4Address("10.0.2.12")), 32)] == hops[0x12][0]
    maglev = Counter(dict(e.params)["backend_id"] for e in entries.values()
                     if e.table == "maglev_table")
    assert set(maglev) == {b1, state.backend_id(http, "b2")}
    assert abs(maglev[b1] - 125.5) <= 1
    # per-service backend ids: b2 of http and b2 of https are separate backends
    assert state.backend_id(http, "b2") != state.backend_id(https, "b2")


def test_drained_backend_leaves_maglev_but_stays_reachable(state: LbState) -> None:
    state.set_weight("http", "b1", 0)
    entries = desired_entries(state, state.config.switches[0])
    b1 = state.backend_id(state.service("http"), "b1")
    assert all(dict(e.params)["backend_id"] != b1 for e in entries.values()
               if e.table == "maglev_table")
    assert ("backend_table", (("backend_id", b1),)) in entries


def test_connection_entry_round_trip(state: LbState) -> None:
    flow = FlowKey(IPv4Address("10.0.1.10"), 40000, IPv4Address("10.0.0.100"), 80, 6)
    conn = state.pin("s1", flow, "b1", "dataplane")
    pinned = connection_entry(state, conn)
    assert pinned.table == CONNECTION_TABLE and pinned.idle_timeout_ns == 300 * 10**9
    assert flow_of(pinned) == flow
    p4 = pinned.to_p4()
    assert p4.table_id == CONNECTION_TABLE and p4.match["client_port"] == 40000


def test_diff_touches_only_differences() -> None:
    a = entry("backend_table", {"backend_id": 1}, "set_backend", addr=1, port=80)
    b = entry("backend_table", {"backend_id": 2}, "set_backend", addr=2, port=80)
    b_new = entry("backend_table", {"backend_id": 2}, "set_backend", addr=2, port=81)
    c = entry("service_table", {"vip": 9, "protocol": 6, "port": 80}, "set_service",
              service_id=1, forwarding_mode=1, scheduler=1)
    d = entry("nexthop_table", {"nexthop_id": 1}, "forward", port=1, dst_mac=1, src_mac=2)
    desired = {e.key: e for e in (a, b_new, c, d)}
    actual = {e.key: e for e in (a, b, Entry("vip_table", (("vip", 9),), "NoAction"))}
    diff = diff_entries(desired, actual)
    assert (diff.inserts, diff.modifies, [e.table for e in diff.deletes]) == (
        [c, d], [b_new], ["vip_table"])
    assert not diff_entries(desired, desired)
    batches = diff.batches(WRITE_ORDER)
    assert [(op, [e.table for e in es]) for op, es in batches] == [
        ("insert", ["nexthop_table"]), ("modify", ["backend_table"]),
        ("insert", ["service_table"]), ("delete", ["vip_table"])]


def frame(proto: int = 6, ihl: int = 5, frag: int = 0, ethertype: int = 0x0800) -> bytes:
    ip = bytes([0x40 | ihl, 0, 0, 40, 0, 0]) + frag.to_bytes(2, "big")
    ip += bytes([64, proto, 0, 0])
    ip += IPv4Address("10.0.1.10").packed + IPv4Address("10.0.0.100").packed
    ip += bytes(4 * max(0, ihl - 5))
    l4 = (40000).to_bytes(2, "big") + (443).to_bytes(2, "big") + bytes(16)
    return bytes(6) + bytes(6) + ethertype.to_bytes(2, "big") + ip + l4


def test_parse_flow() -> None:
    assert parse_flow(frame()) == FlowKey(IPv4Address("10.0.1.10"), 40000,
                                          IPv4Address("10.0.0.100"), 443, 6)
    assert parse_flow(frame(ihl=6)).vport == 443
    for bad in (frame(proto=1), frame(frag=5), frame(ethertype=0x86DD), frame()[:30], b"",
                frame(ihl=2)):
        assert parse_flow(bad) is None

