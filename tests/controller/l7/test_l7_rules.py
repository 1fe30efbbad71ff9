"""Content rules: matching on each field, first match wins, validation messages."""

import time
from typing import Any

import pytest

from controller.l7.http_request import RequestHead, parse_request_head
from controller.l7.rules import (
    MAX_MATCHED_TEXT,
    ContentRules,
    RuleMatch,
    RulesError,
    parse_content_rules,
    path_extension,
)

POOLS = {"static", "api", "mobile", "web", "admin"}


def request(target: str = "/", host: str = "www.example.com", method: str = "GET",
            headers: str = "") -> RequestHead:
    data = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n".encode()
    head = parse_request_head(data)
    assert head is not None
    return head


def rules(raw: list[Any], default_pool: str | None = "web") -> ContentRules:
    return parse_content_rules(raw, default_pool=default_pool, pools=POOLS)


def pool_of(table: ContentRules, head: RequestHead) -> str | None:
    match = table.select(head)
    return None if match is None else match.pool


def problems(raw: Any, **kwargs: Any) -> list[str]:
    with pytest.raises(RulesError) as info:
        parse_content_rules(raw, where="services[2].rules", pools=POOLS, **kwargs)
    return info.value.problems


def test_host_exact_and_wildcard() -> None:
    table = rules([{"host": "API.example.com", "pool": "api"},
                   {"host": "*.static.example.com", "pool": "static"}])
    assert table.select(request(host="api.example.com:8080")) == RuleMatch("api", 0)
    assert table.select(request(host="api.example.com.")) == RuleMatch("api", 0)
    assert table.select(request(host="a.b.static.example.com")) == RuleMatch("static", 1)
    assert table.select(request(host="static.example.com")) == RuleMatch("web", None)
    assert table.select(request(host="evilstatic.example.com")) == RuleMatch("web", None)


def test_path_prefix_matches_the_normalized_path() -> None:
    table = rules([{"path_prefix": "/static/", "pool": "static"}])
    assert pool_of(table, request("/static/a.css")) == "static"
    assert pool_of(table, request("/%73tatic/a.css")) == "static"
    assert pool_of(table, request("/static/../admin")) == "web"
    assert pool_of(table, request("http://x/static/img?x=1")) == "static"


def test_path_regex_extension_and_method() -> None:
    table = rules([
        {"path_regex": r"^/img/[0-9]+\.png$", "pool": "static"},
        {"extensions": ["JPG", ".gif"], "methods": ["GET", "HEAD"], "pool": "static"},
        {"methods": ["POST"], "path_prefix": "/api/", "pool": "api"},
    ])
    assert table.select(request("/img/42.png?v=1")) == RuleMatch("static", 0)
    assert table.select(request("/img/x42.png")) == RuleMatch("web", None)
    assert table.select(request("/a/photo.jpg")) == RuleMatch("static", 1)
    assert table.select(request("/a/photo.GIF", method="HEAD")) == RuleMatch("static", 1)
    assert table.select(request("/a/photo.jpg", method="POST")) == RuleMatch("web", None)
    assert table.select(request("/api/v1", method="POST")) == RuleMatch("api", 2)
    assert table.select(request("/api/v1", method="post")) == RuleMatch("web", None)


def test_header_conditions() -> None:
    table = rules([
        {"headers": [{"name": "x-tenant", "value": "gold"}], "pool": "admin"},
        {"headers": [{"name": "User-Agent", "regex": "Mobile|Android"}], "pool": "mobile"},
        {"headers": [{"name": "X-Debug"}], "pool": "api"},
    ])
    assert pool_of(table, request(headers="X-Tenant: gold\r\n")) == "admin"
    assert pool_of(table, request(headers="X-Tenant: silver\r\nX-Tenant: gold\r\n")) == "admin"
    assert pool_of(table, request(headers="X-Tenant: Gold\r\n")) == "web"
    assert pool_of(table, request(headers="User-Agent: x Android y\r\n")) == "mobile"
    assert pool_of(table, request(headers="X-Debug: \r\n")) == "api"
    assert pool_of(table, request()) == "web"


def test_all_conditions_of_a_rule_must_hold_and_first_match_wins() -> None:
    table = rules([{"host": "a.example", "path_prefix": "/x", "pool": "api"},
                   {"path_prefix": "/x", "pool": "static"}])
    assert table.select(request("/x", host="a.example")) == RuleMatch("api", 0)
    assert table.select(request("/x", host="b.example")) == RuleMatch("static", 1)


def test_no_default_pool_means_no_choice() -> None:
    table = rules([{"path_prefix": "/x", "pool": "api"}], default_pool=None)
    assert table.select(request("/y")) is None
    assert parse_content_rules(None, default_pool="web").select(request()) == RuleMatch("web",
                                                                                        None)


@pytest.mark.parametrize(("path", "extension"), [
    ("/a/b.tar.GZ", "gz"), ("/a/.hidden", None), ("/a.b/c", None), ("/a/b.", None), ("/", None),
])
def test_path_extension(path: str, extension: str | None) -> None:
    assert path_extension(path) == extension


@pytest.mark.parametrize(("raw", "expected"), [
    ("nope", "services[2].rules: must be a list of rules"),
    ([3], "services[2].rules[0]: must be a mapping"),
    ([{"path_prefix": "/"}], "services[2].rules[0].pool: missing"),
    ([{"pool": "web"}], "services[2].rules[0]: has no condition"),
    ([{"path_prefix": "/", "pool": "nope"}],
     "services[2].rules[0].pool: unknown pool 'nope' (known: admin, api, mobile, static, web)"),
    ([{"path_prefix": "x", "pool": "web"}],
     "services[2].rules[0].path_prefix: must be a string starting with '/'"),
    ([{"hosts": "a", "pool": "web"}], "services[2].rules[0].hosts: unknown key"),
    ([{"host": "a..b", "pool": "web"}], "services[2].rules[0].host: 'a..b' is not a host name"),
    ([{"host": "*", "pool": "web"}], "services[2].rules[0].host: '*' is not a host name"),
    ([{"path_regex": "(", "pool": "web"}],
     "services[2].rules[0].path_regex: invalid regular expression"),
    ([{"path_regex": "x" * 300, "pool": "web"}],
     "services[2].rules[0].path_regex: longer than 256 characters"),
    ([{"extensions": [], "pool": "web"}],
     "services[2].rules[0].extensions: must be a non-empty list"),
    ([{"extensions": ["tar.gz"], "pool": "web"}],
     "services[2].rules[0].extensions[0]: 'tar.gz' is not a file extension"),
    ([{"methods": ["GET", "BAD METHOD"], "pool": "web"}],
     "services[2].rules[0].methods[1]: 'BAD METHOD' is not an HTTP method"),
    ([{"headers": ["X"], "pool": "web"}], "services[2].rules[0].headers[0]: must be a mapping"),
    ([{"headers": [{"name": "A B"}], "pool": "web"}],
     "services[2].rules[0].headers[0].name: 'A B' is not a header name"),
    ([{"headers": [{"name": "A", "value": "x", "regex": "y"}], "pool": "web"}],
     "services[2].rules[0].headers[0]: give either value or regex, not both"),
    ([{"headers": [{"name": "A", "value": 3}], "pool": "web"}],
     "services[2].rules[0].headers[0].value: must be a string"),
    ([{"headers": [{"name": "A", "size": 3}], "pool": "web"}],
     "services[2].rules[0].headers[0].size: unknown key"),
])
def test_validation_messages(raw: Any, expected: str) -> None:
    assert any(problem.startswith(expected) for problem in problems(raw)), problems(raw)


def test_every_problem_is_reported_with_its_rule_index() -> None:
    found = problems([{"path_prefix": "/", "pool": "web"},
                      {"path_regex": "(a+)+$", "pool": "web"},
                      {"methods": "GET", "pool": "gone"}],
                     default_pool="missing", default_pool_where="services[2].default_pool")
    assert [p.split(":")[0] for p in found] == [
        "services[2].rules[1].path_regex", "services[2].rules[2].pool",
        "services[2].rules[2].methods", "services[2].default_pool"]


@pytest.mark.parametrize(("pattern", "hazard"), [
    ("(a+)+$", "a repetition inside a repetition"),
    ("^(?:x*y?)*z", "a repetition inside a repetition"),
    ("(a|aa)*b", "an alternation inside a repetition"),
    ("((ab)*c)+", "a repetition inside a repetition"),
    (r"(a)\1", "a backreference"),
    ("(?=(a+)+)b", "a repetition inside a repetition"),
    ("(x)?(?(1)(a+)+|b)", "a repetition inside a repetition"),
])
def test_catastrophic_patterns_are_refused(pattern: str, hazard: str) -> None:
    assert f"{hazard} can backtrack exponentially" in problems(
        [{"path_regex": pattern, "pool": "web"}])[0]


@pytest.mark.parametrize("pattern", [
    r"^/img/[0-9]+\.png$", r"^/(api|v2)/", r"\.(jpe?g|png)$", r"^/a/.*/b/.*\.css$",
    r"(?:ab){2}", r"^/x(?=y)",
])
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    assert rules([{"path_regex": pattern, "pool": "web"}]).rules[0].path_regex is not None


def test_regex_only_sees_a_bounded_prefix_of_client_text() -> None:
    table = rules([{"path_regex": r"^/a*b$", "pool": "api"},
                   {"headers": [{"name": "X", "regex": "^a*b$"}], "pool": "api"}])
    long_path = "/" + "a" * (MAX_MATCHED_TEXT + 10) + "b"
    start = time.monotonic()
    assert pool_of(table, request(long_path)) == "web"
    assert pool_of(table, request(headers=f"X: {'a' * 5000}b\r\n")) == "web"
    assert time.monotonic() - start < 1.0
