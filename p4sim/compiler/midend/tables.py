"""Tables, their actions and the extern instances they use (BMv2 + P4Info)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from p4sim.compiler import ast
from p4sim.compiler import types as t
from p4sim.compiler.diagnostics import Diagnostic
from p4sim.compiler.loops import clone_statement
from p4sim.compiler.midend.bmv2_sections import Pipeline, hex_json, hexstr
from p4sim.compiler.midend.context import LoweringContext, source_info
from p4sim.compiler.midend.control_plane import (
    CpAction,
    CpActionProfile,
    CpActionRef,
    CpCounter,
    CpDoc,
    CpMatchField,
    CpMeter,
    CpParam,
    CpRegister,
    CpTable,
    named_type,
    translated_width,
)
from p4sim.compiler.midend.errors import LoweringError
from p4sim.compiler.midend.expressions import VALID_FIELD, bit_width
from p4sim.compiler.midend.locations import ExternLoc, FieldLoc, HeaderLoc, ValueLoc
from p4sim.compiler.midend.resets import out_header_resets
from p4sim.compiler.midend.scope import Scope, control_plane_name
from p4sim.compiler.midend.statements import BodyLowering
from p4sim.compiler.source_text import expression_text, p4info_annotations
from p4sim.compiler.stack_indexes import expand_statement, has_runtime_index

Json = Any

DEFAULT_TABLE_SIZE = 1024


def explicit_id(node: ast.Annotated) -> int | None:
    """The value of an ``@id(N)`` annotation, if any."""
    annotation = node.annotation("id")
    if annotation is None or not annotation.args:
        return None
    value = annotation.args[0]
    if isinstance(value, ast.IntLiteral):
        return value.value
    raise LoweringError(annotation, "@id should be an unsigned integer")


def _doc(node: ast.Annotated) -> CpDoc | None:
    """``@brief``/``@description`` texts (P4Info ``doc``)."""
    texts: dict[str, str] = {}
    for name in ("brief", "description"):
        annotation = node.annotation(name)
        if annotation is not None and annotation.args and \
                isinstance(annotation.args[0], ast.StringLiteral):
            texts[name] = annotation.args[0].value
    if not texts:
        return None
    return CpDoc(texts.get("brief"), texts.get("description"))


def _const_int(ctx: LoweringContext, e: ast.Expression | None, what: str) -> int:
    if e is None:
        raise LoweringError(None, f"missing {what}")
    value = ctx.expr.const_int(e)
    if value is None:
        raise LoweringError(e, f"{what} must be a compile-time constant")
    return value


def _enum_name(e: ast.Expression) -> str:
    value = e.const_value
    if isinstance(value, ast.EnumValue):
        return value.member
    if isinstance(e, ast.Member):
        return e.member
    raise LoweringError(e, "expected an enum constant")


def key_name(e: ast.Expression) -> str:
    """p4c's default control-plane name of a key (frontends/p4/tableKeyNames): the
    source text, with ``h.isValid()`` as ``h.$valid$``; other expressions need @name."""
    if isinstance(e, ast.MethodCall) and e.builtin == "isValid" and \
            isinstance(e.method, ast.Member):
        return f"{key_name(e.method.expr)}.$valid$"
    if isinstance(e, ast.PathExpression | ast.IntLiteral | ast.BoolLiteral):
        return expression_text(e)
    if isinstance(e, ast.Member):
        return f"{key_name(e.expr)}.{e.member}"
    if isinstance(e, ast.ArrayIndex):
        return f"{key_name(e.expr)}[{key_name(e.index)}]"
    if isinstance(e, ast.Slice):
        return f"{key_name(e.expr)}[{expression_text(e.hi)}:{expression_text(e.lo)}]"
    if isinstance(e, ast.BinaryOp) and e.op == "&" and (
            isinstance(e.right, ast.IntLiteral) or isinstance(e.left, ast.IntLiteral)):
        return f"{key_name(e.left)} & {key_name(e.right)}"
    raise LoweringError(e, f"{expression_text(e)}: Complex key expression requires a @name "
                           "annotation")


# P4Runtime sizing annotations of action selectors, written as ActionProfile fields
_SELECTOR_SIZING = {"max_group_size", "selector_size_semantics", "max_member_weight"}


def _selector_sizing(profile: CpActionProfile, annotations: list[ast.Annotation]) -> None:
    """``@max_group_size``, ``@selector_size_semantics`` and ``@max_member_weight`` as p4c
    reads them; P4Runtime's default semantics (sum of weights) is written explicitly."""
    profile.size_semantics = "sum_of_weights"
    for a in annotations:
        arg = a.args[0] if a.args else None
        if a.name == "max_group_size" and isinstance(arg, ast.IntLiteral):
            profile.max_group_size = arg.value
        elif a.name == "max_member_weight" and isinstance(arg, ast.IntLiteral):
            profile.max_member_weight = arg.value
        elif a.name == "selector_size_semantics" and isinstance(arg, ast.StringLiteral):
            profile.size_semantics = arg.value.lower()
    if profile.size_semantics != "sum_of_members":
        profile.size_semantics = "sum_of_weights"
        profile.max_member_weight = 0


def _insert_after(target: dict[str, Any], after: str, key: str, value: Any) -> None:
    """Insert ``key`` right after ``after`` (JSON key order as p4c writes it)."""
    items = list(target.items())
    position = next(i for i, (k, _) in enumerate(items) if k == after) + 1
    items.insert(position, (key, value))
    target.clear()
    target.update(items)


def _ref_arguments(ref: ast.ActionRef | None) -> list[ast.Expression | None]:
    """Arguments of an action reference in parameter order (None where not given)."""
    if ref is None:
        return []
    if isinstance(ref.expr, ast.MethodCall) and ref.expr.ordered_args is not None:
        return list(ref.expr.ordered_args)
    return [a.value for a in ref.args]


def synthesized_action_base(node: ast.Node) -> str:
    """p4c names a compiler-made action after its source position: ``<file>l<line>``."""
    stem = Path(node.pos.file).name
    stem = stem[:-3] if stem.endswith(".p4") else stem
    stem = re.sub(r"[^A-Za-z0-9_]", "_", stem) or "act"
    return f"{stem}l{node.pos.line}"


@dataclass
class _Key:
    json: Json
    width: int
    match_kind: str


@dataclass
class _Profile:
    name: str
    decl: ast.Node
    kind: str  # action_profile or action_selector
    args: list[ast.Expression]
    cp: CpActionProfile
    json: Json | None = None


class TableLowering:
    def __init__(self, ctx: LoweringContext, pipeline: Pipeline) -> None:
        self.ctx = ctx
        self.pipeline = pipeline
        self._tables: dict[str, Json] = {}
        self._table_actions: dict[str, dict[str, int]] = {}
        self._applied: set[str] = set()
        self._keys: dict[str, list[_Key]] = {}
        self._action_copies: dict[tuple[str, str], int] = {}
        # key expressions that are not plain fields: computed into temporaries
        # right before the table is applied (p4c's key simplification)
        self._key_setup: dict[str, list[tuple[FieldLoc, ast.Expression]]] = {}

    # ------------------------------------------------------------ externs

    def declare_extern(self, decl: ast.InstantiationDecl, name: str, ty: t.ExternType,
                       scope: Scope) -> None:
        ctx = self.ctx
        args = [a.value for a in decl.args]
        info = source_info(decl, decl.name)
        annotations = p4info_annotations(decl.annotations)
        decl_id = explicit_id(decl)
        kind = ty.name
        if kind == "counter":
            size = _const_int(ctx, args[0] if args else None, "counter size")
            unit = _enum_name(args[1]).upper() if len(args) > 1 else "BOTH"
            ctx.sections.counter_arrays.append({
                "name": name, "id": len(ctx.sections.counter_arrays), "source_info": info,
                "size": size, "is_direct": False})
            ctx.cp.counters.append(CpCounter(name, decl_id, annotations, _doc(decl), unit,
                                             size))
        elif kind == "direct_counter":
            unit = _enum_name(args[0]).upper() if args else "BOTH"
            ctx.cp.counters.append(CpCounter(name, decl_id, annotations, _doc(decl), unit,
                                             0, direct_table=""))
        elif kind == "meter":
            size = _const_int(ctx, args[0] if args else None, "meter size")
            unit = _enum_name(args[1]).upper() if len(args) > 1 else "BYTES"
            ctx.sections.meter_arrays.append({
                "name": name, "id": len(ctx.sections.meter_arrays), "source_info": info,
                "is_direct": False, "size": size, "rate_count": 2, "type": unit.lower()})
            ctx.cp.meters.append(CpMeter(name, decl_id, annotations, _doc(decl), unit, size))
        elif kind == "direct_meter":
            unit = _enum_name(args[0]).upper() if args else "BYTES"
            ctx.cp.meters.append(CpMeter(name, decl_id, annotations, _doc(decl), unit, 0,
                                         direct_table=""))
        elif kind == "register":
            size = _const_int(ctx, args[0] if args else None, "register size")
            element = ty.type_args[0] if ty.type_args else t.BitsType(32)
            width = bit_width(element)
            if width is None:
                raise LoweringError(decl, "register element type must be bit<W> or int<W>")
            ctx.sections.register_arrays.append({
                "name": name, "id": len(ctx.sections.register_arrays), "source_info": info,
                "size": size, "bitwidth": width})
            ctx.cp.registers.append(CpRegister(name, decl_id, annotations, _doc(decl),
                                               element, size))
        elif kind in ("action_profile", "action_selector"):
            annotations = p4info_annotations([a for a in decl.annotations
                                              if a.name not in _SELECTOR_SIZING])
            cp = CpActionProfile(name, decl_id, annotations, _doc(decl),
                                 with_selector=kind == "action_selector")
            ctx.cp.action_profiles.append(cp)
            scope.bind(decl, ValueLoc(_Profile(name, decl, kind, args, cp), ty))
        else:
            raise LoweringError(decl, f"extern {kind} is not supported in controls on this "
                                      "target")

    # ------------------------------------------------------------ actions

    def lower_action(self, decl: ast.ActionDecl, scope: Scope, for_table: bool,
                     owner: str, ref: ast.ActionRef | None = None,
                     constants: list[Json] | None = None) -> tuple[str, int]:
        """The BMv2 action for ``decl`` as used by ``owner`` (a table): like p4c, every
        table (and every direct call) gets its own copy, under the same name.
        Directional parameters are bound to the arguments given in ``ref`` (the
        table's action list entry); the others become runtime data, or, for a direct
        call, the call's ``constants`` (p4c specializes each such copy: no runtime
        data)."""
        ctx = self.ctx
        top_level = any(d is decl for d in ctx.program.declarations)
        declaring = Scope("") if top_level else scope
        name = control_plane_name(decl, declaring)
        ctx.action_decls.setdefault(name, decl)
        params = [self._cp_param(p) for p in decl.params if not p.direction]
        if for_table and decl.annotation("hidden") is None:
            ctx.cp.add_action(CpAction(name, explicit_id(decl),
                                       p4info_annotations(decl.annotations), _doc(decl),
                                       params))
        existing = self._action_copies.get((owner, name))
        if existing is not None:
            return name, existing
        inner = declaring.child()
        bound = _ref_arguments(ref)
        runtime_data: list[Json] = []
        directionless = 0
        for position, param in enumerate(decl.params):
            if param.direction:
                argument = bound[position] if position < len(bound) else None
                if argument is None:
                    raise LoweringError(ref or decl, f"{decl.name}: parameter {param.name} "
                                                     "must be bound in the actions list")
                inner.bind(param, ctx.expr.location(argument, scope))
                continue
            if constants is not None:
                inner.bind(param, ValueLoc(constants[directionless],
                                           param.type_ref.type or t.INT_LITERAL))
                directionless += 1
                continue
            width = bit_width(param.type_ref.type)
            assert width is not None
            inner.bind(param, ValueLoc({"type": "runtime_data", "value": len(runtime_data)},
                                       param.type_ref.type or t.INT_LITERAL))
            runtime_data.append({"name": param.name_annotation() or param.name,
                                 "bitwidth": width})
        primitives = BodyLowering(ctx).action_body(
            out_header_resets(decl.params, ref or decl) + list(decl.body.statements), inner)
        action_id = ctx.sections.add_action(name, runtime_data, primitives)
        self._action_copies[(owner, name)] = action_id
        return name, action_id

    @staticmethod
    def _cp_param(param: ast.Param) -> CpParam:
        if param.direction:
            raise LoweringError(param, f"{param.name}: actions with directional parameters "
                                       "cannot be used in tables")
        width = bit_width(param.type_ref.type)
        if width is None:
            raise LoweringError(param, f"{param.name}: action parameter type "
                                       f"{param.type_ref.type} is not supported")
        return CpParam(param.name_annotation() or param.name,
                       translated_width(param.type_ref.type, width), explicit_id(param),
                       p4info_annotations(param.annotations), named_type(param.type_ref.type),
                       _doc(param))

    def action_json_name(self, label: ast.Expression, scope: Scope) -> str:
        if isinstance(label, ast.PathExpression) and isinstance(label.decl, ast.ActionDecl):
            return self._action_name(label.decl, scope)
        raise LoweringError(label, "switch label must be an action name")

    def _action_name(self, decl: ast.ActionDecl, scope: Scope) -> str:
        top_level = any(d is decl for d in self.ctx.program.declarations)
        return control_plane_name(decl, Scope("") if top_level else scope)

    def _action_data(self, ref: ast.ActionRef, action: ast.ActionDecl) -> list[str]:
        data: list[str] = []
        args = _ref_arguments(ref)
        for param, arg in zip(action.params, args, strict=False):
            if arg is None or param.direction:
                continue
            value: int | None = self.ctx.expr.const_int(arg)
            constant = self.ctx.expr.constant(arg) if value is None else None
            if value is None and constant is not None and constant.get("type") == "hexstr":
                value = int(constant["value"], 16)
            if value is None:
                raise LoweringError(arg, "action arguments in tables must be compile-time "
                                         "constants")
            width = bit_width(param.type_ref.type) or 32
            data.append(hex(value & ((1 << width) - 1)))  # p4c's stringRepr: no padding
        return data

    # ------------------------------------------------------------ tables

    def declare(self, decl: ast.TableDecl, scope: Scope) -> None:
        ctx = self.ctx
        name = control_plane_name(decl, scope)
        if name in self._tables:
            raise LoweringError(decl, f"table {name} is instantiated more than once")
        keys, selector_inputs, cp_fields = self._keys_of(decl, scope, name)
        self._keys[name] = keys
        kinds = {k.match_kind for k in keys}
        match_type = "range" if "range" in kinds else "ternary" if kinds & {
            "ternary", "optional"} else "lpm" if "lpm" in kinds else "exact"
        size = _const_int(ctx, decl.size, "table size") if decl.size is not None \
            else DEFAULT_TABLE_SIZE
        size = size or DEFAULT_TABLE_SIZE  # p4c: size 0 means the default size
        cp = CpTable(name, explicit_id(decl), p4info_annotations(decl.annotations),
                     _doc(decl), cp_fields, size=size)
        hidden = decl.annotation("hidden") is not None
        table: Json = {"name": name, "id": ctx.sections.new_table_id(),
                       "source_info": source_info(decl, decl.name),
                       "key": [k.json for k in keys], "match_type": match_type,
                       "type": "simple", "max_size": size, "with_counters": False,
                       "support_timeout": False, "direct_meters": None,
                       "action_ids": [], "actions": [], "base_default_next": None,
                       "next_tables": {}, "default_entry": {}}
        self._implementation(decl, table, cp, scope, selector_inputs)
        self._direct_resources(decl, table, cp, scope, size)
        refs = list(decl.actions)
        default_ref = decl.default_action
        if default_ref is None:
            no_action = self._no_action(decl)
            default_ref = ast.ActionRef(pos=decl.pos, expr=ast.PathExpression(
                pos=decl.pos, name="NoAction", decl=no_action))
            if all(r.action_path.decl is not no_action for r in refs):
                refs.append(ast.ActionRef(pos=decl.pos, expr=default_ref.expr,
                                          annotations=[ast.Annotation(pos=decl.pos,
                                                                      name="defaultonly")]))
        by_name: dict[str, int] = {}
        for ref in refs:
            action = ref.action_path.decl
            if not isinstance(action, ast.ActionDecl):
                raise LoweringError(ref, f"{ref.action_path.name} is not an action")
            action_name, action_id = self.lower_action(action, scope, not hidden, name, ref)
            if action_name not in by_name:
                table["actions"].append(action_name)
                table["action_ids"].append(action_id)
                table["next_tables"][action_name] = None
                by_name[action_name] = action_id
            scope_kind = "TABLE_AND_DEFAULT"
            if ref.annotation("defaultonly") is not None:
                scope_kind = "DEFAULT_ONLY"
            elif ref.annotation("tableonly") is not None:
                scope_kind = "TABLE_ONLY"
            cp.action_refs.append(CpActionRef(action_name, scope_kind,
                                              p4info_annotations(ref.annotations)))
        self._table_actions[name] = by_name
        default_action = default_ref.action_path.decl
        if not isinstance(default_action, ast.ActionDecl):
            raise LoweringError(default_ref, "default_action must be an action")
        default_name, default_id = self.lower_action(default_action, scope, False, name,
                                                     default_ref)
        if default_name not in by_name:
            raise LoweringError(default_ref, f"default action {default_name} is not in the "
                                             f"actions list of table {name}")
        if decl.default_action_const:
            cp.const_default_action = default_name
        # current p4c writes initial_default_action for const defaults too
        cp.initial_default_action = (default_name, [
                (index + 1, int(value, 16).to_bytes(
                    max(1, ((bit_width(param.type_ref.type) or 8) + 7) // 8), "big"))
                for index, (param, value) in enumerate(zip(
                    default_action.params, self._action_data(default_ref, default_action),
                    strict=False))])
        if table["type"] == "simple":  # p4c: action profiles take no default entry
            table["default_entry"] = {"action_id": default_id,
                                      "action_const": decl.default_action_const,
                                      "action_data": self._action_data(default_ref,
                                                                       default_action),
                                      "action_entry_const": decl.default_action_const}
        else:
            del table["default_entry"]
        if decl.support_timeout is not None:
            timeout = decl.support_timeout.const_value
            table["support_timeout"] = bool(timeout)
            cp.support_timeout = bool(timeout)
        if decl.entries is not None and table["type"] == "simple":
            priorities = self._entry_priorities(decl)
            table["entries"] = [self._entry(e, keys, scope, by_name, decl, priority)
                                for e, priority in zip(decl.entries, priorities, strict=True)]
            cp.is_const = decl.entries_const
            cp.has_initial_entries = True
        self._tables[name] = table
        self.pipeline.tables.append(table)
        if not hidden:
            ctx.cp.tables.append(cp)

    def _no_action(self, decl: ast.TableDecl) -> ast.ActionDecl:
        for d in self.ctx.program.declarations:
            if isinstance(d, ast.ActionDecl) and d.name == "NoAction":
                return d
        raise LoweringError(decl, "NoAction is not declared (include core.p4)")

    def _keys_of(self, decl: ast.TableDecl, scope: Scope, table_name: str
                 ) -> tuple[list[_Key], list[Json], list[CpMatchField]]:
        keys: list[_Key] = []
        selector_inputs: list[Json] = []
        cp_fields: list[CpMatchField] = []
        for element in decl.keys or []:
            kind = element.match_kind.name
            name = element.name_annotation() or key_name(element.expr)
            target, width, mask = self._key_target(element.expr, scope, table_name)
            if kind == "selector":
                selector_inputs.append({"type": "field", "value": target})
                continue
            # BMv2's loader knows no "optional" match type (P4Objects.cpp
            # match_name_to_match_type): p4c writes optional keys as ternary ones
            json_kind = "ternary" if kind == "optional" else kind
            keys.append(_Key({"match_type": json_kind, "name": name, "target": target,
                              "mask": mask}, width, kind))
            cp_fields.append(CpMatchField(name, translated_width(element.expr.type, width),
                                          kind, explicit_id(element),
                                          p4info_annotations(element.annotations),
                                          named_type(element.expr.type), _doc(element)))
        return keys, selector_inputs, cp_fields

    def _key_target(self, e: ast.Expression, scope: Scope,
                    table_name: str) -> tuple[list[str], int, str | None]:
        expr = self.ctx.expr
        if isinstance(e, ast.MethodCall) and e.builtin == "isValid":
            assert isinstance(e.method, ast.Member)
            loc = expr.location(e.method.expr, scope)
            if isinstance(loc, HeaderLoc):
                return [loc.name, VALID_FIELD], 1, None
        if isinstance(e, ast.BinaryOp) and e.op == "&":
            mask = expr.const_int(e.right)
            masked = e.left
            if mask is None:
                mask, masked = expr.const_int(e.left), e.right
            if mask is not None:
                target, masked_width, _ = self._key_target(masked, scope, table_name)
                return target, masked_width, hexstr(mask, masked_width)
        if isinstance(e, ast.PathExpression | ast.Member | ast.ArrayIndex):
            loc = expr.location(e, scope)
            if isinstance(loc, FieldLoc) and loc.element is None:
                field_width = bit_width(loc.type)
                if field_width is not None:
                    return [loc.header, loc.field], field_width, None
        key_width = bit_width(e.type)
        if key_width is None or e.type is None:
            raise LoweringError(e, f"{expression_text(e)}: table keys must have a bit<W>, "
                                   "int<W>, bool, enum or error type")
        temp = self.ctx.storage.scalar("key", e.type)
        self._key_setup.setdefault(table_name, []).append((temp, e))
        return [temp.header, temp.field], key_width, None

    def _implementation(self, decl: ast.TableDecl, table: Json, cp: CpTable, scope: Scope,
                        selector_inputs: list[Json]) -> None:
        impl = decl.implementation
        if impl is None:
            if selector_inputs:
                raise LoweringError(decl, "selector keys need an action_selector "
                                          "implementation")
            return
        ctx = self.ctx
        profile: _Profile | None = None
        if isinstance(impl, ast.PathExpression) and impl.decl is not None:
            loc = scope.lookup(impl.decl)
            if isinstance(loc, ValueLoc) and isinstance(loc.json_value, _Profile):
                profile = loc.json_value
        elif isinstance(impl, ast.ConstructorCall) and isinstance(impl.type, t.ExternType) \
                and impl.type.name in ("action_profile", "action_selector"):
            kind = impl.type.name
            profile_name = self._in_place_name(decl, cp.name, scope)
            annotations = decl.property_annotations.get("implementation", [])
            cp_profile = CpActionProfile(profile_name, None, p4info_annotations(
                [a for a in annotations if a.name not in _SELECTOR_SIZING]), None,
                with_selector=kind == "action_selector")
            ctx.cp.action_profiles.append(cp_profile)
            profile = _Profile(profile_name, impl, kind, [a.value for a in impl.args],
                               cp_profile)
        if profile is None:
            raise LoweringError(impl, "implementation must be an action_profile or "
                                      "action_selector instance")
        args = profile.args
        if profile.kind == "action_selector":
            size = _const_int(ctx, args[1] if len(args) > 1 else None, "selector size")
            algo = _enum_name(args[0]) if args else "crc16"
        else:
            size = _const_int(ctx, args[0] if args else None, "action profile size")
            algo = ""
        if profile.json is None:
            profile.json = {"name": profile.name, "id": ctx.sections.new_profile_id(),
                            "source_info": source_info(profile.decl, profile.name),
                            "max_size": size}
            if profile.kind == "action_selector":
                if not selector_inputs:
                    raise LoweringError(decl, "a table with an action_selector needs "
                                              "selector keys")
                profile.json["selector"] = {"algo": algo, "input": selector_inputs}
            self.pipeline.action_profiles.append(profile.json)
            profile.cp.size = size
            if profile.kind == "action_selector":
                _selector_sizing(profile.cp, profile.decl.annotations
                                 if isinstance(profile.decl, ast.Annotated)
                                 else decl.property_annotations.get("implementation", []))
        profile.cp.tables.append(cp.name)
        table["type"] = "indirect_ws" if profile.kind == "action_selector" else "indirect"
        _insert_after(table, "type", "action_profile", profile.name)  # p4c's key order
        cp.implementation = profile.name

    def _in_place_name(self, decl: ast.TableDecl, table_name: str, scope: Scope) -> str:
        """p4c names an in-place ``implementation = ...(...)`` after the property's
        ``@name``; without one the BMv2 JSON uses a fresh ``action_profile`` name and
        P4Info generation fails (recorded, reported when P4Info is requested)."""
        for annotation in decl.property_annotations.get("implementation", []):
            if annotation.name == "name" and annotation.args and \
                    isinstance(annotation.args[0], ast.StringLiteral):
                # a property's @name is not prefixed with the control's name
                return annotation.args[0].value.removeprefix(".")
        node = decl.implementation or decl
        self.ctx.p4info_errors.append(Diagnostic(
            node.pos.file, node.pos.line, node.pos.col,
            f"Table '{table_name}' has an anonymous table property 'implementation' with no "
            "name annotation, which is not supported by P4Runtime"))
        return self.ctx.sections.fresh_name("action_profile")

    def _direct_resources(self, decl: ast.TableDecl, table: Json, cp: CpTable, scope: Scope,
                          size: int) -> None:
        ctx = self.ctx
        if decl.counters is not None:
            counter = self._extern_ref(decl.counters, scope, "direct_counter")
            ctx.sections.counter_arrays.append({
                "name": counter.name, "id": len(ctx.sections.counter_arrays),
                "source_info": source_info(decl.counters, counter.name),
                "is_direct": True, "binding": cp.name})
            table["with_counters"] = True
            cp.direct_counter = counter.name
            for c in ctx.cp.counters:
                if c.name == counter.name:
                    c.direct_table = cp.name
        if decl.meters is not None:
            meter = self._extern_ref(decl.meters, scope, "direct_meter")
            cp_meter = next((m for m in ctx.cp.meters if m.name == meter.name), None)
            unit = cp_meter.unit.lower() if cp_meter is not None else "bytes"
            meter_json: Json = {"name": meter.name, "id": len(ctx.sections.meter_arrays),
                                "source_info": source_info(decl.meters, meter.name),
                                "is_direct": True, "rate_count": 2, "type": unit,
                                "size": size, "binding": cp.name}
            ctx.sections.meter_arrays.append(meter_json)
            ctx.meter_objects[meter.name] = meter_json
            table["direct_meters"] = meter.name
            cp.direct_meter = meter.name
            if cp_meter is not None:
                cp_meter.direct_table = cp.name

    def _extern_ref(self, e: ast.Expression, scope: Scope, kind: str) -> ExternLoc:
        if isinstance(e, ast.PathExpression) and e.decl is not None:
            loc = scope.lookup(e.decl)
            if isinstance(loc, ExternLoc) and loc.type.name == kind:
                return loc
        raise LoweringError(e, f"expected a {kind} instance")

    def _entry(self, entry: ast.TableEntry, keys: list[_Key], scope: Scope,
               actions: dict[str, int], decl: ast.TableDecl, priority: int) -> Json:
        keyset = entry.keyset
        values = list(keyset.elements) if isinstance(keyset, ast.ListExpression) and \
            len(keys) != 1 else [keyset]
        if len(keys) == 1 and isinstance(keyset, ast.ListExpression) and \
                len(keyset.elements) == 1:
            values = list(keyset.elements)
        if len(values) != len(keys):
            raise LoweringError(entry, f"entry has {len(values)} key values, table has "
                                       f"{len(keys)} keys")
        match_key = [self._entry_key(v, k) for v, k in zip(values, keys, strict=True)]
        action = entry.action.action_path.decl
        if not isinstance(action, ast.ActionDecl):
            raise LoweringError(entry, "entry action must be an action")
        action_name = self._action_name(action, scope)
        if action_name not in actions:
            raise LoweringError(entry, f"action {action_name} is not in the actions of "
                                       f"table {decl.name}")
        result: Json = {"source_info": source_info(entry, expression_text(entry.keyset)),
                        "match_key": match_key,
                        "action_entry": {"action_id": actions[action_name],
                                         "action_data": self._action_data(entry.action,
                                                                          action)},
                        "priority": priority}
        return result

    def _entry_priorities(self, decl: ast.TableDecl) -> list[int]:
        """BMv2 entry priorities (lower wins).  With ``priority = N`` entries the P4 rule
        applies: an entry without a priority takes the previous entry's, moved by
        ``priority_delta`` towards losing (down when ``largest_priority_wins``, the
        default; up otherwise); the P4 values are then mapped onto BMv2's lowest-wins
        order.  Otherwise p4c's BMv2 back end (control.cpp ``convertTableEntries``)
        writes an entry's ``@priority(N)`` annotation unchanged (lowest wins, as p4c's
        table-entries-priority-bmv2 test expects) and position + 1 for the others."""
        assert decl.entries is not None
        explicit = [self._explicit_priority(e) for e in decl.entries]
        if all(p is None for p in explicit):
            return [self._annotated_priority(e, index + 1)
                    for index, e in enumerate(decl.entries)]
        largest_wins = True
        delta = 1
        for prop in decl.other_properties:
            value = prop.value.const_value
            if prop.name == "largest_priority_wins" and isinstance(value, bool):
                largest_wins = value
            elif prop.name == "priority_delta" and isinstance(value, int) and \
                    not isinstance(value, bool):
                delta = value
        first_explicit = next(p for p in explicit if p is not None)
        leading = explicit.index(first_explicit)
        step = -delta if largest_wins else delta
        values: list[int] = []
        current = first_explicit - step * (leading + 1)  # leading implicit entries
        for priority in explicit:
            current = priority if priority is not None else current + step
            values.append(current)
        if largest_wins:
            highest = max(values)
            return [highest - value + 1 for value in values]
        lowest = min(values)
        return [value - lowest + 1 for value in values]

    def _annotated_priority(self, entry: ast.TableEntry, position: int) -> int:
        annotation = entry.annotation("priority")
        if annotation is None or not annotation.args:
            return position
        return self._priority_value(annotation.args[0])

    def _explicit_priority(self, entry: ast.TableEntry) -> int | None:
        if entry.priority is None:
            return None
        return self._priority_value(entry.priority)

    def _priority_value(self, expression: ast.Expression) -> int:
        value = self.ctx.expr.const_int(expression)
        if value is None and isinstance(expression, ast.IntLiteral):
            value = expression.value
        if value is None:
            raise LoweringError(expression, "entry priority must be a compile-time constant")
        return value

    def _entry_key(self, value: ast.Expression, key: _Key) -> Json:
        width = key.width
        full = (1 << width) - 1
        kind = key.json["match_type"]
        wildcard = isinstance(value, ast.DefaultExpression | ast.DontCare)
        expr = self.ctx.expr

        def const(e: ast.Expression) -> int:
            v = expr.const_int(e)
            if v is None:
                constant = expr.constant(e)
                if constant is not None and constant.get("type") == "hexstr":
                    return int(constant["value"], 16)
                raise LoweringError(e, "entry key values must be compile-time constants")
            return v & full

        if kind == "exact":
            if wildcard:
                raise LoweringError(value, "exact keys cannot be wildcards")
            return {"match_type": "exact", "key": hexstr(const(value), width)}
        if kind == "lpm":
            if wildcard:
                return {"match_type": "lpm", "key": hexstr(0, width), "prefix_length": 0}
            if isinstance(value, ast.MaskExpression):
                mask = const(value.mask)
                return {"match_type": "lpm", "key": hexstr(const(value.value) & mask, width),
                        "prefix_length": bin(mask).count("1")}
            return {"match_type": "lpm", "key": hexstr(const(value), width),
                    "prefix_length": width}
        if kind == "ternary":
            if wildcard:
                return {"match_type": "ternary", "key": hexstr(0, width),
                        "mask": hexstr(0, width)}
            if isinstance(value, ast.MaskExpression):
                mask = const(value.mask)
                return {"match_type": "ternary", "key": hexstr(const(value.value) & mask, width),
                        "mask": hexstr(mask, width)}
            return {"match_type": "ternary", "key": hexstr(const(value), width),
                    "mask": hexstr(full, width)}
        if kind == "range":
            if wildcard:
                return {"match_type": "range", "start": hexstr(0, width),
                        "end": hexstr(full, width)}
            if isinstance(value, ast.RangeExpression):
                return {"match_type": "range", "start": hexstr(const(value.low), width),
                        "end": hexstr(const(value.high), width)}
            return {"match_type": "range", "start": hexstr(const(value), width),
                    "end": hexstr(const(value), width)}
        raise LoweringError(value, f"match kind {key.match_kind} is not supported in entries")

    # ------------------------------------------------------------ application

    def unapplied(self) -> set[str]:
        return set(self._tables) - self._applied

    def key_setup(self, table: ast.TableDecl, scope: Scope, node: ast.Node
                  ) -> tuple[str, list[Any]] | None:
        """A synthesized table computing the table's non-field keys, if it has any."""
        setup = self._key_setup.get(control_plane_name(table, scope))
        if not setup:
            return None
        body = BodyLowering(self.ctx)
        for temp, expr in setup:
            if has_runtime_index(expr):  # as p4c's HSIndexContretizer after SimplifyKey
                decl = ast.VariableDecl(pos=expr.pos, name=temp.field,
                                        type_ref=ast.TypeRef(pos=expr.pos, type=expr.type))
                holder = ast.PathExpression(pos=expr.pos, name=temp.field, decl=decl,
                                            type=expr.type)
                inner = scope.child()
                inner.bind(decl, temp)
                assign = ast.AssignStatement(pos=expr.pos, lhs=holder,
                                             rhs=clone_statement(expr))
                body.statements(expand_statement(assign), inner)
                continue
            body.emit("assign", [temp.json(), self.ctx.expr.value(expr, scope)], node,
                      f"{temp.field} = {expression_text(expr)}")
        return self.synthesized(body.out, node)

    def _start_apply(self, table: ast.TableDecl, scope: Scope, node: ast.Node) -> Json:
        name = control_plane_name(table, scope)
        if name not in self._tables:
            raise LoweringError(node, f"table {name} is not declared in this control")
        if name in self._applied:
            raise LoweringError(node, f"table {name} is applied more than once; this target "
                                      "does not support that")
        self._applied.add(name)
        self.ctx.sections.cfg_numbers[name] = self.ctx.sections.cfg_node()
        return self._tables[name]

    def apply(self, table: ast.TableDecl, scope: Scope, node: ast.Node) -> Any:
        from p4sim.compiler.midend.control_flow import Fragment
        table_json = self._start_apply(table, scope, node)

        def set_next(value: str | None) -> None:
            for action in table_json["next_tables"]:
                table_json["next_tables"][action] = value
            table_json["base_default_next"] = value

        return Fragment(table_json["name"], [set_next])

    def apply_for_hit_miss(self, table: ast.TableDecl, scope: Scope,
                           node: ast.Node) -> tuple[str, Json]:
        table_json = self._start_apply(table, scope, node)
        table_json["next_tables"] = {"__HIT__": None, "__MISS__": None}
        return table_json["name"], table_json

    def apply_for_switch(self, table: ast.TableDecl, scope: Scope,
                         node: ast.Node) -> tuple[str, Json]:
        table_json = self._start_apply(table, scope, node)
        return table_json["name"], table_json

    def direct_action_call(self, call: ast.MethodCall, scope: Scope,
                           node: ast.Node) -> tuple[str, list[Any]]:
        """p4c's MoveActionsToTables: a hidden keyless table ``tbl_<action>`` whose
        const default entry runs the action with the call's arguments."""
        decl = call.callee
        assert isinstance(decl, ast.ActionDecl)
        table_name = self.ctx.sections.fresh_name(f"tbl_{decl.name}")
        data = self._action_data(ast.ActionRef(pos=call.pos, expr=call), decl)
        widths = [bit_width(p.type_ref.type) or 32 for p in decl.params if not p.direction]
        constants = [hex_json(int(value, 16), width) for value, width in zip(data, widths,
                                                                              strict=True)]
        action_name, action_id = self.lower_action(decl, scope, True, table_name,
                                                   constants=constants)
        return self._hidden_table(table_name, action_name, action_id, [], node)

    def _hidden_table(self, table_name: str, action_name: str, action_id: int,
                      data: list[str], node: ast.Node) -> tuple[str, list[Any]]:
        ctx = self.ctx
        ctx.sections.cfg_numbers[table_name] = ctx.sections.cfg_node()
        table: Json = {"name": table_name, "id": ctx.sections.new_table_id(),
                       "source_info": source_info(node, expression_text(node.call)
                                                  if isinstance(node, ast.MethodCallStatement)
                                                  else action_name),
                       "key": [], "match_type": "exact", "type": "simple",
                       "max_size": DEFAULT_TABLE_SIZE, "with_counters": False,
                       "support_timeout": False, "direct_meters": None,
                       "action_ids": [action_id], "actions": [action_name],
                       "base_default_next": None, "next_tables": {action_name: None},
                       "default_entry": {"action_id": action_id, "action_const": True,
                                         "action_data": data, "action_entry_const": True}}
        self.pipeline.tables.append(table)

        def set_next(value: str | None) -> None:
            table["next_tables"][action_name] = value
            table["base_default_next"] = value

        return table_name, [set_next]

    def synthesized(self, primitives: list[Json], node: ast.Node) -> tuple[str, list[Any]]:
        ctx = self.ctx
        action_name = ctx.sections.fresh_name(synthesized_action_base(node))
        action_id = ctx.sections.add_action(action_name, [], primitives)
        table_name = ctx.sections.fresh_name(f"tbl_{action_name}")
        return self._hidden_table(table_name, action_name, action_id, [], node)
