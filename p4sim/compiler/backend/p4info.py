"""Build the P4Info message from the control-plane model, as p4c's
``P4RuntimeSerializer`` with the v1model architecture handler does."""

from __future__ import annotations

from collections.abc import Sequence

from finsy.proto import p4i, p4t

from p4sim.compiler import types as t
from p4sim.compiler.backend.p4info_ids import ResourcePrefix, SymbolIds
from p4sim.compiler.midend.control_plane import (
    ControlPlaneModel,
    CpDoc,
    CpEntity,
    CpMatchField,
    CpParam,
    p4runtime_translation,
)

MATCH_TYPES = {"exact": p4i.MatchField.EXACT, "lpm": p4i.MatchField.LPM,
               "ternary": p4i.MatchField.TERNARY, "range": p4i.MatchField.RANGE,
               "optional": p4i.MatchField.OPTIONAL}
SCOPES = {"TABLE_AND_DEFAULT": p4i.ActionRef.TABLE_AND_DEFAULT,
          "TABLE_ONLY": p4i.ActionRef.TABLE_ONLY,
          "DEFAULT_ONLY": p4i.ActionRef.DEFAULT_ONLY}
COUNTER_UNITS = {"BYTES": p4i.CounterSpec.BYTES, "PACKETS": p4i.CounterSpec.PACKETS,
                 "BOTH": p4i.CounterSpec.BOTH, "PACKETS_AND_BYTES": p4i.CounterSpec.BOTH}
METER_UNITS = {"BYTES": p4i.MeterSpec.BYTES, "PACKETS": p4i.MeterSpec.PACKETS}


class P4InfoError(Exception):
    """The control-plane model cannot be expressed in P4Info (e.g. bad ``@id``)."""


def _field_ids(items: Sequence[CpParam | CpMatchField]) -> list[int]:
    """p4c's FieldIdAllocator: ``@id`` first, then 1, 2, ... skipping used ids."""
    used = {item.explicit_id for item in items if item.explicit_id is not None}
    if 0 in used:
        raise P4InfoError("0 is not a valid @id value")
    ids: list[int] = []
    index = 1
    for item in items:
        if item.explicit_id is not None:
            ids.append(item.explicit_id)
            index += 1
            continue
        while index in used:
            index += 1
        ids.append(index)
        used.add(index)
    return ids


class _Builder:
    def __init__(self, model: ControlPlaneModel) -> None:
        self.model = model
        self.ids = SymbolIds()
        self.info = p4i.P4Info()

    def _collect(self) -> None:
        m = self.model
        add = self.ids.add
        for table in m.tables:
            add(ResourcePrefix.TABLE, table.name, table.explicit_id)
        for action in m.actions:
            add(ResourcePrefix.ACTION, action.name, action.explicit_id)
        for table in m.tables:  # @hidden actions still get ids (p4c's symbol table)
            for ref in table.action_refs:
                add(ResourcePrefix.ACTION, ref.action)
        for profile in m.action_profiles:
            add(ResourcePrefix.ACTION_PROFILE, profile.name, profile.explicit_id)
        for counter in m.counters:
            kind = ResourcePrefix.COUNTER if counter.direct_table is None \
                else ResourcePrefix.DIRECT_COUNTER
            add(kind, counter.name, counter.explicit_id)
        for meter in m.meters:
            kind = ResourcePrefix.METER if meter.direct_table is None \
                else ResourcePrefix.DIRECT_METER
            add(kind, meter.name, meter.explicit_id)
        for register in m.registers:
            add(ResourcePrefix.REGISTER, register.name, register.explicit_id)
        for digest in m.digests:
            add(ResourcePrefix.DIGEST, digest.name, digest.explicit_id)
        for header in m.controller_headers:
            add(ResourcePrefix.CONTROLLER_HEADER, header.symbol_name, header.explicit_id)
        for value_set in m.value_sets:
            add(ResourcePrefix.VALUE_SET, value_set.name, value_set.explicit_id)
        self.ids.assign()

    @staticmethod
    def _doc(target: p4i.Documentation, doc: CpDoc | None) -> None:
        if doc is None:
            return
        if doc.brief is not None:
            target.brief = doc.brief
        if doc.description is not None:
            target.description = doc.description

    def _preamble(self, target: p4i.Preamble, kind: ResourcePrefix, entity: CpEntity,
                  alias: str | None = None, symbol: str | None = None) -> None:
        target.id = self.ids.id_of(kind, symbol or entity.name)
        target.name = entity.name
        target.alias = alias if alias is not None else self.ids.alias_of(entity.name)
        target.annotations.extend(entity.annotations)
        if entity.doc is not None:
            self._doc(target.doc, entity.doc)

    def build(self) -> p4i.P4Info:
        self._collect()
        info = self.info
        m = self.model
        info.pkg_info.arch = "v1model"
        for key, value in m.pkg_info.items():  # @pkginfo (may even override arch, as p4c)
            setattr(info.pkg_info, key, value)
        info.pkg_info.annotations.extend(m.pkg_annotations)
        for table in m.tables:
            out = info.tables.add()
            self._preamble(out.preamble, ResourcePrefix.TABLE, table)
            for field, field_id in zip(table.match_fields, _field_ids(table.match_fields),
                                       strict=True):
                match = out.match_fields.add()
                match.id = field_id
                match.name = field.name
                match.annotations.extend(field.annotations)
                if field.doc is not None:
                    self._doc(match.doc, field.doc)
                match.bitwidth = field.bitwidth
                if field.match_type in MATCH_TYPES:
                    match.match_type = MATCH_TYPES[field.match_type]
                else:
                    match.other_match_type = field.match_type
                if field.named_type is not None:
                    match.type_name.name = self._new_type(field.named_type)
            for ref in table.action_refs:
                action_ref = out.action_refs.add()
                action_ref.id = self.ids.id_of(ResourcePrefix.ACTION, ref.action)
                action_ref.annotations.extend(ref.annotations)
                action_ref.scope = SCOPES[ref.scope]
            if table.const_default_action is not None:
                out.const_default_action_id = self.ids.id_of(ResourcePrefix.ACTION,
                                                             table.const_default_action)
            if table.initial_default_action is not None:
                default_name, default_arguments = table.initial_default_action
                out.initial_default_action.action_id = self.ids.id_of(ResourcePrefix.ACTION,
                                                                      default_name)
                for param_id, encoded in default_arguments:
                    argument = out.initial_default_action.arguments.add()
                    argument.param_id = param_id
                    argument.value = encoded
            if table.implementation is not None:
                out.implementation_id = self.ids.id_of(ResourcePrefix.ACTION_PROFILE,
                                                       table.implementation)
            if table.direct_counter is not None:
                out.direct_resource_ids.append(self.ids.id_of(ResourcePrefix.DIRECT_COUNTER,
                                                              table.direct_counter))
            if table.direct_meter is not None:
                out.direct_resource_ids.append(self.ids.id_of(ResourcePrefix.DIRECT_METER,
                                                              table.direct_meter))
            out.size = table.size
            if table.support_timeout:
                out.idle_timeout_behavior = p4i.Table.NOTIFY_CONTROL
            if table.is_const:
                out.is_const_table = True
            if table.has_initial_entries:
                out.has_initial_entries = True
        for action in m.actions:
            out_action = info.actions.add()
            self._preamble(out_action.preamble, ResourcePrefix.ACTION, action)
            for param, param_id in zip(action.params, _field_ids(action.params), strict=True):
                p = out_action.params.add()
                p.id = param_id
                p.name = param.name
                p.annotations.extend(param.annotations)
                if param.doc is not None:
                    self._doc(p.doc, param.doc)
                p.bitwidth = param.bitwidth
                if param.named_type is not None:
                    p.type_name.name = self._new_type(param.named_type)
        for profile in m.action_profiles:
            out_profile = info.action_profiles.add()
            self._preamble(out_profile.preamble, ResourcePrefix.ACTION_PROFILE, profile)
            out_profile.table_ids.extend(self.ids.id_of(ResourcePrefix.TABLE, name)
                                         for name in profile.tables)
            out_profile.with_selector = profile.with_selector
            out_profile.size = profile.size
            if profile.max_group_size:
                out_profile.max_group_size = profile.max_group_size
            if profile.size_semantics == "sum_of_members":
                out_profile.sum_of_members.max_member_weight = profile.max_member_weight
            elif profile.size_semantics == "sum_of_weights":
                out_profile.sum_of_weights.SetInParent()
        for counter in m.counters:
            if counter.direct_table is None:
                out_counter = info.counters.add()
                self._preamble(out_counter.preamble, ResourcePrefix.COUNTER, counter)
                out_counter.spec.unit = COUNTER_UNITS[counter.unit]
                out_counter.size = counter.size
            else:
                out_direct = info.direct_counters.add()
                self._preamble(out_direct.preamble, ResourcePrefix.DIRECT_COUNTER, counter)
                out_direct.spec.unit = COUNTER_UNITS[counter.unit]
                if counter.direct_table:
                    out_direct.direct_table_id = self.ids.id_of(ResourcePrefix.TABLE,
                                                                counter.direct_table)
        for meter in m.meters:
            if meter.direct_table is None:
                out_meter = info.meters.add()
                self._preamble(out_meter.preamble, ResourcePrefix.METER, meter)
                out_meter.spec.unit = METER_UNITS[meter.unit]
                out_meter.size = meter.size
            else:
                out_dmeter = info.direct_meters.add()
                self._preamble(out_dmeter.preamble, ResourcePrefix.DIRECT_METER, meter)
                out_dmeter.spec.unit = METER_UNITS[meter.unit]
                if meter.direct_table:
                    out_dmeter.direct_table_id = self.ids.id_of(ResourcePrefix.TABLE,
                                                                meter.direct_table)
        for header in m.controller_headers:
            out_header = info.controller_packet_metadata.add()
            self._preamble(out_header.preamble, ResourcePrefix.CONTROLLER_HEADER, header,
                           alias=header.name, symbol=header.symbol_name)
            for header_field, field_id in zip(header.fields, _field_ids(header.fields),
                                              strict=True):
                md = out_header.metadata.add()
                md.id = field_id
                md.name = header_field.name
                md.annotations.extend(header_field.annotations)
                md.bitwidth = header_field.bitwidth
                if header_field.named_type is not None:
                    md.type_name.name = self._new_type(header_field.named_type)
        for value_set in m.value_sets:
            out_vs = info.value_sets.add()
            self._preamble(out_vs.preamble, ResourcePrefix.VALUE_SET, value_set)
            for match_field, field_id in zip(value_set.matches, _field_ids(value_set.matches),
                                             strict=True):
                vm = out_vs.match.add()
                vm.id = field_id
                if match_field.name:
                    vm.name = match_field.name
                vm.bitwidth = match_field.bitwidth
                vm.match_type = MATCH_TYPES.get(match_field.match_type, p4i.MatchField.EXACT)
            out_vs.size = value_set.size
        for register in m.registers:
            out_register = info.registers.add()
            self._preamble(out_register.preamble, ResourcePrefix.REGISTER, register)
            self._type_spec(out_register.type_spec, register.element_type)
            out_register.size = register.size
        for digest in m.digests:
            out_digest = info.digests.add()
            self._preamble(out_digest.preamble, ResourcePrefix.DIGEST, digest)
            self._type_spec(out_digest.type_spec, digest.data_type)
        info.type_info.SetInParent()  # p4c always sets it, empty or not
        return info

    def _new_type(self, ty: t.NewType) -> str:
        """Describe a ``type`` declaration in type_info (once); returns its name."""
        if ty.name not in self.info.type_info.new_types:
            spec = self.info.type_info.new_types[ty.name]
            translation = p4runtime_translation(ty)
            if translation is not None:
                uri, width = translation
                spec.translated_type.uri = uri
                if width:
                    spec.translated_type.sdn_bitwidth = width
                else:
                    spec.translated_type.sdn_string.SetInParent()
            else:
                # p4c describes a type of a type by the bits underneath (p4c sample
                # issue1739-bmv2: `type IPv4Address_t IPv4Address2_t` -> bit<32>)
                self._type_spec(spec.original_type, t.strip_newtype(ty.underlying))
        return ty.name

    def _type_spec(self, spec: p4t.P4DataTypeSpec, ty: t.P4Type) -> None:
        if isinstance(ty, t.NewType):
            spec.new_type.name = self._new_type(ty)
            return
        if isinstance(ty, t.SerEnumType):
            spec.serializable_enum.name = ty.name
            if ty.name not in self.info.type_info.serializable_enums:
                enum = self.info.type_info.serializable_enums[ty.name]
                enum.underlying_type.bitwidth = ty.underlying.width
                for member, value in ty.values:
                    m = enum.members.add()
                    m.name = member
                    m.value = value.to_bytes(max(1, (ty.underlying.width + 7) // 8), "big")
            return
        if isinstance(ty, t.BitsType):
            if ty.signed:
                spec.bitstring.int.bitwidth = ty.width
            else:
                spec.bitstring.bit.bitwidth = ty.width
        elif isinstance(ty, t.BoolType):
            spec.bool.SetInParent()
        elif isinstance(ty, t.ErrorType):
            spec.error.SetInParent()
            if not self.info.type_info.HasField("error"):
                self.info.type_info.error.members.extend(self.model.error_names)
        elif isinstance(ty, t.EnumType):  # a serializable enum was handled above
            spec.enum.name = ty.name
            if ty.name not in self.info.type_info.enums:
                enum = self.info.type_info.enums[ty.name]
                for member_name in ty.members:
                    enum.members.add().name = member_name
        elif isinstance(ty, t.HeaderType):
            spec.header.name = ty.name
            if ty.name not in self.info.type_info.headers:
                header = self.info.type_info.headers[ty.name]
                for name, field_type in ty.fields:
                    member = header.members.add()
                    member.name = name
                    rt = t.strip_newtype(field_type)
                    if isinstance(rt, t.BitsType):
                        if rt.signed:
                            member.type_spec.int.bitwidth = rt.width
                        else:
                            member.type_spec.bit.bitwidth = rt.width
        elif isinstance(ty, t.StructType):
            spec.struct.name = ty.name
            if ty.name not in self.info.type_info.structs:
                struct = self.info.type_info.structs[ty.name]
                for name, field_type in ty.fields:
                    member = struct.members.add()
                    member.name = name
                    self._type_spec(member.type_spec, field_type)
        elif isinstance(ty, t.TupleType):
            for element in ty.elements:
                self._type_spec(spec.tuple.members.add(), element)
        else:
            raise P4InfoError(f"type {ty} cannot be described in P4Info")


def build_p4info(model: ControlPlaneModel) -> p4i.P4Info:
    return _Builder(model).build()
