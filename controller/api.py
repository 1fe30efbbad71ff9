"""Management API transport: JSON lines over a Unix socket, or TCP on 127.0.0.1 with a token.

One request per line, one response line per request (see docs/lbctl.md)::

    {"method": "backend.weight", "params": {...}, "token": "..."}
    {"ok": true, "result": ...}      or      {"ok": false, "error": "message"}

The Unix socket is created mode 0600 (only its owner, root, may connect); the TCP
listener binds 127.0.0.1 only and every request must carry the configured token.  A peer
sending garbage gets an error line; nothing it sends can stop the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import socket
import stat
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from controller.config import ApiConfig

LOG = logging.getLogger(__name__)
MAX_LINE = 1 << 20

Handler = Callable[[dict[str, Any]], Awaitable[Any]]


class ApiError(Exception):
    """A request the server refuses; the message goes back to the client as is."""


class HttpHandler(Protocol):
    """Takes over connections that speak HTTP (controller/http.py)."""

    def is_request_line(self, line: bytes) -> bool: ...

    async def serve(self, first_line: bytes, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> None: ...


def token_matches(config: ApiConfig, token: object) -> bool:
    """Is ``token`` the TCP listener's token (compared in constant time)?"""
    expected = config.token or ""
    return isinstance(token, str) and bool(expected) and \
        hmac.compare_digest(token.encode(), expected.encode())


class ApiServer:
    """Serves ``handlers`` (method name -> coroutine taking the params mapping)."""

    def __init__(self, config: ApiConfig, handlers: Mapping[str, Handler],
                 http: HttpHandler | None = None) -> None:
        self.config = config
        self.handlers = handlers
        self.http = http  # serves a connection whose first line is an HTTP request line
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        if self.config.tcp_port is not None:
            self._server = await asyncio.start_server(
                self._serve, "127.0.0.1", self.config.tcp_port, limit=MAX_LINE)
            LOG.info("management API on 127.0.0.1:%d (token required)", self.config.tcp_port)
            return
        path = self.config.unix_socket
        assert path is not None
        path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if not stat.S_ISSOCK(path.lstat().st_mode):
                raise ApiError(f"{path} exists and is not a socket")
            if _answers(path):
                raise ApiError(f"another lbd is already serving {path}")
            path.unlink()  # stale socket of a previous run
        old_umask = os.umask(0o177)  # the socket is never visible with wider permissions
        try:
            self._server = await asyncio.start_unix_server(self._serve, str(path),
                                                           limit=MAX_LINE)
        finally:
            os.umask(old_umask)
        os.chmod(path, 0o600)
        LOG.info("management API on %s", path)

    @property
    def port(self) -> int | None:
        """The TCP port actually bound (useful when configured as an ephemeral port)."""
        if self._server is None or self.config.tcp_port is None:
            return None
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            if self.config.unix_socket is not None and self.config.tcp_port is None:
                with contextlib.suppress(FileNotFoundError):
                    self.config.unix_socket.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            first = True
            while True:
                try:
                    line = await reader.readline()
                except ValueError:
                    await _send(writer, {"ok": False, "error": "request line too long"})
                    break
                if not line:
                    break
                if first and self.http is not None and self.http.is_request_line(line):
                    await self.http.serve(line, reader, writer)
                    break
                first = False
                await _send(writer, await self.answer(line))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def answer(self, line: bytes) -> dict[str, Any]:
        """The response to one request line."""
        try:
            request = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            return {"ok": False, "error": f"request is not JSON: {err}"}
        if not isinstance(request, dict):
            return {"ok": False, "error": "request must be a JSON object"}
        if self.config.tcp_port is not None:
            if not token_matches(self.config, request.get("token")):
                return {"ok": False, "error": "missing or wrong token"}
        method = request.get("method")
        params = request.get("params", {})
        handler = self.handlers.get(method) if isinstance(method, str) else None
        if handler is None:
            return {"ok": False, "error": f"unknown method {method!r}; known: "
                    f"{', '.join(sorted(self.handlers))}"}
        if not isinstance(params, dict):
            return {"ok": False, "error": "params must be a JSON object"}
        try:
            return {"ok": True, "result": await handler(params)}
        except (ApiError, ValueError, KeyError) as err:
            message = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
            return {"ok": False, "error": str(message)}
        except Exception as err:  # a bug must not take the API down; report it
            LOG.exception("management method %s failed", method)
            return {"ok": False, "error": f"internal error: {type(err).__name__}: {err}"}


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(str(path)) == 0


async def _send(writer: asyncio.StreamWriter, response: dict[str, Any]) -> None:
    writer.write(json.dumps(response).encode() + b"\n")
    await writer.drain()


def call(method: str, params: dict[str, Any], *, unix_socket: Path | None = None,
         tcp_port: int | None = None, token: str | None = None,
         timeout: float = 10.0) -> Any:
    """Blocking client: send one request, return its result or raise ApiError."""
    try:
        if tcp_port is not None:
            sock = socket.create_connection(("127.0.0.1", tcp_port), timeout=timeout)
        else:
            assert unix_socket is not None
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(str(unix_socket))
    except OSError as err:
        raise ApiError(f"cannot connect to lbd at {_where(unix_socket, tcp_port)}: "
                       f"{err.strerror or err}") from err
    with sock, sock.makefile("rwb") as stream:
        try:
            stream.write(_request(method, params, token))
            stream.flush()
            line = stream.readline(MAX_LINE * 16)
        except OSError as err:
            raise ApiError(f"lbd connection failed: {err}") from err
    return _result(line)


async def call_async(method: str, params: dict[str, Any], config: ApiConfig, *,
                     timeout: float = 2.0) -> Any:
    """Asyncio client (one lbd asking another): as :func:`call`, to the API ``config``
    describes."""
    where = _where(config.unix_socket, config.tcp_port)

    async def exchange() -> bytes:
        if config.tcp_port is not None:
            reader, writer = await asyncio.open_connection("127.0.0.1", config.tcp_port,
                                                           limit=MAX_LINE * 16)
        else:
            reader, writer = await asyncio.open_unix_connection(str(config.unix_socket),
                                                                limit=MAX_LINE * 16)
        try:
            writer.write(_request(method, params, config.token))
            await writer.drain()
            return await reader.readline()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    try:
        line = await asyncio.wait_for(exchange(), timeout)
    except (OSError, ValueError) as err:  # TimeoutError is an OSError
        raise ApiError(f"lbd at {where}: {str(err) or 'no answer'}") from err
    return _result(line)


def _where(unix_socket: Path | None, tcp_port: int | None) -> str:
    return f"127.0.0.1:{tcp_port}" if tcp_port is not None else str(unix_socket)


def _request(method: str, params: dict[str, Any], token: str | None) -> bytes:
    request: dict[str, Any] = {"method": method, "params": params}
    if token is not None:
        request["token"] = token
    return json.dumps(request).encode() + b"\n"


def _result(line: bytes) -> Any:
    """The result of one response line, or ApiError with lbd's message."""
    if not line:
        raise ApiError("lbd closed the connection without answering")
    try:
        response = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ApiError(f"lbd sent an invalid response: {err}") from err
    if not isinstance(response, dict) or not response.get("ok"):
        error = response.get("error") if isinstance(response, dict) else None
        raise ApiError(str(error or "lbd refused the request"))
    return response.get("result")
