"""Bindings of declarations to locations for one inlined instance."""

from __future__ import annotations

from dataclasses import dataclass, field

from p4sim.compiler import ast
from p4sim.compiler.midend.locations import Location


@dataclass
class Scope:
    """``prefix`` is the control-plane name prefix of the enclosing instance
    (``"MyIngress"``, ``"MyIngress.sub"``; ``""`` at top level)."""

    prefix: str
    parent: Scope | None = None
    bindings: dict[int, Location] = field(default_factory=dict)

    def bind(self, decl: ast.Node, location: Location) -> None:
        self.bindings[id(decl)] = location

    def lookup(self, decl: ast.Node) -> Location | None:
        scope: Scope | None = self
        while scope is not None:
            found = scope.bindings.get(id(decl))
            if found is not None:
                return found
            scope = scope.parent
        return None

    def child(self, prefix: str | None = None) -> Scope:
        return Scope(self.prefix if prefix is None else prefix, self)

    def qualify(self, name: str) -> str:
        """Control-plane name of a local called ``name`` (``@name(".x")`` is absolute)."""
        if name.startswith("."):
            return name[1:]
        return f"{self.prefix}.{name}" if self.prefix else name


def control_plane_name(decl: ast.Declaration, scope: Scope) -> str:
    override = decl.name_annotation()
    return scope.qualify(override if override is not None else decl.name)
