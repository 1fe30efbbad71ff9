"""P4RuntimeClient's value encoding and request building (no switch needed)."""

from __future__ import annotations

import pytest
from base.p4runtime_client import P4InfoIndex, P4RuntimeClient, decode, encode, ipv4, mac
from finsy.proto import p4i
from google.protobuf import text_format

P4INFO = """
tables { preamble { id: 33554433 name: "Ingress.t" alias: "t" }
  match_fields { id: 1 name: "dst" bitwidth: 32 match_type: LPM }
  match_fields { id: 2 name: "proto" bitwidth: 8 match_type: TERNARY }
  match_fields { id: 3 name: "port" bitwidth: 16 match_type: RANGE }
  match_fields { id: 4 name: "vlan" bitwidth: 12 match_type: OPTIONAL }
  action_refs { id: 16777217 } size: 16 }
actions { preamble { id: 16777217 name: "Ingress.fwd" alias: "fwd" }
  params { id: 1 name: "port" bitwidth: 9 } }
"""


@pytest.fixture
def client() -> P4RuntimeClient:
    bare = P4RuntimeClient.__new__(P4RuntimeClient)  # no connection: builders only
    bare.index = P4InfoIndex(text_format.Parse(P4INFO, p4i.P4Info()))
    return bare


def test_encode_is_canonical_and_checks_width() -> None:
    assert encode(0, 9) == b"\x00"
    assert encode(511, 9) == b"\x01\xff"
    assert encode(b"\x00\x00\x0a", 32) == b"\x0a"
    assert decode(encode(ipv4("10.0.0.1"), 32)) == 0x0A000001
    assert mac("00:00:00:00:01:02") == 0x0102
    with pytest.raises(ValueError, match="does not fit in 9 bits"):
        encode(512, 9)
    with pytest.raises(ValueError, match="not an IPv4 address"):
        ipv4("10.0.0.256")


def test_table_entry_encodes_each_match_kind_and_omits_wildcards(client: P4RuntimeClient) -> None:
    entry = client.table_entry("t", {"dst": (ipv4("10.0.0.0"), 8), "proto": (6, 0xFF),
                                     "port": (80, 443)}, "fwd", {"port": 3}, priority=10)
    assert entry.table_id == 33554433 and entry.priority == 10
    dst, proto, port = entry.match
    assert (dst.lpm.value, dst.lpm.prefix_len) == (b"\x0a\x00\x00\x00", 8)
    assert (proto.ternary.value, proto.ternary.mask) == (b"\x06", b"\xff")
    assert (port.range.low, port.range.high) == (b"\x50", b"\x01\xbb")
    assert [(p.param_id, p.value) for p in entry.action.action.params] == [(1, b"\x03")]
    assert client.table_entry("t", {"vlan": 5}).match[0].optional.value == b"\x05"


def test_table_entry_errors_name_the_problem(client: P4RuntimeClient) -> None:
    with pytest.raises(KeyError, match="no table named 'nope'"):
        client.table_entry("nope")
    with pytest.raises(ValueError, match="unknown match fields"):
        client.table_entry("t", {"src": 1})
    with pytest.raises(ValueError, match="take a 2-tuple"):
        client.table_entry("t", {"dst": 1})
    with pytest.raises(ValueError, match="missing parameter 'port'"):
        client.table_entry("t", None, "fwd", {})
    with pytest.raises(ValueError, match="unknown parameters"):
        client.table_entry("t", None, "fwd", {"port": 1, "extra": 2})
