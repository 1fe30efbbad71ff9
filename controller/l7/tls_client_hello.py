"""Strict, incremental parsers for the TLS hello messages the splicer reads (RFC 8446, 5246).

The splicer of a TLS service does not terminate TLS: it reads the client's ClientHello
(record layer only, never decrypted) to choose a pool by server name (SNI, RFC 6066) and
ALPN (RFC 7301) and a server by the session the client wants to resume (legacy session
id, RFC 5077 session ticket, TLS 1.3 pre-shared key identities), then hands the raw bytes
to the backend.  It also reads the backend's ServerHello once, to learn which session the
server issued or accepted (docs/l7.md, "TLS services").

:class:`ClientHelloParser` is fed TCP payload in order, however it is split, and returns
the :class:`ClientHello` once the whole message has arrived; handshake messages may be
fragmented over several records (RFC 8446 section 5.1) and records over segments.  Every
length is checked against its container, so a malformed, truncated, oversized or non-TLS
stream gives a :class:`TlsHelloError` as soon as the offending byte arrives (and then
sticks); SSL 2.0 hellos are refused with their own message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HANDSHAKE = 22  # record content type
ALERT = 21
CLIENT_HELLO = 1
SERVER_HELLO = 2
RECORD_HEADER = 5
MAX_RECORD = 1 << 14  # plaintext fragment limit (RFC 8446 section 5.1)
DEFAULT_MAX_HELLO = 16 * 1024  # a ClientHello larger than this is refused (post-quantum
#                                key shares make hellos of 1.5-2 KB; 16 KiB leaves room)
RECORD_VERSIONS = frozenset({0x0301, 0x0302, 0x0303})  # ClientHello: 0x0301 or 0x0303
TLS13 = 0x0304

EXT_SERVER_NAME = 0
EXT_ALPN = 16
EXT_SESSION_TICKET = 35
EXT_PRE_SHARED_KEY = 41
EXT_SUPPORTED_VERSIONS = 43

# ServerHello.random of a HelloRetryRequest (RFC 8446 section 4.1.3)
HELLO_RETRY_RANDOM = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9_-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9_-]*[a-z0-9])?)*")


class TlsHelloError(ValueError):
    """The bytes are not an acceptable TLS hello; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ClientHello:
    """What the splicer uses of a ClientHello (all ``bytes`` fields are as sent)."""

    legacy_version: int
    random: bytes
    session_id: bytes
    cipher_suites: tuple[int, ...]
    server_name: str | None  # lower case; None: no SNI
    alpn: tuple[str, ...]  # offered protocols in the client's order (latin-1 decoded)
    session_ticket: bytes | None  # None: no extension; b"": asks for a ticket
    psk_identities: tuple[bytes, ...]  # TLS 1.3 pre_shared_key identities
    supported_versions: tuple[int, ...]  # empty: no supported_versions extension
    extensions: tuple[int, ...]  # extension types in order
    size: int  # bytes of the records that carried the message

    @property
    def resumption_keys(self) -> tuple[tuple[str, bytes], ...]:
        """The sessions this hello asks to resume, strongest first: PSK identities and a
        ticket name the session themselves; a legacy session id does so only in TLS 1.2
        (a TLS 1.3 client puts random bytes there, RFC 8446 appendix D.4)."""
        keys: list[tuple[str, bytes]] = [("psk", identity) for identity in self.psk_identities]
        if self.session_ticket:
            keys.append(("ticket", self.session_ticket))
        if self.session_id and TLS13 not in self.supported_versions:
            keys.append(("session", self.session_id))
        return tuple(keys)


@dataclass(frozen=True)
class ServerHello:
    """What the splicer learns from a ServerHello."""

    version: int  # negotiated: supported_versions if present, else legacy_version
    session_id: bytes
    cipher_suite: int
    selected_psk: int | None  # TLS 1.3: index of the accepted PSK identity
    hello_retry: bool


class _Reader:
    """Bounds-checked reads from one message body."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.pos, self.what = data, 0, what

    def take(self, count: int, field: str) -> bytes:
        if self.pos + count > len(self.data):
            raise TlsHelloError(f"{self.what}: {field} runs past the end of its container")
        chunk = self.data[self.pos:self.pos + count]
        self.pos += count
        return chunk

    def uint(self, size: int, field: str) -> int:
        return int.from_bytes(self.take(size, field), "big")

    def vector(self, length_size: int, field: str, low: int = 0, high: int | None = None
               ) -> bytes:
        length = self.uint(length_size, f"{field} length")
        if length < low or (high is not None and length > high):
            raise TlsHelloError(f"{self.what}: {field} has {length} bytes "
                                f"(allowed {low}..{high if high is not None else 'any'})")
        return self.take(length, field)

    @property
    def left(self) -> int:
        return len(self.data) - self.pos

    def done(self, field: str) -> None:
        if self.left:
            raise TlsHelloError(f"{self.what}: {self.left} bytes after the {field}")


class HandshakeReader:
    """Reassembles the first handshake message of a stream from its records.

    The message must be of ``expected`` type and at most ``max_size`` bytes (header
    included); the records carrying it must be handshake records.  Once it is complete,
    the bytes after its record are in :attr:`trailing`."""

    def __init__(self, expected: int, what: str, max_size: int, *,
                 alone: bool = True) -> None:
        self.expected, self.what, self.max_size = expected, what, max_size
        self.alone = alone  # no other handshake message may share its last record
        self._buffer = bytearray()  # unparsed stream bytes
        self._message = bytearray()  # handshake bytes collected so far
        self._error: TlsHelloError | None = None
        self.consumed = 0  # stream bytes of the records read
        self.trailing = b""

    def feed(self, data: bytes) -> bytes | None:
        """The complete message (type and length header included), or None for more."""
        if self._error is not None:
            raise self._error
        try:
            return self._feed(data)
        except TlsHelloError as err:
            self._error = err
            raise

    def _feed(self, data: bytes) -> bytes | None:
        self._buffer += data
        while True:
            self._check_header(bytes(self._buffer[:RECORD_HEADER]))
            if len(self._buffer) < RECORD_HEADER:
                return None
            length = int.from_bytes(self._buffer[3:5], "big")
            if len(self._buffer) < RECORD_HEADER + length:
                self._check_message(bytes(self._buffer[RECORD_HEADER:]))
                return None
            fragment = bytes(self._buffer[RECORD_HEADER:RECORD_HEADER + length])
            del self._buffer[:RECORD_HEADER + length]
            self.consumed += RECORD_HEADER + length
            self._check_message(fragment)
            self._message += fragment
            total = self._message_length()
            if total is not None and len(self._message) >= total:
                if len(self._message) > total and self.alone:
                    raise TlsHelloError(f"{self.what}: another handshake message follows it "
                                        "in the same record")
                self.trailing = bytes(self._buffer)
                return bytes(self._message[:total])

    def _check_header(self, header: bytes) -> None:
        """Check as much of a record header as has arrived (so errors come early)."""
        if not header:
            return
        if not self._message and not self.consumed:
            _refuse_other_protocols(header, self.what)
        if header[0] == ALERT:
            raise TlsHelloError(f"{self.what}: the peer sent an alert record")
        if header[0] != HANDSHAKE:
            raise TlsHelloError(f"{self.what}: record of content type {header[0]} before "
                                "the hello was complete")
        if len(header) >= 3:
            version = int.from_bytes(header[1:3], "big")
            if version not in RECORD_VERSIONS:
                raise TlsHelloError(f"{self.what}: record version 0x{version:04x}")
        if len(header) >= 5:
            length = int.from_bytes(header[3:5], "big")
            if length == 0:
                raise TlsHelloError(f"{self.what}: empty handshake record")
            if length > MAX_RECORD:
                raise TlsHelloError(f"{self.what}: record of {length} bytes exceeds 2^14")

    def _check_message(self, more: bytes) -> None:
        """Check the handshake header as far as it has arrived (type, then size bound)."""
        head = bytes(self._message[:4]) + more[:max(0, 4 - len(self._message))]
        if head and head[0] != self.expected:
            raise TlsHelloError(f"{self.what}: handshake message of type {head[0]} instead "
                                f"of {self.expected}")
        if len(head) == 4:
            size = 4 + int.from_bytes(head[1:4], "big")
            if size > self.max_size:
                raise TlsHelloError(f"{self.what}: {size} bytes exceeds the limit of "
                                    f"{self.max_size}")

    def _message_length(self) -> int | None:
        if len(self._message) < 4:
            return None
        return 4 + int.from_bytes(self._message[1:4], "big")


def _refuse_other_protocols(header: bytes, what: str) -> None:
    """Name the usual impostors: SSL 2.0 hellos and plain-text protocols."""
    if header[0] & 0x80 and (len(header) < 3 or header[2] == CLIENT_HELLO):
        raise TlsHelloError(f"{what}: an SSL 2.0 hello (not supported)")
    if header[0] != HANDSHAKE and 0x20 <= header[0] < 0x7f:
        raise TlsHelloError(f"{what}: not TLS (plain text, e.g. HTTP, on a TLS service)")
    if header[0] == HANDSHAKE and len(header) >= 2 and header[1] != 3:
        raise TlsHelloError(f"{what}: not TLS (record version major {header[1]})")


class ClientHelloParser:
    """Feed a client's bytes in order; :meth:`feed` returns the hello once complete."""

    def __init__(self, max_size: int = DEFAULT_MAX_HELLO) -> None:
        self._reader = HandshakeReader(CLIENT_HELLO, "ClientHello", max_size)
        self.hello: ClientHello | None = None

    @property
    def trailing(self) -> bytes:
        """Bytes after the ClientHello's records (TLS 1.3 early data, ChangeCipherSpec)."""
        return self._reader.trailing

    def feed(self, data: bytes) -> ClientHello | None:
        if self.hello is not None:
            return self.hello
        message = self._reader.feed(data)
        if message is not None:
            self.hello = parse_client_hello_body(message[4:], self._reader.consumed)
        return self.hello


def parse_client_hello(data: bytes, max_size: int = DEFAULT_MAX_HELLO) -> ClientHello | None:
    """One-shot form of :class:`ClientHelloParser` (None: incomplete)."""
    return ClientHelloParser(max_size).feed(data)


def parse_client_hello_body(body: bytes, size: int = 0) -> ClientHello:
    """A ClientHello message body (after the 4-byte handshake header)."""
    what = "ClientHello"
    reader = _Reader(body, what)
    legacy_version = reader.uint(2, "legacy_version")
    if legacy_version < 0x0301 or legacy_version >> 8 != 3:
        raise TlsHelloError(f"{what}: version 0x{legacy_version:04x} is older than TLS 1.0 "
                            "or not TLS")
    random = reader.take(32, "random")
    session_id = reader.vector(1, "legacy_session_id", 0, 32)
    suites = reader.vector(2, "cipher_suites", 2, 0xFFFE)
    if len(suites) % 2:
        raise TlsHelloError(f"{what}: cipher_suites has an odd length")
    compression = reader.vector(1, "compression_methods", 1, 255)
    if 0 not in compression:
        raise TlsHelloError(f"{what}: the null compression method is not offered")
    fields: dict[str, object] = {"server_name": None, "alpn": (), "session_ticket": None,
                                 "psk_identities": (), "supported_versions": ()}
    types: list[int] = []
    if reader.left:
        extensions = _Reader(reader.vector(2, "extensions", 0, None), what)
        reader.done("extensions")
        while extensions.left:
            kind = extensions.uint(2, "extension type")
            data = extensions.vector(2, f"extension {kind}")
            if kind in types:
                raise TlsHelloError(f"{what}: extension {kind} appears twice")
            if EXT_PRE_SHARED_KEY in types:
                raise TlsHelloError(f"{what}: pre_shared_key is not the last extension")
            types.append(kind)
            _client_extension(kind, data, fields)
    return ClientHello(
        legacy_version=legacy_version, random=random, session_id=session_id,
        cipher_suites=tuple(int.from_bytes(suites[i:i + 2], "big")
                            for i in range(0, len(suites), 2)),
        server_name=fields["server_name"],  # type: ignore[arg-type]
        alpn=fields["alpn"],  # type: ignore[arg-type]
        session_ticket=fields["session_ticket"],  # type: ignore[arg-type]
        psk_identities=fields["psk_identities"],  # type: ignore[arg-type]
        supported_versions=fields["supported_versions"],  # type: ignore[arg-type]
        extensions=tuple(types), size=size)


def _client_extension(kind: int, data: bytes, fields: dict[str, object]) -> None:
    if kind == EXT_SERVER_NAME:
        fields["server_name"] = _server_name(data)
    elif kind == EXT_ALPN:
        fields["alpn"] = _alpn(data)
    elif kind == EXT_SESSION_TICKET:
        fields["session_ticket"] = data
    elif kind == EXT_PRE_SHARED_KEY:
        fields["psk_identities"] = _psk_identities(data)
    elif kind == EXT_SUPPORTED_VERSIONS:
        versions = _Reader(data, "ClientHello supported_versions")
        listed = versions.vector(1, "versions", 2, 254)
        versions.done("versions")
        if len(listed) % 2:
            raise TlsHelloError("ClientHello supported_versions: odd length")
        fields["supported_versions"] = tuple(int.from_bytes(listed[i:i + 2], "big")
                                             for i in range(0, len(listed), 2))


def _server_name(data: bytes) -> str:
    """RFC 6066 section 3: one host_name, ASCII, no trailing dot."""
    reader = _Reader(data, "ClientHello server_name")
    names = _Reader(reader.vector(2, "server_name_list", 1, None), reader.what)
    reader.done("server_name_list")
    host: str | None = None
    while names.left:
        name_type = names.uint(1, "name_type")
        name = names.vector(2, "host_name", 1, None)
        if name_type != 0:
            continue  # no other type is defined; a future one would carry its own syntax
        if host is not None:
            raise TlsHelloError("ClientHello server_name: more than one host_name")
        try:
            text = name.decode("ascii").lower()
        except UnicodeDecodeError:
            raise TlsHelloError("ClientHello server_name: not ASCII (use the A-label)") \
                from None
        if len(text) > 253 or not _HOST_NAME.fullmatch(text):
            raise TlsHelloError(f"ClientHello server_name: {text[:64]!r} is not a DNS "
                                "host name")
        host = text
    if host is None:
        raise TlsHelloError("ClientHello server_name: no host_name")
    return host


def _alpn(data: bytes) -> tuple[str, ...]:
    reader = _Reader(data, "ClientHello ALPN")
    names = _Reader(reader.vector(2, "protocol_name_list", 2, None), reader.what)
    reader.done("protocol_name_list")
    protocols: list[str] = []
    while names.left:
        protocols.append(names.vector(1, "protocol name", 1, 255).decode("latin-1"))
    return tuple(protocols)


def _psk_identities(data: bytes) -> tuple[bytes, ...]:
    """RFC 8446 section 4.2.11: identities and as many binders (32..255 bytes each)."""
    reader = _Reader(data, "ClientHello pre_shared_key")
    identities = _Reader(reader.vector(2, "identities", 7, None), reader.what)
    binders = _Reader(reader.vector(2, "binders", 33, None), reader.what)
    reader.done("binders")
    found: list[bytes] = []
    while identities.left:
        found.append(identities.vector(2, "identity", 1, None))
        identities.uint(4, "obfuscated_ticket_age")
    count = 0
    while binders.left:
        binders.vector(1, "binder", 32, 255)
        count += 1
    if count != len(found):
        raise TlsHelloError(f"ClientHello pre_shared_key: {len(found)} identities but "
                            f"{count} binders")
    return tuple(found)


class ServerHelloParser:
    """Feed the server's first bytes in order; returns the :class:`ServerHello`."""

    def __init__(self, max_size: int = DEFAULT_MAX_HELLO) -> None:
        # a server's first record usually also holds its Certificate and more
        self._reader = HandshakeReader(SERVER_HELLO, "ServerHello", max_size, alone=False)
        self.hello: ServerHello | None = None

    def feed(self, data: bytes) -> ServerHello | None:
        if self.hello is not None:
            return self.hello
        message = self._reader.feed(data)
        if message is not None:
            self.hello = parse_server_hello_body(message[4:])
        return self.hello


def parse_server_hello_body(body: bytes) -> ServerHello:
    what = "ServerHello"
    reader = _Reader(body, what)
    legacy_version = reader.uint(2, "legacy_version")
    if legacy_version < 0x0301 or legacy_version >> 8 != 3:
        raise TlsHelloError(f"{what}: version 0x{legacy_version:04x}")
    random = reader.take(32, "random")
    session_id = reader.vector(1, "legacy_session_id", 0, 32)
    suite = reader.uint(2, "cipher_suite")
    reader.uint(1, "compression_method")
    version, selected = legacy_version, None
    if reader.left:
        extensions = _Reader(reader.vector(2, "extensions", 0, None), what)
        reader.done("extensions")
        while extensions.left:
            kind = extensions.uint(2, "extension type")
            data = _Reader(extensions.vector(2, f"extension {kind}"), what)
            if kind == EXT_SUPPORTED_VERSIONS:
                version = data.uint(2, "selected_version")
                data.done("selected_version")
            elif kind == EXT_PRE_SHARED_KEY:
                selected = data.uint(2, "selected_identity")
                data.done("selected_identity")
    return ServerHello(version=version, session_id=session_id, cipher_suite=suite,
                       selected_psk=selected, hello_retry=random == HELLO_RETRY_RANDOM)
