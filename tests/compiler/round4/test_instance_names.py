"""Round 4: the control-plane names of tables in controls passed as constructor arguments
(programs/constructor_names.p4), in P4Info and BMv2 JSON."""

from __future__ import annotations

from pathlib import Path

from p4sim.compiler import compile_file

PROGRAM = Path(__file__).parent / "programs" / "constructor_names.p4"


def test_tables_are_named_where_their_instances_are_declared() -> None:
    compiled = compile_file(str(PROGRAM))
    json_names = [t["name"] for p in compiled.bmv2_json["pipelines"] for t in p["tables"]]
    p4info_names = [t.preamble.name for t in compiled.p4info.tables]
    assert json_names == ["I.d.tc", "I.pc.inner.tc"]
    assert sorted(p4info_names) == ["I.d.tc", "I.pc.inner.tc"]
    actions = {a.preamble.name for a in compiled.p4info.actions}
    assert {"I.d.s", "I.pc.inner.s"} <= actions
