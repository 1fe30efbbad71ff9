"""Entry point of the midend: a checked V1Switch program to BMv2 + P4Info models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from p4sim.compiler import ast
from p4sim.compiler import types as t
from p4sim.compiler.diagnostics import Diagnostic
from p4sim.compiler.midend.bmv2_sections import Bmv2Sections, Pipeline
from p4sim.compiler.midend.context import LoweringContext, source_info
from p4sim.compiler.midend.control_flow import ControlLowering
from p4sim.compiler.midend.control_plane import (
    ControlPlaneModel,
    CpControllerHeader,
    CpParam,
    named_type,
    translated_width,
)
from p4sim.compiler.midend.errors import LoweringError
from p4sim.compiler.midend.expressions import bit_width, repr_type
from p4sim.compiler.midend.instances import bind_constructor_arguments, constructor_values
from p4sim.compiler.midend.locations import (
    ExternLoc,
    FieldLoc,
    HeaderLoc,
    Location,
    PacketLoc,
    StackLoc,
    StructLoc,
    UnionLoc,
)
from p4sim.compiler.midend.parser_lowering import ParserLowering
from p4sim.compiler.midend.scope import Scope, control_plane_name
from p4sim.compiler.midend.statements import BodyLowering
from p4sim.compiler.midend.storage import tuple_as_struct
from p4sim.compiler.midend.tables import TableLowering, explicit_id
from p4sim.compiler.midend.v1model_externs import calculation_inputs, enum_member
from p4sim.compiler.source_text import p4info_annotations, string_annotation

V1SWITCH_BLOCKS = ("parser", "verify_checksum", "ingress", "egress", "compute_checksum",
                   "deparser")
CHECKSUM_FUNCTIONS = {"verify_checksum": (True, False),
                      "verify_checksum_with_payload": (True, True),
                      "update_checksum": (False, False),
                      "update_checksum_with_payload": (False, True)}


@dataclass
class LoweredProgram:
    sections: Bmv2Sections
    control_plane: ControlPlaneModel
    p4info_errors: list[Diagnostic]


def lower_program(program: ast.Program) -> LoweredProgram:
    return _Lowering(program).run()


def _holds_headers(ty: t.StructType) -> bool:
    """Whether a struct (nested structs flattened, as p4c does) has a header or header
    stack field."""
    for _, field_type in ty.fields:
        rt = tuple_as_struct(repr_type(field_type))
        if isinstance(rt, t.HeaderType | t.StackType):
            return True
        if isinstance(rt, t.StructType) and _holds_headers(rt):
            return True
    return False


def _from_architecture(decl: ast.Node) -> bool:
    """Enums of core.p4/v1model.p4 are extern arguments, not BMv2 enums (as in p4c)."""
    return decl.pos.file.endswith(("v1model.p4", "core.p4"))


class _Lowering:
    def __init__(self, program: ast.Program) -> None:
        self.program = program
        self.ctx = LoweringContext.create(program)
        self.global_scope = Scope("")
        # the constructor arguments of the V1Switch blocks, by id of their declaration
        self._block_arguments: dict[int, list[ast.Expression | None]] = {}

    def run(self) -> LoweredProgram:
        self._codes()
        blocks = self._main_blocks()
        parser = blocks["parser"]
        controls = {role: decl for role, decl in blocks.items()
                    if isinstance(decl, ast.ControlDecl)}
        assert isinstance(parser, ast.ParserDecl) and len(controls) == 5
        hdr, meta, standard_metadata = self._interface_storage(parser)
        metadata_scalars = len(self.ctx.sections.scalar_fields)
        self._top_level_externs()
        self._parser(parser, hdr, meta, standard_metadata)
        self._checksums(controls["verify_checksum"], hdr, meta, verify=True)
        self._pipeline("ingress", controls["ingress"], hdr, meta, standard_metadata)
        self._pipeline("egress", controls["egress"], hdr, meta, standard_metadata)
        self._checksums(controls["compute_checksum"], hdr, meta, verify=False)
        self._deparser(controls["deparser"], hdr)
        self._controller_headers()
        self._finish_scalars(metadata_scalars)
        return LoweredProgram(self.ctx.sections, self.ctx.cp, self.ctx.p4info_errors)

    # ------------------------------------------------------------ codes

    def _codes(self) -> None:
        codes = self.ctx.codes
        sections = self.ctx.sections
        for decl in self.program.declarations:
            if isinstance(decl, ast.ErrorDecl):
                for member in decl.members:
                    if member.name not in codes.errors:
                        # p4c: errorCodesMap[m] = errorCodesMap.size(), which C++17's
                        # right-to-left assignment evaluation makes 0-based
                        codes.errors[member.name] = len(codes.errors)
                        sections.errors.append((member.name, codes.errors[member.name]))
                        self.ctx.cp.error_names.append(member.name)
            elif isinstance(decl, ast.EnumDecl) and decl.underlying is None and \
                    not _from_architecture(decl):
                values = {m.name: index for index, m in enumerate(decl.members)}
                codes.enums[decl.name] = values
                sections.enums.append({"name": decl.name,
                                       "entries": [[m, v] for m, v in values.items()]})

    def _top_level_externs(self) -> None:
        """Extern instances declared outside any control (named without a prefix)."""
        declarer = TableLowering(self.ctx, Pipeline("", None))
        for decl in self.program.declarations:
            if isinstance(decl, ast.InstantiationDecl) and decl.name != "main" and \
                    isinstance(decl.type, t.ExternType):
                declarer.declare_extern(decl, control_plane_name(decl, self.global_scope),
                                        decl.type, self.global_scope)
                if self.global_scope.lookup(decl) is None:
                    self.global_scope.bind(decl, ExternLoc(control_plane_name(
                        decl, self.global_scope), decl.type, decl))

    def _controller_headers(self) -> None:
        """``@controller_header`` types become P4Info controller_packet_metadata; as in
        p4c the id is hashed from the type name while the preamble uses the annotation."""
        for decl in self.program.declarations:
            if not isinstance(decl, ast.HeaderDecl) or decl.annotation("hidden") is not None:
                continue
            controller_name = string_annotation(decl.annotations, "controller_header")
            if controller_name is None or not isinstance(decl.type, t.HeaderType):
                continue
            fields: list[CpParam] = []
            for field_decl in decl.fields:
                if field_decl.annotation("hidden") is not None:
                    continue
                field_type = decl.type.field_type(field_decl.name)
                width = bit_width(field_type)
                if width is None:
                    raise LoweringError(field_decl, "controller header fields must be bit<W>")
                fields.append(CpParam(field_decl.name, translated_width(field_type, width),
                                      explicit_id(field_decl),
                                      p4info_annotations(field_decl.annotations),
                                      named_type(field_type)))
            self.ctx.cp.controller_headers.append(CpControllerHeader(
                controller_name, explicit_id(decl), p4info_annotations(decl.annotations),
                None, fields, symbol_name=decl.name_annotation() or decl.name))

    # ------------------------------------------------------------ main

    def _main_blocks(self) -> dict[str, ast.ParserDecl | ast.ControlDecl]:
        main = next((d for d in self.program.declarations
                     if isinstance(d, ast.InstantiationDecl) and d.name == "main"), None)
        if main is None:
            raise LoweringError(None, "program does not declare a 'main' package instance")
        package = main.type_ref.name if isinstance(main.type_ref, ast.NamedTypeRef) else ""
        if package != "V1Switch":
            raise LoweringError(main, f"main must be a V1Switch package for the v1model "
                                      f"architecture, not {package or 'this type'}")
        self._pkg_info(main)
        if len(main.args) != len(V1SWITCH_BLOCKS):
            raise LoweringError(main, f"V1Switch expects {len(V1SWITCH_BLOCKS)} arguments")
        blocks: dict[str, ast.ParserDecl | ast.ControlDecl] = {}
        for role, arg in zip(V1SWITCH_BLOCKS, self._package_arguments(main), strict=True):
            decl = self._block_decl(arg.value)
            instance = arg.value.decl if isinstance(arg.value, ast.PathExpression) else \
                arg.value
            if isinstance(instance, ast.InstantiationDecl | ast.ConstructorCall):
                self._block_arguments[id(decl)] = constructor_values(instance)
            expected = ast.ParserDecl if role == "parser" else ast.ControlDecl
            if not isinstance(decl, expected):
                raise LoweringError(arg.value, f"V1Switch {role} argument has the wrong kind")
            blocks[role] = decl
        return blocks

    def _package_arguments(self, main: ast.InstantiationDecl) -> list[ast.Argument]:
        """The V1Switch arguments in parameter order (arguments may be named)."""
        if not any(arg.name for arg in main.args):
            return list(main.args)
        package = self.program.find("V1Switch")
        if not isinstance(package, ast.PackageTypeDecl):
            raise LoweringError(main, "V1Switch is not declared (include v1model.p4)")
        by_name = {arg.name: arg for arg in main.args}
        ordered: list[ast.Argument] = []
        for param in package.params:
            if param.name not in by_name:
                raise LoweringError(main, f"missing V1Switch argument {param.name}")
            ordered.append(by_name[param.name])
        return ordered

    def _pkg_info(self, main: ast.InstantiationDecl) -> None:
        """P4Info ``pkg_info`` from ``@pkginfo(key=value, ...)`` and the other
        annotations of the main package instance."""
        cp = self.ctx.cp
        for annotation in main.annotations:
            if annotation.name != "pkginfo":
                continue
            for key, value in annotation.kv:
                if key not in ("name", "version", "organization", "contact", "url", "arch"):
                    continue
                if not isinstance(value, ast.StringLiteral):
                    raise LoweringError(annotation, f"Value for '{key}' key in @pkginfo "
                                                    "annotation is not a string")
                cp.pkg_info[key] = value.value
        cp.pkg_annotations.extend(p4info_annotations(
            [a for a in main.annotations if a.name != "pkginfo"]))

    def _block_decl(self, e: ast.Expression) -> ast.Node | None:
        if isinstance(e, ast.ConstructorCall):
            if e.callee is not None and not isinstance(e.callee, ast.MethodDecl):
                return e.callee
            if isinstance(e.type_ref, ast.NamedTypeRef):
                return e.type_ref.decl or self.program.find(e.type_ref.name)
        if isinstance(e, ast.PathExpression) and isinstance(e.decl, ast.InstantiationDecl):
            inst = e.decl
            if inst.callee is not None:
                return inst.callee
            if isinstance(inst.type_ref, ast.NamedTypeRef):
                return inst.type_ref.decl or self.program.find(inst.type_ref.name)
        raise LoweringError(e, "V1Switch arguments must be parser/control instantiations")

    # ------------------------------------------------------------ storage

    def _interface_storage(self, parser: ast.ParserDecl
                           ) -> tuple[StructLoc, StructLoc, StructLoc]:
        sections = self.ctx.sections
        sections.add_header_type("scalars_0", sections.scalar_fields)
        sections.reserve_name("scalars")
        sm_decl = self.program.find("standard_metadata_t")
        if not isinstance(sm_decl, ast.StructDecl) or not isinstance(sm_decl.type,
                                                                      t.StructType):
            raise LoweringError(None, "standard_metadata_t is not declared (include v1model.p4)")
        self.ctx.storage.header_type(sm_decl.type, "standard_metadata")
        sections.add_header("scalars", "scalars_0", metadata=True)
        sections.add_header("standard_metadata", "standard_metadata", metadata=True)
        sections.reserve_name("standard_metadata")
        standard_metadata = StructLoc(sm_decl.type)
        for field_decl in sm_decl.fields:
            field_type = sm_decl.type.field_type(field_decl.name)
            assert field_type is not None
            standard_metadata.fields[field_decl.name] = FieldLoc("standard_metadata",
                                                                 field_decl.name, field_type)
            alias = string_annotation(field_decl.annotations, "alias")
            if alias is not None:
                sections.field_aliases.append([alias, ["standard_metadata", field_decl.name]])
        if len(parser.params) != 4:
            raise LoweringError(parser, "the V1Switch parser must have 4 parameters")
        hdr_type = repr_type(parser.params[1].type_ref.type)
        meta_type = repr_type(parser.params[2].type_ref.type)
        if not isinstance(hdr_type, t.StructType) or not isinstance(meta_type, t.StructType):
            raise LoweringError(parser, "V1Switch headers and metadata must be structs")
        return self._headers(hdr_type), self._metadata(meta_type), standard_metadata

    def _headers(self, ty: t.StructType) -> StructLoc:
        storage = self.ctx.storage
        loc = StructLoc(ty)
        for name, field_type in ty.fields:
            rt = repr_type(field_type)
            if isinstance(rt, t.HeaderType):
                loc.fields[name] = storage.header_instance(name, rt)
            elif isinstance(rt, t.StackType):
                loc.fields[name] = storage.stack(name, rt, getattr(ty, "decl", None))
            elif isinstance(rt, t.HeaderUnionType):
                loc.fields[name] = storage.union(name, rt)
            else:
                raise LoweringError(getattr(ty, "decl", None),
                                    f"{ty.name}.{name}: type should only contain headers, "
                                    "header stacks, or header unions")
        return loc

    def _metadata(self, ty: t.StructType) -> StructLoc:
        nested = any(isinstance(tuple_as_struct(repr_type(ft)), t.StructType)
                     for _, ft in ty.fields)
        counter = [0]
        decl = ty.decl if isinstance(ty.decl, ast.StructDecl) else None
        # p4c (HeaderConverter::isHeaders, on the canonical flattened type) converts a
        # metadata struct holding a header or a header stack like a headers struct: its
        # headers, stacks and unions are real (non-metadata) headers with validity
        as_headers = _holds_headers(ty)
        return self._metadata_struct(ty, ty.name, [], nested, counter, decl, as_headers)

    def _metadata_struct(self, ty: t.StructType, root_name: str, path: list[str],
                         flatten: bool, counter: list[int],
                         decl: ast.StructDecl | None, as_headers: bool) -> StructLoc:
        """User metadata fields become ``scalars`` fields named ``<Type>.<field>`` (or,
        when the struct nests structs, ``<Type>._<path>_<field><n>`` as p4c flattens)."""
        sections = self.ctx.sections
        loc = StructLoc(ty)
        field_decls = {f.name: f for f in decl.fields} if decl is not None else {}
        for name, field_type in ty.fields:
            rt = tuple_as_struct(repr_type(field_type))
            field_loc: Location
            if isinstance(rt, t.StructType):
                inner_decl = rt.decl if isinstance(rt.decl, ast.StructDecl) else None
                field_loc = self._metadata_struct(rt, root_name, path + [name], flatten,
                                                  counter, inner_decl, as_headers)
            elif isinstance(rt, t.HeaderType):
                type_name = self.ctx.storage.header_type(rt)
                header_name = sections.fresh_name(name)
                sections.add_header(header_name, type_name, metadata=False)
                field_loc = HeaderLoc(header_name, rt)
            elif isinstance(rt, t.StackType):
                field_loc = self.ctx.storage.stack(name, rt, getattr(ty, "decl", None))
            elif isinstance(rt, t.HeaderUnionType) and as_headers:
                field_loc = self.ctx.storage.union(name, rt)
            elif isinstance(rt, t.HeaderUnionType):
                raise LoweringError(getattr(ty, "decl", None),
                                    f"{ty.name}.{name}: header unions in metadata are not "
                                    "supported on this target")
            else:
                if bit_width(field_type) is None:
                    raise LoweringError(getattr(ty, "decl", None),
                                        f"{ty.name}.{name}: type {field_type} is not supported "
                                        "in metadata on this target")
                if flatten:
                    local_name = "_" + "_".join(path + [name]) + str(counter[0])
                    counter[0] += 1
                else:
                    local_name = name
                field_loc = self.ctx.storage.scalar(f"{root_name}.{local_name}", field_type)
                field_decl = field_decls.get(name)
                if field_decl is not None:
                    for annotation in field_decl.annotations:
                        if annotation.name == "field_list":
                            for arg in annotation.args:
                                index = self._annotation_int(arg)
                                if index is not None:
                                    self.ctx.field_lists.setdefault(index, []).append(
                                        field_loc.json())
            loc.fields[name] = field_loc
        return loc

    def _annotation_int(self, e: ast.Expression) -> int | None:
        """An integer annotation argument: a literal or a named top-level constant."""
        value = self.ctx.expr.const_int(e)
        if value is None and isinstance(e, ast.PathExpression):
            decl = e.decl if isinstance(e.decl, ast.ConstDecl) else self.program.find(e.name)
            if isinstance(decl, ast.ConstDecl):
                value = self.ctx.expr.const_int(decl.value)
        return value

    def _finish_scalars(self, metadata_scalars: int) -> None:
        """p4c's HeaderConverter adds the program's variables and temporaries to
        ``scalars`` before the user metadata fields; then pads to a byte."""
        sections = self.ctx.sections
        fields = sections.scalar_fields
        fields[:] = fields[metadata_scalars:] + fields[:metadata_scalars]
        total = sum(int(f[1]) for f in sections.scalar_fields)
        if total % 8:
            sections.scalar_fields.append([sections.fresh_name("_padding"), 8 - total % 8,
                                           False])

    def _bind_interface(self, params: list[ast.Param], scope: Scope,
                        locations: list[Location]) -> None:
        for param, loc in zip(params, locations, strict=False):
            scope.bind(param, loc)

    # ------------------------------------------------------------ blocks

    def _block_scope(self, block: ast.ParserDecl | ast.ControlDecl) -> Scope:
        """The scope of a V1Switch block, its constructor parameters bound."""
        scope = Scope(block.name, self.global_scope)
        if block.constructor_params:
            bind_constructor_arguments(self.ctx, block.constructor_params,
                                       self._block_arguments.get(id(block), []), scope,
                                       self.global_scope, block)
        return scope

    def _parser(self, parser: ast.ParserDecl, hdr: StructLoc, meta: StructLoc,
                standard_metadata: StructLoc) -> None:
        scope = self._block_scope(parser)
        self._bind_interface(parser.params, scope, [PacketLoc("packet_in"), hdr, meta,
                                                    standard_metadata])
        ParserLowering(self.ctx).lower(parser, scope)

    def _pipeline(self, name: str, control: ast.ControlDecl, hdr: StructLoc, meta: StructLoc,
                  standard_metadata: StructLoc) -> None:
        if len(control.params) != 3:
            raise LoweringError(control, f"the V1Switch {name} control must have 3 parameters")
        pipeline = Pipeline(name, source_info(control, control.name))
        self.ctx.sections.pipelines.append(pipeline)
        scope = self._block_scope(control)
        self._bind_interface(control.params, scope, [hdr, meta, standard_metadata])
        first_action = len(self.ctx.cp.actions)
        first_json_action = len(self.ctx.sections.actions)
        cp = self.ctx.cp
        lists: list[list[Any]] = [cp.tables, cp.counters, cp.meters, cp.registers,
                                  cp.action_profiles]
        firsts = [len(entities) for entities in lists]
        lowering = ControlLowering(self.ctx, pipeline)
        self.ctx.sections.cfg_node()  # p4c's entry and exit nodes of this control
        self.ctx.sections.cfg_node()
        fragment = lowering.instantiate(control, scope)
        for setter in fragment.exits:
            setter(None)
        pipeline.init_table = fragment.entry
        for first, entities in zip(firsts, lists, strict=True):
            self._order_by_declaration(entities, first, control)
        self._drop_unapplied_tables(pipeline, lowering.tables.unapplied())
        self._order_tables(pipeline)
        self._order_actions(first_action, control)
        self._order_json_actions(first_json_action, control, pipeline)

    @staticmethod
    def _order_by_declaration(entities: list[Any], first: int,
                              control: ast.ControlDecl) -> None:
        """p4c lists a control's tables/externs in declaration order, with an inlined
        sub-control's at the position of its instance declaration."""
        positions = {d.name_annotation() or d.name: index
                     for index, d in enumerate(control.locals)
                     if isinstance(d, ast.Declaration)}
        positions.update({d.name: index for index, d in enumerate(control.locals)
                          if isinstance(d, ast.Declaration)})
        prefix = control.name + "."

        def key(entity: Any) -> int:
            first_component = str(entity.name).removeprefix(prefix).split(".")[0]
            return positions.get(first_component, len(positions))

        entities[first:] = sorted(entities[first:], key=key)

    def _order_json_actions(self, first: int, control: ast.ControlDecl,
                            pipeline: Pipeline) -> None:
        """Number the control's BMv2 actions as p4c does: global actions (localized
        copies) first, then the control's actions in declaration order, then the
        compiler-synthesized ones; table references are renumbered to match."""
        actions = self.ctx.sections.actions
        local_index = {id(d): index for index, d in enumerate(control.locals)}
        top_level = {id(d) for d in self.program.declarations}

        def key(item: tuple[int, dict[str, object]]) -> tuple[int, int, int]:
            created, action = item
            decl = self.ctx.action_decls.get(str(action["name"]))
            if decl is None:
                return (2, 0, created)
            if id(decl) in top_level:
                return (0, 0, created)
            return (1, local_index.get(id(decl), len(local_index)), created)

        ordered = sorted(enumerate(actions[first:]), key=key)
        renumber = {int(action["id"]): first + position
                    for position, (_, action) in enumerate(ordered)}
        actions[first:] = [action for _, action in ordered]
        for action in actions[first:]:
            action["id"] = renumber[int(action["id"])]
        for table in pipeline.tables:
            table["action_ids"] = [renumber.get(i, i) for i in table["action_ids"]]
            default = table.get("default_entry")
            if default:
                default["action_id"] = renumber.get(default["action_id"],
                                                    default["action_id"])
            for entry in table.get("entries", []):
                action_entry = entry["action_entry"]
                action_entry["action_id"] = renumber.get(action_entry["action_id"],
                                                         action_entry["action_id"])

    def _order_tables(self, pipeline: Pipeline) -> None:
        """p4c emits and numbers a pipeline's tables in control-flow-graph order (ids
        continue across pipelines)."""
        numbers = self.ctx.sections.cfg_numbers
        pipeline.tables.sort(key=lambda table: numbers.get(str(table["name"]), -1))
        first_id = sum(len(p.tables) for p in self.ctx.sections.pipelines
                       if p is not pipeline)
        for index, table in enumerate(pipeline.tables):
            table["id"] = first_id + index

    def _drop_unapplied_tables(self, pipeline: Pipeline, unapplied: set[str]) -> None:
        """p4c removes tables that are never applied (and the actions only they use)."""
        if not unapplied:
            return
        pipeline.tables = [t for t in pipeline.tables if t["name"] not in unapplied]
        cp = self.ctx.cp
        cp.tables = [t for t in cp.tables if t.name not in unapplied]
        used = {ref.action for table in cp.tables for ref in table.action_refs}
        cp.actions = [a for a in cp.actions if a.name in used]
        for profile in cp.action_profiles:
            profile.tables = [name for name in profile.tables if name not in unapplied]

    def _order_actions(self, first: int, control: ast.ControlDecl) -> None:
        """p4c lists a control's actions as: used global actions first (they are
        localized at the top of the control), then its locals in declaration order,
        an inlined sub-control's actions at the position of its instance."""
        actions = self.ctx.cp.actions
        added = actions[first:]
        positions = {d.name: index for index, d in enumerate(control.locals)
                     if isinstance(d, ast.Declaration)}
        local_index = {id(d): index for index, d in enumerate(control.locals)}
        top_level = {id(d) for d in self.program.declarations}
        prefix = control.name + "."

        def key(action_name: str) -> tuple[int, int]:
            decl = self.ctx.action_decls.get(action_name)
            if decl is None or id(decl) in top_level:
                return (0, 0)
            if id(decl) in local_index:
                return (1, local_index[id(decl)])
            first_component = action_name.removeprefix(prefix).split(".")[0]
            return (1, positions.get(first_component, len(positions)))

        added.sort(key=lambda a: key(a.name))
        actions[first:] = added

    def _checksums(self, control: ast.ControlDecl, hdr: StructLoc, meta: StructLoc,
                   verify: bool) -> None:
        scope = self._block_scope(control)
        self._bind_interface(control.params, scope, [hdr, meta])
        for local in control.locals:
            raise LoweringError(local, "declarations in checksum controls are not supported on "
                                       "this target")
        self._checksum_statements(control.body.statements, scope, verify)

    def _checksum_statements(self, statements: list[ast.Node], scope: Scope,
                             verify: bool) -> None:
        ctx = self.ctx
        for s in statements:
            if isinstance(s, ast.BlockStatement):
                self._checksum_statements(s.statements, scope, verify)
                continue
            if isinstance(s, ast.EmptyStatement):
                continue
            call = s.call if isinstance(s, ast.MethodCallStatement) else None
            name = call.callee.name if call is not None and isinstance(
                call.callee, ast.ExternFunctionDecl) else None
            if call is None or name not in CHECKSUM_FUNCTIONS:
                raise LoweringError(s, "only verify_checksum/update_checksum calls are "
                                       "supported in checksum controls on this target")
            is_verify, with_payload = CHECKSUM_FUNCTIONS[name]
            if is_verify != verify:
                raise LoweringError(s, f"{name} is not allowed in this control")
            args = call.ordered_args if call.ordered_args is not None else \
                [a.value for a in call.args]
            if len(args) < 4 or any(a is None for a in args[:4]):
                raise LoweringError(call, f"{name} needs 4 arguments")
            condition, data, target, algo = (a for a in args[:4] if a is not None)
            inputs = calculation_inputs(BodyLowering(ctx), data, scope, s)
            if with_payload:
                inputs.append({"type": "payload", "value": None})
            info = source_info(s, name)
            calc = ctx.sections.add_calculation("calc", enum_member(algo), inputs, info)
            target_loc = ctx.expr.location(target, scope)
            if not isinstance(target_loc, FieldLoc):
                raise LoweringError(target, "checksum target must be a field")
            # p4c (simple_switch convertChecksum) always converts the condition, so
            # `true` is written {"type": "bool", "value": true}
            ctx.sections.checksums.append({
                "name": ctx.sections.fresh_name("cksum"), "id": len(ctx.sections.checksums),
                "source_info": info, "target": [target_loc.header, target_loc.field],
                "type": "generic", "calculation": calc, "verify": verify,
                "update": not verify, "if_cond": ctx.expr.condition(condition, scope)})

    def _deparser(self, control: ast.ControlDecl, hdr: StructLoc) -> None:
        scope = self._block_scope(control)
        self._bind_interface(control.params, scope, [PacketLoc("packet_out"), hdr])
        self.ctx.sections.deparser_source_info = source_info(control, control.name)
        self._emits(control.body.statements, scope)

    def _emits(self, statements: list[ast.Node], scope: Scope) -> None:
        for s in statements:
            if isinstance(s, ast.BlockStatement):
                self._emits(s.statements, scope)
                continue
            if isinstance(s, ast.EmptyStatement):
                continue
            call = s.call if isinstance(s, ast.MethodCallStatement) else None
            if call is None or not isinstance(call.method, ast.Member) or \
                    call.method.member != "emit" or not call.args:
                raise LoweringError(s, "only packet.emit calls are supported in the deparser "
                                       "on this target")
            self._emit_location(self.ctx.expr.location(call.args[0].value, scope), s)

    def _emit_location(self, loc: Location, node: ast.Node) -> None:
        order = self.ctx.sections.deparser_order
        if isinstance(loc, HeaderLoc):
            order.append(loc.name)
        elif isinstance(loc, StackLoc) and loc.unions:
            for union in loc.unions:
                self._emit_location(union, node)
        elif isinstance(loc, StackLoc):
            order.extend(loc.element_names)
        elif isinstance(loc, UnionLoc):
            order.extend(member.name for _, member in loc.members)
        elif isinstance(loc, StructLoc):
            for sub in loc.fields.values():
                self._emit_location(sub, node)
        else:
            raise LoweringError(node, "emit needs a header, stack, union or struct of headers")
