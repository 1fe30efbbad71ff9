"""Lexical scopes of P4 declarations (name -> declaration nodes)."""

from __future__ import annotations

from p4sim.compiler import ast


class Scope:
    """A lexical scope; overloadable names (extern functions) keep a list."""

    def __init__(self, parent: Scope | None = None) -> None:
        self.parent = parent
        self.names: dict[str, list[ast.Node]] = {}

    def declare(self, name: str, node: ast.Node) -> None:
        self.names.setdefault(name, []).append(node)

    def lookup(self, name: str) -> list[ast.Node] | None:
        scope: Scope | None = self
        while scope is not None:
            found = scope.names.get(name)
            if found:
                return found
            scope = scope.parent
        return None
