"""Parser and control instances, and the constructor arguments bound when one is inlined.

A constructor parameter whose type is a parser or control (``control C()(Step s)``)
receives an instance; applying it (``s.apply(...)``) inlines that instance under the
control-plane name it has where it is declared, as p4c does: an instance constructed in
the argument (``C(AddOne()) c``) is declared by p4c's ``SpecializeAll`` inside the
specialised ``C``, named after the parameter (``I.c.s``); an instance passed by name
(``D() d; C(d) c;``) keeps its own name (``I.d``), wherever it is applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from p4sim.compiler import ast
from p4sim.compiler import types as t
from p4sim.compiler.midend.context import LoweringContext
from p4sim.compiler.midend.errors import LoweringError
from p4sim.compiler.midend.locations import ValueLoc
from p4sim.compiler.midend.scope import Scope, control_plane_name


@dataclass
class ControlInstance:
    """A sub-control declared in a control's locals (inlined when applied)."""

    decl: ast.InstantiationDecl
    control: ast.ControlDecl
    scope: Scope | None = None  # where its constructor arguments are read, if not local
    name: str | None = None  # its control-plane name, if not named where it is applied


@dataclass
class SubParser:
    """A sub-parser declared in a parser's locals (inlined when applied)."""

    decl: ast.InstantiationDecl
    parser: ast.ParserDecl
    scope: Scope | None = None  # where its constructor arguments are read, if not local
    name: str | None = None  # its control-plane name, if not named where it is applied


def instance_of(decl: ast.InstantiationDecl, scope: Scope | None = None,
                name: str | None = None) -> ControlInstance | SubParser | None:
    target = decl.callee or getattr(decl.type_ref, "decl", None)
    if isinstance(target, ast.ControlDecl):
        return ControlInstance(decl, target, scope, name)
    if isinstance(target, ast.ParserDecl):
        return SubParser(decl, target, scope, name)
    return None


def instance_name(instance: ControlInstance | SubParser, scope: Scope) -> str:
    """The control-plane name of ``instance`` applied in ``scope``."""
    return instance.name if instance.name is not None else \
        control_plane_name(instance.decl, scope)


def constructor_values(decl: ast.InstantiationDecl | ast.ConstructorCall
                       ) -> list[ast.Expression | None]:
    """The constructor arguments in parameter order."""
    if decl.ordered_args is not None:
        return list(decl.ordered_args)
    return [a.value for a in decl.args]


def bind_constructor_arguments(ctx: LoweringContext, params: Sequence[ast.Param],
                               values: Sequence[ast.Expression | None], scope: Scope,
                               outer: Scope, where: ast.Node) -> None:
    """Bind ``params`` in ``scope`` to the arguments ``values`` (read in ``outer``):
    constants, or parser and control instances."""
    if len(values) < len(params) or any(v is None for v in values[:len(params)]):
        raise LoweringError(where, "missing constructor arguments: it cannot be applied "
                                   "without an instance")
    for param, value in zip(params, values, strict=False):
        assert value is not None
        passed = _passed_instance(param, value, scope, outer)
        if passed is not None:
            scope.bind(param, ValueLoc(passed, t.VOID))
            continue
        constant = ctx.expr.constant(value)
        if constant is None:
            raise LoweringError(value, "constructor arguments must be compile-time constants "
                                       "or parser/control instances on this target")
        scope.bind(param, ValueLoc(constant, param.type_ref.type or t.INT_LITERAL))


def _passed_instance(param: ast.Param, value: ast.Expression, scope: Scope,
                     outer: Scope) -> ControlInstance | SubParser | None:
    if isinstance(value, ast.PathExpression) and value.decl is not None:
        found = outer.lookup(value.decl)
        if isinstance(found, ValueLoc) and isinstance(found.json_value,
                                                      ControlInstance | SubParser):
            passed = found.json_value
            if passed.name is None:
                passed = replace(passed, name=control_plane_name(passed.decl, outer))
            return passed
        if isinstance(value.decl, ast.InstantiationDecl):
            return instance_of(value.decl, outer, control_plane_name(value.decl, outer))
    if isinstance(value, ast.ConstructorCall) and isinstance(
            value.callee or getattr(value.type_ref, "decl", None),
            ast.ControlDecl | ast.ParserDecl):
        decl = ast.InstantiationDecl(pos=value.pos, name=param.name, type_ref=value.type_ref,
                                     args=list(value.args))
        decl.ordered_args = value.ordered_args
        decl.callee = value.callee or getattr(value.type_ref, "decl", None)
        return instance_of(decl, outer, scope.qualify(param.name))
    return None
