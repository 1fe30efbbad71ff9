"""One health check of one server: TCP connect, HTTP(S) GET, TLS handshake, a command, or
the agent check's text reply.

Each probe is bounded by the policy's timeout and turns whatever the server does (refuses,
hangs, closes early, sends garbage or too much) into a :class:`ProbeResult`; nothing a
server sends can raise out of here.  Sockets come from a :class:`SocketFactory`, which can
open them in another network namespace: the checks then leave from where the data plane
reaches the servers (docs/config.md, ``netns``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import re
import socket
import ssl
import threading
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from controller.config import Backend
from controller.health_config import AgentCheck, HealthPolicy

CLONE_NEWNET = 0x40000000
MAX_STATUS_LINE = 1024
MAX_BODY = 65536
MAX_AGENT_REPLY = 512
USER_AGENT = "p4lb-health"
_STATUS_RE = re.compile(rb"^HTTP/1\.[01] ([1-5][0-9]{2})(?: [^\r\n]*)?\r?\n$")
T = TypeVar("T")


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str


@dataclass(frozen=True)
class AgentReply:
    """An agent's answer: state "up", "drain" or "down", and a weight percentage."""

    state: str | None
    percent: int | None
    detail: str


class ProbeFailure(Exception):
    """A check failed for the reason given (the probe's detail)."""


class SocketFactory:
    """Non-blocking TCP sockets, opened in lbd's network namespace or in ``netns``.

    A socket belongs to the namespace it was created in, whatever thread uses it later, so
    one worker thread enters the namespace once (setns) and only creates sockets."""

    def __init__(self, netns: Path | None = None) -> None:
        self.netns = netns
        self._executor: ThreadPoolExecutor | None = None
        if netns is not None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"netns:{netns}")

    async def tcp_socket(self) -> socket.socket:
        if self._executor is None or self.netns is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        else:
            loop = asyncio.get_running_loop()
            try:
                sock = await loop.run_in_executor(self._executor, _socket_in, self.netns)
            except OSError as err:
                raise ProbeFailure(f"network namespace {self.netns}: {err.strerror}") from err
        sock.setblocking(False)
        return sock

    def command_prefix(self) -> list[str]:
        """How to run a command check in the namespace (util-linux nsenter)."""
        return [] if self.netns is None else ["nsenter", f"--net={self.netns}", "--"]

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)


_thread_state = threading.local()


def _socket_in(netns: Path) -> socket.socket:
    """A TCP socket in ``netns`` (the worker thread enters it on first use; a namespace
    that is missing now may exist at the next check)."""
    if getattr(_thread_state, "netns", None) != netns:
        _enter_netns(netns)
        _thread_state.netns = netns
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def _enter_netns(path: Path) -> None:
    """Move the calling thread into the network namespace at ``path``."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(path))
    finally:
        os.close(fd)


async def probe(policy: HealthPolicy, backend: Backend, sockets: SocketFactory) -> ProbeResult:
    """Run the policy's check against ``backend`` once, within its timeout."""
    port = policy.port or backend.port
    try:
        if policy.kind == "command":
            return await _bounded(policy.timeout_s, _command(policy, backend, port, sockets))
        return await _bounded(policy.timeout_s, _network_check(policy, backend, port, sockets))
    except ProbeFailure as failure:
        return ProbeResult(False, str(failure))


async def _bounded(timeout: float, check: Awaitable[T]) -> T:
    try:
        return await asyncio.wait_for(check, timeout)
    except TimeoutError:
        raise ProbeFailure(f"no answer within {timeout:g} s") from None


async def _network_check(policy: HealthPolicy, backend: Backend, port: int,
                         sockets: SocketFactory) -> ProbeResult:
    tls = None
    if policy.kind in ("https", "tls"):
        tls = ssl.create_default_context()
        tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE  # liveness, not identity
    host = policy.host or str(backend.address)
    reader, writer = await _connect(backend, port, sockets, tls, host)
    try:
        if policy.kind in ("tcp", "tls"):
            return ProbeResult(True, "TLS handshake done" if tls else "connected")
        return await _http_get(policy, host, reader, writer)
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


async def _connect(backend: Backend, port: int, sockets: SocketFactory,
                   tls: ssl.SSLContext | None, host: str
                   ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    sock = await sockets.tcp_socket()
    loop = asyncio.get_running_loop()
    try:
        await loop.sock_connect(sock, (str(backend.address), port))
        return await asyncio.open_connection(
            sock=sock, ssl=tls, server_hostname=host if tls else None,
            ssl_handshake_timeout=None)
    except ssl.SSLError as err:
        sock.close()
        raise ProbeFailure(f"TLS handshake failed: {err.reason or err}") from err
    except OSError as err:
        sock.close()
        reason = os.strerror(err.errno) if err.errno else str(err)
        raise ProbeFailure(f"connect to {backend.address}:{port}: {reason}") from err
    except BaseException:
        sock.close()
        raise


async def _http_get(policy: HealthPolicy, host: str, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> ProbeResult:
    request = (f"GET {policy.path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {USER_AGENT}\r\n"
               "Accept: */*\r\nConnection: close\r\n\r\n")
    try:
        writer.write(request.encode("ascii"))
        await writer.drain()
        status_line = await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError:
        raise ProbeFailure("status line too long") from None
    except asyncio.IncompleteReadError as err:
        raise ProbeFailure("connection closed before a status line" if not err.partial
                           else "connection closed inside the status line") from None
    except (OSError, ssl.SSLError) as err:
        raise ProbeFailure(f"HTTP exchange failed: {err}") from err
    match = _STATUS_RE.match(status_line[:MAX_STATUS_LINE])
    if match is None:
        raise ProbeFailure(f"not an HTTP/1.x status line: {status_line[:80]!r}")
    status = int(match.group(1))
    if status not in policy.expect_status:
        raise ProbeFailure(f"HTTP {status}, expected "
                           f"{' or '.join(map(str, policy.expect_status))}")
    if policy.expect_body is None:
        return ProbeResult(True, f"HTTP {status}")
    wanted = policy.expect_body.encode()
    seen = b""
    while len(seen) < MAX_BODY:
        try:
            chunk = await reader.read(MAX_BODY - len(seen))
        except (OSError, ssl.SSLError) as err:
            raise ProbeFailure(f"HTTP exchange failed: {err}") from err
        if not chunk:
            break
        seen += chunk
        if wanted in seen:
            return ProbeResult(True, f"HTTP {status}, body matches")
    raise ProbeFailure(f"HTTP {status}, but the body (first {MAX_BODY} bytes) lacks "
                       f"{policy.expect_body!r}")


async def _command(policy: HealthPolicy, backend: Backend, port: int,
                   sockets: SocketFactory) -> ProbeResult:
    argv = [arg.format(address=backend.address, port=port) for arg in policy.command]
    try:
        process = await asyncio.create_subprocess_exec(
            *sockets.command_prefix(), *argv, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            start_new_session=True)
    except OSError as err:
        raise ProbeFailure(f"cannot run {argv[0]}: {err.strerror or err}") from err
    try:
        _, stderr = await process.communicate()
    except BaseException:  # the timeout (cancellation): the command must not outlive it
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        await process.wait()
        raise
    if process.returncode == 0:
        return ProbeResult(True, "command exited 0")
    last = stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
    raise ProbeFailure(f"command exited {process.returncode}" +
                       (f": {last[0][:200]}" if last[0] else ""))


async def agent_probe(agent: AgentCheck, backend: Backend,
                      sockets: SocketFactory) -> AgentReply | None:
    """Ask the server's agent (HAProxy agent-check protocol); None if it does not answer
    usefully (an unreachable agent changes nothing, as in HAProxy)."""
    async def ask() -> bytes:
        reader, writer = await _connect(backend, agent.port, sockets, None, "")
        try:
            data = b""
            while len(data) <= MAX_AGENT_REPLY and b"\n" not in data:
                chunk = await reader.read(MAX_AGENT_REPLY + 1 - len(data))
                if not chunk:
                    break
                data += chunk
            return data
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    try:
        raw = await _bounded(agent.timeout_s, ask())
    except (ProbeFailure, OSError):
        return None
    return parse_agent_reply(raw)


def parse_agent_reply(raw: bytes) -> AgentReply | None:
    """``75%``, ``drain``, ``down #reason``, ``up, 50%`` ... (HAProxy's agent words)."""
    line = raw.split(b"\n", 1)[0]
    if len(line) > MAX_AGENT_REPLY:
        return None
    try:
        text = line.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    words, _, comment = text.partition("#")
    state = percent = None
    for word in re.split(r"[\s,]+", words.strip().lower()):
        if not word:
            continue
        if word in ("up", "ready"):
            state = "up"
        elif word == "drain":
            state = "drain"
        elif word in ("down", "fail", "stopped", "maint"):
            state = "down"
        elif re.fullmatch(r"[0-9]{1,4}%", word) and int(word[:-1]) <= 1000:
            percent = int(word[:-1])
        else:
            return None
    if state is None and percent is None:
        return None
    return AgentReply(state, percent, comment.strip()[:200] or text[:200])
