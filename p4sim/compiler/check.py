"""Name resolution, type checking/inference and constant folding of P4_16.

``check_program(program)`` annotates the AST in place (see ``ast.py`` for what
the backend can rely on) and returns the diagnostics; ``frontend.py`` raises
``CompileError`` when any of them is an error.  Rules follow the P4_16
specification (v1.2.4): declaration before use, lexical scopes with the ``.``
prefix for the top level, implicit conversion only of integer literals,
serializable enums (to their underlying type) and ``{...}`` initialisers (to
their context's struct/header/tuple), explicit casts as listed in the spec,
generics inferred by unification, constant folding (``folding.py``) with the
spec's wrap-around/saturation semantics, and p4c's front-end naming of table
keys.  Scopes are in ``scopes.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from p4sim.compiler import ast
from p4sim.compiler import types as t
from p4sim.compiler.diagnostics import Diagnostic
from p4sim.compiler.folding import fold, wrap
from p4sim.compiler.scopes import Scope
from p4sim.compiler.source_text import expression_text

ACCEPT_STATE = ast.ParserState(name="accept")
REJECT_STATE = ast.ParserState(name="reject")


# p4c's limit on bit<>/int<>/varbit<> widths (P4CConfiguration::MaximumWidthSupported)
MAX_WIDTH = 2048


class UnknownType(t.P4Type):
    """Type of an erroneous expression (suppresses follow-up errors)."""

    def __str__(self) -> str:
        return "<error>"


UNKNOWN = UnknownType()
HEADER_BUILTINS = {"isValid", "setValid", "setInvalid"}
SIZE_BUILTINS = {"minSizeInBits", "minSizeInBytes", "maxSizeInBits", "maxSizeInBytes"}


class _Abort(Exception):
    """Stops checking an expression after an error has been reported."""


@dataclass
class _Context:
    """What the statement being checked may do (return type, in action/parser)."""

    return_type: t.P4Type | None = None
    in_function: bool = False
    in_action: bool = False
    in_parser: bool = False
    in_loop: bool = False


@dataclass
class _Signature:
    """A callable's parameters after generic substitution."""

    params: list[ast.Param]
    types: list[t.P4Type]
    return_type: t.P4Type
    type_params: list[str] = field(default_factory=list)


def _is_optional(param: ast.Param) -> bool:
    return param.default is not None or param.annotation("optional") is not None


# ------------------------------------------------------------------ checker

class Checker:
    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.errors: list[str] = []
        self.error_members: dict[str, ast.DeclaredName] = {}
        self.match_kinds: dict[str, ast.DeclaredName] = {}
        self.constructor_params: set[int] = set()
        self.block_kind = "program"  # "parser", "control", "action" or "function" being checked
        self.top = Scope()

    # ------------------------------------------------------------ reports
    def error(self, node: ast.Node | ast.SourcePos, message: str) -> None:
        pos = node if isinstance(node, ast.SourcePos) else node.pos
        self.diagnostics.append(Diagnostic(pos.file, pos.line, pos.col, message))

    def warning(self, node: ast.Node, message: str) -> None:
        pos = node.pos
        self.diagnostics.append(Diagnostic(pos.file, pos.line, pos.col, message, "warning"))

    def fail(self, node: ast.Node, message: str) -> _Abort:
        self.error(node, message)
        return _Abort()

    # ----------------------------------------------------------- program
    def check_program(self, program: ast.Program) -> None:
        for decl in program.declarations:
            try:
                self.declaration(decl, self.top)
            except _Abort:
                pass
            except RecursionError:
                self.error(decl, f"{getattr(decl, 'name', type(decl).__name__)}: expressions "
                                 "nested too deeply")
            except (AttributeError, TypeError, KeyError, ValueError, AssertionError) as err:
                # A checker bug must not crash the compiler: report it like p4c's
                # "Compiler Bug" and keep going with the next declaration.
                self.error(decl, f"{getattr(decl, 'name', type(decl).__name__)}: compiler bug "
                                 f"while checking this declaration: {err!r}")
        for node in ast.walk(program):
            if isinstance(node, ast.Annotation):
                self.annotation_shape(node)
                self.annotation_literals(node)

    def annotation_shape(self, annotation: ast.Annotation) -> None:
        """Known annotations must have the arguments p4c and the backend expect."""
        args = annotation.args
        name = annotation.name
        if name in ("name", "controller_header"):
            if len(args) != 1 or not isinstance(args[0], ast.StringLiteral):
                self.error(annotation, f"@{name}: expected one string literal argument")
        elif name == "id":
            if len(args) != 1 or not isinstance(args[0], ast.IntLiteral):
                self.error(annotation, "@id: expected one integer literal argument")
        elif name in ("priority", "field_list"):
            # Compile-time constants, e.g. a top-level const (p4c evaluates them).
            if not args or (name == "priority" and len(args) != 1) or not all(
                    self.annotation_constant(a) for a in args):
                self.error(annotation, f"@{name}: expected compile-time integer constant "
                                       "arguments")

    def annotation_constant(self, e: ast.Expression) -> bool:
        try:
            self.expression(e, self.top)
        except _Abort:
            self.diagnostics.pop()  # reported below as a malformed annotation
            return False
        return isinstance(e.const_value, int) and not isinstance(e.const_value, bool)

    def annotation_literals(self, annotation: ast.Annotation) -> None:
        """Type and fold the literal arguments of annotations (names stay unresolved)."""
        values = list(annotation.args) + [v for _, v in annotation.kv]
        for value in values:
            for node in ast.walk(value):
                if isinstance(node, ast.Expression) and node.type is None and all(
                        isinstance(sub, ast.IntLiteral | ast.StringLiteral | ast.BoolLiteral
                                   | ast.UnaryOp | ast.BinaryOp) for sub in ast.walk(node)):
                    try:
                        self.expression(node, self.top)
                    except _Abort:
                        pass

    def declare(self, scope: Scope, name: str, node: ast.Node, overloadable: bool = False) -> None:
        existing = scope.names.get(name)
        if existing and not overloadable:
            self.error(node, f"{name}: Duplicate declaration of {name}")
            return
        if existing and overloadable and any(not self._is_overloadable(e) for e in existing):
            self.error(node, f"{name}: Duplicate declaration of {name}")
            return
        scope.declare(name, node)

    @staticmethod
    def _is_overloadable(node: ast.Node) -> bool:
        return isinstance(node, ast.ExternFunctionDecl | ast.FunctionDecl | ast.MethodDecl)

    def declaration(self, decl: ast.Node, scope: Scope) -> None:  # noqa: C901
        if isinstance(decl, ast.ErrorDecl):
            for member in decl.members:
                if member.name in self.error_members:
                    self.error(member, f"{member.name}: re-declaration of error.{member.name}")
                    continue
                self.error_members[member.name] = member
                self.errors.append(member.name)
        elif isinstance(decl, ast.MatchKindDecl):
            for member in decl.members:
                if member.name in self.match_kinds:
                    self.error(member, f"{member.name}: re-declaration of {member.name}")
                    continue
                self.match_kinds[member.name] = member
                self.declare(scope, member.name, member)
        elif isinstance(decl, ast.StructLikeDecl):
            self.declare(scope, decl.name, decl)
            self.struct_like(decl, scope)
        elif isinstance(decl, ast.EnumDecl):
            self.declare(scope, decl.name, decl)
            self.enum(decl, scope)
        elif isinstance(decl, ast.TypedefDecl):
            decl.type_ref.type = self.resolve_type(decl.type_ref, scope)
            self.declare(scope, decl.name, decl)
        elif isinstance(decl, ast.NewTypeDecl):
            underlying = self.resolve_type(decl.type_ref, scope)
            decl.type = t.NewType(decl.name, underlying, decl)
            self.declare(scope, decl.name, decl)
        elif isinstance(decl, ast.ConstDecl):
            self.const_decl(decl, scope)
        elif isinstance(decl, ast.VariableDecl):
            self.variable_decl(decl, scope)
        elif isinstance(decl, ast.ExternDecl):
            self.declare(scope, decl.name, decl)
            self.extern(decl, scope)
        elif isinstance(decl, ast.ExternFunctionDecl):
            self.declare(scope, decl.name, decl, overloadable=True)
            inner = self.generic_scope(scope, decl.type_params)
            decl.type = self.function_type(decl.return_type, decl.params, decl.type_params, inner)
        elif isinstance(decl, ast.FunctionDecl):
            self.declare(scope, decl.name, decl, overloadable=True)
            self.function(decl, scope)
        elif isinstance(decl, ast.ActionDecl):
            self.declare(scope, decl.name, decl)
            self.action(decl, scope)
        elif isinstance(decl, ast.ParserTypeDecl):  # parser/control/package types
            self.declare(scope, decl.name, decl)
            inner = self.generic_scope(scope, decl.type_params)
            params = self.params(decl.params, inner)
            cls = {ast.ControlTypeDecl: t.ControlType, ast.PackageTypeDecl: t.PackageType}.get(
                type(decl), t.ParserType)
            decl.type = cls(decl.name, params, tuple(p.name for p in decl.type_params), (),
                            decl)
        elif isinstance(decl, ast.ParserDecl):
            self.declare(scope, decl.name, decl)
            self.parser(decl, scope)
        elif isinstance(decl, ast.ControlDecl):
            self.declare(scope, decl.name, decl)
            self.control(decl, scope)
        elif isinstance(decl, ast.InstantiationDecl):
            self.instantiation(decl, scope)
            self.declare(scope, decl.name, decl)
        elif isinstance(decl, ast.TableDecl):
            self.declare(scope, decl.name, decl)
            self.table(decl, scope)
        elif isinstance(decl, ast.ValueSetDecl):
            element = self.resolve_type(decl.element_type, scope)
            self.const_int(decl.size, scope, "value_set size")
            decl.type = t.SetType(element)
            self.declare(scope, decl.name, decl)
        else:
            self.error(decl, f"{type(decl).__name__}: unsupported declaration here")

    # ------------------------------------------------------------- types
    def generic_scope(self, scope: Scope, type_params: Sequence[ast.TypeParam]) -> Scope:
        if not type_params:
            return scope
        inner = Scope(scope)
        for param in type_params:
            if param.name in inner.names:
                self.error(param, f"{param.name}: Duplicates declaration {param.name}")
            inner.declare(param.name, param)
        return inner

    def resolve_type(self, ref: ast.TypeRef, scope: Scope) -> t.P4Type:
        typ = self._resolve_type(ref, scope)
        ref.type = typ
        return typ

    def _resolve_type(self, ref: ast.TypeRef, scope: Scope) -> t.P4Type:  # noqa: C901
        if isinstance(ref, ast.BaseTypeRef):
            kind = ref.kind
            if kind in ("bit", "int", "varbit"):
                if ref.width is None:
                    return t.BitsType(1) if kind == "bit" else t.INT_LITERAL
                width = self.const_int(ref.width, scope, "width")
                if width is None:
                    return UNKNOWN
                if width > MAX_WIDTH:
                    self.error(ref.width, f"{width}: this implementation does not support "
                                          "bitstrings this large")
                    return UNKNOWN
                if kind == "varbit":
                    return t.VarbitType(width)
                if width < (1 if kind == "int" else 0):
                    self.error(ref, f"{kind}<{width}>: invalid width")
                    return UNKNOWN
                return t.BitsType(width, kind == "int")
            return {"bool": t.BOOL, "error": t.ERROR, "string": t.STRING, "void": t.VOID,
                    "match_kind": t.MATCH_KIND}[kind]
        if isinstance(ref, ast.DontCareTypeRef):
            return t.DONT_CARE
        if isinstance(ref, ast.TupleTypeRef):
            return t.TupleType(tuple(self.resolve_type(e, scope) for e in ref.elements))
        if isinstance(ref, ast.StackTypeRef):
            element = self.resolve_type(ref.element, scope)
            size = self.const_int(ref.size, scope, "header stack size")
            if size is None:
                return UNKNOWN
            if not isinstance(element, t.HeaderType | t.HeaderUnionType | t.TypeVar):
                # p4c also has arrays of other types (p4c sample array1: bit<8>[16])
                self.error(ref, f"{element}[{size}]: arrays of {element} are not supported by "
                                "p4sim (only header stacks: arrays of headers or header unions)")
            return t.StackType(element, size)
        assert isinstance(ref, ast.NamedTypeRef)
        found = (self.top if ref.top_level else scope).lookup(ref.name)
        if not found:
            self.error(ref, f"{ref.name}: declaration not found")
            return UNKNOWN
        decl = found[0]
        ref.decl = decl
        args = tuple(self.resolve_type(a, scope) for a in ref.type_args)
        return self.type_of_type_decl(decl, args, ref)

    def type_of_type_decl(self, decl: ast.Node, args: tuple[t.P4Type, ...],
                          ref: ast.Node) -> t.P4Type:
        if isinstance(decl, ast.TypeParam):
            return t.TypeVar(decl.name)
        if isinstance(decl, ast.TypedefDecl):
            return decl.type_ref.type or UNKNOWN
        if isinstance(decl, ast.StructLikeDecl | ast.EnumDecl | ast.NewTypeDecl):
            typ = decl.type or UNKNOWN
            if isinstance(decl, ast.StructLikeDecl) and decl.type_params and args:
                mapping = dict(zip((p.name for p in decl.type_params), args, strict=False))
                return self.substitute(typ, mapping)
            return typ
        if isinstance(decl, ast.ExternDecl):
            names = tuple(p.name for p in decl.type_params)
            if len(args) > len(names):
                self.error(ref, f"{decl.name}: expected {len(names)} type arguments, "
                                f"got {len(args)}")
            # Missing type arguments are inferred later, as p4c does ("_").
            padded = args + tuple(t.DONT_CARE for _ in names[len(args):])
            return t.ExternType(decl.name, names, padded, decl)
        if isinstance(decl, ast.ParserTypeDecl | ast.ParserDecl | ast.ControlDecl):
            base = decl.type
            if not isinstance(base, t.ParserType | t.ControlType | t.PackageType):
                return UNKNOWN
            if base.type_params and args:
                mapping = dict(zip(base.type_params, args, strict=False))
                params = tuple(t.ParamInfo(p.name, p.direction,
                                           self.substitute(p.type, mapping), p.has_default)
                               for p in base.params)
                return type(base)(base.name, params, base.type_params, args, decl)
            return base
        if isinstance(decl, ast.ErrorDecl):
            return t.ERROR
        self.error(ref, f"{getattr(decl, 'name', '?')}: is not a type")
        return UNKNOWN

    def substitute(self, typ: t.P4Type, mapping: dict[str, t.P4Type]) -> t.P4Type:
        if not mapping:
            return typ
        if isinstance(typ, t.TypeVar):
            bound = mapping.get(typ.name)
            return bound if bound is not None and not isinstance(bound, t.DontCareType) else typ
        if isinstance(typ, t.TupleType):
            return t.TupleType(tuple(self.substitute(e, mapping) for e in typ.elements))
        if isinstance(typ, t.StackType):
            return t.StackType(self.substitute(typ.element, mapping), typ.size)
        if isinstance(typ, t.StructLikeType) and any(
                self._mentions_typevar(ft) for _, ft in typ.fields):
            fields = tuple((n, self.substitute(ft, mapping)) for n, ft in typ.fields)
            return type(typ)(typ.name, fields, typ.decl)
        if isinstance(typ, t.ExternType) and typ.type_args:
            return t.ExternType(typ.name, typ.type_params,
                                tuple(self.substitute(a, mapping) for a in typ.type_args),
                                typ.decl)
        if isinstance(typ, t.ParserType | t.ControlType | t.PackageType):
            params = tuple(t.ParamInfo(p.name, p.direction, self.substitute(p.type, mapping),
                                       p.has_default) for p in typ.params)
            targs = tuple(self.substitute(a, mapping) for a in typ.type_args)
            return type(typ)(typ.name, params, typ.type_params, targs, typ.decl)
        return typ

    def _mentions_typevar(self, typ: t.P4Type) -> bool:
        if isinstance(typ, t.TypeVar):
            return True
        if isinstance(typ, t.TupleType):
            return any(self._mentions_typevar(e) for e in typ.elements)
        if isinstance(typ, t.StackType):
            return self._mentions_typevar(typ.element)
        return False

    def struct_like(self, decl: ast.StructLikeDecl, scope: Scope) -> None:
        inner = self.generic_scope(scope, decl.type_params)
        fields: list[tuple[str, t.P4Type]] = []
        seen: set[str] = set()
        varbits = 0
        for f in decl.fields:
            ftype = self.resolve_type(f.type_ref, inner)
            if f.name in seen:
                self.error(f, f"{f.name}: duplicate field name")
            seen.add(f.name)
            fields.append((f.name, ftype))
            if isinstance(decl, ast.HeaderDecl):
                base = t.strip_newtype(ftype)
                if isinstance(base, t.VarbitType):
                    varbits += 1
                elif not _header_field_type(base):
                    self.error(f, f"{f.name}: header fields must be bit<>, int<>, varbit<>, "
                                  f"bool, serializable enums or structs of them, not {ftype}")
            elif isinstance(decl, ast.HeaderUnionDecl) and not isinstance(
                    ftype, t.HeaderType | UnknownType):
                self.error(f, f"{f.name}: header union fields must be headers, not {ftype}")
        if varbits > 1:
            # p4c's front end accepts this; BMv2 JSON allows one variable-length field.
            self.error(decl, f"{decl.name}: headers with more than one varbit field are not "
                             "supported by p4sim (BMv2 allows one variable-length field)")
        cls = {ast.HeaderDecl: t.HeaderType, ast.HeaderUnionDecl: t.HeaderUnionType}.get(
            type(decl), t.StructType)
        decl.type = cls(decl.name, tuple(fields), decl)

    def enum(self, decl: ast.EnumDecl, scope: Scope) -> None:
        names = tuple(m.name for m in decl.members)
        if len(set(names)) != len(names):
            self.error(decl, f"{decl.name}: duplicate enum member")
        if decl.underlying is None:
            decl.type = t.EnumType(decl.name, names, decl)
            for member in decl.members:
                member.value = None
            return
        underlying = self.resolve_type(decl.underlying, scope)
        if not isinstance(underlying, t.BitsType):
            self.error(decl.underlying, f"{decl.name}: serializable enums need a bit<> or "
                                        f"int<> underlying type, not {underlying}")
            decl.type = t.EnumType(decl.name, names, decl)
            return
        values: list[tuple[str, int]] = []
        for member in decl.members:
            if member.value is None:
                self.error(member, f"{member.name}: serializable enum members need a value")
                continue
            value = self.const_int(member.value, scope, "enum member value", underlying)
            if isinstance(member.value.type, t.IntLiteralType):
                self.retype_literal(member.value, underlying)
            if value is not None:
                if wrap(value, underlying) != value:
                    self.error(member.value, f"{member.name}: value {value} does not fit in "
                                             f"{underlying}")
                values.append((member.name, wrap(value, underlying)))
        decl.type = t.SerEnumType(decl.name, names, decl, underlying, tuple(values))

    def params(self, params: Iterable[ast.Param], scope: Scope) -> tuple[t.ParamInfo, ...]:
        result = []
        seen: set[str] = set()
        for p in params:
            ptype = self.resolve_type(p.type_ref, scope)
            if p.name in seen:
                self.error(p, f"{p.name}: Duplicate declaration of {p.name}")
            seen.add(p.name)
            shadowed = scope.lookup(p.name)
            if shadowed and isinstance(shadowed[0], ast.TypeParam):
                self.error(p, f"{p.name}: Invalid {p.name}: Duplicated parameter name {p.name}")
            if p.default is not None and p.direction == "out":
                self.error(p, f"{p.name}: out parameters cannot have default values")
            elif p.default is not None and p.annotation("optional") is not None:
                self.error(p, f"{p.name}: optional parameters cannot have default values")
            if p.default is not None:
                try:
                    self.expression(p.default, scope, ptype)
                    self.convert(p.default, ptype, p.default, literal_to_enum=False)
                except _Abort:
                    pass
            result.append(t.ParamInfo(p.name, p.direction, ptype, _is_optional(p)))
        return tuple(result)

    def function_type(self, return_ref: ast.TypeRef | None, params: list[ast.Param],
                      type_params: list[ast.TypeParam], scope: Scope) -> t.FunctionType:
        ret = self.resolve_type(return_ref, scope) if return_ref is not None else t.VOID
        return t.FunctionType(ret, self.params(params, scope),
                              tuple(p.name for p in type_params))

    def extern(self, decl: ast.ExternDecl, scope: Scope) -> None:
        inner = self.generic_scope(scope, decl.type_params)
        inner.declare(decl.name, decl)
        decl.type = t.ExternType(decl.name, tuple(p.name for p in decl.type_params), (), decl)
        arities: set[tuple[str, int]] = set()
        for method in decl.methods:
            if not method.is_constructor:
                arity = (method.name, len(method.params))
                if arity in arities:
                    self.error(method, f"Ambiguous method {method.name} with "
                                       f"{len(method.params)} parameters")
                arities.add(arity)
            if method.is_constructor and method.name != decl.name:
                self.error(method, f"{method.name}: constructor name must be {decl.name}")
            elif not method.is_constructor and method.name == decl.name:
                self.error(method, f"{method.name}: Invalid {method.name}: Constructor cannot "
                                   "have a return type")
            method_scope = self.generic_scope(inner, method.type_params)
            method.type = self.function_type(method.return_type, method.params,
                                             method.type_params, method_scope)

    # ---------------------------------------------------- constant helpers
    def const_int(self, e: ast.Expression, scope: Scope, what: str,
                  expected: t.P4Type | None = None) -> int | None:
        try:
            self.expression(e, scope, expected)
        except _Abort:
            return None
        value = e.const_value
        if isinstance(value, bool) or not isinstance(value, int):
            if not self.uses_constructor_parameter(e):
                self.error(e, f"{what}: expected a compile-time integer constant")
            return None
        return value

    def compile_time_known(self, e: ast.Expression) -> bool:
        """A constant, or made of constructor parameters and directionless parameters.

        p4c requires such arguments for the directionless parameters of extern calls
        (TypeUnification::unifyCall); actions are exempt.  Directionless parameters of the
        enclosing action are accepted too (the lenient reading where p4c's rule is unclear).
        """
        if e.const_value is not None or isinstance(e.type, t.StringType):
            return True
        return all(isinstance(n.decl, ast.Param) and n.decl.direction == ""
                   for n in ast.walk(e) if isinstance(n, ast.PathExpression)) and \
            any(isinstance(n, ast.PathExpression) for n in ast.walk(e))

    def uses_constructor_parameter(self, e: ast.Expression) -> bool:
        """Constructor parameters are compile-time values known once instantiated."""
        return any(isinstance(n, ast.PathExpression) and id(n.decl) in self.constructor_params
                   for n in ast.walk(e))

    def const_decl(self, decl: ast.ConstDecl, scope: Scope) -> None:
        typ = self.resolve_type(decl.type_ref, scope)
        if any(isinstance(n, ast.DontCareTypeRef) for n in ast.walk(decl.type_ref)):
            self.error(decl, f"{decl.name}: the type of a constant cannot contain '_'")
        try:
            self.expression(decl.value, scope, typ)
            self.convert(decl.value, typ, decl.value, literal_to_enum=False)
            if decl.value.const_value is None:
                self.error(decl.value, f"{decl.name}: Cannot evaluate initializer to a "
                                       "compile-time constant")
        except _Abort:
            pass
        self.declare(scope, decl.name, decl)

    def variable_decl(self, decl: ast.VariableDecl, scope: Scope) -> None:
        typ = self.resolve_type(decl.type_ref, scope)
        if isinstance(typ, t.IntLiteralType | t.VoidType | t.ExternType):
            self.error(decl, f"{decl.name}: cannot declare variables of type {typ}")
        if decl.init is not None:
            try:
                self.expression(decl.init, scope, typ)
                self.convert(decl.init, typ, decl.init, literal_to_enum=False)
            except _Abort:
                pass
        self.declare(scope, decl.name, decl)

    # ------------------------------------------------- callables and blocks
    def declare_params(self, params: Iterable[ast.Param], scope: Scope) -> None:
        for p in params:
            self.declare(scope, p.name, p)

    @contextmanager
    def within(self, kind: str) -> Iterator[None]:
        saved, self.block_kind = self.block_kind, kind
        try:
            yield
        finally:
            self.block_kind = saved

    def function(self, decl: ast.FunctionDecl, scope: Scope) -> None:
        with self.within("function"):
            self._function(decl, scope)

    def _function(self, decl: ast.FunctionDecl, scope: Scope) -> None:
        inner = Scope(self.generic_scope(scope, decl.type_params))
        decl.type = self.function_type(decl.return_type, decl.params, decl.type_params, inner)
        self.declare_params(decl.params, inner)
        ctx = _Context(return_type=decl.type.return_type, in_function=True)
        self.block(decl.body, inner, ctx)
        if not isinstance(decl.type.return_type, t.VoidType) and \
                not self._always_returns(decl.body):
            self.error(decl, f"{decl.name}: function does not return a value on all paths")

    def _always_returns(self, stmt: ast.Node) -> bool:
        if isinstance(stmt, ast.ReturnStatement | ast.ExitStatement):
            return True
        if isinstance(stmt, ast.BlockStatement):
            return any(self._always_returns(s) for s in stmt.statements)
        if isinstance(stmt, ast.IfStatement):
            return stmt.otherwise is not None and self._always_returns(stmt.then) and \
                self._always_returns(stmt.otherwise)
        return False

    def action(self, decl: ast.ActionDecl, scope: Scope) -> None:
        with self.within("action"):
            self._action(decl, scope)

    def _action(self, decl: ast.ActionDecl, scope: Scope) -> None:
        inner = Scope(scope)
        params = self.params(decl.params, inner)
        seen_directionless = False
        for p, info in zip(decl.params, params, strict=True):
            if p.direction == "":
                seen_directionless = True
                if not isinstance(t.strip_newtype(info.type),
                                  t.BitsType | t.BoolType | t.SerEnumType | UnknownType):
                    self.error(p, f"Action parameter {p.name} has a type which is not bit<>, "
                                  "int<>, bool, type or serializable enum")
            elif seen_directionless:
                self.error(p, f"{p.name}: direction-less action parameters have to be at "
                              "the end")
        decl.type = t.ActionType(params)
        self.declare_params(decl.params, inner)
        self.block(decl.body, inner, _Context(in_action=True))

    def block_declaration(self, decl: ast.ParserDecl | ast.ControlDecl, scope: Scope,
                          block_type: type[t.ParserType] | type[t.ControlType]) -> Scope:
        """Type a parser's or control's parameters and locals; the scope of its body."""
        inner = Scope(self.generic_scope(scope, decl.type_params))
        params = self.params(decl.params, inner)
        self.params(decl.constructor_params, inner)
        self.constructor_params.update(id(p) for p in decl.constructor_params)
        decl.type = block_type(decl.name, params, tuple(p.name for p in decl.type_params),
                               (), decl)
        self.declare_params(decl.params, inner)
        self.declare_params(decl.constructor_params, inner)
        inner = Scope(inner)  # locals may shadow parameters
        for local in decl.locals:
            try:
                self.declaration(local, inner)
            except _Abort:
                pass
        return inner

    def parser(self, decl: ast.ParserDecl, scope: Scope) -> None:
        with self.within("parser"):
            self._parser(decl, scope)

    def _parser(self, decl: ast.ParserDecl, scope: Scope) -> None:
        inner = self.block_declaration(decl, scope, t.ParserType)
        states = Scope()
        states.declare("accept", ACCEPT_STATE)
        states.declare("reject", REJECT_STATE)
        for state in decl.states:
            if state.name in ("accept", "reject"):
                self.error(state, f"{state.name}: Invalid {state.name}: parser state should not "
                                  "be implemented, it is built-in")
                continue
            self.declare(states, state.name, state)
        if "start" not in states.names:
            self.error(decl, f"{decl.name}: parser has no 'start' state")
        ctx = _Context(in_parser=True)
        for state in decl.states:
            body = Scope(inner)  # state names are only transition targets
            for stmt in state.statements:
                self.statement(stmt, body, ctx)
            if state.transition is not None:
                self.transition(state.transition, body, states)
        self.parser_reachability(decl)

    def parser_reachability(self, decl: ast.ParserDecl) -> None:
        by_name = {s.name: s for s in decl.states}
        seen: set[str] = set()
        work = ["start"]
        while work:
            name = work.pop()
            if name in seen or name not in by_name:
                continue
            seen.add(name)
            target = by_name[name].transition
            if isinstance(target, ast.PathExpression):
                work.append(target.name)
            elif isinstance(target, ast.SelectExpression):
                work.extend(c.state.name for c in target.cases)
        for state in decl.states:
            if state.name not in seen:
                self.warning(state, f"{state.name}: unreachable state")

    def transition(self, target: ast.Expression, scope: Scope, states: Scope) -> None:
        if isinstance(target, ast.PathExpression):
            self.state_ref(target, states)
            return
        assert isinstance(target, ast.SelectExpression)
        try:
            key_types = [self.expression(k, scope) for k in target.keys]
        except _Abort:
            return
        for key, ktype in zip(target.keys, key_types, strict=True):
            if isinstance(ktype, t.IntLiteralType):
                self.error(key, "select key: width of the expression is not known")
        target.type = t.TupleType(tuple(key_types))
        for case in target.cases:
            self.state_ref(case.state, states)
            try:
                self.select_keyset(case.keyset, key_types, scope)
            except _Abort:
                pass

    def state_ref(self, ref: ast.PathExpression, states: Scope) -> None:
        found = states.names.get(ref.name)
        ref.type = t.STATE
        if not found:
            self.error(ref, f"{ref.name}: declaration not found")
            return
        ref.decl = found[0]

    def select_keyset(self, keyset: ast.Expression, key_types: list[t.P4Type],
                      scope: Scope) -> None:
        if isinstance(keyset, ast.DefaultExpression | ast.DontCare):
            keyset.type = t.SetType(t.TupleType(tuple(key_types)))
            return
        if isinstance(keyset, ast.PathExpression):
            found = scope.lookup(keyset.name)
            if found and isinstance(found[0], ast.ValueSetDecl):
                keyset.decl = found[0]
                vs_type = found[0].type
                keyset.type = vs_type
                element = vs_type.element if isinstance(vs_type, t.SetType) else UNKNOWN
                expected = key_types[0] if len(key_types) == 1 else t.TupleType(tuple(key_types))
                if isinstance(element, t.StructType):  # fields match the keys in order
                    fields = tuple(ft for _, ft in element.fields)
                    element = fields[0] if len(key_types) == len(fields) == 1 \
                        else t.TupleType(fields)
                if not self.same_type(element, expected):
                    self.error(keyset, f"{keyset.name}: value_set of {element} cannot match "
                                       f"keys of type {expected}")
                return
        if len(key_types) == 1:
            if isinstance(keyset, ast.ListExpression) and len(keyset.elements) != 1:
                raise self.fail(keyset, f"keyset: {len(keyset.elements)} elements for 1 "
                                        "select keys")
            if isinstance(keyset, ast.ListExpression):
                self.keyset_element(keyset.elements[0], key_types[0], scope)
                keyset.type = t.SetType(key_types[0])
                return
            self.keyset_element(keyset, key_types[0], scope)
            return
        if not isinstance(keyset, ast.ListExpression):
            raise self.fail(keyset, f"keyset: expected a tuple of {len(key_types)} elements")
        if len(keyset.elements) != len(key_types):
            raise self.fail(keyset, f"keyset: {len(keyset.elements)} elements for "
                                    f"{len(key_types)} select keys")
        for item, ktype in zip(keyset.elements, key_types, strict=True):
            self.keyset_element(item, ktype, scope)
        keyset.type = t.SetType(t.TupleType(tuple(key_types)))

    def keyset_element(self, e: ast.Expression, ktype: t.P4Type, scope: Scope) -> None:
        if isinstance(e, ast.DefaultExpression | ast.DontCare):
            e.type = t.SetType(ktype)
            return
        if isinstance(e, ast.MaskExpression | ast.RangeExpression):
            parts = (e.value, e.mask) if isinstance(e, ast.MaskExpression) else (e.low, e.high)
            for part in parts:
                self.expression(part, scope, ktype)
            target = self._keyset_type(ktype, parts)
            for part in parts:
                self.convert(part, target, part)
            e.type = t.SetType(ktype)
            return
        if isinstance(e, ast.ListExpression) and isinstance(ktype, t.ListType | t.TupleType):
            # a select key that is itself a list: {a, b} with keysets per element
            if len(e.elements) != len(ktype.elements):
                raise self.fail(e, f"{_text(e)}: Cannot match tuples with different sizes "
                                   f"{len(e.elements)} vs {len(ktype.elements)}")
            for item, item_type in zip(e.elements, ktype.elements, strict=True):
                self.keyset_element(item, item_type, scope)
            e.type = t.SetType(ktype)
            return
        self.expression(e, scope, ktype)
        self.convert(e, self._keyset_type(ktype, (e,)), e)
        if e.const_value is None and not self.uses_constructor_parameter(e):
            self.error(e, "keyset expression must be a compile-time constant")

    def _keyset_type(self, ktype: t.P4Type, parts: tuple[ast.Expression, ...]) -> t.P4Type:
        """The type a keyset's values are converted to: the key's, or for a key of a
        serializable enum matched by values of its underlying type, that type (the enum
        is implicitly cast to its underlying type, P4_16 8.11.2)."""
        if isinstance(ktype, t.SerEnumType) and any(
                part.type is not None and self.same_type(part.type, ktype.underlying)
                for part in parts):
            return ktype.underlying
        return ktype

    def control(self, decl: ast.ControlDecl, scope: Scope) -> None:
        with self.within("control"):
            self._control(decl, scope)

    def _control(self, decl: ast.ControlDecl, scope: Scope) -> None:
        inner = self.block_declaration(decl, scope, t.ControlType)
        self.block(decl.body, inner, _Context())

    def instantiation(self, decl: ast.InstantiationDecl, scope: Scope) -> None:
        if decl.initializer:
            self.error(decl, f"{decl.name}: instantiations with an initializer block (abstract "
                             "method implementations) are not supported by p4sim")
        typ = self.resolve_type(decl.type_ref, scope)
        decl.type, decl.callee = self.construct(decl, decl.type_ref, typ, decl.args, scope)

    def construct(self, node: ast.Node, ref: ast.TypeRef, typ: t.P4Type,
                  args: list[ast.Argument], scope: Scope) -> tuple[t.P4Type, ast.Node | None]:
        """Type-check a constructor call (instantiation or constructor expression)."""
        if isinstance(typ, UnknownType):
            return UNKNOWN, None
        decl = ref.decl if isinstance(ref, ast.NamedTypeRef) else None
        if isinstance(typ, t.ExternType) and isinstance(decl, ast.ExternDecl):
            ctors = [m for m in decl.methods if m.is_constructor]
            if not ctors:
                self.error(node, f"{decl.name}: extern has no constructor")
                return typ, None
            bindings = dict(zip(typ.type_params, typ.type_args, strict=False))
            bindings = {k: v for k, v in bindings.items() if not isinstance(v, t.DontCareType)}
            ctor = self.pick_overload(node, decl.name, ctors, args)
            if ctor is None:
                return typ, None
            sig = self.signature_of(ctor, bindings)
            ordered = self.bind_call(node, sig, args, scope, bindings, ctor.name)
            self.constructor_arguments(node, args, ordered)
            targs = tuple(bindings.get(n, a) for n, a in zip(typ.type_params, typ.type_args,
                                                              strict=False))
            return t.ExternType(typ.name, typ.type_params, targs, decl), ctor
        if isinstance(typ, t.ParserType | t.ControlType) and \
                isinstance(decl, ast.ParserDecl | ast.ControlDecl):
            sig = _Signature(decl.constructor_params,
                             [p.type_ref.type or UNKNOWN for p in decl.constructor_params],
                             t.VOID)
            ordered = self.bind_call(node, sig, args, scope, {}, decl.name)
            self.constructor_arguments(node, args, ordered)
            return typ, decl
        if isinstance(typ, t.PackageType) and isinstance(decl, ast.PackageTypeDecl):
            bindings = dict(zip(typ.type_params, typ.type_args, strict=False))
            sig = _Signature(decl.params, [p.type for p in typ.params], t.VOID)
            ordered = self.bind_call(node, sig, args, scope, bindings, decl.name)
            self.constructor_arguments(node, args, ordered)
            targs = tuple(bindings.get(n, t.TypeVar(n)) for n in typ.type_params)
            return t.PackageType(typ.name, typ.params, typ.type_params, targs, decl), decl
        self.error(node, f"{ref.type or typ}: cannot be instantiated")
        return UNKNOWN, None

    @staticmethod
    def constructor_arguments(node: ast.Node, args: list[ast.Argument],
                              ordered: list[ast.Expression | None]) -> None:
        """Record constructor arguments in parameter order.

        Named arguments of an instantiation (``V1Switch(p = P(), ig = I(), ...)``)
        are also reordered in place: constructor arguments are compile-time values,
        so their order of evaluation does not matter.
        """
        if isinstance(node, ast.InstantiationDecl | ast.ConstructorCall):
            node.ordered_args = ordered
        if any(a.name is not None for a in args):
            by_value = {id(a.value): a for a in args}
            args[:] = [by_value[id(v)] for v in ordered if v is not None]

    # -------------------------------------------------------------- tables
    def table(self, decl: ast.TableDecl, scope: Scope) -> None:  # noqa: C901
        decl.type = t.TableType(decl.name, decl)
        key_types: list[t.P4Type] = []
        for key in decl.keys or []:
            try:
                ktype = self.expression(key.expr, scope)
            except _Abort:
                ktype = UNKNOWN
            base = t.strip_newtype(ktype)
            if not isinstance(base, t.BitsType | t.BoolType | t.SerEnumType | t.ErrorType
                              | t.EnumType | UnknownType):
                self.error(key.expr, f"{ktype}: invalid type for a table key")
            key_types.append(ktype)
            if not isinstance(ktype, UnknownType):
                self.name_key(key)
            found = scope.lookup(key.match_kind.name)
            if not found or not isinstance(found[0], ast.DeclaredName) or \
                    key.match_kind.name not in self.match_kinds:
                self.error(key.match_kind, f"{key.match_kind.name}: declaration not found")
            else:
                key.match_kind.decl = found[0]
                key.match_kind.type = t.MATCH_KIND
                key.match_kind.const_value = ast.EnumValue("match_kind", key.match_kind.name)
        if decl.keys is not None and not decl.keys:
            decl.keys = []
        if not decl.actions_declared:
            self.error(decl, f"{decl.name}: Expected Table {decl.name} does not have an "
                             "`actions' property")
        listed: dict[str, ast.ActionDecl] = {}
        listed_refs: dict[str, ast.ActionRef] = {}
        for ref in decl.actions:
            action = self.action_ref(ref, scope, partial=True)
            if action is not None:
                if action.name in listed:
                    self.error(ref, f"{action.name}: duplicate action in table {decl.name}")
                listed[action.name] = action
                listed_refs[action.name] = ref
        if decl.default_action is not None:
            action = self.action_ref(decl.default_action, scope, partial=False)
            if action is not None and listed.get(action.name) is not action:
                self.error(decl.default_action, f"{action.name} not present in action list")
            elif action is not None:
                self.same_bound_arguments(decl.default_action, listed_refs[action.name])
        if decl.entries is not None and not key_types:
            self.error(decl, f"Entries cannot be specified for a table with no key {decl.name}")
        for entry in decl.entries or []:
            self.table_entry(decl, entry, key_types, listed, scope)
        if decl.size is not None:
            size = self.const_int(decl.size, scope, "size")
            if size is not None and size < 0:
                self.error(decl.size, "size: must be a non-negative integer")
        for prop_name in ("implementation", "counters", "meters"):
            value = getattr(decl, prop_name)
            if value is not None:
                try:
                    self.expression(value, scope)
                except _Abort:
                    pass
        if decl.support_timeout is not None:
            try:
                self.expression(decl.support_timeout, scope, t.BOOL)
                if not isinstance(decl.support_timeout.type, t.BoolType):
                    self.error(decl.support_timeout, "support_timeout: expected a boolean")
            except _Abort:
                pass
        for prop in decl.other_properties:
            try:
                self.expression(prop.value, scope)
            except _Abort:
                prop.value.type = UNKNOWN

    def name_key(self, key: ast.KeyElement) -> None:
        """Give a key without ``@name`` its control-plane name, as p4c's TableKeyNames does.

        ``hdr.h.isValid()`` is named ``hdr.h.$valid$`` (what P4Runtime expects); paths,
        members, constant indexes, slices, constants and ``& constant`` are named after
        their source; any other key needs an explicit ``@name``.
        """
        if key.annotation("name") is not None:
            return
        name = _key_name(key.expr)
        if name is None:
            self.error(key.expr, f"{_text(key.expr)}: Complex key expression requires a @name "
                                 "annotation")
            return
        literal = ast.StringLiteral(pos=key.expr.pos, value=name)
        literal.type, literal.const_value = t.STRING, name
        key.annotations.append(ast.Annotation(pos=key.expr.pos, name="name", args=[literal],
                                              tokens=[f'"{name}"']))

    def action_ref(self, ref: ast.ActionRef, scope: Scope, partial: bool) -> ast.ActionDecl | None:
        path = ref.action_path
        found = (self.top if path.top_level else scope).lookup(path.name)
        if not found:
            self.error(path, f"{path.name}: declaration not found")
            return None
        action = found[0]
        if not isinstance(action, ast.ActionDecl):
            self.error(path, f"{path.name}: is not an action")
            return None
        path.decl = action
        path.type = action.type
        call = ref.expr if isinstance(ref.expr, ast.MethodCall) else None
        args = call.args if call is not None else []
        params = action.params
        if partial:
            directional = [p for p in params if p.direction != ""]
            if len(args) > len(directional):
                extra = args[len(directional)] if len(args) > len(directional) else args[-1]
                bound = params[min(len(directional), len(params) - 1)]
                self.error(extra, f"{_text(extra.value)}: parameter {bound.name} cannot be "
                                  "bound: it is set by the control plane")
                return action
            if len(args) < len(directional):
                missing = directional[len(args)]
                self.error(ref, f"{_text(ref.expr)}: Parameter {missing.name} must be bound")
        elif len(args) != len(params):
            self.error(ref, f"{path.name}: expected {len(params)} arguments, got {len(args)}")
            return action
        if call is not None or not partial:
            target = call if call is not None else None
            sig = _Signature(params[:len(args)], [p.type_ref.type or UNKNOWN
                                                 for p in params[:len(args)]], t.VOID)
            try:
                ordered = self.bind_call(ref, sig, args, scope, {}, path.name)
            except _Abort:
                return action
            if target is not None:
                target.call_kind = ast.CallKind.ACTION
                target.callee = action
                target.type = t.VOID
                target.ordered_args = ordered + [None] * (len(params) - len(ordered))
                target.type_args_inferred = {}
            if not partial:
                for param, arg in zip(params, args, strict=False):
                    if param.direction == "" and arg.value.const_value is None and \
                            not isinstance(arg.value, ast.DontCare):
                        self.error(arg, f"{param.name}: action argument must be a "
                                        "compile-time constant")
        return action

    def entry_matches_kinds(self, table: ast.TableDecl, entry: ast.TableEntry) -> None:
        """Each key of a table entry must be a set its match kind can express on BMv2.

        A mask fits ternary and lpm (lpm only with a prefix mask), a range fits range;
        p4c's BMv2 backend refuses the rest.
        """
        keyset = entry.keyset
        items = keyset.elements if isinstance(keyset, ast.ListExpression) else [keyset]
        for item, key in zip(items, table.keys or [], strict=False):
            kind = key.match_kind.name
            if isinstance(item, ast.MaskExpression):
                if kind == "lpm":
                    mask = item.mask.const_value
                    width = t.strip_newtype(key.expr.type or UNKNOWN)
                    if isinstance(mask, int) and isinstance(width, t.BitsType) and \
                            not _is_prefix_mask(mask, width.width):
                        self.error(item, f"{_text(item)}: invalid mask for LPM key")
                elif kind != "ternary":
                    self.error(item, f"{_text(item)}: invalid key expression for {kind} "
                                     "match")
            elif isinstance(item, ast.RangeExpression) and kind != "range":
                self.error(item, f"{_text(item)}: invalid key expression for {kind} match")

    def same_bound_arguments(self, use: ast.ActionRef, listed: ast.ActionRef) -> None:
        """Arguments of directional parameters must repeat those bound in the action list."""
        used = use.expr.args if isinstance(use.expr, ast.MethodCall) else []
        bound = listed.expr.args if isinstance(listed.expr, ast.MethodCall) else []
        for arg, bound_arg in zip(used, bound, strict=False):
            if _text(arg.value) != _text(bound_arg.value):
                self.error(arg, f"{_text(arg.value)}: argument does not match declaration in "
                                f"actions list: {_text(bound_arg.value)}")

    def table_entry(self, table: ast.TableDecl, entry: ast.TableEntry,
                    key_types: list[t.P4Type], listed: dict[str, ast.ActionDecl],
                    scope: Scope) -> None:
        try:
            if key_types:
                self.select_keyset(entry.keyset, key_types, scope)
                self.entry_matches_kinds(table, entry)
        except _Abort:
            pass
        action = self.action_ref(entry.action, scope, partial=False)
        if action is not None and listed.get(action.name) is not action:
            self.error(entry.action, f"{action.name}: action is not in the action list of "
                                     f"table {table.name}")
        elif action is not None:
            listed_ref = next(ref for ref in table.actions
                              if ref.action_path.decl is listed[action.name])
            self.same_bound_arguments(entry.action, listed_ref)
        if entry.priority is not None:
            value = self.const_int(entry.priority, scope, "priority")
            if value is not None and value < 0:
                self.error(entry.priority, "priority: must be non-negative")
        elif entry.annotation("priority") is not None:
            ann = entry.annotation("priority")
            assert ann is not None
            if len(ann.args) != 1:
                self.error(ann, "@priority: expected one integer argument")
            else:
                self.const_int(ann.args[0], scope, "@priority")

    # ---------------------------------------------------------- statements
    def block(self, block: ast.BlockStatement, scope: Scope, ctx: _Context) -> None:
        inner = Scope(scope)
        for stmt in block.statements:
            self.statement(stmt, inner, ctx)

    def statement(self, stmt: ast.Node, scope: Scope, ctx: _Context) -> None:
        try:
            self._statement(stmt, scope, ctx)
        except _Abort:
            pass

    def _statement(self, stmt: ast.Node, scope: Scope, ctx: _Context) -> None:  # noqa: C901
        if isinstance(stmt, ast.AssignStatement):
            if isinstance(stmt.lhs, ast.DontCare):
                self.expression(stmt.rhs, scope)
                return
            ltype = self.expression(stmt.lhs, scope)
            self.require_lvalue(stmt.lhs, "Expression {} cannot be the target of an assignment")
            self.expression(stmt.rhs, scope, ltype)
            self.convert(stmt.rhs, ltype, stmt, literal_to_enum=False)
        elif isinstance(stmt, ast.MethodCallStatement):
            self.expression(stmt.call, scope)
        elif isinstance(stmt, ast.BlockStatement):
            self.block(stmt, scope, ctx)
        elif isinstance(stmt, ast.IfStatement):
            ctype = self.expression(stmt.cond, scope, t.BOOL)
            if not isinstance(ctype, t.BoolType | UnknownType):
                self.error(stmt.cond, f"Condition of if statement must be bool, not {ctype}")
            self.statement(stmt.then, Scope(scope), ctx)
            if stmt.otherwise is not None:
                self.statement(stmt.otherwise, Scope(scope), ctx)
        elif isinstance(stmt, ast.SwitchStatement):
            self.switch(stmt, scope, ctx)
        elif isinstance(stmt, ast.ExitStatement):
            if ctx.in_parser or ctx.in_function:
                self.error(stmt, "exit: not allowed in parsers or functions")
        elif isinstance(stmt, ast.ReturnStatement):
            if ctx.in_parser:
                self.error(stmt, "return: not allowed in parsers")
            expected = ctx.return_type
            if stmt.value is None:
                if expected is not None and not isinstance(expected, t.VoidType):
                    self.error(stmt, "return: a value is required")
            else:
                if expected is None or isinstance(expected, t.VoidType):
                    raise self.fail(stmt, "return: this block does not return a value")
                self.expression(stmt.value, scope, expected)
                self.convert(stmt.value, expected, stmt, literal_to_enum=False)
        elif isinstance(stmt, ast.EmptyStatement):
            return
        elif isinstance(stmt, ast.BreakStatement | ast.ContinueStatement):
            if not ctx.in_loop:
                keyword = "break" if isinstance(stmt, ast.BreakStatement) else "continue"
                self.error(stmt, f"{keyword}: not inside a loop")
        elif isinstance(stmt, ast.ForStatement):
            self.for_statement(stmt, scope, ctx)
        elif isinstance(stmt, ast.ForInStatement):
            self.for_in_statement(stmt, scope, ctx)
        elif isinstance(stmt, ast.VariableDecl):
            self.variable_decl(stmt, scope)
        elif isinstance(stmt, ast.ConstDecl):
            self.const_decl(stmt, scope)
        elif isinstance(stmt, ast.InstantiationDecl):
            if ctx.in_action or ctx.in_function:
                self.error(stmt, f"{stmt.name}: instantiations are not allowed here")
            elif not ctx.in_parser:
                self.error(stmt, f"{stmt.name}: Invalid {stmt.name}: instances cannot be in a "
                                 "control 'apply' block")
            self.declaration(stmt, scope)
        else:
            self.error(stmt, f"{type(stmt).__name__}: unsupported statement")

    def for_statement(self, stmt: ast.ForStatement, scope: Scope, ctx: _Context) -> None:
        inner = Scope(scope)
        for item in stmt.init:
            self.statement(item, inner, ctx)
        try:
            ctype = self.expression(stmt.cond, inner, t.BOOL)
            if not isinstance(ctype, t.BoolType | UnknownType):
                self.error(stmt.cond, f"Condition of for statement must be bool, not {ctype}")
        except _Abort:
            pass
        self.statement(stmt.body, Scope(inner), replace(ctx, in_loop=True))
        for update in stmt.updates:
            self.statement(update, inner, ctx)

    def for_in_statement(self, stmt: ast.ForInStatement, scope: Scope, ctx: _Context) -> None:
        """``for (T x in c)``: ``c`` is ``lo .. hi`` or a list of ``T`` values, or a stack
        of ``T`` headers."""
        var, collection = stmt.var, stmt.collection
        vtype = self.resolve_type(var.type_ref, scope)
        if isinstance(collection, ast.RangeExpression):
            for end in (collection.low, collection.high):
                self.expression(end, scope, vtype)
                self.convert(end, vtype, end, literal_to_enum=False)
            collection.type = vtype
        elif isinstance(collection, ast.ListExpression):
            for element in collection.elements:
                self.expression(element, scope, vtype)
                self.convert(element, vtype, element, literal_to_enum=False)
            collection.type = t.ListType(tuple(vtype for _ in collection.elements))
        else:
            ctype = self.expression(collection, scope)
            if not isinstance(ctype, t.StackType):
                raise self.fail(collection, f"{_text(collection)}: cannot iterate over a value "
                                            f"of type {ctype}")
            if ctype.element != vtype:
                raise self.fail(var, f"{var.name}: type {vtype} does not match the elements "
                                     f"of {_text(collection)} ({ctype.element})")
        inner = Scope(scope)
        self.declare(inner, var.name, var)
        self.statement(stmt.body, Scope(inner), replace(ctx, in_loop=True))

    def switch(self, stmt: ast.SwitchStatement, scope: Scope, ctx: _Context) -> None:
        stype = self.expression(stmt.expr, scope)
        seen: set[Any] = set()
        for index, case in enumerate(stmt.cases):
            label = case.label
            if isinstance(label, ast.DefaultExpression):
                label.type = stype
                if index != len(stmt.cases) - 1:
                    following = _text(stmt.cases[index + 1].label)
                    self.error(stmt, f"switch label {following} follows 'default' label, which "
                                     "is not allowed.")
            elif isinstance(stype, t.ActionEnumType):
                table = stype.table.decl
                names = {r.action_path.name: r.action_path.decl for r in table.actions}
                if not isinstance(label, ast.PathExpression) or label.name not in names:
                    self.error(label, f"{_text(label)}: not an action of table "
                                      f"{stype.table.name}")
                else:
                    label.decl = names[label.name]
                    label.type = stype
                    label.const_value = label.name
            else:
                try:
                    self.expression(label, scope, stype)
                    self.convert(label, stype, label)
                    if label.const_value is None:
                        self.error(label, "switch label must be a compile-time constant")
                except _Abort:
                    continue
            key = label.const_value if not isinstance(label, ast.DefaultExpression) else "default"
            if key is not None:
                if key in seen:
                    self.error(label, f"{_text(label)}: 'switch' label duplicates "
                                      f"{_text(label)}")
                seen.add(key)
            if case.body is not None:
                self.block(case.body, scope, ctx)
        if not isinstance(stype, t.ActionEnumType | t.BitsType | t.EnumType | UnknownType):
            self.error(stmt.expr, f"switch: cannot switch on a value of type {stype}")

    # ------------------------------------------------------------ lvalues
    def require_lvalue(self, e: ast.Expression, message: str) -> None:
        root = e
        while True:
            if isinstance(root, ast.Member):
                if isinstance(root.expr.type, t.StackType) and root.member in (
                        "last", "lastIndex", "size"):
                    if root.member != "last":
                        raise self.fail(e, self._lvalue_message(e, message))
                root = root.expr
            elif isinstance(root, ast.ArrayIndex | ast.Slice):
                root = root.expr
            else:
                break
        if isinstance(root, ast.PathExpression):
            decl = root.decl
            if isinstance(decl, ast.VariableDecl):
                return
            if isinstance(decl, ast.Param) and decl.direction in ("out", "inout"):
                return
        if isinstance(root, ast.DontCare):
            return
        raise self.fail(e, self._lvalue_message(e, message))

    @staticmethod
    def _lvalue_message(e: ast.Expression, message: str) -> str:
        return message.format(_text(e)) if "{}" in message else message

    # --------------------------------------------------------- expressions
    def expression(self, e: ast.Expression, scope: Scope,
                   expected: t.P4Type | None = None) -> t.P4Type:
        """Type ``e`` (and its children); raise _Abort after reporting an error."""
        typ = self._expression(e, scope, expected)
        e.type = typ
        if e.const_value is None:
            fold(e)
        return typ

    def _expression(self, e: ast.Expression, scope: Scope,  # noqa: C901
                    expected: t.P4Type | None) -> t.P4Type:
        if isinstance(e, ast.IntLiteral):
            if e.width is not None:
                if e.width > MAX_WIDTH:
                    raise self.fail(e, f"{e.width}: this implementation does not support "
                                       "bitstrings this large")
                if e.width == 0 and e.value != 0:
                    raise self.fail(e, f"{e.text}: value does not fit in 0 bits")
                typ = t.BitsType(e.width, e.signed)
                if wrap(e.value, typ) != e.value and not (e.signed and e.value == 1 << (
                        e.width - 1)):
                    self.warning(e, f"{e.text}: value does not fit in {e.width} bits")
                return typ
            return t.INT_LITERAL
        if isinstance(e, ast.BoolLiteral):
            return t.BOOL
        if isinstance(e, ast.StringLiteral):
            return t.STRING
        if isinstance(e, ast.PathExpression):
            return self.path(e, scope)
        if isinstance(e, ast.Member):
            return self.member(e, scope)
        if isinstance(e, ast.ArrayIndex):
            return self.array_index(e, scope)
        if isinstance(e, ast.Slice):
            return self.slice(e, scope)
        if isinstance(e, ast.UnaryOp):
            return self.unary(e, scope, expected)
        if isinstance(e, ast.BinaryOp):
            return self.binary(e, scope, expected)
        if isinstance(e, ast.Ternary):
            return self.ternary(e, scope, expected)
        if isinstance(e, ast.Cast):
            return self.cast(e, scope)
        if isinstance(e, ast.MethodCall):
            return self.call(e, scope)
        if isinstance(e, ast.ConstructorCall):
            declared = self.resolve_type(e.type_ref, scope)
            ctype, e.callee = self.construct(e, e.type_ref, declared, e.args, scope)
            return ctype
        if isinstance(e, ast.ListExpression):
            target = expected if isinstance(expected, t.StructLikeType | t.TupleType) else None
            if isinstance(target, t.TupleType) and len(target.elements) == len(e.elements):
                types = [self.expression(x, scope, et)
                         for x, et in zip(e.elements, target.elements, strict=True)]
            elif isinstance(target, t.StructLikeType) and len(target.fields) == len(e.elements):
                types = [self.expression(x, scope, ft)
                         for x, (_, ft) in zip(e.elements, target.fields, strict=True)]
            else:
                types = [self.expression(x, scope) for x in e.elements]
            return t.ListType(tuple(types))
        if isinstance(e, ast.StructExpression):
            if e.type_ref is not None:
                expected = self.resolve_type(e.type_ref, scope)
            field_types = dict(expected.fields) if isinstance(expected, t.StructLikeType) else {}
            names = [f.name for f in e.fields]
            if len(set(names)) != len(names):
                raise self.fail(e, "duplicate field name in structure initializer")
            ftypes = tuple((f.name, self.expression(f.value, scope, field_types.get(f.name)))
                           for f in e.fields)
            result: t.P4Type = t.StructExpressionType(ftypes)
            if e.type_ref is not None and expected is not None:
                self.convert(e, expected, e, result)
                result = expected
            return result
        if isinstance(e, ast.InvalidExpression):
            if expected is None or not isinstance(expected, t.HeaderType | t.HeaderUnionType):
                raise self.fail(e, "{#}: invalid header expression needs a header type context")
            return expected
        if isinstance(e, ast.DontCare):
            return t.DONT_CARE
        if isinstance(e, ast.TypeNameExpression):
            raise self.fail(e, f"{_text(e)}: a type cannot be used as a value")
        if isinstance(e, ast.DefaultExpression | ast.MaskExpression | ast.RangeExpression):
            raise self.fail(e, f"{_text(e)}: only allowed in select cases and table entries")
        if isinstance(e, ast.SelectExpression):
            raise self.fail(e, "select: only allowed as a parser transition")
        if isinstance(e, ast.ThisExpression):
            raise self.fail(e, "this: not supported by p4sim")
        raise self.fail(e, f"{type(e).__name__}: unsupported expression")

    def path(self, e: ast.PathExpression, scope: Scope) -> t.P4Type:  # noqa: C901
        found = (self.top if e.top_level else scope).lookup(e.name)
        if not found:
            raise self.fail(e, f"{e.name}: declaration not found")
        decl = found[0]
        e.decl = decl
        if isinstance(decl, ast.Param):
            return decl.type_ref.type or UNKNOWN
        if isinstance(decl, ast.VariableDecl):
            return decl.type_ref.type or UNKNOWN
        if isinstance(decl, ast.ConstDecl):
            e.const_value = decl.value.const_value
            return decl.type_ref.type or UNKNOWN
        if isinstance(decl, ast.DeclaredName) and e.name in self.match_kinds:
            e.const_value = ast.EnumValue("match_kind", e.name)
            return t.MATCH_KIND
        if isinstance(decl, ast.InstantiationDecl):
            return decl.type or UNKNOWN
        if isinstance(decl, ast.TableDecl):
            return decl.type or UNKNOWN
        if isinstance(decl, ast.ActionDecl | ast.FunctionDecl | ast.ExternFunctionDecl):
            return decl.type or UNKNOWN
        if isinstance(decl, ast.ValueSetDecl):
            return decl.type or UNKNOWN
        raise self.fail(e, f"{e.name}: is a type, not a value")

    def member(self, e: ast.Member, scope: Scope) -> t.P4Type:  # noqa: C901
        if isinstance(e.expr, ast.TypeNameExpression):
            return self.type_member(e, scope)
        base = self.expression(e.expr, scope)
        name = e.member
        if isinstance(base, UnknownType):
            return UNKNOWN
        stripped = base
        if isinstance(stripped, t.StructLikeType):
            ftype = stripped.field_type(name)
            if ftype is not None:
                if isinstance(e.expr.const_value, tuple):
                    e.const_value = dict(e.expr.const_value).get(name)
                return ftype
            if name in HEADER_BUILTINS or name in SIZE_BUILTINS:
                raise self.fail(e, f"{_text(e)}: method must be called")
            raise self.fail(e, f"Field {name} is not a member of {_kind(stripped)} {stripped}")
        if isinstance(stripped, t.StackType):
            if name in ("next", "last"):
                if self.block_kind != "parser":
                    raise self.fail(e, f"{_text(e)}: 'last', and 'next' for stacks can only be "
                                       "used in a parser")
                return stripped.element
            if name == "lastIndex":
                if self.block_kind != "parser":
                    raise self.fail(e, f"{_text(e)}: 'lastIndex' for stacks can only be used "
                                       "in a parser")
                return t.BitsType(32)
            if name == "size":
                e.const_value = stripped.size
                return t.BitsType(32)
            if name in ("push_front", "pop_front") or name in SIZE_BUILTINS:
                raise self.fail(e, f"{_text(e)}: method must be called")
            raise self.fail(e, f"{name}: not a member of header stack {_text(e.expr)}")
        if isinstance(stripped, t.TableApplyResultType):
            if name in ("hit", "miss"):
                return t.BOOL
            if name == "action_run":
                return t.ActionEnumType(stripped.table)
            raise self.fail(e, f"{name}: not a member of the result of {stripped.table.name}"
                               ".apply()")
        if isinstance(stripped, t.ExternType | t.TableType | t.ParserType | t.ControlType) or \
                name in SIZE_BUILTINS:
            raise self.fail(e, f"{_text(e)}: method must be called")
        raise self.fail(e, f"{name}: cannot access a member of a value of type {base}")

    def type_member(self, e: ast.Member, scope: Scope) -> t.P4Type:
        assert isinstance(e.expr, ast.TypeNameExpression)
        typ = self.resolve_type(e.expr.type_ref, scope)
        e.expr.type = typ
        name = e.member
        if isinstance(typ, t.ErrorType):
            member = self.error_members.get(name)
            if member is None:
                raise self.fail(e, f"error.{name}: Invalid enum tag")
            e.decl = member
            e.const_value = ast.EnumValue("error", name)
            return t.ERROR
        if isinstance(typ, t.EnumType):
            if name not in typ.members:
                raise self.fail(e, f"{typ.name}.{name}: Invalid enum tag")
            decl = typ.decl
            if isinstance(decl, ast.EnumDecl):
                e.decl = next(m for m in decl.members if m.name == name)
            int_value = dict(typ.values).get(name) if isinstance(typ, t.SerEnumType) else None
            e.const_value = ast.EnumValue(typ.name, name, int_value)
            return typ
        if name in SIZE_BUILTINS or (isinstance(typ, t.ParserType | t.ControlType)
                                     and name == "apply"):
            raise self.fail(e, f"{_text(e)}: method must be called")
        raise self.fail(e, f"{name}: not a member of type {typ}")

    def array_index(self, e: ast.ArrayIndex, scope: Scope) -> t.P4Type:
        base = self.expression(e.expr, scope)
        itype = self.expression(e.index, scope)
        if isinstance(base, UnknownType):
            return UNKNOWN
        index = e.index.const_value
        if isinstance(base, t.StackType):
            if not isinstance(itype, t.BitsType | t.IntLiteralType | UnknownType):
                raise self.fail(e.index, f"Array index {_text(e.index)} must be an integer, "
                                         f"but it has type {itype}")
            if isinstance(index, int) and not 0 <= index < base.size:
                raise self.fail(e.index, f"{_text(e)}: index {index} out of bounds of "
                                         f"{base}")
            return base.element
        if isinstance(base, t.TupleType):
            if not isinstance(index, int):
                raise self.fail(e.index, "tuple index must be a compile-time constant")
            if not 0 <= index < len(base.elements):
                raise self.fail(e.index, f"{_text(e)}: index {index} out of bounds of {base}")
            return base.elements[index]
        raise self.fail(e, f"Indexing {_text(e)} applied to non-array and non-tuple type "
                           f"{base}")

    def slice(self, e: ast.Slice, scope: Scope) -> t.P4Type:
        base = self.expression(e.expr, scope)
        hi = self.const_int(e.hi, scope, "slice index")
        lo = self.const_int(e.lo, scope, "slice index")
        if hi is None or lo is None:
            raise _Abort()
        if isinstance(base, UnknownType):
            return UNKNOWN
        bits: t.P4Type = t.strip_newtype(base)
        if isinstance(bits, t.SerEnumType):
            bits = bits.underlying
        if isinstance(bits, t.IntLiteralType):
            if lo < 0 or hi < lo:
                raise self.fail(e, f"{_text(e)}: invalid slice bounds")
            return t.BitsType(hi - lo + 1)
        if not isinstance(bits, t.BitsType):
            raise self.fail(e, f"{_text(e)}: bit extraction only defined for bit<> types")
        if hi >= bits.width:
            raise self.fail(e.hi, f"Bit index {hi} greater than width {bits.width}")
        if lo < 0 or hi < lo:
            raise self.fail(e, f"{_text(e)}: invalid bit slice [{hi}:{lo}]")
        return t.BitsType(hi - lo + 1)

    def unary(self, e: ast.UnaryOp, scope: Scope, expected: t.P4Type | None) -> t.P4Type:
        typ = self.expression(e.operand, scope, expected if e.op != "!" else t.BOOL)
        if isinstance(typ, UnknownType):
            return UNKNOWN
        if isinstance(typ, t.NewType):
            raise self.fail(e.operand, f"{e.op}: cannot be applied to expression "
                                       f"'{_text(e.operand)}' with type '{typ}'")
        if e.op == "!":
            if not isinstance(typ, t.BoolType):
                raise self.fail(e, f"{_text(e)}: ! needs a bool operand, not {typ}")
            return t.BOOL
        if isinstance(typ, t.IntLiteralType) and isinstance(expected, t.BitsType) and \
                e.op == "~":
            self.convert(e.operand, expected, e)
            typ = expected
        if e.op == "~":
            if isinstance(typ, t.IntLiteralType):
                raise self.fail(e, f"{_text(e)}: ~ needs an operand with a known width")
            if not isinstance(typ, t.BitsType):
                raise self.fail(e, f"{_text(e)}: ~ needs a bit<> or int<> operand, not {typ}")
            return typ
        if not isinstance(typ, t.BitsType | t.IntLiteralType):
            raise self.fail(e, f"{_text(e)}: {e.op} needs a numeric operand, not {typ}")
        return typ

    def binary(self, e: ast.BinaryOp, scope: Scope,  # noqa: C901
               expected: t.P4Type | None) -> t.P4Type:
        op = e.op
        if op in ("&&", "||"):
            for side in (e.left, e.right):
                st = self.expression(side, scope, t.BOOL)
                if not isinstance(st, t.BoolType | UnknownType):
                    raise self.fail(side, f"{_text(side)}: {op} needs bool operands, not {st}")
            return t.BOOL
        numeric_expected = expected if op not in ("==", "!=", "<", ">", "<=", ">=", "++",
                                                  "<<", ">>") else None
        lt = self.expression(e.left, scope, numeric_expected)
        rt = self.expression(e.right, scope, numeric_expected if op not in ("<<", ">>")
                             else None)
        if isinstance(lt, UnknownType) or isinstance(rt, UnknownType):
            return UNKNOWN
        if op not in ("==", "!="):
            for side, st in ((e.left, lt), (e.right, rt)):
                if isinstance(st, t.NewType):
                    raise self.fail(side, f"{op}: cannot be applied to expression "
                                          f"'{_text(side)}' with type '{st}'")
        if op in ("<<", ">>"):
            return self.shift(e, lt, rt, expected)
        if op == "++":
            lb, rb = t.strip_newtype(lt), t.strip_newtype(rt)
            if isinstance(lb, t.IntLiteralType) or isinstance(rb, t.IntLiteralType):
                raise self.fail(e, f"{_text(e)}: concatenation needs operands with a known "
                                   "width")
            if not isinstance(lb, t.BitsType) or not isinstance(rb, t.BitsType):
                raise self.fail(e, f"{_text(e)}: concatenation is defined on bit<> and int<>, "
                                   f"not {lt} and {rt}")
            return t.BitsType(lb.width + rb.width, lb.signed)
        lt, rt = self.unify_operands(e, lt, rt)
        if op in ("==", "!="):
            if not self.same_type(lt, rt):
                raise self.fail(e, f"{_text(e)}: cannot compare {lt} and {rt}")
            if isinstance(lt, t.ExternType | t.TableType | t.VoidType | t.StringType):
                raise self.fail(e, f"{_text(e)}: values of type {lt} cannot be compared")
            return t.BOOL
        comparison = op in ("<", ">", "<=", ">=")
        if not self.same_type(lt, rt):
            if isinstance(lt, t.BitsType) and isinstance(rt, t.BitsType) and not comparison:
                raise self.fail(e, f"{_text(e)}: Cannot operate on values with different "
                                   f"widths {lt.width} and {rt.width}")
            raise self.fail(e, f"{_text(e)}: not defined on {lt} and {rt}")
        base = t.strip_newtype(lt)
        if isinstance(base, t.BoolType) or not isinstance(base, t.BitsType | t.IntLiteralType):
            raise self.fail(e, f"{_text(e)}: not defined on {lt} and {rt}")
        if comparison:
            return t.BOOL
        if op in ("/", "%") and isinstance(base, t.BitsType) and base.signed:
            raise self.fail(e, f"{_text(e)}: {op} is not defined on signed values")
        if op in ("/", "%"):
            self.division_operands(e)
        if op in ("|+|", "|-|") and isinstance(base, t.IntLiteralType):
            raise self.fail(e, f"{_text(e)}: saturating arithmetic needs operands with a "
                               "known width")
        return lt

    def division_operands(self, e: ast.BinaryOp) -> None:
        """/ and % need constant operands (non-negative, divisor non-zero) as in p4c, or a
        power-of-two divisor, which p4c's strength reduction turns into a shift or mask."""
        left, right = e.left.const_value, e.right.const_value
        if isinstance(right, int) and not isinstance(right, bool) and right == 0:
            raise self.fail(e, f"{_text(e)}: Division by zero")
        for side, value in ((e.left, left), (e.right, right)):
            negated_literal = isinstance(side, ast.UnaryOp) and side.op == "-" and \
                isinstance(side.operand, ast.IntLiteral)
            if negated_literal or (isinstance(value, int) and not isinstance(value, bool)
                                   and value < 0):
                raise self.fail(e, f"{e.op}: not defined on negative numbers")
        runtime = left is None or right is None
        power_of_two = isinstance(right, int) and right > 0 and right & (right - 1) == 0
        if runtime and not power_of_two and not self.uses_constructor_parameter(e):
            # p4c's midend (CompileTimeOperations, after strength reduction turned
            # divisions by powers of two into shifts and masks) refuses the rest.
            raise self.fail(e, f"{_text(e)}: could not evaluate expression at compilation "
                               "time")

    def shift(self, e: ast.BinaryOp, lt: t.P4Type, rt: t.P4Type,
              expected: t.P4Type | None) -> t.P4Type:
        if isinstance(rt, t.BitsType) and rt.signed:
            raise self.fail(e.right, f"{_text(e.right)}: shift amount must be unsigned")
        if isinstance(rt, t.IntLiteralType):
            amount = e.right.const_value
            if isinstance(amount, int) and amount < 0:
                raise self.fail(e.right, f"{_text(e.right)}: shift amount must be non-negative")
            if isinstance(lt, t.IntLiteralType) and isinstance(amount, int) and \
                    amount > MAX_WIDTH:
                raise self.fail(e, f"{_text(e)}: shift amount too large")
        elif not isinstance(rt, t.BitsType):
            raise self.fail(e.right, f"{_text(e.right)}: shift amount must be an integer")
        if isinstance(lt, t.IntLiteralType):
            if e.right.const_value is None:
                raise self.fail(e, f"{_text(e)}: shift of a value with unknown width by a "
                                   "non-constant amount")
            return lt
        if not isinstance(t.strip_newtype(lt), t.BitsType):
            raise self.fail(e, f"{_text(e)}: shift is defined on bit<> and int<>, not {lt}")
        return lt

    def unify_operands(self, e: ast.BinaryOp, lt: t.P4Type,
                       rt: t.P4Type) -> tuple[t.P4Type, t.P4Type]:
        """Give an untyped integer operand the type of the other operand.

        Serializable enums convert implicitly to their underlying type (spec
        8.11.2) when the other operand is not the same enum, or for arithmetic;
        the conversion is made explicit with a Cast node, as p4c does.
        """
        if isinstance(lt, t.SerEnumType) and (e.op not in ("==", "!=")
                                              or not self.same_type(lt, rt)):
            e.left = self.implicit_cast(e.left, lt.underlying)
            lt = lt.underlying
        if isinstance(rt, t.SerEnumType) and (e.op not in ("==", "!=")
                                              or not self.same_type(lt, rt)):
            e.right = self.implicit_cast(e.right, rt.underlying)
            rt = rt.underlying
        if isinstance(lt, t.IntLiteralType) and not isinstance(rt, t.IntLiteralType):
            self.convert(e.left, rt, e)
            return rt, rt
        if isinstance(rt, t.IntLiteralType) and not isinstance(lt, t.IntLiteralType):
            self.convert(e.right, lt, e)
            return lt, lt
        if isinstance(lt, t.ListType | t.StructExpressionType) and \
                isinstance(rt, t.StructLikeType | t.TupleType):
            self.convert(e.left, rt, e)
            return rt, rt
        if isinstance(rt, t.ListType | t.StructExpressionType) and \
                isinstance(lt, t.StructLikeType | t.TupleType):
            self.convert(e.right, lt, e)
            return lt, lt
        return lt, rt

    @staticmethod
    def implicit_cast(e: ast.Expression, target: t.BitsType) -> ast.Cast:
        width = ast.IntLiteral(pos=e.pos, value=target.width, text=str(target.width))
        ref = ast.BaseTypeRef(pos=e.pos, kind="int" if target.signed else "bit", width=width)
        ref.type = target
        cast = ast.Cast(pos=e.pos, type_ref=ref, expr=e)
        cast.type = target
        fold(cast)
        return cast

    def ternary(self, e: ast.Ternary, scope: Scope, expected: t.P4Type | None) -> t.P4Type:
        ctype = self.expression(e.cond, scope, t.BOOL)
        if not isinstance(ctype, t.BoolType | UnknownType):
            raise self.fail(e.cond, f"{_text(e.cond)}: condition must be bool, not {ctype}")
        tt = self.expression(e.then, scope, expected)
        ot = self.expression(e.otherwise, scope, expected)
        if isinstance(tt, UnknownType) or isinstance(ot, UnknownType):
            return UNKNOWN
        if isinstance(tt, t.IntLiteralType) and isinstance(ot, t.IntLiteralType):
            if isinstance(expected, t.BitsType):
                self.convert(e.then, expected, e)
                self.convert(e.otherwise, expected, e)
                return expected
            if e.cond.const_value is None:
                raise self.fail(e, f"{_text(e)}: width of the conditional expression cannot be "
                                   "inferred")
            return tt
        if isinstance(tt, t.IntLiteralType):
            self.convert(e.then, ot, e)
            tt = ot
        elif isinstance(ot, t.IntLiteralType):
            self.convert(e.otherwise, tt, e)
            ot = tt
        if isinstance(tt, t.ListType | t.StructExpressionType) and expected is not None:
            self.convert(e.then, expected, e)
            tt = expected
        if isinstance(ot, t.ListType | t.StructExpressionType) and expected is not None:
            self.convert(e.otherwise, expected, e)
            ot = expected
        if not self.same_type(tt, ot):
            raise self.fail(e, f"{_text(e)}: Cannot unify type '{ot}' with type '{tt}'")
        return tt

    def cast(self, e: ast.Cast, scope: Scope) -> t.P4Type:
        dst = self.resolve_type(e.type_ref, scope)
        src = self.expression(e.expr, scope, dst)
        if isinstance(src, UnknownType) or isinstance(dst, UnknownType):
            return UNKNOWN
        if not self.cast_allowed(src, dst):
            raise self.fail(e, f"{_text(e)}: Illegal cast from {src} to {dst}")
        if isinstance(src, t.ListType | t.StructExpressionType):
            self.convert(e.expr, dst, e)
        return dst

    def cast_allowed(self, src: t.P4Type, dst: t.P4Type) -> bool:  # noqa: C901
        if self.same_type(src, dst):
            return True
        if isinstance(src, t.NewType) and self.same_type(src.underlying, dst):
            return True
        if isinstance(dst, t.NewType) and self.same_type(dst.underlying, src):
            return True
        if isinstance(dst, t.NewType):
            return self.cast_allowed(src, dst.underlying)
        if isinstance(src, t.NewType):
            return self.cast_allowed(src.underlying, dst)
        if isinstance(dst, t.BitsType):
            if isinstance(src, t.IntLiteralType):
                return True
            if isinstance(src, t.BoolType):
                return dst.width == 1 and not dst.signed
            if isinstance(src, t.BitsType):
                return src.signed == dst.signed or src.width == dst.width
            if isinstance(src, t.SerEnumType):
                return True
            return False
        if isinstance(dst, t.BoolType):
            return (isinstance(src, t.BitsType) and src.width == 1 and not src.signed) or \
                isinstance(src, t.IntLiteralType)
        if isinstance(dst, t.SerEnumType):
            return isinstance(src, t.BitsType | t.IntLiteralType)
        if isinstance(dst, t.IntLiteralType):
            return isinstance(src, t.BitsType | t.IntLiteralType)
        if isinstance(dst, t.StructLikeType | t.TupleType):
            return isinstance(src, t.ListType | t.StructExpressionType)
        return False

    # ------------------------------------------------------ conversions
    def same_type(self, a: t.P4Type, b: t.P4Type) -> bool:
        if isinstance(a, UnknownType) or isinstance(b, UnknownType):
            return True
        if isinstance(a, t.TypeVar) or isinstance(b, t.TypeVar):
            return True
        if isinstance(a, t.DontCareType) or isinstance(b, t.DontCareType):
            return True
        if isinstance(a, t.TupleType) and isinstance(b, t.TupleType):
            return len(a.elements) == len(b.elements) and all(
                self.same_type(x, y) for x, y in zip(a.elements, b.elements, strict=True))
        if isinstance(a, t.StackType) and isinstance(b, t.StackType):
            return a.size == b.size and self.same_type(a.element, b.element)
        return a == b

    def convert(self, e: ast.Expression, target: t.P4Type, where: ast.Node,
                source: t.P4Type | None = None, *, literal_to_enum: bool = True) -> None:
        """Implicitly convert ``e`` to ``target`` or report a type mismatch.

        An integer literal becomes a serializable enum only where p4c allows it (keysets and
        switch labels): an assignment, initializer, argument or return value refuses it.
        """
        src = source if source is not None else e.type
        if src is None or isinstance(src, UnknownType) or isinstance(target, UnknownType):
            return
        if isinstance(target, t.TypeVar | t.DontCareType):
            return
        if isinstance(src, t.TypeVar):
            raise self.fail(where, f"{_text(where)}: Cannot unify {src} to {target}")
        if isinstance(src, t.SerEnumType) and isinstance(target, t.BitsType) and \
                src.underlying == target:
            return  # implicit conversion of a serializable enum to its underlying type
        if isinstance(src, t.IntLiteralType):
            base = target.underlying if isinstance(target, t.NewType) else target
            if isinstance(base, t.BitsType):
                self.retype_literal(e, target)
                return
            if isinstance(base, t.SerEnumType):
                if not literal_to_enum:
                    raise self.fail(where, f"{_text(where)}: values of type 'int' cannot be "
                                           f"implicitly cast to type '{target}'")
                self.retype_literal(e, base.underlying)
                return
            if isinstance(target, t.IntLiteralType):
                return
            raise self.fail(where, f"{_text(e)}: cannot convert an integer to {target}")
        if isinstance(src, t.ListType):
            self.convert_list(e, src, target, where)
            return
        if isinstance(src, t.StructExpressionType):
            self.convert_struct(e, src, target, where)
            return
        if isinstance(src, t.DontCareType):
            return
        if not self.same_type(src, target):
            raise self.fail(where, f"{_text(where)}: Cannot unify type '{src}' with type "
                                   f"'{target}'")

    def convert_list(self, e: ast.Expression, src: t.ListType, target: t.P4Type,
                     where: ast.Node) -> None:
        if not isinstance(e, ast.ListExpression):
            raise self.fail(where, f"{_text(e)}: Cannot unify type '{src}' with type '{target}'")
        if isinstance(target, t.TupleType):
            elements = list(target.elements)
        elif isinstance(target, t.StructLikeType) and not isinstance(target,
                                                                     t.HeaderUnionType):
            elements = [ft for _, ft in target.fields]
        else:
            raise self.fail(where, f"{_text(e)}: Cannot unify type '{src}' with type '{target}'")
        if len(elements) != len(e.elements):
            raise self.fail(where, f"{_text(e)}: {len(e.elements)} values for "
                                   f"{len(elements)} fields of {target}")
        for element, etype in zip(e.elements, elements, strict=True):
            self.convert(element, etype, where)
        e.type = target
        fold(e)

    def convert_struct(self, e: ast.Expression, src: t.StructExpressionType, target: t.P4Type,
                       where: ast.Node) -> None:
        if not isinstance(e, ast.StructExpression) or not isinstance(target, t.StructLikeType):
            raise self.fail(where, f"{_text(e)}: Cannot unify type '{src}' with type '{target}'")
        wanted = target.field_names()
        given = [f.name for f in e.fields]
        if sorted(wanted) != sorted(given):
            missing = [n for n in wanted if n not in given]
            extra = [n for n in given if n not in wanted]
            detail = f"missing field {missing[0]}" if missing else f"no field {extra[0]}"
            raise self.fail(where, f"{_text(e)}: cannot initialize {target}: {detail}")
        for f in e.fields:
            ftype = target.field_type(f.name)
            assert ftype is not None
            self.convert(f.value, ftype, where)
        e.type = target
        fold(e)

    def retype_literal(self, e: ast.Expression, target: t.P4Type) -> None:
        """Give an integer-literal-typed constant subtree the type ``target``."""
        e.type = target
        if isinstance(e, ast.IntLiteral):
            bits = t.strip_newtype(target)
            if isinstance(bits, t.BitsType):
                if e.value != wrap(e.value, bits) and not (
                        bits.signed and e.value == 1 << (bits.width - 1)) and e.value >= 0:
                    self.warning(e, f"{e.text or e.value}: value does not fit in {bits}")
                if e.value < 0 and not bits.signed and -e.value > (1 << bits.width):
                    self.warning(e, f"{e.value}: value does not fit in {bits}")
                e.width, e.signed = bits.width, bits.signed
        elif isinstance(e, ast.UnaryOp):
            self.retype_literal(e.operand, target)
        elif isinstance(e, ast.BinaryOp):
            if e.op in ("<<", ">>"):
                self.retype_literal(e.left, target)
            else:
                for side in (e.left, e.right):
                    if isinstance(side.type, t.IntLiteralType):
                        self.retype_literal(side, target)
        elif isinstance(e, ast.Ternary):
            for side in (e.then, e.otherwise):
                if isinstance(side.type, t.IntLiteralType):
                    self.retype_literal(side, target)
        if e.const_value is not None:
            value = e.const_value
            e.const_value = None
            folded = fold(e)
            if folded is None and isinstance(value, int):
                e.const_value = wrap(value, t.strip_newtype(target))

    # --------------------------------------------------------------- calls
    def call(self, e: ast.MethodCall, scope: Scope) -> t.P4Type:  # noqa: C901
        method = e.method
        explicit = [self.resolve_type(a, scope) for a in e.type_args]
        if isinstance(method, ast.PathExpression):
            found = (self.top if method.top_level else scope).lookup(method.name)
            if not found:
                raise self.fail(method, f"{method.name}: declaration not found")
            candidates = [d for d in found
                          if isinstance(d, ast.FunctionDecl | ast.ExternFunctionDecl
                                        | ast.ActionDecl)]
            if not candidates:
                raise self.fail(method, f"{method.name}: is not a function or action")
            decl = self.pick_overload(e, method.name, candidates, e.args)
            if decl is None:
                raise _Abort()
            method.decl = decl
            method.type = decl.type
            if isinstance(decl, ast.ActionDecl) and self.block_kind == "parser":
                raise self.fail(e, f"{_text(e)}: Action calls are not allowed within parsers")
            if isinstance(decl, ast.ActionDecl) and self.block_kind == "function":
                raise self.fail(e, f"{_text(e)}: Functions cannot call actions")
            if isinstance(decl, ast.ExternFunctionDecl) and decl.name == "verify" and \
                    decl.pos.file.endswith("core.p4") and self.block_kind != "parser":
                raise self.fail(e, "verify: may only be invoked in parsers")
            if isinstance(decl, ast.ActionDecl):
                e.call_kind = ast.CallKind.ACTION
                sig = _Signature(decl.params, [p.type_ref.type or UNKNOWN for p in decl.params],
                                 t.VOID)
                bindings: dict[str, t.P4Type] = {}
            else:
                e.call_kind = ast.CallKind.FUNCTION if isinstance(decl, ast.FunctionDecl) \
                    else ast.CallKind.EXTERN_FUNCTION
                bindings = self.explicit_bindings(e, decl.type_params, explicit)
                sig = self.signature_of(decl, bindings)
            e.callee = decl
            e.ordered_args = self.bind_call(e, sig, e.args, scope, bindings, method.name)
            e.type_args_inferred = bindings
            return self.substitute(sig.return_type, bindings)
        if isinstance(method, ast.Member):
            result = self.method_call(e, method, explicit, scope)
            if method.type is None or isinstance(method.type, UnknownType):
                method.type = t.FunctionType(result, ())
            return result
        raise self.fail(e, f"{_text(method)}: is not a method")

    def explicit_bindings(self, e: ast.MethodCall, type_params: Sequence[ast.TypeParam],
                          explicit: list[t.P4Type]) -> dict[str, t.P4Type]:
        if explicit and len(explicit) != len(type_params):
            raise self.fail(e, f"{_text(e.method)}: expected {len(type_params)} type arguments, "
                               f"got {len(explicit)}")
        return {p.name: a for p, a in zip(type_params, explicit, strict=False)
                if not isinstance(a, t.DontCareType)}

    def signature_of(self, decl: ast.Node, bindings: dict[str, t.P4Type]) -> _Signature:
        typ = getattr(decl, "type", None)
        params: list[ast.Param] = list(getattr(decl, "params", []))
        if isinstance(typ, t.FunctionType):
            return _Signature(params, [p.type for p in typ.params], typ.return_type,
                              list(typ.type_params))
        return _Signature(params, [p.type_ref.type or UNKNOWN for p in params], t.VOID)

    def pick_overload(self, node: ast.Node, name: str, candidates: Sequence[ast.Node],
                      args: list[ast.Argument]) -> Any:
        names = {a.name for a in args if a.name is not None}
        fitting = []
        for cand in candidates:
            params: list[ast.Param] = list(getattr(cand, "params", []))
            required = [p for p in params if not _is_optional(p)]
            if names:
                pnames = {p.name for p in params}
                if names <= pnames and all(p.name in names for p in required):
                    fitting.append(cand)
            elif len(required) <= len(args) <= len(params):
                fitting.append(cand)
        if not fitting:
            if len(candidates) == 1:
                params = list(getattr(candidates[0], "params", []))
                required = [p for p in params if not _is_optional(p)]
                if len(args) < len(required):
                    self.error(node, f"{name}: Not enough arguments for call to {name}: "
                                     f"missing {required[len(args)].name}")
                else:
                    self.error(node, f"{name}: Too many arguments for call to {name}")
            else:
                self.error(node, f"{name}: no overload of {name} takes {len(args)} arguments")
            return None
        return fitting[0]

    def bind_call(self, node: ast.Node, sig: _Signature, args: list[ast.Argument],
                  scope: Scope, bindings: dict[str, t.P4Type],
                  name: str) -> list[ast.Expression | None]:
        """Check arguments against parameters; infer generics into ``bindings``."""
        params = sig.params
        ordered: list[ast.Expression | None] = [None] * len(params)
        if any(a.name is not None for a in args):
            if not all(a.name is not None for a in args):
                raise self.fail(node, f"{name}: all arguments must be named or none")
            index_of = {p.name: i for i, p in enumerate(params)}
            for a in args:
                if a.name not in index_of:
                    raise self.fail(a, f"{a.name}: no parameter named {a.name} in {name}")
                if ordered[index_of[a.name]] is not None:
                    raise self.fail(a, f"{a.name}: argument given twice")
                ordered[index_of[a.name]] = a.value
        else:
            if len(args) > len(params):
                raise self.fail(node, f"{name}: Too many arguments for call to {name}")
            for i, a in enumerate(args):
                ordered[i] = a.value
        for param, value in zip(params, ordered, strict=True):
            if value is None and not _is_optional(param):
                raise self.fail(node, f"{name}: Not enough arguments for call to {name}: "
                                      f"missing {param.name}")
        # Arguments whose parameter type is known first, then those binding generics,
        # integer literals last: they take the width a generic got from another argument.
        order = sorted(range(len(params)), key=lambda i: (
            self._mentions_typevar(sig.types[i]), _is_int_literal(ordered[i])))
        for i in order:
            value = ordered[i]
            if value is None:
                continue
            self.bind_argument(node, params[i], sig.types[i], value, scope, bindings)
        for i in order:
            ptype, value = sig.types[i], ordered[i]
            if isinstance(ptype, t.TypeVar) and ptype.name in sig.type_params and \
                    value is not None and isinstance(bindings.get(ptype.name), t.IntLiteralType):
                raise self.fail(value, f"{_text(value)}: could not infer a width")
        return ordered

    def bind_argument(self, node: ast.Node, param: ast.Param, ptype: t.P4Type,
                      value: ast.Expression, scope: Scope,
                      bindings: dict[str, t.P4Type]) -> None:
        ptype = self.substitute(ptype, bindings)
        if isinstance(value, ast.DontCare):
            if param.direction != "out" and (param.direction != "" or
                                             isinstance(node, ast.MethodCall)):
                raise self.fail(value, "_: don't care argument is only allowed for out "
                                       "parameters")
            value.type = ptype
            return
        expected = None if isinstance(ptype, t.TypeVar) else ptype
        atype = self.expression(value, scope, expected)
        if param.direction in ("out", "inout"):
            self.require_lvalue(value, "Read-only value used for out/inout parameter "
                                       f"'{param.name}'")
        elif param.direction == "" and isinstance(node, ast.MethodCall) and \
                node.call_kind != ast.CallKind.ACTION and not self.compile_time_known(value):
            # An action called explicitly takes any value for its directionless parameters:
            # they behave like `in` parameters (P4_16 spec, "Invoking actions").
            raise self.fail(value, f"{_text(value)}: argument used for directionless parameter "
                                   f"'{param.name}' must be a compile-time constant")
        if isinstance(ptype, t.TypeVar):
            if isinstance(atype, t.ListType):
                atype = t.TupleType(atype.elements)
                value.type = atype
            if isinstance(atype, t.StructExpressionType):
                raise self.fail(value, f"{_text(value)}: cannot infer the type of a structure "
                                       f"initializer for {param.name}")
            bindings[ptype.name] = atype
            return
        if param.direction in ("out", "inout") and not self.same_type(atype, ptype):
            raise self.fail(value, f"{_text(value)}: Cannot unify type '{atype}' with type "
                                   f"'{ptype}'")
        if isinstance(ptype, t.ParserType | t.ControlType | t.PackageType) and \
                isinstance(atype, t.ParserType | t.ControlType | t.PackageType):
            self.unify_blocks(value, ptype, atype, bindings)
            return
        if isinstance(ptype, t.ExternType) and isinstance(atype, t.ExternType):
            if ptype.name != atype.name:
                raise self.fail(value, f"{_text(value)}: Cannot unify type '{atype}' with "
                                       f"type '{ptype}'")
            return
        self.convert(value, ptype, value, literal_to_enum=False)

    def unify_blocks(self, node: ast.Expression, ptype: t.P4Type, atype: t.P4Type,
                     bindings: dict[str, t.P4Type]) -> None:
        assert isinstance(ptype, t.ParserType | t.ControlType | t.PackageType)
        assert isinstance(atype, t.ParserType | t.ControlType | t.PackageType)
        if type(ptype) is not type(atype) or len(ptype.params) != len(atype.params):
            raise self.fail(node, f"{_text(node)}: Cannot unify type '{atype}' with type "
                                  f"'{ptype}'")
        for want, have in zip(ptype.params, atype.params, strict=True):
            if want.direction != have.direction:
                raise self.fail(node, f"{_text(node)}: parameter {have.name} must have "
                                      f"direction '{want.direction or 'none'}'")
            wtype = self.substitute(want.type, bindings)
            if isinstance(wtype, t.TypeVar):
                bindings[wtype.name] = have.type
            elif not self.same_type(wtype, have.type):
                raise self.fail(node, f"{_text(node)}: Cannot unify type '{have.type}' with "
                                      f"type '{wtype}' (parameter {have.name})")

    def method_call(self, e: ast.MethodCall, method: ast.Member,  # noqa: C901
                    explicit: list[t.P4Type], scope: Scope) -> t.P4Type:
        name = method.member
        if isinstance(method.expr, ast.TypeNameExpression):
            typ = self.resolve_type(method.expr.type_ref, scope)
            method.expr.type = typ
            ref = method.expr.type_ref
            decl = ref.decl if isinstance(ref, ast.NamedTypeRef) else None
            if name == "apply" and isinstance(decl, ast.ParserDecl | ast.ControlDecl):
                return self.block_apply(e, decl, typ, scope)
            if name in SIZE_BUILTINS:
                return self.size_builtin(e, name, typ)
            raise self.fail(e, f"{_text(method)}: cannot call a method of type {typ}")
        base = self.expression(method.expr, scope)
        method.type = UNKNOWN
        if isinstance(base, UnknownType):
            raise _Abort()
        if name in SIZE_BUILTINS and not isinstance(base, t.ExternType):
            self.expect_args(e, 0)
            return self.size_builtin(e, name, base)
        if isinstance(base, t.HeaderType | t.HeaderUnionType) and name in HEADER_BUILTINS:
            if isinstance(base, t.HeaderUnionType) and name != "isValid":
                raise self.fail(e, f"{name}: not defined on header unions")
            self.expect_args(e, 0)
            if name != "isValid":
                self.require_lvalue(method.expr, f"{_text(method.expr)}: cannot call {name} "
                                                 "on a read-only header")
            e.call_kind, e.builtin, e.ordered_args = ast.CallKind.BUILTIN, name, []
            e.type_args_inferred = {}
            return t.BOOL if name == "isValid" else t.VOID
        if isinstance(base, t.StackType) and name in ("push_front", "pop_front"):
            if self.block_kind == "parser":
                raise self.fail(e, f"{_text(method)}: 'push_front' and 'pop_front' for stacks "
                                   "cannot be used in a parser")
            self.expect_args(e, 1)
            count = self.const_int(e.args[0].value, scope, f"{name} count")
            if count is not None and count < 0:
                raise self.fail(e.args[0], f"{name}: count must be non-negative")
            self.require_lvalue(method.expr, f"{_text(method.expr)}: cannot call {name} on "
                                             "a read-only stack")
            e.call_kind, e.builtin, e.ordered_args = ast.CallKind.BUILTIN, name, \
                [e.args[0].value]
            e.type_args_inferred = {}
            return t.VOID
        if isinstance(base, t.TableType) and name == "apply":
            if self.block_kind == "action":
                raise self.fail(e, f"{_text(method)}: tables cannot be invoked from actions")
            self.expect_args(e, 0)
            e.call_kind, e.callee, e.ordered_args = ast.CallKind.TABLE_APPLY, base.decl, []
            e.type_args_inferred = {}
            return t.TableApplyResultType(base)
        if isinstance(base, t.ParserType | t.ControlType) and name == "apply":
            target = method.expr.decl if isinstance(method.expr, ast.PathExpression) else None
            if not isinstance(target, ast.InstantiationDecl | ast.Param):
                raise self.fail(e, f"{_text(method)}: apply needs an instance")
            return self.block_apply(e, target, base, scope)
        if isinstance(base, t.ExternType) and isinstance(base.decl, ast.ExternDecl):
            methods = [m for m in base.decl.methods if m.name == name and not m.is_constructor]
            if not methods:
                raise self.fail(method, f"{name}: not a method of extern {base.name}")
            decl = self.pick_overload(e, f"{base.name}.{name}", methods, e.args)
            if decl is None:
                raise _Abort()
            bindings = {k: v for k, v in base.substitution().items()
                        if not isinstance(v, t.DontCareType)}
            bindings.update(self.explicit_bindings(e, decl.type_params, explicit))
            sig = self.signature_of(decl, bindings)
            e.call_kind, e.callee = ast.CallKind.EXTERN_METHOD, decl
            e.ordered_args = self.bind_call(e, sig, e.args, scope, bindings, name)
            e.type_args_inferred = bindings
            if base.name == "packet_in" and name == "extract":
                self.check_extract(e, bindings.get("T"), len(e.args))
            elif base.name == "packet_out" and name == "emit":
                self.check_emit(e, bindings.get("T"))
            method.decl = decl
            method.type = decl.type
            result = self.substitute(sig.return_type, bindings)
            if isinstance(result, t.TypeVar):
                raise self.fail(e, f"{_text(e)}: cannot infer the return type; give the type "
                                   f"argument explicitly")
            return result
        raise self.fail(method, f"{name}: not a method of a value of type {base}")

    def check_extract(self, e: ast.MethodCall, target: t.P4Type | None, nargs: int) -> None:
        if target is None or isinstance(target, UnknownType):
            return
        if not isinstance(target, t.HeaderType):
            raise self.fail(e.args[0], f"{_text(e.args[0].value)}: extract only accepts "
                                       f"arguments with header types, not {target}")
        has_varbit = any(isinstance(ft, t.VarbitType) for _, ft in target.fields)
        if nargs == 1 and has_varbit:
            raise self.fail(e, f"{_text(e)}: header {target} has a varbit field; use the "
                               "two-argument extract")
        if nargs == 2 and not has_varbit:
            raise self.fail(e, f"{_text(e)}: header {target} has no varbit field")

    def check_emit(self, e: ast.MethodCall, target: t.P4Type | None) -> None:
        def emittable(typ: t.P4Type) -> bool:
            if isinstance(typ, t.HeaderType | t.HeaderUnionType | UnknownType):
                return True
            if isinstance(typ, t.StackType):
                return emittable(typ.element)
            if isinstance(typ, t.StructType):
                return all(emittable(ft) for _, ft in typ.fields)
            return False
        if target is not None and not emittable(target):
            raise self.fail(e.args[0], f"{_text(e.args[0].value)}: emit only accepts headers, "
                                       f"header stacks, header unions and structs of them, "
                                       f"not {target}")

    def block_apply(self, e: ast.MethodCall, target: ast.Node, typ: t.P4Type,
                    scope: Scope) -> t.P4Type:
        if not isinstance(typ, t.ParserType | t.ControlType):
            raise self.fail(e, f"{_text(e.method)}: cannot be applied")
        params = [ast.Param(name=p.name, direction=p.direction,
                            type_ref=ast.NamedTypeRef(name=str(p.type)))
                  for p in typ.params]
        sig = _Signature(params, [p.type for p in typ.params], t.VOID)
        bindings: dict[str, t.P4Type] = {}
        e.ordered_args = self.bind_call(e, sig, e.args, scope, bindings, "apply")
        e.call_kind = ast.CallKind.PARSER_APPLY if isinstance(typ, t.ParserType) \
            else ast.CallKind.CONTROL_APPLY
        e.callee = target
        e.type_args_inferred = bindings
        return t.VOID

    def expect_args(self, e: ast.MethodCall, count: int) -> None:
        if len(e.args) != count:
            raise self.fail(e, f"{_text(e.method)}: expected {count} arguments, "
                               f"got {len(e.args)}")

    def size_builtin(self, e: ast.MethodCall, name: str, typ: t.P4Type) -> t.P4Type:
        try:
            bits = typ.width_bits() if not isinstance(typ, t.StackType) else \
                typ.size * typ.element.width_bits()
        except TypeError:
            raise self.fail(e, f"{name}: not defined on {typ}") from None
        if name.startswith("min") and isinstance(typ, t.HeaderType):
            bits = sum(ft.width_bits() for _, ft in typ.fields
                       if not isinstance(ft, t.VarbitType))
        value = bits if name.endswith("Bits") else (bits + 7) // 8
        e.call_kind, e.builtin, e.ordered_args = ast.CallKind.BUILTIN, name, []
        e.type_args_inferred = {}
        e.const_value = value
        return t.INT_LITERAL


def _key_name(e: ast.Expression) -> str | None:  # noqa: C901 - one case per expression kind
    """p4c's KeyNameGenerator: the name of a key expression, or None if it has none."""
    if isinstance(e, ast.PathExpression):
        return ("." if e.top_level else "") + e.name
    if isinstance(e, ast.Member):
        base_type = e.expr.type
        member = e.member
        if isinstance(base_type, t.StructLikeType) and isinstance(base_type.decl,
                                                                  ast.StructLikeDecl):
            field = next((f for f in base_type.decl.fields if f.name == member), None)
            external = field.name_annotation() if field is not None else None
            if external is not None:
                if external.startswith("."):
                    return external[1:]
                member = external
        left = _key_name(e.expr)
        return None if left is None else f"{left}.{member}"
    if isinstance(e, ast.ArrayIndex):
        left, right = _key_name(e.expr), _key_name(e.index)
        return None if left is None or right is None else f"{left}[{right}]"
    if isinstance(e, ast.IntLiteral):
        return _constant_text(e)
    if isinstance(e, ast.Slice):
        parts = [_key_name(x) for x in (e.expr, e.hi, e.lo)]
        if any(p is None for p in parts):
            return None
        return f"{parts[0]}[{parts[1]}:{parts[2]}]"
    if isinstance(e, ast.BinaryOp) and e.op == "&":
        left, right = _key_name(e.left), _key_name(e.right)
        return None if left is None or right is None else f"{left} & {right}"
    if isinstance(e, ast.MethodCall) and not e.args and isinstance(e.method, ast.Member) \
            and e.method.member == "isValid" and isinstance(
                e.method.expr.type, t.HeaderType | t.HeaderUnionType):
        left = _key_name(e.method.expr)
        return None if left is None else f"{left}.$valid$"
    return None


def _constant_text(e: ast.IntLiteral) -> str:
    """A literal in the base it was written in, without width (p4c's toString)."""
    digits = e.text.split("w", 1)[-1].split("s", 1)[-1] if e.width is not None and \
        ("w" in e.text or "s" in e.text) else e.text
    prefix = digits[:2].lower()
    value = abs(e.value)
    sign = "-" if e.value < 0 else ""
    if prefix == "0x":
        return f"{sign}0x{value:x}"
    if prefix == "0b":
        return f"{sign}0b{value:b}"
    if prefix == "0o":
        return f"{sign}0o{value:o}"
    return f"{sign}{value}"


def _header_field_type(typ: t.P4Type) -> bool:
    """Types allowed for (non-varbit) header fields; structs of them since P4_16 v1.2."""
    typ = t.strip_newtype(typ)
    if isinstance(typ, t.StructType):
        return all(_header_field_type(ft) for _, ft in typ.fields)
    return isinstance(typ, t.BitsType | t.BoolType | t.SerEnumType | t.TypeVar | UnknownType)


def _is_prefix_mask(mask: int, width: int) -> bool:
    """True for masks of the form 1...10...0 within ``width`` bits (an LPM prefix)."""
    inverted = ~mask & ((1 << width) - 1)
    return mask >> width == 0 and inverted & (inverted + 1) == 0


def _is_int_literal(e: ast.Expression | None) -> bool:
    if isinstance(e, ast.UnaryOp):
        return _is_int_literal(e.operand)
    return isinstance(e, ast.IntLiteral) and e.width is None


def _kind(typ: t.P4Type) -> str:
    if isinstance(typ, t.HeaderType):
        return "header"
    if isinstance(typ, t.HeaderUnionType):
        return "header_union"
    return "struct"


def _text(node: ast.Node) -> str:
    """Short source-like rendering of a node for messages.

    Expressions print as in source (``source_text``, the same printer that names keys);
    only casts and type names show the resolved type, as p4c's messages do.
    """
    if isinstance(node, ast.TypeNameExpression):
        ref = node.type_ref
        return ref.name if isinstance(ref, ast.NamedTypeRef) else getattr(ref, "kind", "type")
    if isinstance(node, ast.StringLiteral):
        return f'"{node.value}"'
    if isinstance(node, ast.Cast):
        return f"({_type_ref_text(node.type_ref)}){_text(node.expr)}"
    if isinstance(node, ast.AssignStatement):
        return f"{_text(node.lhs)} = {_text(node.rhs)}"
    if isinstance(node, ast.ConstructorCall):
        return f"{_type_ref_text(node.type_ref)}(" + \
            ", ".join(_text(a.value) for a in node.args) + ")"
    if isinstance(node, ast.Declaration):
        return node.name
    if isinstance(node, ast.Expression):
        return expression_text(node)
    return type(node).__name__


def _type_ref_text(ref: ast.TypeRef) -> str:
    if ref.type is not None:
        return str(ref.type)
    if isinstance(ref, ast.NamedTypeRef):
        return ref.name
    return getattr(ref, "kind", "type")


def check_program(program: ast.Program) -> list[Diagnostic]:
    """Resolve, type-check and fold ``program`` in place; return all diagnostics."""
    checker = Checker()
    # Long operator chains recurse a few frames per operand; allow a few thousand.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 8000))
    try:
        checker.check_program(program)
    finally:
        sys.setrecursionlimit(limit)
    return checker.diagnostics
