"""Incremental, strict parser for the head of an HTTP/1.x request (RFC 9112, RFC 9110).

The splicer reads a client's request head from TCP segments as they arrive, picks a backend
from it and then hands the connection to the switch, which forwards the raw bytes.  So the
parser must (1) know exactly where the head ends and whether a body follows, (2) refuse
anything a backend could frame differently (request smuggling, RFC 9112 section 11.2), and
(3) give the same answer however the bytes are split into segments.

Split independence holds by construction: lines are checked left to right, an unfinished
line is checked only as far as it goes with the same scanner a complete line uses, and the
first problem in byte order is the one reported.  Lines must end with CRLF; a bare CR or LF
is an error (RFC 9112 section 2.2 lets a recipient accept a bare LF, but a lenient parser in
front of a strict backend, or the reverse, is how requests get smuggled).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

DEFAULT_MAX_HEAD_SIZE = 8 * 1024
SUPPORTED_VERSIONS = ((1, 0), (1, 1))
# Transfer codings a backend can be expected to know (RFC 9110 section 18.7 registry).
KNOWN_TRANSFER_CODINGS = frozenset({"chunked", "gzip", "x-gzip", "deflate", "compress",
                                    "x-compress"})
MAX_CONTENT_LENGTH = (1 << 63) - 1

_TCHARS = rb"!#$%&'*+\-.^_`|~0-9A-Za-z"
_TOKEN_PREFIX = re.compile(rb"[" + _TCHARS + rb"]*")
_TOKEN = re.compile(r"[" + _TCHARS.decode() + r"]+")
_TARGET_PREFIX = re.compile(rb"[\x21-\x7e]*")
_VALUE_BAD_BYTE = re.compile(rb"[^\t\x20-\x7e\x80-\xff]")
_VERSION_PREFIX = re.compile(rb"(?:H(?:T(?:T(?:P(?:/(?:\d(?:\.\d?)?)?)?)?)?)?)?")
_VERSION = re.compile(rb"HTTP/(\d)\.(\d)")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_PATH_CHARS = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*")
_REG_NAME = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=%]*")
_IP_LITERAL = re.compile(r"\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+\]")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class HttpRequestError(ValueError):
    """The bytes are not an acceptable HTTP/1.x request head; ``reason`` says why."""

    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status  # what a server would answer: 400, 431, 501 or 505


class TargetForm(Enum):
    """The four request-target forms of RFC 9112 section 3.2."""

    ORIGIN = "origin"  # /path?query
    ABSOLUTE = "absolute"  # http://host/path?query (to proxies; servers must accept it)
    AUTHORITY = "authority"  # host:port, CONNECT only
    ASTERISK = "asterisk"  # *, OPTIONS only


class BodyFraming(Enum):
    """How the message body after the head is delimited (RFC 9112 section 6.3)."""

    NONE = "none"  # no Content-Length and no Transfer-Encoding: the body is empty
    CONTENT_LENGTH = "content-length"
    CHUNKED = "chunked"


@dataclass(frozen=True)
class Headers:
    """Field lines in arrival order; names compare case-insensitively."""

    fields: tuple[tuple[str, str], ...] = ()

    def get_all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.fields if key.lower() == wanted]

    def get(self, name: str) -> str | None:
        """The single value of ``name``; repeated lines are joined with ", " (RFC 9110 5.3)."""
        values = self.get_all(name)
        return ", ".join(values) if values else None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(self.get_all(name))

    def __len__(self) -> int:
        return len(self.fields)


@dataclass(frozen=True)
class RequestHead:
    """A complete, validated request head."""

    method: str
    target: str  # exactly as sent
    target_form: TargetForm
    path: str  # as sent; "" for authority-form, "*" for asterisk-form
    query: str | None  # without the "?"; None when there is no "?"
    version: tuple[int, int]
    headers: Headers
    host: str  # lower-case, without port; from an absolute-form target, else the Host field
    port: int | None  # explicit port of the authority, if any
    head_length: int  # bytes from the start of the stream through the blank line
    body_framing: BodyFraming
    content_length: int | None  # with BodyFraming.CONTENT_LENGTH
    keep_alive: bool  # the client expects the connection to stay open after the response
    expect_continue: bool  # "Expect: 100-continue": the client waits before sending the body
    normalized_path: str  # dot segments removed, unreserved %XX decoded (rules match this)

    @property
    def has_body(self) -> bool:
        return self.body_framing is BodyFraming.CHUNKED or bool(self.content_length)

    @property
    def url(self) -> str:
        """What identifies the requested content (the locality key): host + path + query."""
        query = "" if self.query is None else "?" + self.query
        return f"{self.host}{self.normalized_path}{query}"


class RequestHeadParser:
    """Feed it the client's bytes in order; it returns the head once the blank line arrived.

    Errors are sticky: after one, every ``feed`` raises the same error.  Bytes after the head
    (the start of a body or of a pipelined request) are kept in :attr:`trailing`.
    """

    def __init__(self, max_head_size: int = DEFAULT_MAX_HEAD_SIZE) -> None:
        if max_head_size < 16:
            raise ValueError(f"max_head_size must be at least 16 bytes, got {max_head_size}")
        self.max_head_size = max_head_size
        self._buffer = bytearray()
        self._line_start = 0
        self._request_line: _RequestLine | None = None
        self._fields: list[tuple[str, str]] = []
        self._head: RequestHead | None = None
        self._error: HttpRequestError | None = None

    @property
    def head(self) -> RequestHead | None:
        return self._head

    @property
    def trailing(self) -> bytes:
        """Bytes received after the head (empty until the head is complete)."""
        if self._head is None:
            return b""
        return bytes(self._buffer[self._head.head_length:])

    def feed(self, data: bytes) -> RequestHead | None:
        if self._error is not None:
            raise self._error
        self._buffer += data
        if self._head is not None:
            return self._head
        try:
            self._head = self._advance()
        except HttpRequestError as err:
            self._error = err
            raise
        return self._head

    def _advance(self) -> RequestHead | None:
        buffer, limit = self._buffer, self.max_head_size
        while True:
            start = self._line_start
            end = buffer.find(b"\r\n", start)
            if end < 0:
                tail = bytes(buffer[start:limit])
                if len(buffer) <= limit and tail.endswith(b"\r"):
                    tail = tail[:-1]  # may be the first half of the CRLF
                self._check_partial_line(tail)
                if len(buffer) > limit:
                    raise _head_too_large(limit)
                return None
            if end + 2 > limit:
                self._check_partial_line(bytes(buffer[start:min(end, limit)]))
                raise _head_too_large(limit)
            line = bytes(buffer[start:end])
            self._line_start = end + 2
            if self._request_line is None:
                if line:  # empty lines before the request line are ignored (RFC 9112 2.2)
                    self._request_line = _scan_request_line(line, complete=True)
            elif line:
                self._fields.append(_scan_field_line(line, complete=True,
                                                     first=not self._fields))
            else:
                return _build_head(self._request_line, self._fields, self._line_start)

    def _check_partial_line(self, line: bytes) -> None:
        if not line:
            return
        if self._request_line is None:
            _scan_request_line(line, complete=False)
        else:
            _scan_field_line(line, complete=False, first=not self._fields)


def parse_request_head(data: bytes, max_head_size: int = DEFAULT_MAX_HEAD_SIZE
                       ) -> RequestHead | None:
    """One-shot parse: the head if ``data`` holds a complete one, None if it needs more."""
    return RequestHeadParser(max_head_size).feed(data)


@dataclass(frozen=True)
class _RequestLine:
    method: str
    target: str
    version: tuple[int, int]


def _head_too_large(limit: int) -> HttpRequestError:
    return HttpRequestError(f"request head exceeds {limit} bytes", status=431)


def _describe(byte: int) -> str:
    if byte == 0x0D:
        return "bare CR"
    if byte == 0x0A:
        return "bare LF (lines must end with CRLF)"
    if byte in (0x20, 0x09):
        return "space" if byte == 0x20 else "tab"
    if 0x21 <= byte <= 0x7E:
        return f"character {chr(byte)!r}"
    return f"byte 0x{byte:02x}"


def _scan_request_line(line: bytes, *, complete: bool) -> _RequestLine:
    """Checks ``method SP request-target SP HTTP-version`` left to right.

    With ``complete=False`` the line may stop anywhere; only what is there is checked, with
    the same messages, and the returned value is meaningless.
    """
    method_end = _TOKEN_PREFIX.match(line).end()  # type: ignore[union-attr]
    if method_end == len(line):
        if complete:
            raise HttpRequestError("malformed request line: expected "
                                   "'METHOD SP request-target SP HTTP-version'")
        return _RequestLine("", "", (0, 0))
    if line[method_end] != 0x20:
        if method_end == 0:
            raise HttpRequestError(f"not an HTTP request: starts with "
                                   f"{_describe(line[0])}")
        raise HttpRequestError(f"invalid {_describe(line[method_end])} in method")
    if method_end == 0:
        raise HttpRequestError("malformed request line: empty method")
    target_start = method_end + 1
    target_end = _TARGET_PREFIX.match(line, target_start).end()  # type: ignore[union-attr]
    if target_end == len(line):
        if complete:
            if target_end == target_start:
                raise HttpRequestError("malformed request line: empty request target")
            raise HttpRequestError("malformed request line: missing HTTP version "
                                   "(HTTP/0.9 is not supported)", status=505)
        return _RequestLine("", "", (0, 0))
    if line[target_end] != 0x20:
        raise HttpRequestError(f"invalid {_describe(line[target_end])} in request target")
    if target_end == target_start:
        raise HttpRequestError("malformed request line: empty request target")
    version_text = line[target_end + 1:]
    valid = _VERSION_PREFIX.match(version_text).end()  # type: ignore[union-attr]
    if valid < len(version_text):
        raise HttpRequestError(f"invalid HTTP version: unexpected "
                               f"{_describe(version_text[valid])}")
    if not complete:
        return _RequestLine("", "", (0, 0))
    version_match = _VERSION.fullmatch(version_text)
    if version_match is None:
        raise HttpRequestError("invalid HTTP version: incomplete")
    version = (int(version_match[1]), int(version_match[2]))
    if version not in SUPPORTED_VERSIONS:
        raise HttpRequestError(f"unsupported HTTP version {version[0]}.{version[1]}",
                               status=505)
    return _RequestLine(line[:method_end].decode("ascii"),
                        line[target_start:target_end].decode("ascii"), version)


def _scan_field_line(line: bytes, *, complete: bool, first: bool) -> tuple[str, str]:
    """Checks ``field-name ":" OWS field-value OWS`` left to right (see _scan_request_line)."""
    if line[0] in b" \t":
        if first:
            raise HttpRequestError("whitespace between the request line and the first "
                                   "header field")
        raise HttpRequestError("obsolete line folding (a header line starting with "
                               "whitespace) is not allowed")
    name_end = _TOKEN_PREFIX.match(line).end()  # type: ignore[union-attr]
    if name_end == len(line):
        if complete:
            raise HttpRequestError(f"header line without ':': "
                                   f"{line[:40].decode('ascii')!r}")
        return "", ""
    if line[name_end] != 0x3A:
        if line[name_end] in b" \t":
            raise HttpRequestError("whitespace after a header name (':' must follow it "
                                   "directly)")
        raise HttpRequestError(f"invalid {_describe(line[name_end])} in header name")
    if name_end == 0:
        raise HttpRequestError("empty header name")
    name = line[:name_end].decode("ascii")
    value = line[name_end + 1:]
    bad = _VALUE_BAD_BYTE.search(value)
    if bad is not None:
        raise HttpRequestError(f"invalid {_describe(bad[0][0])} in value of header {name!r}")
    return name, value.strip(b" \t").decode("latin-1")


def _build_head(request_line: _RequestLine, fields: list[tuple[str, str]],
                head_length: int) -> RequestHead:
    headers = Headers(tuple(fields))
    version = request_line.version
    form, path, query, target_host = _parse_target(request_line.method, request_line.target)
    hosts = headers.get_all("Host")
    if len(hosts) > 1:
        raise HttpRequestError("more than one Host header field")
    if not hosts and version >= (1, 1):
        raise HttpRequestError("HTTP/1.1 request without a Host header field")
    header_host = _parse_authority(hosts[0], "Host header", allow_empty=True) if hosts else None
    host, port = target_host or header_host or ("", None)
    framing, content_length = _body_framing(headers, version)
    connection = _tokens(headers, "Connection")
    if version >= (1, 1):
        keep_alive = "close" not in connection
    else:
        keep_alive = "keep-alive" in connection and "close" not in connection
    expect = headers.get("Expect")
    return RequestHead(
        method=request_line.method, target=request_line.target, target_form=form,
        path=path, query=query, version=version, headers=headers, host=host, port=port,
        head_length=head_length, body_framing=framing, content_length=content_length,
        keep_alive=keep_alive,
        expect_continue=expect is not None and expect.strip().lower() == "100-continue",
        normalized_path=normalize_path(path) if form in (TargetForm.ORIGIN, TargetForm.ABSOLUTE)
        else path,
    )


def _parse_target(method: str, target: str
                  ) -> tuple[TargetForm, str, str | None, tuple[str, int | None] | None]:
    """(form, path, query, authority from the target or None) for a request-target."""
    if method == "CONNECT":
        return TargetForm.AUTHORITY, "", None, _parse_authority(target, "CONNECT target",
                                                                require_port=True)
    if target.startswith("/"):
        path, query = _split_query(target)
        return TargetForm.ORIGIN, path, query, None
    if target == "*":
        if method != "OPTIONS":
            raise HttpRequestError(f"request target '*' is only allowed with OPTIONS, "
                                   f"not {method}")
        return TargetForm.ASTERISK, "*", None, None
    scheme, separator, rest = target.partition("://")
    if not separator or scheme.lower() not in ("http", "https"):
        raise HttpRequestError("request target is neither a path starting with '/' nor an "
                               "http(s) absolute URI")
    authority_end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0),
                        default=len(rest))
    authority = _parse_authority(rest[:authority_end], "request target")
    if not authority[0]:
        raise HttpRequestError("absolute request target without a host")
    path, query = _split_query(rest[authority_end:])
    return TargetForm.ABSOLUTE, path or "/", query, authority


def _split_query(path_and_query: str) -> tuple[str, str | None]:
    if "#" in path_and_query:
        raise HttpRequestError("request target contains a fragment ('#')")
    path, separator, query = path_and_query.partition("?")
    if _PATH_CHARS.fullmatch(path) is None:
        raise HttpRequestError(f"invalid character in path {path!r}")
    if _BAD_PERCENT.search(path):
        raise HttpRequestError(f"invalid percent-encoding in path {path!r}")
    return path, query if separator else None


def _parse_authority(text: str, where: str, *, allow_empty: bool = False,
                     require_port: bool = False) -> tuple[str, int | None]:
    """(lower-case host, port) of ``uri-host [":" port]``; userinfo is rejected."""
    if not text:
        if allow_empty:
            return "", None
        raise HttpRequestError(f"empty authority in {where}")
    if "@" in text:
        raise HttpRequestError(f"userinfo ('user@') is not allowed in {where}")
    if text.startswith("["):
        close = text.find("]")
        host, rest = text[:close + 1], text[close + 1:]
        valid_host = close > 0 and _IP_LITERAL.fullmatch(host) is not None
    else:
        host, colon, port_text = text.partition(":")
        rest = colon + port_text
        valid_host = _REG_NAME.fullmatch(host) is not None and bool(host)
    if not valid_host:
        raise HttpRequestError(f"invalid host in {where}: {text!r}")
    port: int | None = None
    if rest:
        if not rest.startswith(":"):
            raise HttpRequestError(f"invalid host in {where}: {text!r}")
        port_text = rest[1:]
        if port_text:
            if not port_text.isdigit() or not port_text.isascii() or int(port_text) > 65535:
                raise HttpRequestError(f"invalid port in {where}: {text!r}")
            port = int(port_text)
    if require_port and port is None:
        raise HttpRequestError(f"{where} needs a port: {text!r}")
    return host.lower(), port


def _tokens(headers: Headers, name: str) -> list[str]:
    """The lower-cased comma-separated list elements of all ``name`` lines."""
    return [item.strip().lower() for value in headers.get_all(name)
            for item in value.split(",") if item.strip()]


def _body_framing(headers: Headers, version: tuple[int, int]
                  ) -> tuple[BodyFraming, int | None]:
    """Framing per RFC 9112 section 6, refusing every ambiguous combination."""
    lengths = headers.get_all("Content-Length")
    if "Transfer-Encoding" in headers:
        if version < (1, 1):
            raise HttpRequestError("Transfer-Encoding in an HTTP/1.0 request (faulty framing, "
                                   "RFC 9112 section 6.1)")
        if lengths:
            raise HttpRequestError("both Transfer-Encoding and Content-Length (possible "
                                   "request smuggling, RFC 9112 section 6.3)")
        codings = [coding.split(";")[0].strip() for coding in _tokens(headers,
                                                                      "Transfer-Encoding")]
        for coding in codings:
            if coding not in KNOWN_TRANSFER_CODINGS:
                raise HttpRequestError(f"unknown transfer coding {coding!r}", status=501)
        if not codings or codings[-1] != "chunked":
            raise HttpRequestError("Transfer-Encoding does not end with chunked: the body "
                                   "length cannot be determined")
        if codings.count("chunked") > 1:
            raise HttpRequestError("chunked transfer coding applied more than once")
        return BodyFraming.CHUNKED, None
    if not lengths:
        return BodyFraming.NONE, None
    values = {item.strip() for value in lengths for item in value.split(",")}
    for value in values:
        if not value.isascii() or not value.isdigit():
            raise HttpRequestError(f"invalid Content-Length {value!r}")
    numbers = {int(value) for value in values}
    if len(numbers) > 1:
        raise HttpRequestError(f"conflicting Content-Length values "
                               f"{', '.join(str(n) for n in sorted(numbers))}")
    length = numbers.pop()
    if length > MAX_CONTENT_LENGTH:
        raise HttpRequestError(f"Content-Length {length} is too large")
    return BodyFraming.CONTENT_LENGTH, length


def normalize_path(path: str) -> str:
    """The path content rules match: unreserved ``%XX`` decoded, dot segments removed.

    Decoding only unreserved characters keeps the meaning of the path (RFC 3986 6.2.2.2);
    removing ``.``/``..`` (RFC 3986 5.2.4) stops ``/static/../admin`` from matching a
    ``/static/`` rule while the backend serves ``/admin``.
    """
    decoded = _decode_unreserved(path)
    output: list[str] = []
    for segment in decoded.split("/")[1:]:
        if segment == "..":
            if output:
                output.pop()
        elif segment != ".":
            output.append(segment)
    normalized = "/" + "/".join(output)
    if decoded.endswith(("/.", "/..")) and normalized != "/":
        normalized += "/"
    return normalized


def _decode_unreserved(path: str) -> str:
    parts = path.split("%")
    out = [parts[0]]
    for part in parts[1:]:
        char = chr(int(part[:2], 16))
        out.append(char + part[2:] if char in _UNRESERVED else "%" + part[:2].upper() + part[2:])
    return "".join(out)


def is_token(text: str) -> bool:
    """Whether ``text`` is an RFC 9110 token (methods and header names are tokens)."""
    return _TOKEN.fullmatch(text) is not None
