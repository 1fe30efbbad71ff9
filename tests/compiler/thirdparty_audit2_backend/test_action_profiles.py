"""Round-2 backend audit: P4Info of action profiles and selectors (p4c's stored outputs).

p4c samples ``action_profile_max_group_size_annotation.p4`` and
``action_profile_sum_of_members_annotation.p4``: a property ``@name`` names an in-place
profile as written (``"ap"``, no control prefix); every selector carries its size
semantics (``sum_of_weights {}`` unless ``@selector_size_semantics("sum_of_members")``,
which takes ``@max_member_weight``); the sizing annotations are not copied to the
preamble; a ``const default_action`` also gives ``initial_default_action``.
"""

from __future__ import annotations

from finsy.proto import p4i

from p4sim.compiler import compile_source

PROGRAM = """#include <core.p4>
#include <v1model.p4>
struct headers_t { }
struct meta_t { bit<32> flow_hash; }
parser NoParse(packet_in pkt, out headers_t hdr, inout meta_t meta,
               inout standard_metadata_t std) {
    state start { transition accept; }
}
control NoVerify(inout headers_t hdr, inout meta_t meta) { apply { } }
control Spread(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    action to_port(bit<9> port) { std.egress_spec = port; }
    @name("members_sel") @max_group_size(50) @selector_size_semantics("sum_of_members")
    @max_member_weight(300) @custom_note
    action_selector(HashAlgorithm.crc16, 32w256, 32w14) by_members;
    table by_weight_table {
        key = { meta.flow_hash: selector; }
        actions = { to_port; NoAction; }
        const default_action = NoAction();
        @name("weights_sel") @max_group_size(8)
        implementation = action_selector(HashAlgorithm.crc16, 32w64, 32w14);
    }
    table by_member_table {
        key = { meta.flow_hash: selector; }
        actions = { to_port; NoAction; }
        implementation = by_members;
    }
    apply { by_weight_table.apply(); by_member_table.apply(); }
}
control NoEgress(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t std) {
    apply { }
}
control NoUpdate(inout headers_t hdr, inout meta_t meta) { apply { } }
control NoEmit(packet_out pkt, in headers_t hdr) { apply { } }
V1Switch(NoParse(), NoVerify(), Spread(), NoEgress(), NoUpdate(), NoEmit()) main;
"""


def _profiles() -> dict[str, p4i.ActionProfile]:
    info = compile_source(PROGRAM, filename="profiles.p4").p4info
    return {profile.preamble.name: profile for profile in info.action_profiles}


def test_property_name_of_an_in_place_selector_is_not_prefixed() -> None:
    program = compile_source(PROGRAM, filename="profiles.p4")
    assert sorted(_profiles()) == ["Spread.members_sel", "weights_sel"]
    tables = {t["name"]: t for t in program.bmv2_json["pipelines"][0]["tables"]}
    assert tables["Spread.by_weight_table"]["action_profile"] == "weights_sel"


def test_selectors_carry_their_size_semantics() -> None:
    profiles = _profiles()
    by_weight = profiles["weights_sel"]
    assert by_weight.WhichOneof("selector_size_semantics") == "sum_of_weights"
    assert by_weight.max_group_size == 8
    by_members = profiles["Spread.members_sel"]
    assert by_members.WhichOneof("selector_size_semantics") == "sum_of_members"
    assert by_members.sum_of_members.max_member_weight == 300
    assert by_members.max_group_size == 50
    assert list(by_members.preamble.annotations) == ["@custom_note"]


def test_const_default_action_is_also_the_initial_default_action() -> None:
    info = compile_source(PROGRAM, filename="profiles.p4").p4info
    table = next(t for t in info.tables if t.preamble.name == "Spread.by_weight_table")
    assert table.const_default_action_id != 0
    assert table.initial_default_action.action_id == table.const_default_action_id
