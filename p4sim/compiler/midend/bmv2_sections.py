"""The BMv2 JSON objects produced by the midend, before final assembly.

Ids are the positions in each array (as p4c numbers them); names that the
compiler invents (temporaries, synthesized tables, conditionals) are made
unique here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Json = Any


def hexstr(value: int, width: int | None) -> str:
    """p4c's hex rendering: padded to the type's byte width, '-' for negatives."""
    digits = 2 * max(1, ((width or max(value.bit_length(), 1)) + 7) // 8)
    sign = "-" if value < 0 else ""
    return f"{sign}0x{abs(value):0{digits}x}"


def hex_json(value: int, width: int | None) -> Json:
    return {"type": "hexstr", "value": hexstr(value, width)}


@dataclass
class Pipeline:
    name: str
    source_info: Json | None
    init_table: str | None = None
    tables: list[Json] = field(default_factory=list)
    action_profiles: list[Json] = field(default_factory=list)
    conditionals: list[Json] = field(default_factory=list)


@dataclass
class Bmv2Sections:
    header_types: list[Json] = field(default_factory=list)
    headers: list[Json] = field(default_factory=list)
    header_stacks: list[Json] = field(default_factory=list)
    header_union_types: list[Json] = field(default_factory=list)
    header_unions: list[Json] = field(default_factory=list)
    header_union_stacks: list[Json] = field(default_factory=list)
    field_lists: list[Json] = field(default_factory=list)
    errors: list[tuple[str, int]] = field(default_factory=list)
    enums: list[Json] = field(default_factory=list)
    parse_states: list[Json] = field(default_factory=list)
    parse_vsets: list[Json] = field(default_factory=list)
    deparser_order: list[str] = field(default_factory=list)
    deparser_source_info: Json | None = None
    meter_arrays: list[Json] = field(default_factory=list)
    counter_arrays: list[Json] = field(default_factory=list)
    register_arrays: list[Json] = field(default_factory=list)
    calculations: list[Json] = field(default_factory=list)
    learn_lists: list[Json] = field(default_factory=list)
    actions: list[Json] = field(default_factory=list)
    pipelines: list[Pipeline] = field(default_factory=list)
    checksums: list[Json] = field(default_factory=list)
    extern_instances: list[Json] = field(default_factory=list)
    field_aliases: list[Json] = field(default_factory=list)
    scalar_fields: list[Json] = field(default_factory=list)
    table_count: int = 0
    profile_count: int = 0
    _conditional_count: int = 0
    _cfg_nodes: int = 0
    # CFG number of each applied or synthesized table: p4c lists (and numbers) a
    # pipeline's tables in that order
    cfg_numbers: dict[str, int] = field(default_factory=dict)
    _used_names: set[str] = field(default_factory=set)

    def cfg_node(self) -> int:
        """Number a node of p4c's control-flow graph (backends/bmv2/common/
        controlFlowGraph.cpp: one program-wide counter over each pipeline's entry and
        exit nodes, its table applications and its if statements, in source order);
        a conditional is named ``node_<its number>``."""
        self._cfg_nodes += 1
        return self._cfg_nodes - 1

    def new_conditional(self, cfg_number: int) -> tuple[str, int]:
        """Name (``node_N``) and id of a new conditional."""
        conditional_id = self._conditional_count
        self._conditional_count += 1
        return self.fresh_name(f"node_{cfg_number}"), conditional_id

    def new_profile_id(self) -> int:
        self.profile_count += 1
        return self.profile_count - 1

    def new_table_id(self) -> int:
        self.table_count += 1
        return self.table_count - 1

    def fresh_name(self, base: str) -> str:
        """``base``, or ``base_0``, ``base_1``... (p4c's ``newName`` scheme)."""
        name = base
        counter = 0
        while name in self._used_names:
            name = f"{base}_{counter}"
            counter += 1
        self._used_names.add(name)
        return name

    def reserve_name(self, name: str) -> None:
        self._used_names.add(name)

    def add_action(self, name: str, runtime_data: list[Json], primitives: list[Json]) -> int:
        action_id = len(self.actions)
        self.actions.append({"name": name, "id": action_id, "runtime_data": runtime_data,
                             "primitives": primitives})
        return action_id

    def add_scalar(self, name: str, width: int, signed: bool = False) -> str:
        self.scalar_fields.append([name, width, signed])
        return name

    def add_header_type(self, name: str, fields: list[Json], max_length: int = 0) -> None:
        if any(h["name"] == name for h in self.header_types):
            return
        entry: Json = {"name": name, "id": len(self.header_types), "fields": fields}
        if max_length:
            entry["max_length"] = max_length
        self.header_types.append(entry)

    def add_header(self, name: str, type_name: str, metadata: bool) -> int:
        header_id = len(self.headers)
        self.headers.append({"name": name, "id": header_id, "header_type": type_name,
                             "metadata": metadata, "pi_omit": True})
        return header_id

    def add_calculation(self, base: str, algo: str, inputs: list[Json],
                        source_info: Json | None) -> str:
        name = self.fresh_name(base)
        entry: Json = {"name": name, "id": len(self.calculations)}
        if source_info is not None:
            entry["source_info"] = source_info
        entry["algo"] = algo
        entry["input"] = inputs
        self.calculations.append(entry)
        return name
