"""The midend's error type: a construct it cannot map faithfully to BMv2."""

from __future__ import annotations

from p4sim.compiler import ast
from p4sim.compiler.diagnostics import Diagnostic


class LoweringError(Exception):
    """Raised at the first unsupported or invalid construct, with its position."""

    def __init__(self, node: ast.Node | None, message: str) -> None:
        pos = node.pos if node is not None else ast.NO_POS
        self.diagnostic = Diagnostic(pos.file, pos.line, pos.col, message)
        super().__init__(str(self.diagnostic))
