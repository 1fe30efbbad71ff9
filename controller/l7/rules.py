"""Content rules: which backend pool serves a request, decided from its head.

A service lists rules in order; the first rule whose every condition holds names the pool,
otherwise the service's default pool does (or nobody: the splicer then refuses the request).
Conditions within one rule are ANDed; list-valued conditions (methods, extensions) are ORs
over their items.

Paths are matched in normalised form (:func:`controller.l7.http_request.normalize_path`).
Regular expressions use Python's ``re`` with ``search`` semantics (anchor them with ``^``
and ``$``).  They come from the operator, but the text they run on comes from clients, so a
pattern is refused if it can backtrack exponentially (a repetition inside a repetition, or
an alternation under a repetition) or is longer than :data:`MAX_PATTERN_LENGTH`, and it only
ever sees the first :data:`MAX_MATCHED_TEXT` characters of a path or header value.

The YAML form (one rule; every key but ``pool`` optional)::

    - host: "*.example.com"          # exact name, or "*." + suffix: any subdomain depth
      path_prefix: /static/
      path_regex: '^/img/[0-9]+\\.png$'
      extensions: [jpg, png]          # of the last path segment, case-insensitive
      methods: [GET, HEAD]
      headers:                        # every listed header must match
        - {name: X-Tenant, value: gold}
        - {name: User-Agent, regex: 'Mobile'}
        - {name: X-Debug}             # present, any value
      pool: static

A TLS service (docs/l7.md, "TLS services") reads the ClientHello instead of a request head,
so its rules take only the ClientHello's conditions::

    - sni: "*.img.example.com"       # server name (SNI), exact or wildcard like host
      alpn: [h2]                      # any of the protocols the client offers
      pool: images
"""

from __future__ import annotations

import re
import re._parser as sre_parse  # the stdlib's own pattern parser, for the backtracking check
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from controller.l7.http_request import RequestHead, is_token
from controller.l7.tls_client_hello import ClientHello

MAX_PATTERN_LENGTH = 256
MAX_MATCHED_TEXT = 1024
RULE_KEYS = frozenset({"host", "path_prefix", "path_regex", "extensions", "methods",
                       "headers", "pool"})
TLS_RULE_KEYS = frozenset({"sni", "alpn", "pool"})
_HOST_LABELS = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")
_EXTENSION = re.compile(r"[A-Za-z0-9_+-]{1,16}")


class RulesError(ValueError):
    """Invalid content rules; ``problems`` lists every ``path: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class HostMatch:
    """An exact host name, or with ``wildcard`` any name ending in ``"." + suffix``."""

    name: str
    wildcard: bool = False

    def matches(self, host: str) -> bool:
        host = host.removesuffix(".")  # "example.com." is the same absolute name
        if self.wildcard:
            return host.endswith("." + self.name)
        return host == self.name


@dataclass(frozen=True)
class HeaderMatch:
    """A header that must be present, optionally with an exact value or a matching one.

    Any of the header's lines may match (a repeated header is several values).
    """

    name: str
    value: str | None = None
    regex: re.Pattern[str] | None = None

    def matches(self, request: RequestHead) -> bool:
        values = request.headers.get_all(self.name)
        if self.value is not None:
            return self.value in values
        if self.regex is not None:
            regex = self.regex
            return any(regex.search(value[:MAX_MATCHED_TEXT]) for value in values)
        return bool(values)


@dataclass(frozen=True)
class ContentRule:
    pool: str
    host: HostMatch | None = None
    path_prefix: str | None = None
    path_regex: re.Pattern[str] | None = None
    extensions: frozenset[str] | None = None  # lower-case, without the dot
    methods: frozenset[str] | None = None
    headers: tuple[HeaderMatch, ...] = ()
    sni: HostMatch | None = None  # TLS services: the ClientHello's server name
    alpn: frozenset[str] | None = None  # TLS services: any offered protocol

    def matches_hello(self, hello: ClientHello) -> bool:
        """A TLS rule: a client that sends no SNI matches no ``sni`` condition."""
        return ((self.sni is None or (hello.server_name is not None
                                      and self.sni.matches(hello.server_name)))
                and (self.alpn is None or not self.alpn.isdisjoint(hello.alpn)))

    def matches(self, request: RequestHead) -> bool:
        path = request.normalized_path
        return ((self.host is None or self.host.matches(request.host))
                and (self.methods is None or request.method in self.methods)
                and (self.path_prefix is None or path.startswith(self.path_prefix))
                and (self.extensions is None or path_extension(path) in self.extensions)
                and (self.path_regex is None
                     or self.path_regex.search(path[:MAX_MATCHED_TEXT]) is not None)
                and all(header.matches(request) for header in self.headers))


@dataclass(frozen=True)
class RuleMatch:
    """The pool chosen for a request, and by which rule (None: the default pool)."""

    pool: str
    rule_index: int | None


@dataclass(frozen=True)
class ContentRules:
    rules: tuple[ContentRule, ...]
    default_pool: str | None = None

    def select(self, request: RequestHead) -> RuleMatch | None:
        """First matching rule wins; then the default pool; None when neither applies."""
        for index, rule in enumerate(self.rules):
            if rule.matches(request):
                return RuleMatch(rule.pool, index)
        return self.default()

    def select_hello(self, hello: ClientHello) -> RuleMatch | None:
        """The same for a TLS service's ClientHello."""
        for index, rule in enumerate(self.rules):
            if rule.matches_hello(hello):
                return RuleMatch(rule.pool, index)
        return self.default()

    def default(self) -> RuleMatch | None:
        """The default pool (a TLS service's choice for a hello it cannot read)."""
        return None if self.default_pool is None else RuleMatch(self.default_pool, None)


def path_extension(path: str) -> str | None:
    """Lower-case extension of the last path segment ("/a/b.tar.GZ" -> "gz"), or None."""
    last = path.rsplit("/", 1)[-1]
    stem, dot, extension = last.rpartition(".")
    return extension.lower() if dot and stem and extension else None


def parse_content_rules(raw_rules: Any, *, where: str = "rules", default_pool: Any = None,
                        default_pool_where: str = "default_pool",
                        pools: Collection[str] | None = None,
                        tls: bool = False) -> ContentRules:
    """Validates the YAML form; every problem is reported with its key path.

    ``where`` and ``default_pool_where`` are the key paths of the rule list and of the
    default pool (e.g. ``services[2].rules``, ``services[2].default_pool``); ``pools``, when
    given, are the pool names that may be referred to; ``tls`` selects the ClientHello
    conditions (``sni``, ``alpn``) instead of the request-head ones.
    """
    problems: list[str] = []
    rules: list[ContentRule] = []
    if raw_rules is None:
        raw_rules = []
    if not isinstance(raw_rules, list):
        problems.append(f"{where}: must be a list of rules")
        raw_rules = []
    for index, raw in enumerate(raw_rules):
        rule = _parse_rule(raw, f"{where}[{index}]", pools, problems, tls)
        if rule is not None:
            rules.append(rule)
    if default_pool is not None:
        _check_pool(default_pool, default_pool_where, pools, problems)
    if problems:
        raise RulesError(problems)
    return ContentRules(tuple(rules), default_pool)


def _check_pool(value: Any, where: str, pools: Collection[str] | None,
                problems: list[str]) -> bool:
    if not isinstance(value, str) or not value:
        problems.append(f"{where}: must be a pool name")
        return False
    if pools is not None and value not in pools:
        known = ", ".join(sorted(pools)) or "none"
        problems.append(f"{where}: unknown pool {value!r} (known: {known})")
        return False
    return True


def _parse_rule(raw: Any, where: str, pools: Collection[str] | None,
                problems: list[str], tls: bool = False) -> ContentRule | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: must be a mapping")
        return None
    count = len(problems)
    allowed, other = (TLS_RULE_KEYS, RULE_KEYS) if tls else (RULE_KEYS, TLS_RULE_KEYS)
    for key in sorted(set(raw) - allowed, key=str):
        hint = ("" if key not in other else " (an HTTP condition: a TLS service sees only "
                "the ClientHello)" if tls else " (a TLS condition: this service reads HTTP "
                "request heads)")
        problems.append(f"{where}.{key}: unknown key{hint} (expected one of "
                        f"{', '.join(sorted(allowed))})")
    if "pool" not in raw:
        problems.append(f"{where}.pool: missing")
    else:
        _check_pool(raw["pool"], f"{where}.pool", pools, problems)
    if set(raw) <= {"pool"}:
        problems.append(f"{where}: has no condition (use the default pool instead)")
    if tls:
        return _parse_tls_rule(raw, where, problems, count)
    host = _parse_host(raw["host"], f"{where}.host", problems) if "host" in raw else None
    path_prefix = None
    if "path_prefix" in raw:
        path_prefix = raw["path_prefix"]
        if not isinstance(path_prefix, str) or not path_prefix.startswith("/"):
            problems.append(f"{where}.path_prefix: must be a string starting with '/'")
    path_regex = None
    if "path_regex" in raw:
        path_regex = _parse_regex(raw["path_regex"], f"{where}.path_regex", problems)
    extensions = None
    if "extensions" in raw:
        extensions = frozenset(_parse_list(raw["extensions"], f"{where}.extensions",
                                           _parse_extension, problems))
    methods = None
    if "methods" in raw:
        methods = frozenset(_parse_list(raw["methods"], f"{where}.methods", _parse_method,
                                        problems))
    headers: list[HeaderMatch] = []
    if "headers" in raw:
        headers = _parse_list(raw["headers"], f"{where}.headers", _parse_header, problems)
    if len(problems) > count:
        return None
    return ContentRule(pool=raw["pool"], host=host, path_prefix=path_prefix,
                       path_regex=path_regex, extensions=extensions, methods=methods,
                       headers=tuple(headers))


def _parse_tls_rule(raw: Mapping, where: str, problems: list[str],
                    count: int) -> ContentRule | None:
    sni = _parse_host(raw["sni"], f"{where}.sni", problems) if "sni" in raw else None
    alpn = None
    if "alpn" in raw:
        alpn = frozenset(_parse_list(raw["alpn"], f"{where}.alpn", _parse_alpn, problems))
    if len(problems) > count:
        return None
    return ContentRule(pool=raw["pool"], sni=sni, alpn=alpn)


def _parse_alpn(raw: Any, where: str, problems: list[str]) -> str | None:
    if not isinstance(raw, str) or not 1 <= len(raw.encode("latin-1", "replace")) <= 255 \
            or not raw.isprintable() or not raw.isascii():
        problems.append(f"{where}: {raw!r} is not an ALPN protocol id (e.g. h2, http/1.1)")
        return None
    return raw


def _parse_list(raw: Any, where: str, parse_item: Any, problems: list[str]) -> list[Any]:
    if not isinstance(raw, list) or not raw:
        problems.append(f"{where}: must be a non-empty list")
        return []
    items = [parse_item(item, f"{where}[{index}]", problems) for index, item in enumerate(raw)]
    return [item for item in items if item is not None]


def _parse_host(raw: Any, where: str, problems: list[str]) -> HostMatch | None:
    if not isinstance(raw, str):
        problems.append(f"{where}: must be a host name")
        return None
    name = raw.lower()
    wildcard = name.startswith("*.")
    if wildcard:
        name = name[2:]
    if _HOST_LABELS.fullmatch(name) is None:
        problems.append(f"{where}: {raw!r} is not a host name or '*.' followed by one")
        return None
    return HostMatch(name, wildcard)


def _parse_extension(raw: Any, where: str, problems: list[str]) -> str | None:
    if not isinstance(raw, str) or _EXTENSION.fullmatch(raw.removeprefix(".")) is None:
        problems.append(f"{where}: {raw!r} is not a file extension")
        return None
    return raw.removeprefix(".").lower()


def _parse_method(raw: Any, where: str, problems: list[str]) -> str | None:
    if not isinstance(raw, str) or not is_token(raw):
        problems.append(f"{where}: {raw!r} is not an HTTP method")
        return None
    return raw  # methods are case-sensitive (RFC 9110 section 9.1)


def _parse_header(raw: Any, where: str, problems: list[str]) -> HeaderMatch | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: must be a mapping with 'name' and optionally 'value' or "
                        f"'regex'")
        return None
    count = len(problems)
    for key in sorted(set(raw) - {"name", "value", "regex"}, key=str):
        problems.append(f"{where}.{key}: unknown key (expected name, value, regex)")
    name = raw.get("name")
    if not isinstance(name, str) or not is_token(name):
        problems.append(f"{where}.name: {name!r} is not a header name")
    value = raw.get("value")
    if value is not None and not isinstance(value, str):
        problems.append(f"{where}.value: must be a string")
    regex = None
    if "regex" in raw:
        if value is not None:
            problems.append(f"{where}: give either value or regex, not both")
        regex = _parse_regex(raw["regex"], f"{where}.regex", problems)
    if len(problems) > count:
        return None
    return HeaderMatch(str(name), value, regex)


def _parse_regex(raw: Any, where: str, problems: list[str]) -> re.Pattern[str] | None:
    if not isinstance(raw, str) or not raw:
        problems.append(f"{where}: must be a non-empty string")
        return None
    if len(raw) > MAX_PATTERN_LENGTH:
        problems.append(f"{where}: longer than {MAX_PATTERN_LENGTH} characters")
        return None
    try:
        pattern = re.compile(raw)
    except re.error as err:
        problems.append(f"{where}: invalid regular expression: {err}")
        return None
    danger = _backtracking_hazard(sre_parse.parse(raw), inside_repeat=False)
    if danger is not None:
        problems.append(f"{where}: {danger} can backtrack exponentially; rewrite the pattern")
        return None
    return pattern


_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


def _backtracking_hazard(items: Sequence[Any], *, inside_repeat: bool) -> str | None:
    """Why ``items`` (an sre parse tree) risks exponential backtracking, or None.

    Conservative: under an unbounded-or-large repetition, another repetition or an
    alternation is refused even when its branches could not overlap.
    """
    for opcode, argument in items:
        name = str(opcode)
        if name in _REPEATS:
            low, high, body = argument
            if inside_repeat and high > 1:
                return "a repetition inside a repetition"
            multiple = high > 1
            hazard = _backtracking_hazard(body, inside_repeat=inside_repeat or multiple)
        elif name == "SUBPATTERN":
            hazard = _backtracking_hazard(argument[-1], inside_repeat=inside_repeat)
        elif name == "BRANCH":
            if inside_repeat:
                return "an alternation inside a repetition"
            hazard = next((found for branch in argument[1] if (
                found := _backtracking_hazard(branch, inside_repeat=False)) is not None), None)
        elif name == "GROUPREF_EXISTS":
            hazard = next((found for branch in argument[1:] if branch is not None and (
                found := _backtracking_hazard(branch, inside_repeat=inside_repeat))
                is not None), None)
        elif name == "GROUPREF":
            return "a backreference"
        elif name in ("ASSERT", "ASSERT_NOT"):
            hazard = _backtracking_hazard(argument[1], inside_repeat=inside_repeat)
        elif name == "ATOMIC_GROUP":
            hazard = _backtracking_hazard(argument, inside_repeat=inside_repeat)
        else:
            hazard = None
        if hazard is not None:
            return hazard
    return None
