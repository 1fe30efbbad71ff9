"""Assemble the BMv2 JSON document in p4c's top-level layout and key order."""

from __future__ import annotations

from typing import Any

from p4sim.compiler.midend.bmv2_sections import Bmv2Sections

JSON_VERSION = [2, 23]
COMPILER_URL = "https://github.com/p4lang/p4c"


def build_bmv2_json(sections: Bmv2Sections, program_name: str) -> dict[str, Any]:
    """The BMv2 JSON object (``p4c-bm2-ss -o``) for the lowered sections."""
    deparser: dict[str, Any] = {"name": "deparser", "id": 0}
    if sections.deparser_source_info is not None:
        deparser["source_info"] = sections.deparser_source_info
    deparser["order"] = list(sections.deparser_order)
    deparser["primitives"] = []
    pipelines = []
    for index, pipeline in enumerate(sections.pipelines):
        entry: dict[str, Any] = {"name": pipeline.name, "id": index}
        if pipeline.source_info is not None:
            entry["source_info"] = pipeline.source_info
        entry.update({"init_table": pipeline.init_table, "tables": pipeline.tables,
                      "action_profiles": pipeline.action_profiles,
                      "conditionals": pipeline.conditionals})
        pipelines.append(entry)
    return {
        "header_types": sections.header_types,
        "headers": sections.headers,
        "header_stacks": sections.header_stacks,
        "header_union_types": sections.header_union_types,
        "header_unions": sections.header_unions,
        "header_union_stacks": sections.header_union_stacks,
        "field_lists": sections.field_lists,
        "errors": [[name, value] for name, value in sections.errors],
        "enums": sections.enums,
        "parsers": [{"name": "parser", "id": 0, "init_state": "start",
                     "parse_states": sections.parse_states}],
        "parse_vsets": sections.parse_vsets,
        "deparsers": [deparser],
        "meter_arrays": sections.meter_arrays,
        "counter_arrays": sections.counter_arrays,
        "register_arrays": sections.register_arrays,
        "calculations": sections.calculations,
        "learn_lists": sections.learn_lists,
        "actions": sections.actions,
        "pipelines": pipelines,
        "checksums": sections.checksums,
        "force_arith": [],
        "extern_instances": sections.extern_instances,
        "field_aliases": sections.field_aliases,
        "program": program_name,
        "__meta__": {"version": list(JSON_VERSION), "compiler": COMPILER_URL},
    }
