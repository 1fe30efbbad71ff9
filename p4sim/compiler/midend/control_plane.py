"""Control-plane entities found by the midend, consumed by the P4Info backend.

Names are the fully qualified control-plane names p4c uses (instance path +
local name, or the ``@name`` override); ``explicit_id`` carries ``@id``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from p4sim.compiler import types as t


@dataclass
class CpDoc:
    """``@brief``/``@description`` of a declaration (P4Info ``Documentation``)."""

    brief: str | None = None
    description: str | None = None


@dataclass
class CpEntity:
    name: str
    explicit_id: int | None = None
    annotations: list[str] = field(default_factory=list)
    doc: CpDoc | None = None


@dataclass
class CpMatchField:
    name: str
    bitwidth: int
    match_type: str  # exact, lpm, ternary, range, optional or another match_kind
    explicit_id: int | None = None
    annotations: list[str] = field(default_factory=list)
    named_type: t.NewType | None = None  # ``type`` declarations give P4Info a type_name
    doc: CpDoc | None = None


@dataclass
class CpActionRef:
    action: str
    scope: str = "TABLE_AND_DEFAULT"
    annotations: list[str] = field(default_factory=list)


@dataclass
class CpParam:
    name: str
    bitwidth: int
    explicit_id: int | None = None
    annotations: list[str] = field(default_factory=list)
    named_type: t.NewType | None = None
    doc: CpDoc | None = None


@dataclass
class CpAction(CpEntity):
    params: list[CpParam] = field(default_factory=list)


@dataclass
class CpTable(CpEntity):
    match_fields: list[CpMatchField] = field(default_factory=list)
    action_refs: list[CpActionRef] = field(default_factory=list)
    const_default_action: str | None = None
    # default action (const or not) and its (param id, big-endian value) arguments
    initial_default_action: tuple[str, list[tuple[int, bytes]]] | None = None
    size: int = 1024
    implementation: str | None = None
    direct_counter: str | None = None
    direct_meter: str | None = None
    support_timeout: bool = False
    is_const: bool = False
    has_initial_entries: bool = False


@dataclass
class CpActionProfile(CpEntity):
    tables: list[str] = field(default_factory=list)
    with_selector: bool = False
    size: int = 0
    max_group_size: int = 0
    # selectors only: "sum_of_weights" (P4Runtime's default) or "sum_of_members"
    size_semantics: str = ""
    max_member_weight: int = 0


@dataclass
class CpCounter(CpEntity):
    unit: str = "BOTH"  # BYTES, PACKETS, BOTH
    size: int = 0
    direct_table: str | None = None


@dataclass
class CpMeter(CpEntity):
    unit: str = "BYTES"
    size: int = 0
    direct_table: str | None = None


@dataclass
class CpRegister(CpEntity):
    element_type: t.P4Type = field(default_factory=lambda: t.BitsType(32))
    size: int = 0


@dataclass
class CpDigest(CpEntity):
    data_type: t.P4Type = field(default_factory=lambda: t.BitsType(32))


@dataclass
class CpControllerHeader(CpEntity):
    """``name`` is the ``@controller_header`` string; ids hash ``symbol_name`` (the type)."""

    fields: list[CpParam] = field(default_factory=list)
    symbol_name: str = ""


@dataclass
class CpValueSet(CpEntity):
    size: int = 0
    matches: list[CpMatchField] = field(default_factory=list)


def named_type(ty: t.P4Type | None) -> t.NewType | None:
    return ty if isinstance(ty, t.NewType) else None


def translated_width(ty: t.P4Type | None, default: int) -> int:
    """Bit width the controller sees: ``@p4runtime_translation`` overrides it."""
    translation = p4runtime_translation(ty)
    if translation is None:
        return default
    return translation[1]


def p4runtime_translation(ty: t.P4Type | None) -> tuple[str, int] | None:
    """``(uri, sdn_bitwidth)`` of a ``type`` with ``@p4runtime_translation`` (0 = string)."""
    if not isinstance(ty, t.NewType) or ty.decl is None:
        return None
    from p4sim.compiler import ast
    decl = ty.decl
    if not isinstance(decl, ast.Annotated):
        return None
    annotation = decl.annotation("p4runtime_translation")
    if annotation is None or len(annotation.args) < 2 or \
            not isinstance(annotation.args[0], ast.StringLiteral):
        return None
    target = annotation.args[1]
    width = 0
    if isinstance(target, ast.IntLiteral):
        width = target.value
    elif isinstance(target, ast.TypeNameExpression) and target.type_ref.type is not None:
        target_type = t.strip_newtype(target.type_ref.type)
        width = target_type.width if isinstance(target_type, t.BitsType) else 0
    elif isinstance(target.type, t.BitsType):
        width = target.type.width
    return annotation.args[0].value, width


@dataclass
class ControlPlaneModel:
    """Everything P4Info describes, in p4c's emission order."""

    tables: list[CpTable] = field(default_factory=list)
    actions: list[CpAction] = field(default_factory=list)
    action_profiles: list[CpActionProfile] = field(default_factory=list)
    counters: list[CpCounter] = field(default_factory=list)
    meters: list[CpMeter] = field(default_factory=list)
    registers: list[CpRegister] = field(default_factory=list)
    digests: list[CpDigest] = field(default_factory=list)
    controller_headers: list[CpControllerHeader] = field(default_factory=list)
    value_sets: list[CpValueSet] = field(default_factory=list)
    pkg_annotations: list[str] = field(default_factory=list)
    pkg_info: dict[str, str] = field(default_factory=dict)
    error_names: list[str] = field(default_factory=list)  # P4Info type_info.error

    def add_action(self, action: CpAction) -> None:
        if all(a.name != action.name for a in self.actions):
            self.actions.append(action)
