"""State shared by the lowering passes of one compilation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from p4sim.compiler import ast
from p4sim.compiler.diagnostics import Diagnostic
from p4sim.compiler.midend.bmv2_sections import Bmv2Sections
from p4sim.compiler.midend.control_plane import ControlPlaneModel
from p4sim.compiler.midend.expressions import Codes, ExpressionLowering
from p4sim.compiler.midend.locations import FieldLoc
from p4sim.compiler.midend.scope import Scope
from p4sim.compiler.midend.storage import Storage

Json = Any


def source_info(node: ast.Node, fragment: str) -> Json:
    return {"filename": node.pos.file, "line": node.pos.line, "column": node.pos.col,
            "source_fragment": fragment}


@dataclass
class LoweringContext:
    program: ast.Program
    sections: Bmv2Sections
    cp: ControlPlaneModel
    codes: Codes
    storage: Storage
    expr: ExpressionLowering
    # user metadata fields by @field_list index, for *_preserving_field_list
    field_lists: dict[int, list[Json]] = field(default_factory=dict)
    # digest learn-list id by struct type name
    learn_lists: dict[str, int] = field(default_factory=dict)
    # direct meter array name -> JSON object (to set result_target on read())
    meter_objects: dict[str, Json] = field(default_factory=dict)
    # digest struct type name -> temporaries its learn list reads (expression digests)
    digest_temps: dict[str, list[FieldLoc]] = field(default_factory=dict)
    # reasons p4c would refuse to write P4Info (the BMv2 JSON is still valid)
    p4info_errors: list[Diagnostic] = field(default_factory=list)
    # control-plane action name -> its declaration (to order P4Info actions as p4c)
    action_decls: dict[str, ast.ActionDecl] = field(default_factory=dict)
    # copy-outs of the controls being applied through temporaries, outermost first, each
    # with the scope its holders are bound in: an ``exit`` anywhere in them still performs
    # them (P4_16 12.5), also from an action or function the control calls
    exit_copy_outs: list[tuple[list[ast.Node], Scope]] = field(default_factory=list)

    @classmethod
    def create(cls, program: ast.Program) -> LoweringContext:
        sections = Bmv2Sections()
        codes = Codes()
        return cls(program=program, sections=sections, cp=ControlPlaneModel(), codes=codes,
                   storage=Storage(sections), expr=ExpressionLowering(codes))
