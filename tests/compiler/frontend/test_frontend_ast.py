"""The AST's generic walking helpers (used by later compiler passes)."""

from p4sim.compiler import ast
from p4sim.compiler.parser import parse_text


def test_visitor_dispatches_by_class_and_walks_children() -> None:
    program = parse_text("control C(inout bit<8> x) { apply { x = x + 1; x = 2; } }", "v.p4")
    seen: list[str] = []

    class Names(ast.Visitor):
        def visit_PathExpression(self, node: ast.PathExpression) -> None:
            seen.append(node.name)

        def visit_Expression(self, node: ast.Expression) -> None:  # fallback by base class
            seen.append(type(node).__name__)
            self.generic_visit(node)

    Names().visit(program)
    # The first literal is the width in bit<8>.
    assert seen == ["IntLiteral", "x", "BinaryOp", "x", "IntLiteral", "x", "IntLiteral"]


def test_transformer_replaces_and_removes_list_elements() -> None:
    program = parse_text("control C(inout bit<8> x) { apply { x = 1; ; x = 2; } }", "t.p4")

    class Simplify(ast.Transformer):
        def visit_EmptyStatement(self, node: ast.EmptyStatement) -> None:
            return None

        def visit_IntLiteral(self, node: ast.IntLiteral) -> ast.IntLiteral:
            return ast.IntLiteral(pos=node.pos, value=node.value * 10)

    Simplify().visit(program)
    control = program.declarations[0]
    assert isinstance(control, ast.ControlDecl)
    values = [s.rhs.value for s in control.body.statements]  # type: ignore[attr-defined]
    assert values == [10, 20]
    assert [type(n).__name__ for n in ast.walk(control.body)] == [
        "BlockStatement", "AssignStatement", "PathExpression", "IntLiteral",
        "AssignStatement", "PathExpression", "IntLiteral"]
