"""P4_16 parser: preprocessed text -> ``ast.Program``.

Parsing is lark LALR(1) with a contextual lexer (``grammar.lark``).  Two
ambiguities of the P4 grammar are settled before parsing by a quick scan of
the token stream (the spec's "lexer feedback"):

* identifiers that name types (declared headers/structs/enums/typedefs/
  externs/parsers/controls/packages, and type parameters within the
  declaration that introduces them) become ``TYPE_IDENTIFIER``;
* a ``<`` that opens the type arguments of a call (``f<T>(...)``) becomes
  ``TYPE_ARGS_LT``.

Annotation bodies ``@a(...)``/``@a[...]`` are cut out (blanked, so offsets are
unchanged) and parsed separately: as an expression or key=value list when
possible, else kept as raw tokens, as p4c does for unknown annotations.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from lark import Lark, Token, Transformer
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from p4sim.compiler import ast
from p4sim.compiler.diagnostics import CompileError, Diagnostic
from p4sim.compiler.preprocess import LineMap, Preprocessed

_GRAMMAR_PATH = Path(__file__).resolve().parent / "grammar.lark"

_SCAN = re.compile(
    r'(?P<ws>\s+)|(?P<lc>//[^\n]*)|(?P<bc>/\*.*?\*/)|(?P<str>"(?:\\.|[^"\\\n])*")'
    r'|(?P<id>[A-Za-z_][A-Za-z0-9_]*)|(?P<num>[0-9][0-9A-Za-z_]*)|(?P<punct>.)',
    re.S,
)
_TYPE_KEYWORDS = {"bit", "int", "varbit", "bool", "string", "error", "match_kind", "void", "tuple"}
_KEYWORDS = _TYPE_KEYWORDS | {
    "abstract", "action", "actions", "apply", "break", "const", "continue", "control",
    "default", "else", "entries", "enum", "exit", "extern", "false", "for", "header",
    "header_union", "if", "in", "inout", "key", "out", "package", "parser", "priority",
    "return", "select", "state", "struct", "switch", "table", "this", "transition", "true",
    "type", "typedef", "value_set",
}
_KEYWORD_TERMINALS = {"value_set": "VALUESET"}
_TYPE_DECL_KEYWORDS = {"header", "header_union", "struct", "parser", "control", "package"}
_TYPE_ARG_TOKENS = {",", "<", ">", "_", ".", "[", "]"}


@dataclass
class _Tok:
    kind: str
    text: str
    offset: int


@dataclass
class _Declarations:
    """Several top-level declarations produced by one rule (a typedef of a struct)."""

    items: list[ast.Node]


@dataclass
class _Scan:
    """Result of the pre-scan: positions to retype and annotation bodies."""

    type_positions: set[int] = field(default_factory=set)
    type_args_positions: set[int] = field(default_factory=set)
    width_name_positions: set[int] = field(default_factory=set)  # W in bit<W> (p4c accepts)
    annotation_bodies: dict[int, tuple[str, str, int]] = field(default_factory=dict)
    blanked_text: str = ""


def _tokenize(text: str) -> list[_Tok]:
    tokens = []
    for match in _SCAN.finditer(text):
        kind = match.lastgroup or "punct"
        if kind in ("ws", "lc", "bc"):
            continue
        tokens.append(_Tok(kind, match.group(), match.start()))
    return tokens


def _matching(tokens: list[_Tok], start: int, open_: str, close: str) -> int | None:
    """Index of the token closing the bracket opened at ``start``."""
    depth = 0
    for index in range(start, len(tokens)):
        text = tokens[index].text
        if text == open_:
            depth += 1
        elif text == close:
            depth -= 1
            if depth == 0:
                return index
    return None


def _cut_annotations(text: str, tokens: list[_Tok], scan: _Scan) -> list[_Tok]:
    """Remove annotation bodies from ``tokens`` and blank them in the text."""
    chars = list(text)
    kept: list[_Tok] = []
    index = 0
    while index < len(tokens):
        tok = tokens[index]
        kept.append(tok)
        if (tok.text == "@" and index + 1 < len(tokens) and tokens[index + 1].text == "pragma"):
            # "@pragma name args..." runs to the end of the line (p4c's P4_14-era form).
            line_end = text.find("\n", tokens[index + 1].offset)
            line_end = len(text) if line_end < 0 else line_end
            body_start = tokens[index + 1].offset + len("pragma")
            scan.annotation_bodies[tok.offset] = ("pragma", text[body_start:line_end],
                                                  body_start)
            for pos in range(body_start, line_end):
                chars[pos] = " "
            kept.append(tokens[index + 1])
            index += 2
            while index < len(tokens) and tokens[index].offset < line_end:
                index += 1
            continue
        if (tok.text == "@" and index + 2 < len(tokens) and tokens[index + 1].kind == "id"
                and tokens[index + 2].text in ("(", "[")):
            opener = tokens[index + 2].text
            closer = ")" if opener == "(" else "]"
            end = _matching(tokens, index + 2, opener, closer)
            if end is not None:
                body_start = tokens[index + 2].offset + 1
                body_end = tokens[end].offset
                scan.annotation_bodies[tok.offset] = (opener, text[body_start:body_end],
                                                      body_start)
                for pos in range(tokens[index + 2].offset, tokens[end].offset + 1):
                    if chars[pos] != "\n":
                        chars[pos] = " "
                kept.append(tokens[index + 1])
                index = end + 1
                continue
        index += 1
    scan.blanked_text = "".join(chars)
    return kept


def _declaration_extent(tokens: list[_Tok], lt_index: int, gt_index: int) -> tuple[int, int]:
    start = lt_index
    while start > 0 and tokens[start - 1].text not in (";", "{", "}"):
        start -= 1
    depth = 0
    end = gt_index + 1
    while end < len(tokens):
        text = tokens[end].text
        if text in ("(", "{", "["):
            depth += 1
        elif text in (")", "]"):
            depth -= 1
        elif text == "}":
            depth -= 1
            if depth <= 0:
                break
        elif text == ";" and depth == 0:
            break
        end += 1
    return start, end


def _type_parameter_list(tokens: list[_Tok], lt_index: int) -> tuple[list[str], int] | None:
    """Names of ``<A, B>`` at ``lt_index`` if it declares type parameters."""
    before = tokens[lt_index - 2] if lt_index >= 2 else None
    if before is None:
        return None
    declares = before.text in _TYPE_DECL_KEYWORDS or before.text in ("extern", "abstract")
    type_end = (before.kind == "id" and (before.text not in _KEYWORDS
                                         or before.text in _TYPE_KEYWORDS)) or before.text == ">"
    if not (declares or type_end):
        return None
    names: list[str] = []
    index = lt_index + 1
    while index < len(tokens):
        tok = tokens[index]
        if tok.kind != "id" or tok.text in _KEYWORDS:
            return None
        names.append(tok.text)
        following = tokens[index + 1].text if index + 1 < len(tokens) else ""
        if following == ">":
            after = tokens[index + 2].text if index + 2 < len(tokens) else ""
            return (names, index + 1) if after in ("(", "{", ";") else None
        if following != ",":
            return None
        index += 2
    return None


def _prescan(text: str) -> _Scan:
    scan = _Scan()
    tokens = _cut_annotations(text, _tokenize(text), scan)
    global_types: set[str] = set()
    exempt: set[int] = set()
    scopes: list[tuple[int, int, set[str]]] = []
    count = len(tokens)
    for index, tok in enumerate(tokens):
        nxt = tokens[index + 1] if index + 1 < count else None
        if nxt is None:
            break
        word = tok.text
        if word in _TYPE_DECL_KEYWORDS and nxt.kind == "id":
            global_types.add(nxt.text)
        elif word == "enum":
            brace = next((j for j in range(index + 1, count) if tokens[j].text == "{"), None)
            if brace is not None and tokens[brace - 1].kind == "id":
                global_types.add(tokens[brace - 1].text)
        elif word == "extern" and nxt.kind == "id" and nxt.text not in _KEYWORDS:
            after = tokens[index + 2] if index + 2 < count else None
            if after is not None and after.text == "<":
                close = _matching(tokens, index + 2, "<", ">")
                after = tokens[close + 1] if close is not None and close + 1 < count else None
            if after is not None and after.text == "{":
                global_types.add(nxt.text)
                exempt.add(nxt.offset)
        elif word in ("typedef", "type") and (index == 0 or tokens[index - 1].text != "."):
            if word == "type" and not (nxt.kind == "id" or nxt.text == "."):
                continue
            depth = 0
            for j in range(index + 1, count):
                text_j = tokens[j].text
                if text_j in ("(", "[", "<", "{"):
                    depth += 1
                elif text_j in (")", "]", ">", "}"):
                    depth -= 1
                elif text_j == ";" and depth <= 0:
                    if tokens[j - 1].kind == "id":
                        global_types.add(tokens[j - 1].text)
                    break
        elif word == "<" and index >= 1 and tokens[index - 1].kind == "id":
            params = _type_parameter_list(tokens, index)
            if params is not None:
                start, end = _declaration_extent(tokens, index, params[1])
                scopes.append((tokens[start].offset, tokens[min(end, count - 1)].offset,
                               set(params[0])))
    shadows = _value_shadows(tokens, global_types)
    for tok in tokens:
        if tok.kind != "id" or tok.offset in exempt or tok.text in _KEYWORDS:
            continue
        if any(lo <= tok.offset <= hi and tok.text == name for lo, hi, name in shadows):
            continue
        if tok.text in global_types or any(
                lo <= tok.offset <= hi and tok.text in names for lo, hi, names in scopes):
            scan.type_positions.add(tok.offset)
    _mark_type_argument_openers(tokens, scan)
    for index in range(len(tokens) - 3):
        if tokens[index].text in ("bit", "int", "varbit") and tokens[index + 1].text == "<" \
                and tokens[index + 2].kind == "id" and tokens[index + 3].text == ">":
            scan.width_name_positions.add(tokens[index + 2].offset)
    return scan


def _statement_keyword(tokens: list[_Tok], index: int) -> str:
    """First word of the declaration/statement containing ``tokens[index]``."""
    start = index
    while start > 0 and tokens[start - 1].text not in (";", "{", "}"):
        start -= 1
    while start < index and tokens[start].text == "@":
        start += 2  # skip annotations (their bodies are already cut out)
    return tokens[start].text


def _value_shadows(tokens: list[_Tok], global_types: set[str]) -> list[tuple[int, int, str]]:
    """Variables, parameters and instances named like a type, with their scope.

    Inside the innermost ``{...}`` around such a declaration the name denotes the
    value (as p4c's scoped lexer decides), e.g. ``bit<32> counter;``.
    """
    closers: dict[int, int] = {}
    stack: list[int] = []
    for index, tok in enumerate(tokens):
        if tok.text == "{":
            stack.append(index)
        elif tok.text == "}" and stack:
            closers[stack.pop()] = index
    parens: dict[int, int] = {}
    for index, tok in enumerate(tokens):
        if tok.text == "(":
            stack.append(index)
        elif tok.text == ")" and stack:
            parens[stack.pop()] = index
    shadows: list[tuple[int, int, str]] = []
    open_braces: list[int] = []
    open_parens: list[int] = []
    for index, tok in enumerate(tokens):
        if tok.text == "{":
            open_braces.append(index)
        elif tok.text == "}" and open_braces:
            open_braces.pop()
        elif tok.text == "(":
            open_parens.append(index)
        elif tok.text == ")" and open_parens:
            open_parens.pop()
        if tok.kind != "id" or tok.text not in global_types or index == 0 or \
                index + 1 >= len(tokens):
            continue
        before, after = tokens[index - 1], tokens[index + 1]
        declares_value = after.text in (";", "=", ",", ")") and (
            (before.kind == "id" and before.text not in _KEYWORDS)
            or before.text in _TYPE_KEYWORDS or before.text in (">", "]", ")"))
        if not declares_value or (after.text == ")" and before.text == ")"):
            continue
        if _statement_keyword(tokens, index) in ("typedef", "type"):
            continue  # the declaration of the type itself
        if open_braces and _statement_keyword(tokens, open_braces[-1]) in (
                "struct", "header", "header_union"):
            continue  # a field: members are looked up by name, no shadowing
        end = closers.get(open_braces[-1], len(tokens) - 1) if open_braces else len(tokens) - 1
        if open_parens and (not open_braces or open_parens[-1] > open_braces[-1]):
            end = _parameter_scope_end(tokens, open_parens[-1], parens, closers, end)
        shadows.append((tok.offset, tokens[end].offset, tok.text))
    return shadows


def _parameter_scope_end(tokens: list[_Tok], open_paren: int, parens: dict[int, int],
                         closers: dict[int, int], default: int) -> int:
    """Last token where a parameter declared in the list at ``open_paren`` is visible.

    That is the list itself, a constructor parameter list after it, and the body that
    follows, if any (a prototype such as ``package top(proto c);`` has none).
    """
    close = parens.get(open_paren)
    if close is None:
        return default
    following = close + 1
    if following < len(tokens) and tokens[following].text == "(":
        close = parens.get(following, close)
        following = close + 1
    if following < len(tokens) and tokens[following].text == "{":
        return closers.get(following, default)
    return close


def _mark_type_argument_openers(tokens: list[_Tok], scan: _Scan) -> None:
    """Find ``f<...>(`` where ``f`` is not a type: explicit type arguments of a call."""
    for index in range(1, len(tokens)):
        if tokens[index].text != "<":
            continue
        callee = tokens[index - 1]
        if callee.kind != "id" or callee.offset in scan.type_positions or callee.text in _KEYWORDS:
            continue
        if _type_parameter_list(tokens, index) is not None:
            continue
        depth = 0
        for j in range(index, len(tokens)):
            tok = tokens[j]
            if tok.text == "<":
                depth += 1
            elif tok.text == ">":
                depth -= 1
                if depth == 0:
                    if j + 1 < len(tokens) and tokens[j + 1].text == "(":
                        scan.type_args_positions.add(tokens[index].offset)
                    break
            elif tok.kind == "id" and j > index and tok.offset not in scan.type_positions \
                    and tok.text not in _TYPE_KEYWORDS and tok.text != "_":
                break  # a value: this "<" is a comparison, e.g. f(a < b, c > (d))
            elif tok.kind not in ("id", "num") and tok.text not in _TYPE_ARG_TOKENS:
                break


class _PostLexer:
    """Retypes tokens according to the pre-scan (the 'lexer feedback')."""

    always_accept = ("IDENTIFIER", "LT")

    def __init__(self) -> None:
        self.scan = _Scan()
        self.base = 0

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        scan, base = self.scan, self.base
        for tok in stream:
            if tok.type == "IDENTIFIER" and tok.value in _KEYWORDS:
                # The contextual lexer lexes a keyword as IDENTIFIER where the keyword
                # cannot appear; P4 keywords are reserved, so make the parser reject it.
                tok.type = _KEYWORD_TERMINALS.get(tok.value, tok.value.upper())
            elif tok.type == "IDENTIFIER" and tok.start_pos is not None and \
                    tok.start_pos + base in scan.width_name_positions:
                tok.type = "WIDTH_NAME"
            elif tok.type == "IDENTIFIER" and tok.start_pos is not None and \
                    tok.start_pos + base in scan.type_positions:
                tok.type = "TYPE_IDENTIFIER"
            elif tok.type == "LT" and tok.start_pos is not None and \
                    tok.start_pos + base in scan.type_args_positions:
                tok.type = "TYPE_ARGS_LT"
            yield tok


def parse_integer(text: str) -> tuple[int, int | None, bool]:
    """Value, width and signedness of an integer literal such as ``8w0x1F``."""
    width: int | None = None
    signed = False
    match = re.match(r"([0-9]+)([ws])", text)
    if match and len(match.group()) < len(text):
        width = int(match.group(1))
        signed = match.group(2) == "s"
        text = text[match.end():]
    digits = text.replace("_", "")
    base = 10
    if len(digits) > 1 and digits[0] == "0" and digits[1] in "xXbBoOdD":
        base = {"x": 16, "b": 2, "o": 8, "d": 10}[digits[1].lower()]
        digits = digits[2:]
    return int(digits, base), width, signed


@dataclass
class _Prototype:
    return_type: ast.TypeRef
    name: Token
    type_params: list[ast.TypeParam]
    params: list[ast.Param]


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1),
                                                                       m.group(1)), body)


class _AstBuilder(Transformer[Token, Any]):
    """Builds AST nodes as the LALR parser reduces (embedded transformer)."""

    def __init__(self) -> None:
        super().__init__(visit_tokens=False)
        self.line_map = LineMap()
        self.annotation_bodies: dict[int, tuple[str, str, int]] = {}
        self.annotation_parser: Any = None

    # ----------------------------------------------------------- helpers
    def tok_pos(self, tok: Token) -> ast.SourcePos:
        file, line = self.line_map.locate(tok.line or 1)
        return ast.SourcePos(file, line, tok.column or 1)

    def pos(self, children: list[Any]) -> ast.SourcePos:
        for child in children:
            if isinstance(child, Token):
                return self.tok_pos(child)
            if isinstance(child, ast.Node):
                return child.pos
            if isinstance(child, list) and child:
                return self.pos(child)
            if isinstance(child, _Prototype):
                return child.return_type.pos
        return ast.NO_POS

    @staticmethod
    def anns(children: list[Any]) -> list[ast.Annotation]:
        return [c for c in children if isinstance(c, ast.Annotation)]

    @staticmethod
    def rest(children: list[Any]) -> list[Any]:
        return [c for c in children if not isinstance(c, ast.Annotation)]

    # ------------------------------------------------------------- names
    def non_type_name(self, c: list[Any]) -> Token:
        return c[0]

    def name(self, c: list[Any]) -> Token:
        return c[0]

    def non_table_kw_name(self, c: list[Any]) -> Token:
        return c[0]

    def annotation(self, c: list[Any]) -> ast.Annotation:
        at, name = c
        node = ast.Annotation(pos=self.tok_pos(at), name=str(name))
        body = self.annotation_bodies.get(at.start_pos or 0)
        if body is not None:
            opener, text, offset = body
            node.tokens = [m.group() for m in _SCAN.finditer(text)
                           if m.lastgroup not in ("ws", "lc", "bc")]
            node.structured = opener == "["
            parsed = self.annotation_parser(text, offset) if text.strip() else None
            if parsed is not None:
                kind, items = parsed
                if kind == "kv":
                    node.kv = items
                else:
                    node.args = items
                # The body was parsed on its own: place its nodes at the annotation.
                for item in items:
                    for sub in ast.walk(item[1] if isinstance(item, tuple) else item):
                        sub.pos = node.pos
            elif node.structured:
                raise CompileError([Diagnostic(node.pos.file, node.pos.line, node.pos.col,
                                               f"syntax error in structured annotation @{name}")])
        return node

    def annotation_expressions(self, c: list[Any]) -> tuple[str, list[ast.Expression]]:
        return ("expr", c[0])

    def annotation_kv(self, c: list[Any]) -> tuple[str, list[tuple[str, ast.Expression]]]:
        return ("kv", [(n.name, n.value) for n in c[0]])

    # -------------------------------------------------------- parameters
    def parameter_list(self, c: list[Any]) -> list[ast.Param]:
        return [p for p in c if p is not None]

    def direction(self, c: list[Any]) -> str:
        return str(c[0]) if c and c[0] is not None else ""

    def parameter(self, c: list[Any]) -> ast.Param:
        anns = self.anns(c)
        direction, type_ref, name, default = self.rest(c)
        return ast.Param(pos=self.tok_pos(name), name=str(name), annotations=anns,
                         direction=direction, type_ref=type_ref, default=default)

    def opt_type_parameters(self, c: list[Any]) -> list[ast.TypeParam]:
        return c[0] if c and c[0] is not None else []

    def type_parameter_list(self, c: list[Any]) -> list[ast.TypeParam]:
        return [ast.TypeParam(pos=self.tok_pos(t), name=str(t)) for t in c]

    def opt_constructor_parameters(self, c: list[Any]) -> list[ast.Param]:
        return c[0] if c and c[0] is not None else []

    # ------------------------------------------------------------- types
    def prefixed_type(self, c: list[Any]) -> ast.NamedTypeRef:
        if len(c) == 2:
            return ast.NamedTypeRef(pos=self.tok_pos(c[0]), name=str(c[1]), top_level=True)
        return ast.NamedTypeRef(pos=self.tok_pos(c[0]), name=str(c[0]))

    def specialized_type(self, c: list[Any]) -> ast.NamedTypeRef:
        base, args = c[0], [a for a in c[1:] if isinstance(a, list)]
        base.type_args = args[0] if args else []
        return base

    def tuple_type(self, c: list[Any]) -> ast.TupleTypeRef:
        return ast.TupleTypeRef(pos=self.tok_pos(c[0]), elements=c[-1])

    def header_stack_type(self, c: list[Any]) -> ast.StackTypeRef:
        return ast.StackTypeRef(pos=c[0].pos, element=c[0], size=c[-1])

    def base_type(self, c: list[Any]) -> ast.BaseTypeRef:
        kind = c[0]
        pos = self.tok_pos(kind)
        width: ast.Expression | None = None
        extra = [x for x in c[1:] if not (isinstance(x, Token) and x.type in ("LT", "GT"))]
        if extra:
            arg = extra[0]
            if isinstance(arg, Token) and arg.type == "WIDTH_NAME":
                width = ast.PathExpression(pos=self.tok_pos(arg), name=str(arg))
            elif isinstance(arg, Token):
                value, _, _ = parse_integer(str(arg))
                width = ast.IntLiteral(pos=self.tok_pos(arg), value=value, text=str(arg))
            else:
                width = arg
        return ast.BaseTypeRef(pos=pos, kind=str(kind), width=width)

    def type_or_void(self, c: list[Any]) -> ast.TypeRef:
        item = c[0]
        if isinstance(item, Token):
            if item.type == "VOID":
                return ast.BaseTypeRef(pos=self.tok_pos(item), kind="void")
            return ast.NamedTypeRef(pos=self.tok_pos(item), name=str(item))
        return item

    def dontcare_type(self, c: list[Any]) -> ast.DontCareTypeRef:
        return ast.DontCareTypeRef(pos=self.tok_pos(c[0]))

    def void_type(self, c: list[Any]) -> ast.BaseTypeRef:
        return ast.BaseTypeRef(pos=self.tok_pos(c[0]), kind="void")

    def _type_args(self, c: list[Any]) -> list[ast.TypeRef]:
        out: list[ast.TypeRef] = []
        for item in c:
            if item is None:
                continue
            if isinstance(item, Token):  # a non-type name used as a type argument
                out.append(ast.NamedTypeRef(pos=self.tok_pos(item), name=str(item)))
            else:
                out.append(item)
        return out

    def type_argument_list(self, c: list[Any]) -> list[ast.TypeRef]:
        return self._type_args(c)

    def real_type_argument_list(self, c: list[Any]) -> list[ast.TypeRef]:
        return self._type_args(c)

    # ------------------------------------------------------ declarations
    def start(self, c: list[Any]) -> ast.Program:
        decls: list[ast.Node] = []
        for d in c:
            if isinstance(d, _Declarations):
                decls.extend(d.items)
            elif d is not None:
                decls.append(d)
        return ast.Program(pos=self.pos(decls), declarations=decls)

    def empty_declaration(self, c: list[Any]) -> None:
        return None

    def type_declaration(self, c: list[Any]) -> ast.Node:
        return c[0]  # "parser/control/package type declaration ;"

    def _struct_like(self, cls: type[ast.StructLikeDecl], c: list[Any]) -> ast.StructLikeDecl:
        anns = self.anns(c)
        rest = self.rest(c)
        keyword, name, type_params = rest[0], rest[1], rest[2]
        return cls(pos=self.tok_pos(keyword), name=str(name), annotations=anns,
                   type_params=type_params, fields=rest[3:])

    def header_type_declaration(self, c: list[Any]) -> ast.StructLikeDecl:
        return self._struct_like(ast.HeaderDecl, c)

    def header_union_declaration(self, c: list[Any]) -> ast.StructLikeDecl:
        return self._struct_like(ast.HeaderUnionDecl, c)

    def struct_type_declaration(self, c: list[Any]) -> ast.StructLikeDecl:
        return self._struct_like(ast.StructDecl, c)

    def struct_field(self, c: list[Any]) -> ast.StructField:
        type_ref, name = self.rest(c)
        return ast.StructField(pos=self.tok_pos(name), name=str(name), annotations=self.anns(c),
                               type_ref=type_ref)

    def identifier_list(self, c: list[Any]) -> list[ast.DeclaredName]:
        return [ast.DeclaredName(pos=self.tok_pos(t), name=str(t))
                for t in c if isinstance(t, Token) and t.type != "COMMA"]

    def specified_identifier_list(self, c: list[Any]) -> list[ast.DeclaredName]:
        return [x for x in c if isinstance(x, ast.DeclaredName)]

    def specified_identifier(self, c: list[Any]) -> ast.DeclaredName:
        return ast.DeclaredName(pos=self.tok_pos(c[0]), name=str(c[0]), value=c[1])

    def enum_plain(self, c: list[Any]) -> ast.EnumDecl:
        keyword, name, members = self.rest(c)
        return ast.EnumDecl(pos=self.tok_pos(keyword), name=str(name), annotations=self.anns(c),
                            members=members)

    def enum_serializable(self, c: list[Any]) -> ast.EnumDecl:
        keyword, underlying, name, members = self.rest(c)
        return ast.EnumDecl(pos=self.tok_pos(keyword), name=str(name), annotations=self.anns(c),
                            members=members, underlying=underlying)

    def error_declaration(self, c: list[Any]) -> ast.ErrorDecl:
        return ast.ErrorDecl(pos=self.tok_pos(c[0]), name="error", members=c[1])

    def match_kind_declaration(self, c: list[Any]) -> ast.MatchKindDecl:
        return ast.MatchKindDecl(pos=self.tok_pos(c[0]), name="match_kind", members=c[1])

    def typedef(self, c: list[Any]) -> ast.TypedefDecl:
        keyword, type_ref, name = self.rest(c)
        return ast.TypedefDecl(pos=self.tok_pos(keyword), name=str(name),
                               annotations=self.anns(c), type_ref=type_ref)

    def typedef_derived(self, c: list[Any]) -> _Declarations:
        """``typedef struct S { ... } T;`` declares S and the typedef T of it."""
        keyword, derived, name = self.rest(c)
        alias = ast.TypedefDecl(pos=self.tok_pos(keyword), name=str(name),
                                annotations=self.anns(c),
                                type_ref=ast.NamedTypeRef(pos=derived.pos, name=derived.name))
        return _Declarations([derived, alias])

    def newtype(self, c: list[Any]) -> ast.NewTypeDecl:
        keyword, type_ref, name = self.rest(c)
        return ast.NewTypeDecl(pos=self.tok_pos(keyword), name=str(name),
                               annotations=self.anns(c), type_ref=type_ref)

    def constant_declaration(self, c: list[Any]) -> ast.ConstDecl:
        _, type_ref, name, value = self.rest(c)
        return ast.ConstDecl(pos=self.tok_pos(name), name=str(name), annotations=self.anns(c),
                             type_ref=type_ref, value=value)

    def variable_declaration(self, c: list[Any]) -> ast.VariableDecl:
        type_ref, name, init = self.rest(c)
        return ast.VariableDecl(pos=self.tok_pos(name), name=str(name), annotations=self.anns(c),
                                type_ref=type_ref, init=init)

    def instantiation(self, c: list[Any]) -> ast.InstantiationDecl:
        rest = self.rest(c)
        type_ref, args, name = rest[0], rest[1], rest[2]
        initializer = rest[3] if len(rest) > 3 else []
        return ast.InstantiationDecl(pos=self.tok_pos(name), name=str(name),
                                     annotations=self.anns(c), type_ref=type_ref, args=args,
                                     initializer=initializer)

    def obj_initializer(self, c: list[Any]) -> list[ast.Node]:
        return list(c)

    def value_set_declaration(self, c: list[Any]) -> ast.ValueSetDecl:
        rest = [x for x in self.rest(c) if not (isinstance(x, Token) and x.type in ("LT", "GT"))]
        _, element, size, name = rest
        return ast.ValueSetDecl(pos=self.tok_pos(name), name=str(name), annotations=self.anns(c),
                                element_type=element, size=size)

    def function_prototype(self, c: list[Any]) -> _Prototype:
        return_type, name, type_params, params = c
        return _Prototype(return_type, name, type_params, params)

    def extern_object(self, c: list[Any]) -> ast.ExternDecl:
        rest = self.rest(c)
        keyword, name, type_params = rest[0], rest[1], rest[2]
        return ast.ExternDecl(pos=self.tok_pos(keyword), name=str(name),
                              annotations=self.anns(c), type_params=type_params,
                              methods=rest[3:])

    def extern_function(self, c: list[Any]) -> ast.ExternFunctionDecl:
        proto: _Prototype = self.rest(c)[1]
        return ast.ExternFunctionDecl(pos=self.tok_pos(proto.name), name=str(proto.name),
                                      annotations=self.anns(c), return_type=proto.return_type,
                                      type_params=proto.type_params, params=proto.params)

    def _method(self, c: list[Any], abstract: bool) -> ast.MethodDecl:
        proto: _Prototype = self.rest(c)[-1]
        return ast.MethodDecl(pos=self.tok_pos(proto.name), name=str(proto.name),
                              annotations=self.anns(c), return_type=proto.return_type,
                              type_params=proto.type_params, params=proto.params,
                              is_abstract=abstract)

    def method(self, c: list[Any]) -> ast.MethodDecl:
        return self._method(c, False)

    def abstract_method(self, c: list[Any]) -> ast.MethodDecl:
        return self._method(c, True)

    def constructor(self, c: list[Any]) -> ast.MethodDecl:
        name, params = self.rest(c)
        return ast.MethodDecl(pos=self.tok_pos(name), name=str(name), annotations=self.anns(c),
                              params=params, is_constructor=True)

    def function_declaration(self, c: list[Any]) -> ast.FunctionDecl:
        proto, body = self.rest(c)
        return ast.FunctionDecl(pos=self.tok_pos(proto.name), name=str(proto.name),
                                annotations=self.anns(c), return_type=proto.return_type,
                                type_params=proto.type_params, params=proto.params, body=body)

    def action_declaration(self, c: list[Any]) -> ast.ActionDecl:
        _, name, params, body = self.rest(c)
        return ast.ActionDecl(pos=self.tok_pos(name), name=str(name), annotations=self.anns(c),
                              params=params, body=body)

    def _block_type(self, cls: type[ast.ParserTypeDecl], c: list[Any]) -> ast.ParserTypeDecl:
        keyword, name, type_params, params = self.rest(c)
        return cls(pos=self.tok_pos(keyword), name=str(name), annotations=self.anns(c),
                   type_params=type_params, params=params)

    def parser_type_declaration(self, c: list[Any]) -> ast.ParserTypeDecl:
        return self._block_type(ast.ParserTypeDecl, c)

    def control_type_declaration(self, c: list[Any]) -> ast.ParserTypeDecl:
        return self._block_type(ast.ControlTypeDecl, c)

    def package_type_declaration(self, c: list[Any]) -> ast.ParserTypeDecl:
        return self._block_type(ast.PackageTypeDecl, c)

    # ------------------------------------------------------------ parser
    def parser_declaration(self, c: list[Any]) -> ast.ParserDecl:
        header: ast.ParserTypeDecl = c[0]
        states = [x for x in c[2:] if isinstance(x, ast.ParserState)]
        local = [x for x in c[2:] if not isinstance(x, ast.ParserState)]
        return ast.ParserDecl(pos=header.pos, name=header.name, annotations=header.annotations,
                              type_params=header.type_params, params=header.params,
                              constructor_params=c[1], locals=local, states=states)

    def parser_state(self, c: list[Any]) -> ast.ParserState:
        rest = self.rest(c)
        keyword, name = rest[0], rest[1]
        body = rest[2:]
        transition = None
        if body and isinstance(body[-1], _Transition):
            transition = body.pop().target
        return ast.ParserState(pos=self.tok_pos(keyword), name=str(name),
                               annotations=self.anns(c), statements=body, transition=transition)

    def parser_block_statement(self, c: list[Any]) -> ast.BlockStatement:
        rest = self.rest(c)
        return ast.BlockStatement(pos=self.tok_pos(rest[0]), annotations=self.anns(c),
                                  statements=rest[1:])

    def transition_statement(self, c: list[Any]) -> _Transition:
        return _Transition(c[1])

    def state_name(self, c: list[Any]) -> ast.PathExpression:
        return ast.PathExpression(pos=self.tok_pos(c[0]), name=str(c[0]))

    def select_expression(self, c: list[Any]) -> ast.SelectExpression:
        return ast.SelectExpression(pos=self.tok_pos(c[0]), keys=c[1], cases=c[2:])

    def select_case(self, c: list[Any]) -> ast.SelectCase:
        keyset, state = c
        return ast.SelectCase(pos=keyset.pos, keyset=keyset,
                              state=ast.PathExpression(pos=self.tok_pos(state), name=str(state)))

    def tuple_keyset_expression(self, c: list[Any]) -> ast.Expression:
        if len(c) == 2:
            return c[1]
        return ast.ListExpression(pos=self.tok_pos(c[0]), elements=[c[1], *c[2]])

    def simple_expression_list(self, c: list[Any]) -> list[ast.Expression]:
        return list(c)

    def mask_keyset(self, c: list[Any]) -> ast.MaskExpression:
        return ast.MaskExpression(pos=c[0].pos, value=c[0], mask=c[2])

    def range_keyset(self, c: list[Any]) -> ast.RangeExpression:
        return ast.RangeExpression(pos=c[0].pos, low=c[0], high=c[2])

    def default_keyset(self, c: list[Any]) -> ast.DefaultExpression:
        return ast.DefaultExpression(pos=self.tok_pos(c[0]))

    def dontcare_keyset(self, c: list[Any]) -> ast.DontCare:
        return ast.DontCare(pos=self.tok_pos(c[0]))

    # ----------------------------------------------------------- control
    def control_declaration(self, c: list[Any]) -> ast.ControlDecl:
        header: ast.ParserTypeDecl = c[0]
        body = c[-1]
        local = [x for x in c[2:-1] if not (isinstance(x, Token) and x.type == "APPLY")]
        return ast.ControlDecl(pos=header.pos, name=header.name, annotations=header.annotations,
                               type_params=header.type_params, params=header.params,
                               constructor_params=c[1], locals=local, body=body)

    def table_declaration(self, c: list[Any]) -> ast.TableDecl:
        rest = self.rest(c)
        name = rest[1]
        table = ast.TableDecl(pos=self.tok_pos(name), name=str(name), annotations=self.anns(c))
        seen: dict[str, ast.SourcePos] = {}
        for prop_name, prop_pos, apply in rest[2:]:
            if prop_name in seen:
                raise CompileError([Diagnostic(
                    prop_pos.file, prop_pos.line, prop_pos.col,
                    f"{prop_name}: Duplicates declaration {prop_name}")])
            seen[prop_name] = prop_pos
            apply(table)
        return table

    def key_property(self, c: list[Any]) -> Any:
        keys = c[1:]

        def apply(table: ast.TableDecl) -> None:
            table.keys = keys
        return "key", self.tok_pos(c[0]), apply

    def actions_property(self, c: list[Any]) -> Any:
        refs = [x for x in c[1:] if isinstance(x, ast.ActionRef)]

        def apply(table: ast.TableDecl) -> None:
            table.actions = refs
            table.actions_declared = True
        return "actions", self.tok_pos(c[0]), apply

    def _entries(self, c: list[Any], is_const: bool) -> Any:
        entries = [x for x in c if isinstance(x, ast.TableEntry)]
        anns = self.anns(c)
        keyword = next(x for x in c if isinstance(x, Token) and x.type == "ENTRIES")

        def apply(table: ast.TableDecl) -> None:
            table.entries = entries
            if anns:
                table.property_annotations["entries"] = anns
            table.entries_const = is_const
            for entry in entries:
                entry.is_const = entry.is_const or is_const
        return "entries", self.tok_pos(keyword), apply

    def const_entries_property(self, c: list[Any]) -> Any:
        return self._entries(c, True)

    def entries_property(self, c: list[Any]) -> Any:
        return self._entries(c, False)

    def _property(self, c: list[Any], is_const: bool) -> Any:
        anns = self.anns(c)
        rest = [x for x in self.rest(c) if not (isinstance(x, Token) and x.type == "CONST")]
        name_tok, value = rest
        name = str(name_tok)
        pos = self.tok_pos(name_tok)

        def apply(table: ast.TableDecl) -> None:
            if name == "default_action":
                table.default_action = self._action_ref_from_expr(value, anns)
                table.default_action_const = is_const
                if anns:
                    table.property_annotations[name] = anns
            elif name in ("size", "implementation", "counters", "meters", "support_timeout"):
                setattr(table, name, value)
                if anns:
                    table.property_annotations[name] = anns
            else:
                table.other_properties.append(ast.TableProperty(
                    pos=pos, name=name, value=value, is_const=is_const, annotations=anns))
        return name, pos, apply

    def const_property(self, c: list[Any]) -> Any:
        return self._property(c, True)

    def plain_property(self, c: list[Any]) -> Any:
        return self._property(c, False)

    @staticmethod
    def _action_ref_from_expr(value: ast.Expression,
                              anns: list[ast.Annotation]) -> ast.ActionRef:
        return ast.ActionRef(pos=value.pos, expr=value, annotations=anns)

    def key_element(self, c: list[Any]) -> ast.KeyElement:
        expr, kind = c[0], c[1]
        return ast.KeyElement(pos=expr.pos, expr=expr, annotations=self.anns(c[2:]),
                              match_kind=ast.PathExpression(pos=self.tok_pos(kind),
                                                            name=str(kind)))

    def action_ref(self, c: list[Any]) -> ast.ActionRef:
        rest = self.rest(c)
        path: ast.PathExpression = rest[0]
        expr: ast.Expression = path
        if len(rest) > 1:
            expr = ast.MethodCall(pos=path.pos, method=path, args=rest[1])
        return ast.ActionRef(pos=path.pos, expr=expr, annotations=self.anns(c))

    def entry(self, c: list[Any]) -> ast.TableEntry:
        is_const = bool(c) and isinstance(c[0], Token) and c[0].type == "CONST"
        items = c[1:] if is_const else c
        priority = None
        if items and isinstance(items[0], _Priority):
            priority = items[0].value
            items = items[1:]
        keyset_index = next(i for i, x in enumerate(items) if not isinstance(x, ast.Annotation))
        keyset, action = items[keyset_index], items[keyset_index + 1]
        anns = self.anns(items[:keyset_index]) + self.anns(items[keyset_index + 2:])
        return ast.TableEntry(pos=keyset.pos, keyset=keyset, action=action, priority=priority,
                              is_const=is_const, annotations=anns)

    def entry_priority(self, c: list[Any]) -> _Priority:
        value = c[1]
        if isinstance(value, Token):
            number, width, signed = parse_integer(str(value))
            value = ast.IntLiteral(pos=self.tok_pos(value), value=number, width=width,
                                   signed=signed, text=str(value))
        return _Priority(value)

    # -------------------------------------------------------- statements
    def call_statement(self, c: list[Any]) -> ast.MethodCallStatement:
        call = ast.MethodCall(pos=c[0].pos, method=c[0], args=c[1])
        return ast.MethodCallStatement(pos=call.pos, call=call)

    def generic_call_statement(self, c: list[Any]) -> ast.MethodCallStatement:
        call = ast.MethodCall(pos=c[0].pos, method=c[0], type_args=c[2], args=c[3])
        return ast.MethodCallStatement(pos=call.pos, call=call)

    def assignment(self, c: list[Any]) -> ast.AssignStatement:
        return ast.AssignStatement(pos=c[0].pos, lhs=c[0], rhs=c[1])

    def compound_assignment(self, c: list[Any]) -> ast.AssignStatement:
        """``a op= b`` is ``a = a op b`` with a copy of the target as left operand; the
        target is evaluated once (``sideeffects.py`` computes calls in it first)."""
        target, op, value = c
        operand = ast.BinaryOp(pos=target.pos, op=str(op)[:-1], left=copy.deepcopy(target),
                               right=value)
        return ast.AssignStatement(pos=target.pos, lhs=target, rhs=operand, compound=True)

    def empty_statement(self, c: list[Any]) -> ast.EmptyStatement:
        return ast.EmptyStatement(pos=self.tok_pos(c[0]))

    def exit_statement(self, c: list[Any]) -> ast.ExitStatement:
        return ast.ExitStatement(pos=self.tok_pos(c[0]))

    def return_statement(self, c: list[Any]) -> ast.ReturnStatement:
        return ast.ReturnStatement(pos=self.tok_pos(c[0]), value=c[1] if len(c) > 1 else None)

    def break_statement(self, c: list[Any]) -> ast.BreakStatement:
        return ast.BreakStatement(pos=self.tok_pos(c[0]))

    def continue_statement(self, c: list[Any]) -> ast.ContinueStatement:
        return ast.ContinueStatement(pos=self.tok_pos(c[0]))

    def for_statement(self, c: list[Any]) -> ast.ForStatement:
        keyword, init, cond, updates, body = self.rest(c)
        return ast.ForStatement(pos=self.tok_pos(keyword), annotations=self.anns(c),
                                init=init or [], cond=cond, updates=updates or [], body=body)

    def for_in_statement(self, c: list[Any]) -> ast.ForInStatement:
        keyword, type_ref, name, _, collection, body = self.rest(c)
        split = c.index(keyword)
        var = ast.VariableDecl(pos=self.tok_pos(name), name=str(name), type_ref=type_ref,
                               annotations=self.anns(c[split:]))
        return ast.ForInStatement(pos=self.tok_pos(keyword), annotations=self.anns(c[:split]),
                                  var=var, collection=collection, body=body)

    def for_init_list(self, c: list[Any]) -> list[ast.Node]:
        return list(c)

    for_update_list = for_init_list

    def for_variable(self, c: list[Any]) -> ast.VariableDecl:
        type_ref, name, init = self.rest(c)
        return ast.VariableDecl(pos=self.tok_pos(name), name=str(name), annotations=self.anns(c),
                                type_ref=type_ref, init=init)

    def for_range(self, c: list[Any]) -> ast.RangeExpression:
        return ast.RangeExpression(pos=c[0].pos, low=c[0], high=c[2])

    def conditional_statement(self, c: list[Any]) -> ast.IfStatement:
        return ast.IfStatement(pos=self.tok_pos(c[0]), cond=c[1], then=c[2],
                               otherwise=c[4] if len(c) > 4 else None)

    def direct_application(self, c: list[Any]) -> ast.MethodCallStatement:
        type_ref, apply, args = [x for x in c if not (isinstance(x, Token) and x.type == "DOT")]
        target = ast.TypeNameExpression(pos=type_ref.pos, type_ref=type_ref)
        method = ast.Member(pos=type_ref.pos, expr=target, member=str(apply))
        call = ast.MethodCall(pos=type_ref.pos, method=method, args=args)
        return ast.MethodCallStatement(pos=call.pos, call=call)

    def block_statement(self, c: list[Any]) -> ast.BlockStatement:
        rest = self.rest(c)
        return ast.BlockStatement(pos=self.tok_pos(rest[0]), annotations=self.anns(c),
                                  statements=rest[1:])

    def switch_statement(self, c: list[Any]) -> ast.SwitchStatement:
        return ast.SwitchStatement(pos=self.tok_pos(c[0]), expr=c[1], cases=c[2:])

    def switch_case(self, c: list[Any]) -> ast.SwitchCase:
        return ast.SwitchCase(pos=c[0].pos, label=c[0], body=c[1] if len(c) > 1 else None)

    def default_label(self, c: list[Any]) -> ast.DefaultExpression:
        return ast.DefaultExpression(pos=self.tok_pos(c[0]))

    # ------------------------------------------------------- expressions
    def argument_list(self, c: list[Any]) -> list[ast.Argument]:
        return [a for a in c if a is not None]

    def argument(self, c: list[Any]) -> ast.Argument:
        return ast.Argument(pos=c[0].pos, value=c[0])

    def named_argument(self, c: list[Any]) -> ast.Argument:
        return ast.Argument(pos=self.tok_pos(c[0]), name=str(c[0]), value=c[1])

    def dontcare_argument(self, c: list[Any]) -> ast.Argument:
        pos = self.tok_pos(c[0])
        return ast.Argument(pos=pos, value=ast.DontCare(pos=pos))

    def named_dontcare_argument(self, c: list[Any]) -> ast.Argument:
        return ast.Argument(pos=self.tok_pos(c[0]), name=str(c[0]),
                            value=ast.DontCare(pos=self.tok_pos(c[1])))

    def kv_list(self, c: list[Any]) -> list[ast.NamedExpression]:
        return [x for x in c if isinstance(x, ast.NamedExpression)]

    def kv_pair(self, c: list[Any]) -> ast.NamedExpression:
        return ast.NamedExpression(pos=self.tok_pos(c[0]), name=str(c[0]), value=c[1])

    def expression_list(self, c: list[Any]) -> list[ast.Expression]:
        return [e for e in c if e is not None]

    def nonempty_expression_list(self, c: list[Any]) -> list[ast.Expression]:
        return [e for e in c if isinstance(e, ast.Expression)]

    def prefixed_non_type_name(self, c: list[Any]) -> ast.PathExpression:
        if len(c) == 2:
            return ast.PathExpression(pos=self.tok_pos(c[0]), name=str(c[1]), top_level=True)
        return ast.PathExpression(pos=self.tok_pos(c[0]), name=str(c[0]))

    def lvalue_path(self, c: list[Any]) -> ast.PathExpression:
        return c[0]

    def lvalue(self, c: list[Any]) -> ast.Expression:
        return c[0]

    def this_expression(self, c: list[Any]) -> ast.ThisExpression:
        return ast.ThisExpression(pos=self.tok_pos(c[0]))

    def member(self, c: list[Any]) -> ast.Member:
        expr, name = c[0], c[-1]
        return ast.Member(pos=expr.pos, expr=expr, member=str(name))

    def array_index(self, c: list[Any]) -> ast.ArrayIndex:
        return ast.ArrayIndex(pos=c[0].pos, expr=c[0], index=c[1])

    def slice(self, c: list[Any]) -> ast.Slice:
        return ast.Slice(pos=c[0].pos, expr=c[0], hi=c[1], lo=c[2])

    def indexed_slice(self, c: list[Any]) -> ast.Slice:
        """``e[lo +: w]`` (P4 1.2.4) is ``e[lo + w - 1 : lo]``."""
        expr, low, _, width = c
        one = ast.IntLiteral(pos=width.pos, value=1, text="1")
        high = ast.BinaryOp(pos=low.pos, op="-", right=one, left=ast.BinaryOp(
            pos=low.pos, op="+", left=copy.deepcopy(low), right=width))
        return ast.Slice(pos=expr.pos, expr=expr, hi=high, lo=low)

    def ternary(self, c: list[Any]) -> ast.Ternary:
        return ast.Ternary(pos=c[0].pos, cond=c[0], then=c[1], otherwise=c[2])

    def binary(self, c: list[Any]) -> ast.BinaryOp:
        left, op, right = c
        return ast.BinaryOp(pos=left.pos, op=str(op), left=left, right=right)

    def unary(self, c: list[Any]) -> ast.Expression:
        op, operand = c
        return ast.UnaryOp(pos=self.tok_pos(op), op=str(op), operand=operand)

    def cast(self, c: list[Any]) -> ast.Cast:
        return ast.Cast(pos=self.tok_pos(c[0]), type_ref=c[1], expr=c[2])

    def call(self, c: list[Any]) -> ast.MethodCall:
        return ast.MethodCall(pos=c[0].pos, method=c[0], args=c[1])

    def generic_call(self, c: list[Any]) -> ast.MethodCall:
        return ast.MethodCall(pos=c[0].pos, method=c[0], type_args=c[2], args=c[3])

    def constructor_call(self, c: list[Any]) -> ast.ConstructorCall:
        return ast.ConstructorCall(pos=c[0].pos, type_ref=c[0], args=c[1])

    def type_member(self, c: list[Any]) -> ast.Member:
        target = ast.TypeNameExpression(pos=c[0].pos, type_ref=c[0])
        return ast.Member(pos=c[0].pos, expr=target, member=str(c[-1]))

    def error_member(self, c: list[Any]) -> ast.Member:
        pos = self.tok_pos(c[0])
        target = ast.TypeNameExpression(pos=pos, type_ref=ast.BaseTypeRef(pos=pos, kind="error"))
        return ast.Member(pos=pos, expr=target, member=str(c[-1]))

    def integer(self, c: list[Any]) -> ast.IntLiteral:
        value, width, signed = parse_integer(str(c[0]))
        return ast.IntLiteral(pos=self.tok_pos(c[0]), value=value, width=width, signed=signed,
                              text=str(c[0]))

    def string(self, c: list[Any]) -> ast.StringLiteral:
        return ast.StringLiteral(pos=self.tok_pos(c[0]), value=_unquote(str(c[0])))

    def true(self, c: list[Any]) -> ast.BoolLiteral:
        return ast.BoolLiteral(pos=self.tok_pos(c[0]), value=True)

    def false(self, c: list[Any]) -> ast.BoolLiteral:
        return ast.BoolLiteral(pos=self.tok_pos(c[0]), value=False)

    def path(self, c: list[Any]) -> ast.PathExpression:
        return ast.PathExpression(pos=self.tok_pos(c[0]), name=str(c[0]))

    def top_level_path(self, c: list[Any]) -> ast.PathExpression:
        return ast.PathExpression(pos=self.tok_pos(c[0]), name=str(c[1]), top_level=True)

    def list_expression(self, c: list[Any]) -> ast.ListExpression:
        elements = c[1] if len(c) > 1 else []
        return ast.ListExpression(pos=self.tok_pos(c[0]), elements=elements)

    def struct_expression(self, c: list[Any]) -> ast.StructExpression:
        return ast.StructExpression(pos=self.tok_pos(c[0]), fields=c[1])

    def invalid_expression(self, c: list[Any]) -> ast.InvalidExpression:
        return ast.InvalidExpression(pos=self.tok_pos(c[0]))


@dataclass
class _Transition:
    target: ast.Expression


@dataclass
class _Priority:
    value: ast.Expression


class _Parser:
    """The lark parser with its post-lexer and AST builder (one per process)."""

    def __init__(self) -> None:
        self.postlex = _PostLexer()
        self.builder = _AstBuilder()
        self.builder.annotation_parser = self._parse_annotation_body
        self.lark = Lark(_GRAMMAR_PATH.read_text(), parser="lalr", lexer="contextual",
                         start=["start", "annotation_body"], postlex=self.postlex,
                         transformer=self.builder, maybe_placeholders=True,
                         propagate_positions=False, cache=True)
        self.lock = threading.RLock()

    def _parse_annotation_body(self, text: str, offset: int) -> tuple[str, list[Any]] | None:
        saved = self.postlex.base
        self.postlex.base = offset
        try:
            result: Any = self.lark.parse(text, start="annotation_body")
            return cast(tuple[str, list[Any]], result)
        except (LarkError, CompileError):
            return None
        finally:
            self.postlex.base = saved

    def parse(self, source: Preprocessed) -> ast.Program:
        scan = _prescan(source.text)
        with self.lock:
            self.postlex.scan = scan
            self.postlex.base = 0
            self.builder.line_map = source.line_map
            self.builder.annotation_bodies = scan.annotation_bodies
            try:
                program: Any = self.lark.parse(scan.blanked_text, start="start")
            except UnexpectedInput as err:
                raise CompileError([_syntax_error(err, source.line_map)]) from None
        return cast(ast.Program, program)


def _syntax_error(err: UnexpectedInput, line_map: LineMap) -> Diagnostic:
    file, line = line_map.locate(err.line if err.line and err.line > 0 else 1)
    col = err.column if err.column and err.column > 0 else 1
    if isinstance(err, UnexpectedCharacters):
        return Diagnostic(file, line, col, f"syntax error, unexpected character '{err.char}'")
    if isinstance(err, UnexpectedEOF):
        return Diagnostic(file, line, col, "syntax error, unexpected end of file")
    token = getattr(err, "token", None)
    if token is not None and token.type == "$END":
        return Diagnostic(file, line, col, "syntax error, unexpected end of file")
    text = str(token) if token is not None else ""
    expected = getattr(err, "expected", None) or set()
    if token is not None and token.type == "IDENTIFIER" and "TYPE_IDENTIFIER" in expected:
        # A name where only a type fits: most likely a type that is not declared.
        return Diagnostic(file, line, col, f"{text}: declaration not found (expected a type)")
    return Diagnostic(file, line, col, f'syntax error, unexpected "{text}"')


_PARSER: _Parser | None = None
_PARSER_LOCK = threading.Lock()


def _parser() -> _Parser:
    global _PARSER
    with _PARSER_LOCK:
        if _PARSER is None:
            _PARSER = _Parser()
        return _PARSER


def parse_preprocessed(source: Preprocessed) -> ast.Program:
    """Parse preprocessed text; raise CompileError with p4c-style syntax errors."""
    return _parser().parse(source)


def parse_text(text: str, filename: str = "<string>") -> ast.Program:
    """Parse P4 text that needs no preprocessing (no #include/#define)."""
    line_map = LineMap([filename] * (text.count("\n") + 1), list(range(1, text.count("\n") + 2)))
    return parse_preprocessed(Preprocessed(text, line_map))
