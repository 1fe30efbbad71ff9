"""Real TLS hellos for the unit tests: Python's ssl (OpenSSL) client and server talking
through memory BIOs, with a test CA made by openssl (topologies/tls_certs.py)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from topologies.tls_certs import TlsFiles, make_test_ca

NAMES = ("www.example.com", "api.example.com", "*.img.example.com")


def make_ca(directory: Path) -> TlsFiles:
    return make_test_ca(directory, NAMES)


@dataclass
class Handshake:
    client_flights: list[bytes]  # what the client wrote, flight by flight
    server_flights: list[bytes]
    session: ssl.SSLSession | None
    reused: bool
    ends: tuple[ssl.SSLObject, ssl.SSLObject]  # kept: OpenSSL drops a session from the
    #                                            cache when an unclosed SSL is freed


def server_context(files: TlsFiles, *, tickets: bool = True) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.cert, files.key)
    if not tickets:
        context.options |= ssl.OP_NO_TICKET
    return context


def client_context(files: TlsFiles, *, version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3,
                   alpn: tuple[str, ...] = ()) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(files.ca_cert)
    context.maximum_version = version
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context


def client_hello(context: ssl.SSLContext, server_name: str | None = "www.example.com",
                 session: ssl.SSLSession | None = None) -> bytes:
    """The first flight of a client (its ClientHello records)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    if server_name is None:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    client = context.wrap_bio(incoming, outgoing, server_hostname=server_name,
                              session=session)
    try:
        client.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def handshake(client: ssl.SSLContext, server: ssl.SSLContext,
              server_name: str = "www.example.com",
              session: ssl.SSLSession | None = None) -> Handshake:
    """A complete handshake (and the TLS 1.3 tickets read), flights recorded."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    tls_client = client.wrap_bio(c_in, c_out, server_hostname=server_name, session=session)
    tls_server = server.wrap_bio(s_in, s_out, server_side=True)
    result = Handshake([], [], None, False, (tls_client, tls_server))
    for _ in range(8):
        for end in (tls_client, tls_server):
            try:
                end.do_handshake()
            except ssl.SSLWantReadError:
                pass
        if data := c_out.read():
            result.client_flights.append(data)
            s_in.write(data)
        if data := s_out.read():
            result.server_flights.append(data)
            c_in.write(data)
    try:
        tls_client.read(1)  # TLS 1.3: processes the NewSessionTicket messages
    except ssl.SSLWantReadError:
        pass
    result.session, result.reused = tls_client.session, tls_client.session_reused
    return result
