"""P4Runtime ids and aliases as p4c's control-plane symbol table assigns them."""

from __future__ import annotations

import pytest

from p4sim.compiler.backend.p4info_ids import (
    IdAllocationError,
    ResourcePrefix,
    SymbolIds,
    jenkins_one_at_a_time,
    shortest_unique_suffix,
)


def test_ids_match_p4c_for_the_tutorial_basic_program() -> None:
    ids = SymbolIds()
    for name in ("NoAction", "MyIngress.drop", "MyIngress.ipv4_forward"):
        ids.add(ResourcePrefix.ACTION, name)
    ids.add(ResourcePrefix.TABLE, "MyIngress.ipv4_lpm")
    ids.assign()
    assert ids.id_of(ResourcePrefix.ACTION, "NoAction") == 21257015
    assert ids.id_of(ResourcePrefix.ACTION, "MyIngress.drop") == 25652968
    assert ids.id_of(ResourcePrefix.ACTION, "MyIngress.ipv4_forward") == 28792405
    assert ids.id_of(ResourcePrefix.TABLE, "MyIngress.ipv4_lpm") == 37375156


def test_controller_header_ids_hash_the_type_name() -> None:
    ids = SymbolIds()
    ids.add(ResourcePrefix.CONTROLLER_HEADER, "packet_in_header_t")
    ids.assign()
    assert ids.id_of(ResourcePrefix.CONTROLLER_HEADER, "packet_in_header_t") == 81826293


def test_collisions_are_resolved_by_linear_probing_in_sorted_name_order() -> None:
    ids = SymbolIds()
    taken = (ResourcePrefix.ACTION << 24) | (jenkins_one_at_a_time(b"b") & 0xFFFFFF)
    ids.add(ResourcePrefix.ACTION, "a_explicit", taken)
    ids.add(ResourcePrefix.ACTION, "b")
    ids.assign()
    assert ids.id_of(ResourcePrefix.ACTION, "b") == taken + 1


def test_explicit_id_gets_the_prefix_and_is_checked() -> None:
    ids = SymbolIds()
    ids.add(ResourcePrefix.TABLE, "t", 5)
    ids.assign()
    assert ids.id_of(ResourcePrefix.TABLE, "t") == 0x02000005
    with pytest.raises(IdAllocationError, match="wrong 8-bit prefix"):
        ids.add(ResourcePrefix.TABLE, "u", 0x01000007)
    with pytest.raises(IdAllocationError, match="multiple declarations"):
        ids.add(ResourcePrefix.TABLE, "v", 5)


def test_alias_is_the_shortest_unique_suffix() -> None:
    names = ["MyIngress.a.t", "MyIngress.b.t", "MyEgress.x"]
    assert shortest_unique_suffix("MyIngress.a.t", names) == "a.t"
    assert shortest_unique_suffix("MyEgress.x", names) == "x"
    assert shortest_unique_suffix("b.c", ["a.b.c", "b.c"]) == "b.c"
