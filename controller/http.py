"""HTTP on the management listener: ``/metrics``, the dashboard page and its JSON.

The management API's listener hands over a connection whose first line is an HTTP request
line (its own requests are JSON objects); h11 parses the rest.  Only GET and HEAD exist,
nothing here changes state.  The rules are the management API's: on the Unix socket the
socket's permissions decide; on the TCP listener every request carries the token, as
``Authorization: Bearer TOKEN``, the cookie the page sets, or ``?token=TOKEN`` (a page
opened that way sets the cookie and redirects to the same address without the token).
Missing token: 401; wrong token: 403.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

import h11

from controller.api import token_matches
from controller.config import ApiConfig

LOG = logging.getLogger(__name__)
REQUEST_LINE = re.compile(rb"^[A-Z]{3,10} \S+ HTTP/1\.[01]\r?\n$")
IDLE_TIMEOUT_S = 30.0
MAX_HEAD = 16 * 1024
STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
          "/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
          "/dashboard.css": ("dashboard.css", "text/css; charset=utf-8")}
# The page loads only its own files and JSON: no inline script, no other origin.
SECURITY_HEADERS = [(b"Content-Security-Policy",
                     b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
                    (b"X-Content-Type-Options", b"nosniff"), (b"Cache-Control", b"no-store"),
                    (b"Referrer-Policy", b"no-referrer")]

Snapshot = Callable[[], Awaitable[dict[str, Any]]]
Metrics = Callable[[str | None], Awaitable[tuple[bytes, str]]]


class Response:
    def __init__(self, status: int, body: bytes, content_type: str,
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.status, self.body, self.content_type = status, body, content_type
        self.headers = headers or []


class HttpFrontend:
    """Serves the HTTP connections of one management listener."""

    def __init__(self, config: ApiConfig, snapshot: Snapshot, metrics: Metrics) -> None:
        self.config = config
        self.snapshot = snapshot
        self.metrics = metrics
        self.cookie = f"p4lb_token_{config.tcp_port}"  # cookies do not tell ports apart

    @staticmethod
    def is_request_line(line: bytes) -> bool:
        return bool(REQUEST_LINE.match(line))

    async def serve(self, first_line: bytes, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> None:
        """Answer requests until the peer closes, errs or stays idle."""
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        conn.receive_data(first_line)
        request: h11.Request | None = None
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await asyncio.wait_for(reader.read(65536), IDLE_TIMEOUT_S)
                    conn.receive_data(data)
                    continue
                if isinstance(event, h11.Request):
                    request = event
                elif isinstance(event, h11.EndOfMessage) and request is not None:
                    response = await self.respond(request)
                    await _send(conn, writer, request.method == b"HEAD", response)
                    request = None
                    if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                        break
                    conn.start_next_cycle()
                elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                    break
        except h11.RemoteProtocolError as err:
            if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                with contextlib.suppress(h11.LocalProtocolError, ConnectionError):
                    await _send(conn, writer, False, _text(err.error_status_hint,
                                                           f"bad request: {err}"))
        except (TimeoutError, ConnectionError):
            pass

    async def respond(self, request: h11.Request) -> Response:
        if request.method not in (b"GET", b"HEAD"):
            response = _text(HTTPStatus.METHOD_NOT_ALLOWED, "only GET and HEAD\n")
            response.headers.append((b"Allow", b"GET, HEAD"))
            return response
        try:
            target = urlsplit(request.target.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            return _text(HTTPStatus.BAD_REQUEST, "bad request target\n")
        headers = {name.lower(): value for name, value in request.headers}
        query_token = parse_qs(target.query).get("token", [None])[0]
        if self.config.tcp_port is not None:
            refused = self._refusal(headers, query_token)
            if refused is not None:
                return refused
            if query_token is not None and target.path in STATIC:
                return self._enter(target.path)
        try:
            return await self._route(target.path, headers)
        except Exception as err:  # a bug must not take the listener down; report it
            LOG.exception("HTTP %s failed", target.path)
            return _text(HTTPStatus.INTERNAL_SERVER_ERROR,
                         f"internal error: {type(err).__name__}: {err}\n")

    def _refusal(self, headers: dict[bytes, bytes], query_token: str | None) -> Response | None:
        """None if the request carries the right token, else the 401/403 answer."""
        offered: list[str] = []
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer" and credentials:
            offered.append(credentials.strip())
        with contextlib.suppress(CookieError):
            cookies = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
            if self.cookie in cookies:
                offered.append(cookies[self.cookie].value)
        if query_token is not None:
            offered.append(query_token)
        if not offered:
            response = _text(HTTPStatus.UNAUTHORIZED, "token required: Authorization: Bearer "
                             "TOKEN, or ?token=TOKEN\n")
            response.headers.append((b"WWW-Authenticate", b'Bearer realm="lbd"'))
            return response
        if not all(token_matches(self.config, token) for token in offered):
            return _text(HTTPStatus.FORBIDDEN, "wrong token\n")
        return None

    def _enter(self, path: str) -> Response:
        """A page opened with ?token=: keep the token in a cookie, drop it from the URL."""
        assert self.config.token is not None
        cookie = (f"{self.cookie}={self.config.token}; Path=/; HttpOnly; SameSite=Strict")
        return Response(HTTPStatus.SEE_OTHER, b"", "text/plain",
                        [(b"Location", path.encode()), (b"Set-Cookie", cookie.encode())])

    async def _route(self, path: str, headers: dict[bytes, bytes]) -> Response:
        if path in STATIC:
            name, content_type = STATIC[path]
            body = resources.files("controller.dashboard").joinpath(name).read_bytes()
            return Response(HTTPStatus.OK, body, content_type)
        if path == "/api/observe":
            body = json.dumps(await self.snapshot()).encode()
            return Response(HTTPStatus.OK, body, "application/json")
        if path == "/metrics":
            accept = headers.get(b"accept")
            body, content_type = await self.metrics(accept.decode("latin-1") if accept
                                                    else None)
            return Response(HTTPStatus.OK, body, content_type)
        return _text(HTTPStatus.NOT_FOUND, f"no page {path}; try /, /metrics, /api/observe\n")


def _text(status: int, message: str) -> Response:
    return Response(status, message.encode(), "text/plain; charset=utf-8")


async def _send(conn: h11.Connection, writer: asyncio.StreamWriter, head_only: bool,
                response: Response) -> None:
    headers = [(b"Content-Type", response.content_type.encode()),
               (b"Content-Length", str(len(response.body)).encode()),
               *SECURITY_HEADERS, *response.headers]
    data = conn.send(h11.Response(status_code=response.status, headers=headers)) or b""
    if not head_only and response.body:
        data += conn.send(h11.Data(data=response.body)) or b""
    data += conn.send(h11.EndOfMessage()) or b""
    writer.write(data)
    await writer.drain()
