"""Unit tests of the P4Runtime <-> engine translation: bytestrings, match keys, packet I/O."""

from __future__ import annotations

import grpc
import pytest
from finsy.proto import p4i, p4r
from p4rt_fixture import T_ACL, T_IPV4_LPM, T_MAC_LEARN, mini_p4info

from p4sim.engine import Exact, Lpm, Range, Ternary
from p4sim.p4runtime import bytestrings
from p4sim.p4runtime.counters import counter_data
from p4sim.p4runtime.errors import P4RuntimeError
from p4sim.p4runtime.match_keys import (
    BMV2_MAX_PRIORITY,
    decode_key,
    encode_key,
    from_engine_priority,
    to_engine_priority,
)
from p4sim.p4runtime.p4info_index import P4InfoIndex
from p4sim.p4runtime.packet_io import build_packet_out, parse_packet_in

INDEX = P4InfoIndex.build(mini_p4info())


def invalid(call: object) -> str:
    with pytest.raises(P4RuntimeError) as info:
        call()  # type: ignore[operator]
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    return info.value.message


class TestBytestrings:
    def test_canonical_encoding(self) -> None:
        assert bytestrings.encode(0) == b"\x00"
        assert bytestrings.encode(0x1FF) == b"\x01\xff"
        assert bytestrings.encode(1 << 47) == b"\x80" + b"\x00" * 5

    def test_padded_and_short_values_are_accepted_like_pi(self) -> None:
        assert bytestrings.decode(b"\x00\x00\x01\xff", 9, "x") == 0x1FF
        assert bytestrings.decode(b"\x05", 32, "x") == 5

    def test_value_wider_than_field_is_rejected(self) -> None:
        assert "does not fit within 9 bits" in invalid(lambda: bytestrings.decode(
            b"\x02\x00", 9, "port"))


def lpm(value: bytes, plen: int) -> p4r.FieldMatch:
    return p4r.FieldMatch(field_id=1, lpm=p4r.FieldMatch.LPM(value=value, prefix_len=plen))


class TestMatchKeys:
    def test_lpm_round_trip_and_no_priority(self) -> None:
        table = INDEX.tables[T_IPV4_LPM]
        key, priority = decode_key(table, [lpm(b"\x0a\x00\x00\x00", 8)], 0)
        assert key == (Lpm(0x0A000000, 8),) and priority is None
        assert encode_key(table, key) == [lpm(b"\x0a\x00\x00\x00", 8)]

    def test_lpm_errors(self) -> None:
        table = INDEX.tables[T_IPV4_LPM]
        assert "prefix length of 0" in invalid(lambda: decode_key(table, [lpm(b"\x00", 0)], 0))
        assert "not in [1, 32]" in invalid(lambda: decode_key(table, [lpm(b"\x0a", 33)], 0))
        assert "past the prefix" in invalid(
            lambda: decode_key(table, [lpm(b"\x0a\x00\x00\x01", 8)], 0))
        assert "priority must be 0" in invalid(
            lambda: decode_key(table, [lpm(b"\x0a\x00\x00\x00", 8)], 5))

    def test_omitted_lpm_is_dont_care_and_omitted_again_on_read(self) -> None:
        table = INDEX.tables[T_IPV4_LPM]
        key, _ = decode_key(table, [], 0)
        assert key == (Lpm(0, 0),)
        assert encode_key(table, key) == []

    def test_exact_is_mandatory(self) -> None:
        assert "Missing exact" in invalid(
            lambda: decode_key(INDEX.tables[T_MAC_LEARN], [], 0))

    def test_ternary_and_range(self) -> None:
        table = INDEX.tables[T_ACL]
        ternary = p4r.FieldMatch(field_id=1, ternary=p4r.FieldMatch.Ternary(
            value=b"\x0a\x00\x00\x00", mask=b"\xff\x00\x00\x00"))
        key, priority = decode_key(table, [ternary], 10)
        assert key == (Ternary(0x0A000000, 0xFF000000), Range(0, 255))
        assert priority == BMV2_MAX_PRIORITY - 10
        assert encode_key(table, key) == [ternary]
        assert "priority > 0" in invalid(lambda: decode_key(table, [ternary], 0))
        bad_mask = p4r.FieldMatch(field_id=1, ternary=p4r.FieldMatch.Ternary(
            value=b"\x0a\x00\x00\x01", mask=b"\xff\x00\x00\x00"))
        assert "value & mask" in invalid(lambda: decode_key(table, [bad_mask], 1))
        zero_mask = p4r.FieldMatch(field_id=1, ternary=p4r.FieldMatch.Ternary(
            value=b"\x00", mask=b"\x00"))
        assert "0 mask" in invalid(lambda: decode_key(table, [zero_mask], 1))
        reversed_range = p4r.FieldMatch(field_id=2, range=p4r.FieldMatch.Range(
            low=b"\x09", high=b"\x01"))
        assert "low > high" in invalid(lambda: decode_key(table, [reversed_range], 1))
        full_range = p4r.FieldMatch(field_id=2, range=p4r.FieldMatch.Range(
            low=b"\x00", high=b"\xff"))
        assert "don't care" in invalid(lambda: decode_key(table, [full_range], 1))

    def test_unknown_duplicate_and_mistyped_fields(self) -> None:
        table = INDEX.tables[T_MAC_LEARN]
        exact = p4r.FieldMatch(field_id=1, exact=p4r.FieldMatch.Exact(value=b"\x01"))
        assert "Unknown match field id 9" in invalid(lambda: decode_key(
            table, [p4r.FieldMatch(field_id=9, exact=p4r.FieldMatch.Exact(value=b"\x01"))], 0))
        assert "Duplicate" in invalid(lambda: decode_key(table, [exact, exact], 0))
        assert "is exact, got lpm" in invalid(lambda: decode_key(table, [lpm(b"\x01", 8)], 0))
        assert decode_key(table, [exact], 0) == ((Exact(1),), None)

    def test_priority_inversion_matches_pi_bmv2(self) -> None:
        assert to_engine_priority(1) == 2**31 - 2
        assert from_engine_priority(to_engine_priority(12345)) == 12345


class TestPacketIo:
    def test_packet_in_metadata_is_parsed_from_the_header(self) -> None:
        # ingress_port = 3 (9 bits) then 7 pad bits: 0000_0001 1000_0000
        packet = parse_packet_in(INDEX.packet_in, b"\x01\x80payload")
        assert packet.payload == b"payload"
        assert [(m.metadata_id, m.value) for m in packet.metadata] == [(1, b"\x03"), (2, b"\x00")]

    def test_packet_out_header_is_built_from_metadata(self) -> None:
        out = p4r.PacketOut(payload=b"data")
        out.metadata.add(metadata_id=1, value=b"\x01\x05")
        out.metadata.add(metadata_id=2, value=b"\x00")
        assert build_packet_out(INDEX.packet_out, out) == b"\x82\x80data"

    def test_packet_out_errors(self) -> None:
        out = p4r.PacketOut(payload=b"data")
        out.metadata.add(metadata_id=1, value=b"\x02\x00")
        out.metadata.add(metadata_id=2, value=b"\x00")
        assert "does not fit" in invalid(lambda: build_packet_out(INDEX.packet_out, out))
        missing = p4r.PacketOut(payload=b"data")
        missing.metadata.add(metadata_id=1, value=b"\x01")
        assert "Missing packet_out metadata: _pad" in invalid(
            lambda: build_packet_out(INDEX.packet_out, missing))


def test_counter_data_reports_only_the_counted_units() -> None:
    assert counter_data(p4i.CounterSpec.PACKETS, 100, 2) == p4r.CounterData(packet_count=2)
    assert counter_data(p4i.CounterSpec.BYTES, 100, 2) == p4r.CounterData(byte_count=100)
    assert counter_data(p4i.CounterSpec.BOTH, 100, 2) == p4r.CounterData(
        byte_count=100, packet_count=2)
