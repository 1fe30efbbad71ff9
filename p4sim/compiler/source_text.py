"""Print AST expressions back as P4 text, the way p4c names things after them.

p4c names table key fields (JSON ``key[].name``, P4Info ``match_fields.name``)
and renders annotation arguments from the expression's source form.
"""

from __future__ import annotations

from p4sim.compiler import ast


def expression_text(e: ast.Expression) -> str:
    if isinstance(e, ast.PathExpression):
        return ("." if e.top_level else "") + e.name
    if isinstance(e, ast.Member):
        return f"{expression_text(e.expr)}.{e.member}"
    if isinstance(e, ast.ArrayIndex):
        return f"{expression_text(e.expr)}[{expression_text(e.index)}]"
    if isinstance(e, ast.Slice):
        return f"{expression_text(e.expr)}[{expression_text(e.hi)}:{expression_text(e.lo)}]"
    if isinstance(e, ast.IntLiteral):
        return e.text or str(e.value)
    if isinstance(e, ast.BoolLiteral):
        return "true" if e.value else "false"
    if isinstance(e, ast.StringLiteral):
        return '"' + e.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(e, ast.MethodCall):
        args = ", ".join(expression_text(a.value) for a in e.args)
        return f"{expression_text(e.method)}({args})"
    if isinstance(e, ast.BinaryOp):
        return f"{expression_text(e.left)} {e.op} {expression_text(e.right)}"
    if isinstance(e, ast.UnaryOp):
        return f"{e.op}{expression_text(e.operand)}"
    if isinstance(e, ast.Cast):
        return f"({type_text(e.type_ref)}){expression_text(e.expr)}"
    if isinstance(e, ast.TypeNameExpression):
        return type_text(e.type_ref)
    if isinstance(e, ast.ListExpression):
        return "{" + ", ".join(expression_text(x) for x in e.elements) + "}"
    if isinstance(e, ast.StructExpression):
        return "{" + ", ".join(f"{f.name} = {expression_text(f.value)}" for f in e.fields) + "}"
    if isinstance(e, ast.MaskExpression):
        return f"{expression_text(e.value)} &&& {expression_text(e.mask)}"
    if isinstance(e, ast.RangeExpression):
        return f"{expression_text(e.low)} .. {expression_text(e.high)}"
    if isinstance(e, ast.DefaultExpression):
        return "default"
    if isinstance(e, ast.DontCare):
        return "_"
    if isinstance(e, ast.Ternary):
        return (f"{expression_text(e.cond)} ? {expression_text(e.then)} : "
                f"{expression_text(e.otherwise)}")
    return type(e).__name__


def type_text(ref: ast.TypeRef) -> str:
    if isinstance(ref, ast.BaseTypeRef):
        if ref.width is not None:
            return f"{ref.kind}<{expression_text(ref.width)}>"
        return ref.kind
    if isinstance(ref, ast.NamedTypeRef):
        if ref.type_args:
            return ref.name + "<" + ", ".join(type_text(a) for a in ref.type_args) + ">"
        return ref.name
    if ref.type is not None:
        return str(ref.type)
    return type(ref).__name__


_NOT_IN_P4INFO = {"name", "id", "hidden", "brief", "description"}


def annotation_text(a: ast.Annotation) -> str:
    """``@name``, ``@name(args)`` or ``@name[k=v]`` as P4Info lists annotations."""
    if a.kv:
        return f"@{a.name}[" + ", ".join(f"{k}={expression_text(v)}" for k, v in a.kv) + "]"
    if a.args:
        return f"@{a.name}(" + ", ".join(expression_text(x) for x in a.args) + ")"
    if a.tokens:
        return f"@{a.name}(" + " ".join(a.tokens) + ")"
    return f"@{a.name}"


def p4info_annotations(annotations: list[ast.Annotation]) -> list[str]:
    return [annotation_text(a) for a in annotations if a.name not in _NOT_IN_P4INFO]


def string_annotation(annotations: list[ast.Annotation], name: str) -> str | None:
    for a in annotations:
        if a.name == name and a.args and isinstance(a.args[0], ast.StringLiteral):
            return a.args[0].value
    return None
