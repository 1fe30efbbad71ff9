"""The request-head parser: fields, framing, strict errors and split independence."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.l7.http_request import (
    BodyFraming,
    HttpRequestError,
    RequestHead,
    RequestHeadParser,
    TargetForm,
    normalize_path,
    parse_request_head,
)


def parse(data: bytes, max_head_size: int = 8192) -> RequestHead:
    head = parse_request_head(data, max_head_size)
    assert head is not None, "head should be complete"
    return head


def error(data: bytes, max_head_size: int = 8192) -> HttpRequestError:
    with pytest.raises(HttpRequestError) as info:
        parse_request_head(data, max_head_size)
    return info.value


def test_origin_form_request() -> None:
    head = parse(b"GET /img/logo.PNG?size=2&x HTTP/1.1\r\nHost: WWW.Example.com:8080\r\n"
                 b"Accept: */*\r\n\r\n")
    assert (head.method, head.target, head.target_form) == (
        "GET", "/img/logo.PNG?size=2&x", TargetForm.ORIGIN)
    assert (head.path, head.query, head.version) == ("/img/logo.PNG", "size=2&x", (1, 1))
    assert (head.host, head.port) == ("www.example.com", 8080)
    assert head.headers.get("accept") == "*/*"
    assert head.body_framing is BodyFraming.NONE and not head.has_body
    assert head.keep_alive and not head.expect_continue
    assert head.url == "www.example.com/img/logo.PNG?size=2&x"


def test_absolute_form_takes_host_from_target() -> None:
    head = parse(b"GET HTTP://Shop.Example:81 HTTP/1.1\r\nHost: other\r\n\r\n")
    assert head.target_form is TargetForm.ABSOLUTE
    assert (head.host, head.port, head.path, head.query) == ("shop.example", 81, "/", None)


def test_authority_and_asterisk_forms() -> None:
    connect = parse(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
    assert (connect.target_form, connect.host, connect.port, connect.path) == (
        TargetForm.AUTHORITY, "example.com", 443, "")
    options = parse(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")
    assert (options.target_form, options.path) == (TargetForm.ASTERISK, "*")
    assert "only allowed with OPTIONS" in error(b"GET * HTTP/1.1\r\nHost: a\r\n\r\n").reason
    assert "needs a port" in error(b"CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n").reason


def test_ipv6_host_and_empty_host() -> None:
    assert parse(b"GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n").host == "[2001:db8::1]"
    assert parse(b"GET / HTTP/1.1\r\nHost:\r\n\r\n").host == ""
    assert parse(b"GET / HTTP/1.0\r\n\r\n").host == ""


def test_repeated_headers_keep_order_and_join() -> None:
    head = parse(b"GET / HTTP/1.1\r\nHost: a\r\nX-Tag: one\r\nx-tag:  two \t\r\n\r\n")
    assert head.headers.get_all("X-TAG") == ["one", "two"]
    assert head.headers.get("x-tag") == "one, two"
    assert "X-Tag" in head.headers and "Missing" not in head.headers
    assert head.headers.get("missing") is None


def test_leading_empty_lines_are_skipped_and_counted() -> None:
    data = b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
    assert parse(data).head_length == len(data)


@pytest.mark.parametrize(("version", "connection", "keep_alive"), [
    (b"1.1", None, True), (b"1.1", b"close", False), (b"1.1", b"Upgrade, Close", False),
    (b"1.0", None, False), (b"1.0", b"Keep-Alive", True), (b"1.0", b"keep-alive, close", False),
])
def test_keep_alive_decision(version: bytes, connection: bytes | None, keep_alive: bool) -> None:
    data = b"GET / HTTP/" + version + b"\r\nHost: a\r\n"
    if connection is not None:
        data += b"Connection: " + connection + b"\r\n"
    assert parse(data + b"\r\n").keep_alive is keep_alive


def test_content_length_body() -> None:
    data = b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-Continue\r\n\r\n"
    parser = RequestHeadParser()
    head = parser.feed(data + b"he")
    assert head is not None and head.head_length == len(data)
    assert (head.body_framing, head.content_length, head.has_body) == (
        BodyFraming.CONTENT_LENGTH, 5, True)
    assert head.expect_continue
    assert parser.feed(b"llo") is head
    assert parser.trailing == b"hello"


def test_zero_content_length_and_identical_duplicates() -> None:
    assert not parse(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").has_body
    head = parse(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7, 7\r\nContent-Length: 7\r\n\r\n")
    assert head.content_length == 7


def test_chunked_body() -> None:
    head = parse(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n")
    assert (head.body_framing, head.content_length, head.has_body) == (
        BodyFraming.CHUNKED, None, True)


@pytest.mark.parametrize(("headers", "reason"), [
    (b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", "both Transfer-Encoding"),
    (b"Content-Length: 3\r\nContent-Length: 4\r\n", "conflicting Content-Length values 3, 4"),
    (b"Content-Length: 3, 4\r\n", "conflicting Content-Length"),
    (b"Content-Length: +3\r\n", "invalid Content-Length '+3'"),
    (b"Content-Length: 0x10\r\n", "invalid Content-Length"),
    (b"Content-Length:\r\n", "invalid Content-Length ''"),
    (b"Transfer-Encoding: chunked, gzip\r\n", "does not end with chunked"),
    (b"Transfer-Encoding: chunked, chunked\r\n", "more than once"),
    (b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "more than once"),
    (b"Transfer-Encoding:\r\n", "does not end with chunked"),
])
def test_framing_errors(headers: bytes, reason: str) -> None:
    err = error(b"POST / HTTP/1.1\r\nHost: a\r\n" + headers + b"\r\n")
    assert reason in err.reason and err.status == 400


def test_unknown_transfer_coding_is_not_implemented() -> None:
    err = error(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: magic, chunked\r\n\r\n")
    assert err.status == 501 and "unknown transfer coding 'magic'" in err.reason


def test_transfer_encoding_in_http10_is_faulty_framing() -> None:
    err = error(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert "HTTP/1.0" in err.reason


@pytest.mark.parametrize(("data", "reason"), [
    (b"\x16\x03\x01\x02\x00", "not an HTTP request: starts with byte 0x16"),
    (b" GET / HTTP/1.1\r\n", "empty method"),
    (b"G(T / HTTP/1.1\r\n", "invalid character '(' in method"),
    (b"GET  / HTTP/1.1\r\n", "empty request target"),
    (b"GET /a\x7fb HTTP/1.1\r\n", "invalid byte 0x7f in request target"),
    (b"GET / HTTP/1.1 \r\n", "invalid HTTP version: unexpected space"),
    (b"GET / http/1.1\r\n", "invalid HTTP version: unexpected character 'h'"),
    (b"GET / HTTP/1\r\n", "invalid HTTP version: incomplete"),
    (b"GET / HTTP/3.0\r\n", "unsupported HTTP version 3.0"),
    (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "unsupported HTTP version 2.0"),
    (b"GET /\r\n", "missing HTTP version"),
    (b"GET\r\n", "malformed request line"),
    (b"GET / HTTP/1.1\rHost: a\r\n", "bare CR"),
    (b"GET / HTTP/1.1\nHost: a\r\n", "bare LF"),
    (b"GET / HTTP/1.1\r\n Host: a\r\n", "whitespace between the request line and the first"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n  2\r\n", "obsolete line folding"),
    (b"GET / HTTP/1.1\r\nHost : a\r\n", "whitespace after a header name"),
    (b"GET / HTTP/1.1\r\n: a\r\n", "empty header name"),
    (b"GET / HTTP/1.1\r\nHo\"st: a\r\n", "invalid character '\"' in header name"),
    (b"GET / HTTP/1.1\r\nHost\r\n", "header line without ':'"),
    (b"GET / HTTP/1.1\r\nHost: a\x00b\r\n", "invalid byte 0x00 in value of header 'Host'"),
    (b"GET / HTTP/1.1\r\nX: a\nb\r\n", "bare LF"),
    (b"GET / HTTP/1.1\r\n\r\n", "without a Host header"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", "more than one Host"),
    (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "invalid host in Host header"),
    (b"GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n", "invalid port in Host header"),
    (b"GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", "invalid port"),
    (b"GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", "userinfo"),
    (b"GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", "neither a path"),
    (b"GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", "empty authority"),
    (b"GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", "fragment"),
    (b"GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", "invalid percent-encoding"),
    (b"GET /a%4 HTTP/1.1\r\nHost: a\r\n\r\n", "invalid percent-encoding"),
    (b"GET /a{b} HTTP/1.1\r\nHost: a\r\n\r\n", "invalid character in path"),
])
def test_malformed_requests(data: bytes, reason: str) -> None:
    assert reason in error(data).reason


def test_errors_are_reported_before_the_head_is_complete() -> None:
    parser = RequestHeadParser()
    with pytest.raises(HttpRequestError, match="not an HTTP request"):
        parser.feed(b"\x16")
    with pytest.raises(HttpRequestError, match="not an HTTP request"):
        parser.feed(b"GET / HTTP/1.1\r\n")  # sticky


def test_head_size_limit() -> None:
    head = b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"y" * 40 + b"\r\n\r\n"
    assert parse(head, max_head_size=len(head)).head_length == len(head)
    err = error(head, max_head_size=len(head) - 1)
    assert err.status == 431 and f"exceeds {len(head) - 1} bytes" in err.reason
    assert "exceeds 8192" in error(b"GET /" + b"a" * 9000).reason
    with pytest.raises(ValueError, match="at least 16"):
        RequestHeadParser(max_head_size=4)


def test_incomplete_head_needs_more() -> None:
    parser = RequestHeadParser()
    assert parser.feed(b"GET / HTTP/1.1\r\nHost: a\r\n") is None
    assert parser.head is None and parser.trailing == b""
    assert parser.feed(b"\r") is None
    assert parser.feed(b"\n") is not None


@pytest.mark.parametrize(("path", "normalized"), [
    ("/", "/"), ("/a/./b", "/a/b"), ("/a/b/..", "/a/"), ("/a/../../b", "/b"),
    ("/static/%2e%2e/admin", "/admin"), ("/%7Euser/%2Fx", "/~user/%2Fx"), ("/a//b", "/a//b"),
    ("/a/.", "/a/"), ("/..", "/"),
])
def test_normalize_path(path: str, normalized: str) -> None:
    assert normalize_path(path) == normalized


# --- split independence ----------------------------------------------------------------

def outcome(chunks: list[bytes], max_head_size: int) -> object:
    parser = RequestHeadParser(max_head_size)
    head = None
    try:
        for chunk in chunks:
            head = parser.feed(chunk)
    except HttpRequestError as err:
        return ("error", err.reason, err.status)
    return ("head", head, parser.trailing) if head else ("incomplete",)


TOKENS = st.text(alphabet="abcXYZ-_09!", min_size=1, max_size=6)
FIELDS = st.lists(
    st.sampled_from([("Host", "example.com"), ("Host", "a:80"), ("Content-Length", "5"),
                     ("Content-Length", "5, 6"), ("Transfer-Encoding", "chunked"),
                     ("Connection", "close"), ("Expect", "100-continue")])
    | st.tuples(TOKENS, st.text(alphabet="ab 1\t,;:/", max_size=8)),
    max_size=5)


@st.composite
def request_bytes(draw: st.DrawFn) -> bytes:
    """Mostly valid request heads, some with a corrupted byte, followed by some body bytes."""
    method = draw(st.sampled_from(["GET", "GET", "POST", "OPTIONS", "CONNECT", "x!Y"]))
    target = draw(st.sampled_from(["/", "/a/b.png?q=1", "/%7e/../x", "http://h:80/x", "*",
                                   "h:1"]))
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTP/1.1"]))
    lines = ["\r\n" * draw(st.integers(0, 1)) + f"{method} {target} {version}"]
    if draw(st.integers(0, 3)):
        lines.append("Host: h")
    lines += [f"{name}: {value}" for name, value in draw(FIELDS)]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + draw(st.binary(max_size=8))
    if draw(st.integers(0, 3)) == 0:
        position = draw(st.integers(0, len(data) - 1))
        data = data[:position] + draw(st.binary(min_size=1, max_size=1)) + data[position + 1:]
    return data


@settings(max_examples=300, deadline=None)
@given(data=request_bytes(), cuts=st.lists(st.integers(0, 200), max_size=6),
       max_head_size=st.sampled_from([16, 40, 8192]))
def test_any_split_gives_the_same_result(data: bytes, cuts: list[int],
                                         max_head_size: int) -> None:
    positions = sorted({min(cut, len(data)) for cut in cuts})
    chunks = [data[a:b] for a, b in zip([0, *positions], [*positions, len(data)], strict=True)]
    assert outcome(chunks, max_head_size) == outcome([data], max_head_size)


@settings(max_examples=100, deadline=None)
@given(data=request_bytes())
def test_byte_by_byte_gives_the_same_result(data: bytes) -> None:
    assert outcome([data[i:i + 1] for i in range(len(data))], 8192) == outcome([data], 8192)
