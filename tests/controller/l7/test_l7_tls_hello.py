"""The TLS hello parsers on real hellos (OpenSSL through Python's ssl and the openssl
command) and on hand-made malformed ones."""

from __future__ import annotations

import socket
import ssl
import struct
import subprocess
import threading
from pathlib import Path

import pytest
from tls_memory import client_context, client_hello, handshake, make_ca, server_context

from controller.l7.tls_client_hello import (
    ClientHello,
    ClientHelloParser,
    ServerHelloParser,
    TlsHelloError,
    parse_client_hello,
)
from topologies.tls_certs import TlsFiles

TLS12, TLS13 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_ca(tmp_path_factory.mktemp("ca"))


def parse(data: bytes, max_size: int = 16384) -> ClientHello:
    hello = parse_client_hello(data, max_size)
    assert hello is not None, "hello should be complete"
    return hello


def error(data: bytes, max_size: int = 16384) -> str:
    with pytest.raises(TlsHelloError) as info:
        parse_client_hello(data, max_size)
    return info.value.reason


def records(message: bytes, sizes: list[int], version: int = 0x0301) -> bytes:
    """``message`` in handshake records of the given fragment sizes (the last takes the
    rest)."""
    out, rest = b"", message
    for size in [*sizes, len(message)]:
        if not rest:
            break
        fragment, rest = rest[:size], rest[size:]
        out += struct.pack("!BHH", 22, version, len(fragment)) + fragment
    return out


def message_of(hello_records: bytes) -> bytes:
    """The handshake bytes of a single-record hello."""
    assert hello_records[0] == 22
    length = struct.unpack("!H", hello_records[3:5])[0]
    assert len(hello_records) == 5 + length
    return hello_records[5:]


def hello_message(extensions: bytes | None, session_id: bytes = b"",
                  suites: bytes = b"\x13\x01", compression: bytes = b"\x00") -> bytes:
    body = b"\x03\x03" + bytes(32) + bytes([len(session_id)]) + session_id
    body += struct.pack("!H", len(suites)) + suites + bytes([len(compression)]) + compression
    if extensions is not None:
        body += struct.pack("!H", len(extensions)) + extensions
    return b"\x01" + len(body).to_bytes(3, "big") + body


def ext(kind: int, data: bytes) -> bytes:
    return struct.pack("!HH", kind, len(data)) + data


def sni(*names: bytes) -> bytes:
    entries = b"".join(b"\x00" + struct.pack("!H", len(n)) + n for n in names)
    return ext(0, struct.pack("!H", len(entries)) + entries)


# ----- real hellos -----------------------------------------------------------------------
def test_tls13_hello_from_openssl(ca: TlsFiles) -> None:
    data = client_hello(client_context(ca, alpn=("h2", "http/1.1")), "API.example.com")
    hello = parse(data)
    assert hello.server_name == "api.example.com"
    assert hello.alpn == ("h2", "http/1.1")
    assert 0x0304 in hello.supported_versions and 0x1301 in hello.cipher_suites
    assert hello.session_ticket == b"" and hello.psk_identities == ()
    assert hello.resumption_keys == ()  # the TLS 1.3 legacy session id is random
    assert len(hello.session_id) == 32 and hello.size == len(data)


def test_no_sni_and_tls12_only(ca: TlsFiles) -> None:
    hello = parse(client_hello(client_context(ca, version=TLS12), None))
    assert hello.server_name is None and hello.alpn == ()
    assert 0x0304 not in hello.supported_versions and hello.session_id == b""


@pytest.mark.parametrize(("version", "tickets", "kind"), [
    (TLS12, False, "session"), (TLS12, True, "ticket"), (TLS13, True, "psk"),
    (TLS13, False, "psk")])
def test_resumption_keys_and_server_hello(ca: TlsFiles, version: ssl.TLSVersion,
                                          tickets: bool, kind: str) -> None:
    client, server = client_context(ca, version=version), server_context(ca, tickets=tickets)
    first = handshake(client, server)
    full = ServerHelloParser().feed(first.server_flights[0])
    assert full is not None and not first.reused and full.selected_psk is None
    assert full.version == (0x0304 if version is TLS13 else 0x0303)
    again = handshake(client, server, session=first.session)
    assert again.reused
    hello = parse(again.client_flights[0])
    assert hello.resumption_keys and hello.resumption_keys[0][0] == kind
    resumed = ServerHelloParser().feed(again.server_flights[0])
    assert resumed is not None
    if version is TLS13:
        assert resumed.selected_psk == 0
    else:  # TLS 1.2 accepts by echoing the session id
        assert resumed.session_id == hello.session_id != b""
    if version is TLS12 and not tickets:  # a session-cache server names it up front
        assert full.session_id == hello.session_id


def test_openssl_s_client_hello() -> None:
    """A hello from the openssl command, read off a loopback socket."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        received = bytearray()

        def accept() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(5)
                while (hello := parse_client_hello(bytes(received))) is None:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    received.extend(chunk)
                assert hello is not None

        thread = threading.Thread(target=accept)
        thread.start()
        subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername",
                        "shop.img.example.com", "-alpn", "http/1.1"], input=b"",
                       capture_output=True, timeout=10, check=False)
        thread.join(10)
    hello = parse(bytes(received))
    assert hello.server_name == "shop.img.example.com" and hello.alpn == ("http/1.1",)


# ----- fragmentation ---------------------------------------------------------------------
def test_every_split_gives_the_same_hello(ca: TlsFiles) -> None:
    data = client_hello(client_context(ca, alpn=("h2",)), "www.example.com")
    whole = parse(data)
    for cut in range(1, len(data)):
        parser = ClientHelloParser()
        assert parser.feed(data[:cut]) is None
        assert parser.feed(data[cut:]) == whole
    parser = ClientHelloParser()
    results = [parser.feed(data[i:i + 1]) for i in range(len(data))]
    assert results[-1] == whole and all(r is None for r in results[:-1])


def test_hello_fragmented_over_records(ca: TlsFiles) -> None:
    message = message_of(client_hello(client_context(ca), "www.example.com"))
    expected = parse(records(message, []))
    for sizes in ([1], [3, 1, 7], [100] * 5, [4]):
        fragmented = records(message, sizes)
        hello = parse(fragmented)
        assert (hello.server_name, hello.cipher_suites, hello.size) == \
            (expected.server_name, expected.cipher_suites, len(fragmented))


def test_trailing_bytes_after_the_hello_are_kept(ca: TlsFiles) -> None:
    data = client_hello(client_context(ca), "www.example.com")
    ccs = bytes.fromhex("140303000101")
    parser = ClientHelloParser()
    assert parser.feed(data + ccs) is not None and parser.trailing == ccs


# ----- bad input -------------------------------------------------------------------------
def test_plain_http_and_ssl2_and_others() -> None:
    assert "not TLS" in error(b"GET / HTTP/1.1\r\n")
    assert "SSL 2.0" in error(bytes.fromhex("802e0100020015"))
    assert "alert" in error(bytes.fromhex("15030100020228"))
    assert "content type 23" in error(bytes.fromhex("1703030005"))
    assert "major 2" in error(bytes.fromhex("160200"))
    assert "version 0x0304" in error(bytes.fromhex("1603040005"))
    assert "empty" in error(bytes.fromhex("1603010000"))
    assert "exceeds 2^14" in error(bytes.fromhex("1603014001"))
    assert "type 2 instead" in error(bytes.fromhex("160301000402"))


def test_errors_come_with_the_first_bad_byte() -> None:
    parser = ClientHelloParser()
    assert parser.feed(b"\x16\x03") is None
    with pytest.raises(TlsHelloError):
        parser.feed(b"\x09")
    with pytest.raises(TlsHelloError):  # and stick
        parser.feed(b"")


def test_oversized_hello_refused_from_its_header() -> None:
    header = b"\x01" + (20000).to_bytes(3, "big")
    assert "exceeds the limit" in error(records(header, []))
    parser = ClientHelloParser(max_size=512)
    with pytest.raises(TlsHelloError, match="exceeds the limit of 512"):
        parser.feed(b"\x16\x03\x01\x00\x10\x01\x00\x02\x00")


def test_truncated_and_inconsistent_bodies() -> None:
    good = hello_message(sni(b"a.example"))
    assert parse(records(good, [])).server_name == "a.example"
    # a message length shorter than its content cuts fields in half
    short = good[:1] + (len(good) - 10).to_bytes(3, "big") + good[4:-6]
    assert "runs past the end" in error(records(short, []))
    padded = bytearray(good + b"\x00")
    padded[1:4] = (len(padded) - 4).to_bytes(3, "big")
    assert "after the extensions" in error(records(bytes(padded), []))
    assert "odd length" in error(records(hello_message(None, suites=b"\x13\x01\x00"), []))
    assert "null compression" in error(records(hello_message(None, compression=b"\x01"), []))
    assert "legacy_session_id has 33" in error(records(hello_message(None, bytes(33)), []))
    assert "appears twice" in error(records(hello_message(sni(b"a.b") + sni(b"c.d")), []))
    assert "another handshake message" in error(records(good + b"\x01\x00", []))


def test_bad_extensions() -> None:
    def reason(extensions: bytes) -> str:
        return error(records(hello_message(extensions), []))

    assert "more than one host_name" in reason(sni(b"a.example", b"b.example"))
    assert "not a DNS host name" in reason(sni(b"a..example"))
    assert "not a DNS host name" in reason(sni(b"example.com."))
    assert "not ASCII" in reason(sni("bücher.de".encode()))
    assert "protocol name" in reason(ext(16, b"\x00\x02\x00\x00"))
    psk = struct.pack("!H", 7) + struct.pack("!H", 1) + b"T" + bytes(4)
    binders = struct.pack("!H", 66) + (b"\x20" + bytes(32)) * 2
    assert "1 identities but 2 binders" in reason(ext(41, psk + binders))
    assert "not the last extension" in reason(
        ext(41, psk + struct.pack("!H", 33) + b"\x20" + bytes(32)) + sni(b"a.b"))
    hello = parse(records(hello_message(
        sni(b"A.Example") + ext(41, psk + struct.pack("!H", 33) + b"\x20" + bytes(32))), []))
    assert hello.server_name == "a.example" and hello.psk_identities == (b"T",)
    assert hello.resumption_keys == (("psk", b"T"),)


def test_random_bytes_never_crash() -> None:
    import random

    rng = random.Random(10)
    base = records(hello_message(sni(b"www.example.com") + ext(16, b"\x00\x03\x02h2")), [])
    for _ in range(3000):
        data = bytearray(base)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            parse_client_hello(bytes(data))
        except TlsHelloError:
            pass


def test_server_hello_parser_tolerates_following_messages(tmp_path: Path,
                                                          ca: TlsFiles) -> None:
    flight = handshake(client_context(ca, version=TLS12), server_context(ca)).server_flights[0]
    parser = ServerHelloParser()
    assert parser.feed(flight[:20]) is None
    hello = parser.feed(flight[20:])
    assert hello is not None and hello.version == 0x0303 and not hello.hello_retry
