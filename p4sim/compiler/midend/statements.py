"""Lowering of statement lists to BMv2 primitives (action bodies, parser ops).

Actions and functions called from here are expanded in place with their
parameters bound to the arguments (in-arguments as values, out/inout as the
argument's storage).  ``if`` inside actions becomes ``_jump_if_zero``/``_jump``
and ``return``/``exit`` jump to the end of the expanded body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from p4sim.compiler import ast
from p4sim.compiler import types as t
from p4sim.compiler.midend import v1model_externs
from p4sim.compiler.midend.context import LoweringContext, source_info
from p4sim.compiler.midend.errors import LoweringError
from p4sim.compiler.midend.expressions import header_member, mask_to, op, repr_type
from p4sim.compiler.midend.locations import (
    DynamicHeaderLoc,
    FieldLoc,
    HeaderLoc,
    Location,
    StackLoc,
    StructLoc,
    UnionLoc,
    ValueLoc,
)
from p4sim.compiler.midend.resets import out_header_resets
from p4sim.compiler.midend.scope import Scope
from p4sim.compiler.source_text import expression_text

Json = Any
# emits the copy-out of one out/inout argument (the node is the primitives' source)
CopyOut = Callable[[ast.Node], None]

PARSER_NATIVE_OPS = {"extract", "extract_VL", "verify", "advance", "set", "primitive"}


# parser ops whose parameters BMv2 reads as plain expressions (p4c does not wrap them)
_UNWRAPPED_OPS = {"verify", "advance", "extract"}


def _as_parameter(op_name: str, index: int, value: Json) -> Json:
    """A primitive parameter as BMv2 reads it: an expression parameter is a type-value
    object whose value is itself the typed expression (``{"type": "expression",
    "value": {"type": "expression", "value": {"op": ...}}}``, JSON_format.md); the
    variable-length argument of ``extract_VL`` is always wrapped that way.  A
    ``stack_field`` (``stack.last.f``) is wrapped too, as p4c does: BMv2's parser ``set``
    accepts no bare ``stack_field`` source."""
    if op_name in _UNWRAPPED_OPS:
        return value
    if op_name == "extract_VL" and index == 1:
        return {"type": "expression", "value": value}
    if isinstance(value, dict) and value.get("type") == "stack_field":
        return {"type": "expression", "value": value}
    if isinstance(value, dict) and value.get("type") == "expression" and \
            isinstance(value.get("value"), dict) and "op" in value["value"]:
        return {"type": "expression", "value": value}
    return value


_OPERANDS = ("left", "right", "cond")


def _localize(parameter: Json) -> Json:
    """A primitive parameter with the action data inside its expressions as ``local``:
    BMv2 takes ``runtime_data`` only as a whole parameter, and reads action data inside
    an expression as ``local`` (p4c's ExpressionConverter::fixLocal)."""
    if not isinstance(parameter, dict):
        return parameter
    if parameter.get("type") == "expression":
        return {"type": "expression", "value": _localize_node(parameter.get("value"))}
    if parameter.get("type") == "parameters_vector" and isinstance(parameter.get("value"),
                                                                     list):
        return {"type": "parameters_vector",
                "value": [_localize(element) for element in parameter["value"]]}
    return parameter


def _localize_node(node: Json) -> Json:
    if not isinstance(node, dict):
        return node
    if node.get("type") == "runtime_data":
        return {"type": "local", "value": node.get("value")}
    inner = node.get("value")
    if node.get("type") != "expression" or not isinstance(inner, dict):
        return node
    if "op" not in inner:
        return {"type": "expression", "value": _localize_node(inner)}
    return {"type": "expression",
            "value": {key: _localize_node(operand) if key in _OPERANDS else operand
                      for key, operand in inner.items()}}


def statement_text(s: ast.Node) -> str:
    if isinstance(s, ast.AssignStatement):
        return f"{expression_text(s.lhs)} = {expression_text(s.rhs)}"
    if isinstance(s, ast.MethodCallStatement):
        return expression_text(s.call)
    if isinstance(s, ast.ExitStatement):
        return "exit"
    if isinstance(s, ast.ReturnStatement):
        return "return"
    if isinstance(s, ast.VariableDecl):
        return s.name
    return type(s).__name__


class BodyLowering:
    """Accumulates primitives in ``out``; ``in_parser`` selects parser-op encoding."""

    def __init__(self, ctx: LoweringContext, in_parser: bool = False) -> None:
        self.ctx = ctx
        self.in_parser = in_parser
        self.out: list[Json] = []
        self._return_jumps: list[list[Json]] = []
        # per inlined call, like _return_jumps: its out/inout copy-outs (see inline)
        self._copy_outs: list[list[CopyOut]] = []
        # per enclosing run-time loop: the jumps of its break and continue statements
        self._loop_jumps: list[tuple[list[Json], list[Json]]] = []

    # ------------------------------------------------------------ emission

    def emit(self, name: str, parameters: list[Json], node: ast.Node | None,
             fragment: str | None = None) -> Json:
        if self.in_parser:
            # a field assignment becomes ``set``, whose whole source may be a lookahead
            parameters = [self._read_lookaheads(p, name == "assign" and index == 1)
                          for index, p in enumerate(parameters)]
        parameters = [_as_parameter(name, index, p) for index, p in enumerate(parameters)]
        if not self.in_parser:
            parameters = [_localize(p) for p in parameters]
        if self.in_parser:
            if name == "assign" and parameters[0].get("type") == "expression":
                # p4c emits this ``set`` all the same, and BMv2 refuses to load it
                raise LoweringError(node, "a field of a header-stack element at a run-time "
                                          "index cannot be assigned in a parser on this "
                                          "target (BMv2's parser 'set' writes fields only)")
            if name == "assign":
                name = "set"
            if name not in PARSER_NATIVE_OPS:
                primitive: Json = {"op": "primitive",
                                   "parameters": [{"op": name, "parameters": parameters}]}
                self.out.append(primitive)
                return primitive
            primitive = {"parameters": parameters, "op": name}
            self.out.append(primitive)
            return primitive
        primitive = {"op": name, "parameters": parameters}
        if node is not None:
            primitive["source_info"] = source_info(node, fragment or statement_text(node))
        self.out.append(primitive)
        return primitive

    def _read_lookaheads(self, value: Json, whole_allowed: bool) -> Json:
        """``value`` with each ``lookahead`` read into a temporary by a ``set`` first: BMv2
        takes ``lookahead`` only as a whole ``set`` source or transition key, never inside
        an expression or as another op's parameter (p4c's side-effect ordering reads
        it into a temporary the same way)."""
        if not isinstance(value, dict):
            return value
        if value.get("type") == "lookahead":
            if whole_allowed:
                return value
            temp = self.ctx.storage.scalar("tmp", t.BitsType(value["value"][1]))
            self.out.append({"parameters": [temp.json(), value], "op": "set"})
            return temp.json()
        inner = value.get("value")
        if value.get("type") != "expression" or not isinstance(inner, dict):
            return value
        if "op" not in inner:
            return {"type": "expression", "value": self._read_lookaheads(inner, False)}
        return {"type": "expression",
                "value": {key: self._read_lookaheads(operand, False)
                          if key in _OPERANDS else operand for key, operand in inner.items()}}

    def _jump(self, name: str, parameters: list[Json], node: ast.Node) -> Json:
        if self.in_parser:
            raise LoweringError(node, "conditional statements in parser states are not "
                                      "supported on this target")
        target: Json = {"type": "hexstr", "value": "0x0"}
        # p4c's source fragment for the jumps of an `if` is just "if"
        self.emit(name, parameters + [target], node,
                  "if" if isinstance(node, ast.IfStatement) else None)
        return target

    def _patch(self, target: Json) -> None:
        # p4c writes jump offsets unpadded ("0x5"), as its BMv2 JSON shows
        target["value"] = f"0x{len(self.out):x}"

    # ------------------------------------------------------------ statements

    def action_body(self, body: list[ast.Node], scope: Scope) -> list[Json]:
        """Lower a whole action (or synthesized action) body; returns its primitives."""
        self._return_jumps.append([])
        self.statements(body, scope)
        for jump in self._return_jumps.pop():
            self._patch(jump)
        return self.out

    def statements(self, body: list[ast.Node], scope: Scope) -> None:
        for s in body:
            self.statement(s, scope)

    def statement(self, s: ast.Node, scope: Scope) -> None:
        ctx = self.ctx
        if isinstance(s, ast.AssignStatement):
            self.precompute_calls(s.rhs, scope)
            self.assign(s.lhs, s.rhs, scope, s)
        elif isinstance(s, ast.MethodCallStatement):
            self.call(s.call, scope, s)
        elif isinstance(s, ast.BlockStatement):
            self.statements(s.statements, scope.child())
        elif isinstance(s, ast.VariableDecl):
            assert s.type_ref.type is not None
            loc = ctx.storage.variable(s.name, s.type_ref.type)
            scope.bind(s, loc)
            if s.init is not None:
                self.precompute_calls(s.init, scope)
                self.assign_to(loc, s.init, scope, s)
        elif isinstance(s, ast.ConstDecl | ast.EmptyStatement):
            return
        elif isinstance(s, ast.IfStatement):
            self.precompute_calls(s.cond, scope)
            condition = op("b2d", None, ctx.expr.condition(s.cond, scope))
            else_target = self._jump("_jump_if_zero", [condition], s)
            self.statement(s.then, scope.child())
            if s.otherwise is not None:
                end_target = self._jump("_jump", [], s)
                self._patch(else_target)
                self.statement(s.otherwise, scope.child())
                self._patch(end_target)
            else:
                self._patch(else_target)
        elif isinstance(s, ast.ExitStatement):
            if self.in_parser:
                raise LoweringError(s, "exit is not allowed in a parser")
            self.emit("exit", [], s)
            # the arguments of all the calls being left are still copied out, innermost
            # first: the jump below leads past the end of the outermost one
            for copy_outs in reversed(self._copy_outs):
                for copy_out in copy_outs:
                    copy_out(s)
            # then the enclosing applied controls' arguments, innermost first, as on a
            # normal return (BMv2's exit lets the action run to its end)
            for copies, holders in reversed(self.ctx.exit_copy_outs):
                self.statements(copies, holders)
            if self._return_jumps:
                self._return_jumps[0].append(self._jump("_jump", [], s))
        elif isinstance(s, ast.ReturnStatement):
            if not self._return_jumps:
                raise LoweringError(s, "return outside of an action or function")
            self._return_jumps[-1].append(self._jump("_jump", [], s))
        elif isinstance(s, ast.SwitchStatement):
            self._switch(s, scope)
        elif isinstance(s, ast.ForStatement):
            self._loop(s, scope.child())
        elif isinstance(s, ast.BreakStatement | ast.ContinueStatement):
            if not self._loop_jumps:
                raise LoweringError(s, "break/continue outside of a loop")
            breaks, continues = self._loop_jumps[-1]
            jumps = breaks if isinstance(s, ast.BreakStatement) else continues
            jumps.append(self._jump("_jump", [], s))
        else:
            raise LoweringError(s, f"{type(s).__name__} is not supported in actions on this "
                                   "target")

    def _loop(self, s: ast.ForStatement, scope: Scope) -> None:
        """A loop that could not be unrolled (``loops.py``), with jumps as p4c's BMv2
        backend: the condition, the body, the updates, a jump back to the condition."""
        self.statements(s.init, scope)
        start = len(self.out)
        self.precompute_calls(s.cond, scope)
        condition = op("b2d", None, self.ctx.expr.condition(s.cond, scope))
        end_target = self._jump("_jump_if_zero", [condition], s)
        self._loop_jumps.append(([], []))
        self.statement(s.body, scope.child())
        breaks, continues = self._loop_jumps.pop()
        for jump in continues:
            self._patch(jump)
        self.statements(s.updates, scope)
        back = self._jump("_jump", [], s)
        back["value"] = f"0x{start:x}"
        self._patch(end_target)
        for jump in breaks:
            self._patch(jump)

    def _switch(self, s: ast.SwitchStatement, scope: Scope) -> None:
        """``switch`` on a value inside an action: the value is read once into a
        temporary, then a chain of ``if (v == label ...)`` (fall-through labels share
        a body)."""
        if s.expr.type is None:
            raise LoweringError(s.expr, "unsupported switch expression")
        temp = self.ctx.storage.scalar("switch", s.expr.type)
        self.emit("assign", [temp.json(), self.ctx.expr.value(s.expr, scope)], s)
        selector = ast.PathExpression(pos=s.expr.pos, name=temp.field, type=s.expr.type)
        selector.decl = selector
        inner = scope.child()
        inner.bind(selector, temp)
        groups: list[tuple[list[ast.Expression], ast.Statement]] = []
        labels: list[ast.Expression] = []
        default: ast.Statement | None = None
        for case in s.cases:
            labels.append(case.label)
            if case.body is None:
                continue
            if any(isinstance(label, ast.DefaultExpression) for label in labels):
                default = case.body
            else:
                groups.append((labels, case.body))
            labels = []
        chain: ast.Statement | None = default
        for group_labels, body in reversed(groups):
            condition: ast.Expression = ast.BinaryOp(
                pos=group_labels[0].pos, op="==", left=selector, right=group_labels[0],
                type=t.BOOL)
            for label in group_labels[1:]:
                condition = ast.BinaryOp(pos=label.pos, op="||", left=condition, type=t.BOOL,
                                         right=ast.BinaryOp(pos=label.pos, op="==",
                                                            left=selector, right=label,
                                                            type=t.BOOL))
            chain = ast.IfStatement(pos=body.pos, cond=condition, then=body, otherwise=chain)
        if chain is not None:
            self.statement(chain, inner)

    # ------------------------------------------------------------ assignment

    def assign(self, lhs: ast.Expression, rhs: ast.Expression, scope: Scope,
               node: ast.Node) -> None:
        if isinstance(lhs, ast.Slice):
            self._assign_slice(lhs, rhs, scope, node)
            return
        self.assign_to(self.ctx.expr.location(lhs, scope), rhs, scope, node)

    def _assign_slice(self, lhs: ast.Slice, rhs: ast.Expression, scope: Scope,
                      node: ast.Node) -> None:
        expr = self.ctx.expr
        hi = expr.const_int(lhs.hi)
        lo = expr.const_int(lhs.lo)
        base = lhs.expr
        while isinstance(base, ast.Slice) and hi is not None and lo is not None:
            # a slice of a slice: ``e[7:4][2:1]`` is ``e[6:5]``
            outer_lo = expr.const_int(base.lo)
            if outer_lo is None:
                break
            hi, lo, base = outer_lo + hi, outer_lo + lo, base.expr
        target = expr.location(base, scope)
        width = t.strip_newtype(base.type) if base.type else None
        if not isinstance(target, FieldLoc) or hi is None or lo is None or \
                not isinstance(width, t.BitsType):
            raise LoweringError(node, "slice assignment is only supported on bit fields")
        field_mask = ((1 << (hi - lo + 1)) - 1) << lo
        keep = ((1 << width.width) - 1) & ~field_mask
        from p4sim.compiler.midend.bmv2_sections import hex_json
        shifted = op("<<", mask_to(expr.value(rhs, scope), hi - lo + 1), hex_json(lo, None))
        combined = op("|", op("&", target.json(), hex_json(keep, width.width)),
                      op("&", shifted, hex_json(field_mask, width.width)))
        self.emit("assign", [target.json(), combined], node)

    def assign_to(self, dst: Location, rhs: ast.Expression, scope: Scope,
                  node: ast.Node) -> None:
        expr = self.ctx.expr
        while isinstance(rhs, ast.Cast) and isinstance(rhs.expr, ast.StructExpression |
                                                        ast.ListExpression):
            rhs = rhs.expr  # ``(T){...}``: the initializer, typed as T
        if isinstance(dst, FieldLoc):
            self.emit("assign", [dst.json(), expr.value(rhs, scope)], node)
            return
        if isinstance(dst, HeaderLoc):
            if isinstance(rhs, ast.InvalidExpression):
                self.emit("remove_header", [{"type": "header", "value": dst.name}], node)
                return
            if isinstance(rhs, ast.StructExpression | ast.ListExpression):
                self.emit("add_header", [{"type": "header", "value": dst.name}], node)
                for (name, _), value in zip(dst.type.fields, _initializer(rhs, dst.type),
                                            strict=True):
                    self.assign_to(header_member(dst, (name, )), value, scope, node)
                return
        if isinstance(dst, StructLoc) and isinstance(rhs, ast.StructExpression |
                                                      ast.ListExpression):
            for (name, _), value in zip(dst.type.fields, _initializer(rhs, dst.type),
                                        strict=True):
                self.assign_to(dst.fields[name], value, scope, node)
            return
        self.copy(dst, expr.location(rhs, scope), node)

    def copy(self, dst: Location, src: Location, node: ast.Node) -> None:
        if isinstance(dst, FieldLoc) and isinstance(src, FieldLoc | ValueLoc):
            value = src.json() if isinstance(src, FieldLoc) else src.json_value
            self.emit("assign", [dst.json(), value], node)
        elif isinstance(dst, HeaderLoc) and isinstance(src, HeaderLoc):
            self.emit("assign_header", [{"type": "header", "value": dst.name},
                                        {"type": "header", "value": src.name}], node)
        elif isinstance(dst, StructLoc) and isinstance(src, StructLoc):
            for name, sub in dst.fields.items():
                self.copy(sub, src.fields[name], node)
        elif isinstance(dst, UnionLoc) and isinstance(src, UnionLoc):
            self.emit("assign_union", [{"type": "header_union", "value": dst.name},
                                       {"type": "header_union", "value": src.name}], node)
        elif isinstance(dst, StackLoc) and isinstance(src, StackLoc) and dst.unions:
            self.emit("assign_union_stack", [{"type": "header_union_stack", "value": dst.name},
                                             {"type": "header_union_stack",
                                              "value": src.name}], node)
        elif isinstance(dst, StackLoc) and isinstance(src, StackLoc):
            self.emit("assign_header_stack", [{"type": "header_stack", "value": dst.name},
                                              {"type": "header_stack", "value": src.name}],
                      node)
        else:
            raise LoweringError(node, "assignment between these values is not supported on "
                                      "this target")

    # ------------------------------------------------------------ calls

    def precompute_calls(self, e: ast.Expression, scope: Scope) -> None:
        """Expand function calls nested in ``e`` into temporaries, in evaluation order."""
        for node in _postorder(e):
            if isinstance(node, ast.MethodCall) and node.call_kind is ast.CallKind.FUNCTION \
                    and id(node) not in self.ctx.expr.precomputed \
                    and id(node) not in self.ctx.expr.precomputed_storage:
                decl = node.callee
                assert isinstance(decl, ast.FunctionDecl) and node.type is not None
                result = self.ctx.storage.variable("tmp", node.type)
                self.inline(decl, node, scope, result)
                if isinstance(result, FieldLoc):
                    self.ctx.expr.precomputed[id(node)] = result.json()
                else:
                    self.ctx.expr.precomputed_storage[id(node)] = result

    def call(self, call: ast.MethodCall, scope: Scope, node: ast.Node) -> None:
        kind = call.call_kind
        for arg in call.args:
            self.precompute_calls(arg.value, scope)
        if kind is ast.CallKind.BUILTIN:
            self._builtin(call, scope, node)
        elif kind is ast.CallKind.ACTION or kind is ast.CallKind.FUNCTION:
            assert isinstance(call.callee, ast.ActionDecl | ast.FunctionDecl)
            self.inline(call.callee, call, scope, None)
        elif kind is ast.CallKind.EXTERN_FUNCTION:
            v1model_externs.extern_function(self, call, scope, node)
        elif kind is ast.CallKind.EXTERN_METHOD:
            assert isinstance(call.method, ast.Member)
            instance = self.ctx.expr.location(call.method.expr, scope) \
                if not _is_packet(call.method.expr) else None
            v1model_externs.extern_method(self, call, instance, scope, node)
        else:
            raise LoweringError(call, f"{expression_text(call)}: this call is not allowed "
                                      "here")

    def _builtin(self, call: ast.MethodCall, scope: Scope, node: ast.Node) -> None:
        assert isinstance(call.method, ast.Member)
        target = self.ctx.expr.location(call.method.expr, scope)
        name = call.builtin
        if name in ("setValid", "setInvalid") and isinstance(target, HeaderLoc |
                                                              DynamicHeaderLoc):
            primitive = "add_header" if name == "setValid" else "remove_header"
            header = {"type": "header", "value": target.name} \
                if isinstance(target, HeaderLoc) else target.element
            self.emit(primitive, [header], node)
        elif name in ("push_front", "pop_front") and isinstance(target, StackLoc) and \
                not target.unions:
            count = self.ctx.expr.const_int(call.args[0].value) if call.args else None
            if count is None:
                raise LoweringError(call, f"{name} needs a constant count")
            from p4sim.compiler.midend.bmv2_sections import hex_json
            self.emit("push" if name == "push_front" else "pop",
                      [{"type": "header_stack", "value": target.name}, hex_json(count, None)],
                      node)
        else:
            raise LoweringError(call, f"{expression_text(call)}: not supported on this target")

    def inline(self, decl: ast.ActionDecl | ast.FunctionDecl, call: ast.MethodCall,
               scope: Scope, result: Location | None) -> None:
        expr = self.ctx.expr
        inner = scope.child()
        args = call.ordered_args if call.ordered_args is not None else \
            [a.value for a in call.args]
        outputs = [(param, given, expr.location(sliced(given), scope))
                   for param, given in zip(decl.params, args, strict=False)
                   if given is not None and param.direction in ("out", "inout")]
        copy_outs: list[CopyOut] = []
        aliased = _outputs_alias(decl, outputs)
        for param, given, target in outputs:
            if not aliased and not isinstance(given, ast.Slice):
                inner.bind(param, target)
                continue
            # copy-in/copy-out through a temporary: a slice has no location of its own, and
            # binding aliased parameters to their arguments would let a write through one
            # of them show through another (or through what the body names directly)
            assert param.type_ref.type is not None
            temp = self.ctx.storage.variable(param.name, param.type_ref.type)
            if param.direction == "inout":
                self.assign_to(temp, given, scope, call)
            inner.bind(param, temp)
            copy_outs.append(self._copy_out(given, target, temp, scope))
        for param, arg in zip(decl.params, args, strict=False):
            if arg is None or param.direction in ("out", "inout"):
                continue
            ptype = repr_type(param.type_ref.type)
            if isinstance(ptype, t.ExternType):
                inner.bind(param, expr.location(arg, scope))
                continue
            if isinstance(ptype, t.StructLikeType | t.StackType):
                if _is_storage(arg) and not _may_change_during(decl, param):
                    inner.bind(param, expr.location(arg, scope))
                    continue
                # copy-in of a list/struct expression, or of storage the body may change
                assert param.type_ref.type is not None
                copy_loc = self.ctx.storage.variable(param.name, param.type_ref.type)
                self.assign_to(copy_loc, arg, scope, call)
                inner.bind(param, copy_loc)
                continue
            value = expr.value(arg, scope)
            read_only = expr.constant(arg) is not None or value.get("type") == "runtime_data"
            if read_only or param.type_ref.type is None:
                inner.bind(param, ValueLoc(value, param.type_ref.type or t.INT_LITERAL))
                continue
            # copy-in: the callee sees the argument's value at the call even if its body
            # writes the parameter or the argument's storage first
            copy = self.ctx.storage.scalar(param.name, param.type_ref.type)
            self.emit("assign", [copy.json(), value], call,
                      f"{param.name} = {expression_text(arg)}")
            inner.bind(param, copy)
        statements = decl.body
        if isinstance(decl, ast.FunctionDecl) and decl.control_body is not None and \
                not self.in_parser:
            statements = decl.control_body
        body = out_header_resets(decl.params, call) + list(statements.statements)
        self._return_jumps.append([])
        self._copy_outs.append(copy_outs)
        if isinstance(decl, ast.FunctionDecl) and result is not None:
            self._function_body(body, inner, result)
        else:
            self.statements(body, inner)
        self._copy_outs.pop()
        for jump in self._return_jumps.pop():
            self._patch(jump)
        for copy_out in copy_outs:  # left to right, as the spec copies out
            copy_out(call)

    def _copy_out(self, arg: ast.Expression, target: Location, temp: Location,
                  scope: Scope) -> CopyOut:
        """Writes ``temp`` back to the argument ``arg`` (at ``target`` unless a slice)."""
        if not isinstance(arg, ast.Slice):
            return lambda node: self.copy(target, temp, node)
        holder = ast.PathExpression(pos=arg.pos, name="tmp", type=arg.type)
        holder.decl = holder
        back = scope.child()
        back.bind(holder, temp)
        return lambda node: self.assign(arg, holder, back, node)

    def _function_body(self, body: list[ast.Node], scope: Scope, result: Location) -> None:
        for s in body:
            if isinstance(s, ast.ReturnStatement) and s.value is not None:
                self.precompute_calls(s.value, scope)
                self.assign_to(result, s.value, scope, s)
                self._return_jumps[-1].append(self._jump("_jump", [], s))
            elif isinstance(s, ast.BlockStatement):
                self._function_body(s.statements, scope.child(), result)
            elif isinstance(s, ast.IfStatement):
                condition = op("b2d", None, self.ctx.expr.condition(s.cond, scope))
                else_target = self._jump("_jump_if_zero", [condition], s)
                self._function_body([s.then], scope.child(), result)
                end_target = self._jump("_jump", [], s)
                self._patch(else_target)
                if s.otherwise is not None:
                    self._function_body([s.otherwise], scope.child(), result)
                self._patch(end_target)
            else:
                self.statement(s, scope)


AccessPath = tuple[ast.Node, tuple[str | None, ...]]


def sliced(e: ast.Expression) -> ast.Expression:
    """The field a (possibly nested) slice ``f[h:l]`` is taken from."""
    while isinstance(e, ast.Slice):
        e = e.expr
    return e


def _access_path(e: ast.Expression) -> AccessPath | None:
    """The declaration an lvalue-like expression starts from and the members and constant
    indexes below it (``None`` for an index known only at run time); a slice stands for its
    whole field."""
    parts: list[str | None] = []
    while True:
        if isinstance(e, ast.Member):
            parts.append(e.member)
            e = e.expr
        elif isinstance(e, ast.ArrayIndex):
            index = e.index.const_value
            parts.append(str(int(index)) if isinstance(index, int) else None)
            e = e.expr
        elif isinstance(e, ast.Slice):
            parts.clear()
            e = e.expr
        elif isinstance(e, ast.PathExpression) and e.decl is not None:
            return e.decl, tuple(reversed(parts))
        else:
            return None


def _paths_overlap(a: AccessPath, b: AccessPath) -> bool:
    if a[0] is not b[0]:
        return False
    return all(x is None or y is None or x == y for x, y in zip(a[1], b[1], strict=False))


def _body_paths(node: ast.Node, found: list[AccessPath]) -> None:
    """The storage that ``node`` names directly: maximal member/index chains (their
    run-time indexes are searched too)."""
    if isinstance(node, ast.Member | ast.ArrayIndex | ast.Slice | ast.PathExpression):
        path = _access_path(node)
        if path is not None:
            found.append(path)
            e: ast.Node = node
            while isinstance(e, ast.Member | ast.ArrayIndex | ast.Slice):
                if isinstance(e, ast.ArrayIndex):
                    _body_paths(e.index, found)
                e = e.expr
            return
    for child in node.children():
        _body_paths(child, found)


def arguments_alias(ctx: LoweringContext, params: list[ast.Param],
                    args: list[ast.Expression | None], scope: Scope) -> bool:
    """Whether an out/inout argument shares storage with another argument."""
    located = [(param, location_atoms(ctx.expr.location(sliced(arg), scope)))
               for param, arg in zip(params, args, strict=False)
               if arg is not None and ctx.expr.constant(arg) is None
               and isinstance(sliced(arg), ast.PathExpression | ast.Member | ast.ArrayIndex)
               and not isinstance(repr_type(param.type_ref.type), t.ExternType)]
    return any((p1.direction in ("out", "inout") or p2.direction in ("out", "inout"))
               and atoms_overlap(a1, a2)
               for i, (p1, a1) in enumerate(located) for p2, a2 in located[i + 1:])


def location_atoms(loc: Location) -> list[tuple[str, str]]:
    """The header fields (``*``: all of a header's; ``("*", "*")``: unknown, a run-time
    stack element) that a location covers."""
    if isinstance(loc, FieldLoc):
        return [("*", "*")] if loc.element is not None else [(loc.header, loc.field)]
    if isinstance(loc, HeaderLoc):
        return [(loc.name, "*")]
    if isinstance(loc, DynamicHeaderLoc):
        return [("*", "*")]
    if isinstance(loc, StackLoc):
        return [(name, "*") for name in loc.element_names] + \
            [atom for union in loc.unions for atom in location_atoms(union)]
    if isinstance(loc, UnionLoc):
        return [(header.name, "*") for _, header in loc.members]
    if isinstance(loc, StructLoc):
        return [atom for member in loc.fields.values() for atom in location_atoms(member)]
    return []


def atoms_overlap(a: list[tuple[str, str]], b: list[tuple[str, str]]) -> bool:
    return any((h1 == h2 or "*" in (h1, h2)) and (f1 == f2 or "*" in (f1, f2))
               for h1, f1 in a for h2, f2 in b)


def _outputs_alias(decl: ast.ActionDecl | ast.FunctionDecl,
                   outputs: list[tuple[ast.Param, ast.Expression, Location]]) -> bool:
    """Whether two ``out``/``inout`` arguments share storage, or the body names storage
    that an ``out``/``inout`` argument is part of (the P4_16 spec's copy-in/copy-out then
    differs from passing the arguments by reference)."""
    atoms = [location_atoms(loc) for _, _, loc in outputs]
    if any(atoms_overlap(atoms[i], atoms[j])
           for i in range(len(atoms)) for j in range(i + 1, len(atoms))):
        return True
    arg_paths = [path for _, arg, _ in outputs if (path := _access_path(arg)) is not None]
    if not arg_paths:
        return False
    body: list[AccessPath] = []
    _body_paths(decl.body, body)
    return any(_paths_overlap(a, b) for a in arg_paths for b in body)


def _is_storage(e: ast.Expression) -> bool:
    """A reference to storage (``a``, ``a.f``, ``a[i]``) rather than a computed value."""
    while isinstance(e, ast.Member | ast.ArrayIndex):
        e = e.expr
    return isinstance(e, ast.PathExpression)


def _may_change_during(decl: ast.ActionDecl | ast.FunctionDecl, param: ast.Param) -> bool:
    """Whether the body of ``decl`` may see an ``in`` parameter bound to the caller's
    storage change: it writes the parameter, or it also writes through ``out``/``inout``
    parameters (which may alias the argument)."""
    if any(p.direction in ("out", "inout") for p in decl.params):
        return True
    for node in ast.walk(decl.body):
        targets: list[ast.Expression] = []
        if isinstance(node, ast.AssignStatement):
            targets.append(node.lhs)
        elif isinstance(node, ast.MethodCall):
            targets.extend(a.value for a in node.args)
            if isinstance(node.method, ast.Member):
                targets.append(node.method.expr)  # x.setValid(), s.push_front(1)
        for target in targets:
            while isinstance(target, ast.Member | ast.ArrayIndex | ast.Slice):
                target = target.expr
            if isinstance(target, ast.PathExpression) and target.decl is param:
                return True
    return False


def _is_packet(e: ast.Expression) -> bool:
    ty = e.type
    return isinstance(ty, t.ExternType) and ty.name in ("packet_in", "packet_out")


def _initializer(rhs: ast.Expression, ty: t.StructLikeType) -> list[ast.Expression]:
    if isinstance(rhs, ast.ListExpression):
        return list(rhs.elements)
    assert isinstance(rhs, ast.StructExpression)
    by_name = {f.name: f.value for f in rhs.fields}
    missing = [name for name, _ in ty.fields if name not in by_name]
    if missing:
        raise LoweringError(rhs, f"missing field(s) {', '.join(missing)} in initializer")
    return [by_name[name] for name, _ in ty.fields]


def _postorder(e: ast.Node) -> list[ast.Node]:
    result: list[ast.Node] = []
    for child in e.children():
        result.extend(_postorder(child))
    result.append(e)
    return result

