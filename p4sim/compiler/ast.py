"""Explicit AST of P4_16 programs (one dataclass per construct).

The parser (``parser.py``) builds it; the checker (``check.py``) annotates it
in place.  How the backend reads a checked program:

* Every node has ``pos: SourcePos`` (file/line/col after ``#line`` mapping).
* Every ``Expression`` has ``.type`` (a ``p4sim.compiler.types.P4Type``).
  Integer literals used where a width is known get ``BitsType`` and their
  ``width``/``signed`` fields filled; only literals in genuinely
  width-less contexts (e.g. ``int`` arguments, array indexes) keep
  ``IntLiteralType``.
* Every name reference (``PathExpression``) has ``.decl``: the declaration node
  it resolves to (``Param``, ``VariableDecl``, ``ConstDecl``, ``ActionDecl``,
  ``TableDecl``, ``InstantiationDecl``, ``FunctionDecl``, ``ExternFunctionDecl``,
  ``ParserState``, ``ValueSetDecl``, ``EnumDecl``/``ErrorDecl``/``MatchKindDecl``
  for type names used as values, ...).  ``Member`` on an enum/error/match_kind
  gets ``.decl`` = the ``DeclaredName`` member node.
* ``Expression.const_value`` is set for every compile-time constant expression
  (Python ``int`` already wrapped to the expression's width, ``bool``, ``str``,
  ``EnumValue``, a tuple of values for ``{...}`` lists, or a tuple of
  ``(field, value)`` pairs for ``{f = ...}``); ``None`` otherwise.
  ``folding.fold(expr)`` recomputes it.
* Implicit conversions the spec allows are explicit after checking: integer
  literals carry their inferred type; ``{...}`` initialisers have the type of
  their context (struct/header/tuple); a serializable enum used as its
  underlying type in an operation is wrapped in a ``Cast`` node.
* Parser state references (transition targets) have type ``StateType`` and
  ``.decl`` = the ``ParserState`` (``check.ACCEPT_STATE``/``REJECT_STATE`` for
  ``accept``/``reject``).  ``ConstructorCall.callee`` and
  ``InstantiationDecl.callee`` are the constructor ``MethodDecl`` of an extern
  or the ``ParserDecl``/``ControlDecl``/``PackageTypeDecl`` instantiated; their
  ``ordered_args`` are the arguments in parameter order (named constructor
  arguments are also reordered in ``args`` itself).
* ``MethodCall.call_kind`` (a ``CallKind``) and ``MethodCall.callee`` (the
  declaration called: ``ActionDecl``, ``FunctionDecl``, ``ExternFunctionDecl``,
  ``MethodDecl`` of an extern, ``TableDecl``/``ParserDecl``/``ControlDecl`` or
  the instantiation for ``apply``; ``None`` for builtins) are set;
  ``MethodCall.type_args_inferred`` holds the generic bindings (e.g. ``T`` of
  ``extract<T>``); ``MethodCall.builtin`` names the builtin method
  (``isValid``, ``setValid``, ``setInvalid``, ``push_front``, ``pop_front``,
  ``minSizeInBits``, ``minSizeInBytes``, ...).
* Arguments of calls are in ``MethodCall.args``; after checking they are also
  available in parameter order with defaults filled in
  ``MethodCall.ordered_args`` (``None`` for an omitted optional argument).
* ``TableDecl`` exposes the standard properties as fields (``keys``,
  ``actions``, ``default_action``, ``entries``, ``size``, ``implementation``,
  ``counters``, ``meters``, ``support_timeout``; their annotations in
  ``property_annotations``) and the rest in ``other_properties``.

``Visitor`` walks children generically (dataclass fields marked as children);
``Transformer`` rebuilds lists of children from the visit results.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

from p4sim.compiler.types import P4Type


@dataclass(frozen=True)
class SourcePos:
    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NO_POS = SourcePos("<builtin>", 0, 0)


def _semantic(default: Any = None) -> Any:
    """A field filled by the checker (not a child, not shown in repr)."""
    return field(default=default, repr=False, compare=False, metadata={"semantic": True})


@dataclass(eq=False, kw_only=True)
class Node:
    pos: SourcePos = NO_POS

    def children(self) -> Iterator[Node]:
        for f in fields(self):
            if f.metadata.get("semantic"):
                continue
            value = getattr(self, f.name)
            if isinstance(value, Node):
                yield value
            elif isinstance(value, list | tuple):
                for item in value:
                    if isinstance(item, Node):
                        yield item
            elif isinstance(value, dict):  # e.g. TableDecl.property_annotations
                for items in value.values():
                    yield from (item for item in items if isinstance(item, Node))


# ---------------------------------------------------------------- annotations

@dataclass(eq=False, kw_only=True)
class Annotation(Node):
    """``@name``, ``@name(expr, ...)``, ``@name[k=v, ...]`` or unstructured.

    ``args`` holds parsed expressions when the body parses as an expression
    list; ``kv`` the ``[key=value]`` pairs; ``tokens`` the raw token texts of
    the body (always kept, so unknown annotations survive unchanged).
    """

    name: str
    args: list[Expression] = field(default_factory=list)
    kv: list[tuple[str, Expression]] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    structured: bool = False


class Annotated:
    annotations: list[Annotation]

    def annotation(self, name: str) -> Annotation | None:
        for a in self.annotations:
            if a.name == name:
                return a
        return None

    def name_annotation(self) -> str | None:
        """The string of ``@name("...")`` if present."""
        a = self.annotation("name")
        if a is not None and a.args and isinstance(a.args[0], StringLiteral):
            return a.args[0].value
        return None


# ------------------------------------------------------------------ type refs

@dataclass(eq=False, kw_only=True)
class TypeRef(Node):
    """A type as written in the source; ``.type`` is the resolved P4Type."""

    type: P4Type | None = _semantic()


@dataclass(eq=False, kw_only=True)
class BaseTypeRef(TypeRef):
    """bit, bit<W>, int<W>, int, varbit<W>, bool, error, string, void, match_kind."""

    kind: str
    width: Expression | None = None


@dataclass(eq=False, kw_only=True)
class NamedTypeRef(TypeRef):
    name: str
    top_level: bool = False
    type_args: list[TypeRef] = field(default_factory=list)
    decl: Node | None = _semantic()


@dataclass(eq=False, kw_only=True)
class TupleTypeRef(TypeRef):
    elements: list[TypeRef] = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class StackTypeRef(TypeRef):
    element: TypeRef
    size: Expression


@dataclass(eq=False, kw_only=True)
class DontCareTypeRef(TypeRef):
    """``_`` as a type argument (inferred)."""


# ---------------------------------------------------------------- expressions

@dataclass(eq=False, kw_only=True)
class Expression(Node):
    type: P4Type | None = _semantic()
    const_value: Any = _semantic()


@dataclass(frozen=True)
class EnumValue:
    """Constant value of an enum/error/match_kind member."""

    type_name: str
    member: str
    int_value: int | None = None  # for serializable enums


@dataclass(eq=False, kw_only=True)
class IntLiteral(Expression):
    """``value`` is the mathematical value; ``width``/``signed`` from the
    literal (``8w5``, ``4s3``) or from inference (None = infinite precision)."""

    value: int
    width: int | None = None
    signed: bool = False
    text: str = ""


@dataclass(eq=False, kw_only=True)
class BoolLiteral(Expression):
    value: bool


@dataclass(eq=False, kw_only=True)
class StringLiteral(Expression):
    value: str


@dataclass(eq=False, kw_only=True)
class PathExpression(Expression):
    name: str
    top_level: bool = False
    decl: Node | None = _semantic()


@dataclass(eq=False, kw_only=True)
class TypeNameExpression(Expression):
    """A type used as an expression prefix: ``error.X``, ``E.A``, ``bit<8>.minSizeInBits``."""

    type_ref: TypeRef


@dataclass(eq=False, kw_only=True)
class Member(Expression):
    expr: Expression
    member: str
    decl: Node | None = _semantic()


@dataclass(eq=False, kw_only=True)
class ArrayIndex(Expression):
    expr: Expression
    index: Expression


@dataclass(eq=False, kw_only=True)
class Slice(Expression):
    """``expr[hi:lo]``; ``hi``/``lo`` must be compile-time constants."""

    expr: Expression
    hi: Expression
    lo: Expression


@dataclass(eq=False, kw_only=True)
class UnaryOp(Expression):
    op: str  # '!', '~', '-', '+'
    operand: Expression


@dataclass(eq=False, kw_only=True)
class BinaryOp(Expression):
    """op is one of * / % + - |+| |-| << >> <= >= < > != == & ^ | && || ++."""

    op: str
    left: Expression
    right: Expression


@dataclass(eq=False, kw_only=True)
class Ternary(Expression):
    cond: Expression
    then: Expression
    otherwise: Expression


@dataclass(eq=False, kw_only=True)
class Cast(Expression):
    type_ref: TypeRef
    expr: Expression


@dataclass(eq=False, kw_only=True)
class DontCare(Expression):
    """``_`` (as argument, keyset or lvalue)."""


@dataclass(eq=False, kw_only=True)
class Argument(Node):
    """A call argument; ``name`` for named arguments (``f(x = 1)``)."""

    value: Expression
    name: str | None = None


class CallKind(enum.Enum):
    ACTION = "action"
    FUNCTION = "function"
    EXTERN_FUNCTION = "extern_function"
    EXTERN_METHOD = "extern_method"
    TABLE_APPLY = "table_apply"
    PARSER_APPLY = "parser_apply"
    CONTROL_APPLY = "control_apply"
    BUILTIN = "builtin"


@dataclass(eq=False, kw_only=True)
class MethodCall(Expression):
    method: Expression
    type_args: list[TypeRef] = field(default_factory=list)
    args: list[Argument] = field(default_factory=list)
    call_kind: CallKind | None = _semantic()
    callee: Node | None = _semantic()
    builtin: str | None = _semantic()
    type_args_inferred: dict[str, P4Type] = _semantic(None)
    ordered_args: list[Expression | None] = _semantic(None)


@dataclass(eq=False, kw_only=True)
class ConstructorCall(Expression):
    """``T(args)`` used as an expression (e.g. ``implementation = ap(...)``)."""

    type_ref: TypeRef
    args: list[Argument] = field(default_factory=list)
    callee: Node | None = _semantic()
    ordered_args: list[Expression | None] = _semantic(None)


@dataclass(eq=False, kw_only=True)
class ListExpression(Expression):
    """``{e1, e2}`` (tuple/list/struct-by-position initialiser)."""

    elements: list[Expression] = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class NamedExpression(Node):
    name: str
    value: Expression


@dataclass(eq=False, kw_only=True)
class StructExpression(Expression):
    """``{f1 = e1, ...}`` or ``(T){...}``; ``type_ref`` when written as ``T {...}``."""

    fields: list[NamedExpression] = field(default_factory=list)
    type_ref: TypeRef | None = None


@dataclass(eq=False, kw_only=True)
class InvalidExpression(Expression):
    """``{#}``: the invalid header/union value."""


@dataclass(eq=False, kw_only=True)
class DefaultExpression(Expression):
    """``default`` keyset."""


@dataclass(eq=False, kw_only=True)
class MaskExpression(Expression):
    """``value &&& mask`` keyset."""

    value: Expression
    mask: Expression


@dataclass(eq=False, kw_only=True)
class RangeExpression(Expression):
    """``low .. high`` keyset."""

    low: Expression
    high: Expression


@dataclass(eq=False, kw_only=True)
class ThisExpression(Expression):
    pass


# ----------------------------------------------------------------- statements

@dataclass(eq=False, kw_only=True)
class Statement(Node):
    pass


@dataclass(eq=False, kw_only=True)
class AssignStatement(Statement):
    """``compound`` for ``a op= b``, parsed as ``a = a op b``: the left operand of ``rhs``
    reads the target, which must denote the storage ``lhs`` writes."""

    lhs: Expression
    rhs: Expression
    compound: bool = False


@dataclass(eq=False, kw_only=True)
class MethodCallStatement(Statement):
    call: MethodCall


@dataclass(eq=False, kw_only=True)
class BlockStatement(Statement, Annotated):
    statements: list[Node] = field(default_factory=list)  # Statement or local decls
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class IfStatement(Statement):
    cond: Expression
    then: Statement
    otherwise: Statement | None = None


@dataclass(eq=False, kw_only=True)
class SwitchCase(Node):
    """``label: body``; label is an expression or ``DefaultExpression``;
    ``body`` None means fall-through to the next case."""

    label: Expression
    body: BlockStatement | None = None


@dataclass(eq=False, kw_only=True)
class SwitchStatement(Statement):
    expr: Expression
    cases: list[SwitchCase] = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class ExitStatement(Statement):
    pass


@dataclass(eq=False, kw_only=True)
class ReturnStatement(Statement):
    value: Expression | None = None


@dataclass(eq=False, kw_only=True)
class EmptyStatement(Statement):
    pass


@dataclass(eq=False, kw_only=True)
class BreakStatement(Statement):
    pass


@dataclass(eq=False, kw_only=True)
class ContinueStatement(Statement):
    pass


@dataclass(eq=False, kw_only=True)
class ForStatement(Statement, Annotated):
    """``for (init; cond; updates) body`` (P4_16 1.2.5); ``init`` holds variable
    declarations and statements, ``updates`` statements.  Unrolled after checking
    (``loops.py``): the midend never sees it."""

    init: list[Node] = field(default_factory=list)
    cond: Expression
    updates: list[Node] = field(default_factory=list)
    body: Statement
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class ForInStatement(Statement, Annotated):
    """``for (T x in collection) body``; ``collection`` is a ``RangeExpression``
    (``lo .. hi``, both ends included), a list expression or a header stack."""

    var: VariableDecl
    collection: Expression
    body: Statement
    annotations: list[Annotation] = field(default_factory=list)


# --------------------------------------------------------------- declarations

@dataclass(eq=False, kw_only=True)
class Declaration(Node, Annotated):
    name: str
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class DeclaredName(Declaration):
    """A member of error/match_kind/enum declarations."""

    value: Expression | None = None  # serializable enum member value


@dataclass(eq=False, kw_only=True)
class Param(Declaration):
    direction: str = ""  # '', 'in', 'out', 'inout'
    type_ref: TypeRef
    default: Expression | None = None


@dataclass(eq=False, kw_only=True)
class TypeParam(Declaration):
    """A generic type variable of an extern, function, parser, control or package."""


@dataclass(eq=False, kw_only=True)
class StructField(Declaration):
    type_ref: TypeRef


@dataclass(eq=False, kw_only=True)
class StructLikeDecl(Declaration):
    fields: list[StructField] = field(default_factory=list)
    type_params: list[TypeParam] = field(default_factory=list)
    type: P4Type | None = _semantic()


@dataclass(eq=False, kw_only=True)
class HeaderDecl(StructLikeDecl):
    pass


@dataclass(eq=False, kw_only=True)
class StructDecl(StructLikeDecl):
    pass


@dataclass(eq=False, kw_only=True)
class HeaderUnionDecl(StructLikeDecl):
    pass


@dataclass(eq=False, kw_only=True)
class EnumDecl(Declaration):
    members: list[DeclaredName] = field(default_factory=list)
    underlying: TypeRef | None = None  # set for serializable enums
    type: P4Type | None = _semantic()


@dataclass(eq=False, kw_only=True)
class ErrorDecl(Declaration):
    """``error { ... }`` (all such declarations are merged into one type)."""

    members: list[DeclaredName] = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class MatchKindDecl(Declaration):
    members: list[DeclaredName] = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class TypedefDecl(Declaration):
    type_ref: TypeRef


@dataclass(eq=False, kw_only=True)
class NewTypeDecl(Declaration):
    """``type T N``."""

    type_ref: TypeRef
    type: P4Type | None = _semantic()


@dataclass(eq=False, kw_only=True)
class ConstDecl(Declaration):
    type_ref: TypeRef
    value: Expression


@dataclass(eq=False, kw_only=True)
class VariableDecl(Declaration):
    type_ref: TypeRef
    init: Expression | None = None


@dataclass(eq=False, kw_only=True)
class MethodDecl(Declaration):
    """Method (or constructor, when ``is_constructor``) of an extern."""

    return_type: TypeRef | None = None
    type_params: list[TypeParam] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    is_abstract: bool = False
    is_constructor: bool = False
    type: P4Type | None = _semantic()


@dataclass(eq=False, kw_only=True)
class ExternDecl(Declaration):
    type_params: list[TypeParam] = field(default_factory=list)
    methods: list[MethodDecl] = field(default_factory=list)
    type: P4Type | None = _semantic()


@dataclass(eq=False, kw_only=True)
class ExternFunctionDecl(Declaration):
    return_type: TypeRef
    type_params: list[TypeParam] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    type: P4Type | None = _semantic()


@dataclass(eq=False, kw_only=True)
class FunctionDecl(Declaration):
    return_type: TypeRef
    type_params: list[TypeParam] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    body: BlockStatement
    type: P4Type | None = _semantic()
    control_body: BlockStatement | None = _semantic()  # stack_indexes.py, for controls


@dataclass(eq=False, kw_only=True)
class ActionDecl(Declaration):
    params: list[Param] = field(default_factory=list)
    body: BlockStatement
    type: P4Type | None = _semantic()
    control_body: BlockStatement | None = _semantic()  # stack_indexes.py, for controls


@dataclass(eq=False, kw_only=True)
class ParserTypeDecl(Declaration):
    type_params: list[TypeParam] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    type: P4Type | None = _semantic()


@dataclass(eq=False, kw_only=True)
class ControlTypeDecl(ParserTypeDecl):
    pass


@dataclass(eq=False, kw_only=True)
class PackageTypeDecl(ParserTypeDecl):
    pass


@dataclass(eq=False, kw_only=True)
class SelectCase(Node):
    keyset: Expression  # expression, ListExpression (tuple), Mask, Range, Default, DontCare
    state: PathExpression


@dataclass(eq=False, kw_only=True)
class SelectExpression(Expression):
    keys: list[Expression] = field(default_factory=list)
    cases: list[SelectCase] = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class ParserState(Declaration):
    """``transition`` is a PathExpression (direct) or SelectExpression;
    None means the implicit ``transition reject`` of a state without one."""

    statements: list[Node] = field(default_factory=list)
    transition: Expression | None = None


@dataclass(eq=False, kw_only=True)
class ParserDecl(Declaration):
    type_params: list[TypeParam] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    constructor_params: list[Param] = field(default_factory=list)
    locals: list[Node] = field(default_factory=list)
    states: list[ParserState] = field(default_factory=list)
    type: P4Type | None = _semantic()


@dataclass(eq=False, kw_only=True)
class KeyElement(Node, Annotated):
    expr: Expression
    match_kind: PathExpression
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class ActionRef(Node, Annotated):
    """An entry of a table's ``actions`` list or ``default_action``/entry action:
    ``expr`` is a PathExpression (no arguments) or a MethodCall (with)."""

    expr: Expression
    annotations: list[Annotation] = field(default_factory=list)

    @property
    def action_path(self) -> PathExpression:
        e = self.expr.method if isinstance(self.expr, MethodCall) else self.expr
        assert isinstance(e, PathExpression)
        return e

    @property
    def args(self) -> list[Argument]:
        return self.expr.args if isinstance(self.expr, MethodCall) else []


@dataclass(eq=False, kw_only=True)
class TableEntry(Node, Annotated):
    """A (const) entry: keyset, action call, optional priority (``priority =``
    or ``@priority``; None when not given — the backend assigns per the spec)."""

    keyset: Expression
    action: ActionRef
    priority: Expression | None = None
    is_const: bool = False
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class TableProperty(Node, Annotated):
    """A non-standard property ``name = value;`` (kept for the backend)."""

    name: str
    value: Expression
    is_const: bool = False
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class TableDecl(Declaration):
    keys: list[KeyElement] | None = None
    actions: list[ActionRef] = field(default_factory=list)
    actions_declared: bool = False  # p4c requires the property, even if empty
    default_action: ActionRef | None = None
    default_action_const: bool = False
    entries: list[TableEntry] | None = None
    entries_const: bool = False
    size: Expression | None = None
    implementation: Expression | None = None
    counters: Expression | None = None
    meters: Expression | None = None
    support_timeout: Expression | None = None
    other_properties: list[TableProperty] = field(default_factory=list)
    # Annotations written on standard properties, by property name (e.g.
    # ``@name("ap") implementation = action_profile(128);`` -> {"implementation": [...]}).
    property_annotations: dict[str, list[Annotation]] = field(default_factory=dict)
    type: P4Type | None = _semantic()


@dataclass(eq=False, kw_only=True)
class ControlDecl(Declaration):
    type_params: list[TypeParam] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    constructor_params: list[Param] = field(default_factory=list)
    locals: list[Node] = field(default_factory=list)
    body: BlockStatement
    type: P4Type | None = _semantic()


@dataclass(eq=False, kw_only=True)
class InstantiationDecl(Declaration):
    """``T(args) name;`` (``initializer`` holds abstract-method implementations)."""

    type_ref: TypeRef
    args: list[Argument] = field(default_factory=list)
    initializer: list[Node] = field(default_factory=list)
    type: P4Type | None = _semantic()
    callee: Node | None = _semantic()
    ordered_args: list[Expression | None] = _semantic(None)


@dataclass(eq=False, kw_only=True)
class ValueSetDecl(Declaration):
    """``value_set<T>(size) name;``"""

    element_type: TypeRef
    size: Expression
    type: P4Type | None = _semantic()


@dataclass(eq=False, kw_only=True)
class Program(Node):
    declarations: list[Node] = field(default_factory=list)

    def find(self, name: str) -> Declaration | None:
        for d in self.declarations:
            if isinstance(d, Declaration) and d.name == name:
                return d
        return None


# -------------------------------------------------------------------- walking

class Visitor:
    """Depth-first visitor: ``visit_<ClassName>`` if defined, else children."""

    def visit(self, node: Node) -> Any:
        for cls in type(node).__mro__:
            method = getattr(self, "visit_" + cls.__name__, None)
            if method is not None:
                return method(node)
        return self.generic_visit(node)

    def generic_visit(self, node: Node) -> Any:
        for child in node.children():
            self.visit(child)
        return None


class Transformer(Visitor):
    """Visitor whose results replace the visited nodes (``None`` removes a
    list element; returning the node keeps it)."""

    def generic_visit(self, node: Node) -> Any:
        for f in fields(node):
            if f.metadata.get("semantic"):
                continue
            value = getattr(node, f.name)
            if isinstance(value, Node):
                setattr(node, f.name, self.visit(value))
            elif isinstance(value, list):
                new_items: list[Any] = []
                for item in value:
                    if isinstance(item, Node):
                        result = self.visit(item)
                        if result is None:
                            continue
                        if isinstance(result, list):
                            new_items.extend(result)
                        else:
                            new_items.append(result)
                    else:
                        new_items.append(item)
                setattr(node, f.name, new_items)
        return node


def walk(node: Node) -> Iterator[Node]:
    """All nodes below ``node`` (pre-order, including it)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(current.children())))
