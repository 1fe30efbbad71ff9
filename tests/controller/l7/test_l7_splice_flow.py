"""The L7 pieces composed as the splicer will use them, on real client bytes.

Requests come from Python's http.client over loopback, so the parser is checked against
what a real HTTP client writes, not only against hand-made bytes.
"""

import http.client
import socket
import threading
from collections.abc import Iterator
from ipaddress import IPv4Address

from controller.l7.http_request import BodyFraming, RequestHead, RequestHeadParser
from controller.l7.locality import Lard
from controller.l7.rules import parse_content_rules
from controller.l7.seqmap import Direction, Splice, seq_add
from controller.l7.syncookies import Flow, SynCookies
from controller.schedulers import Candidate


def bytes_sent_by_http_client(method: str, url: str,
                              body: bytes | Iterator[bytes] | None = None,
                              headers: dict[str, str] | None = None,
                              encode_chunked: bool = False) -> bytes:
    listener = socket.create_server(("127.0.0.1", 0))
    received = bytearray()

    def collect() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.settimeout(2)
            try:
                while chunk := connection.recv(4096):
                    received.extend(chunk)
            except TimeoutError:
                pass

    thread = threading.Thread(target=collect)
    thread.start()
    client = http.client.HTTPConnection("127.0.0.1", listener.getsockname()[1], timeout=2)
    client.request(method, url, body=body, headers=headers or {},
                   encode_chunked=encode_chunked)
    client.close()
    thread.join()
    listener.close()
    return bytes(received)


def parse_in_segments(data: bytes, size: int) -> tuple[RequestHead, bytes]:
    parser = RequestHeadParser()
    head = None
    for offset in range(0, len(data), size):
        head = parser.feed(data[offset:offset + size])
    assert head is not None
    return head, parser.trailing


def test_http_client_requests_parse() -> None:
    data = bytes_sent_by_http_client("POST", "/api/items?id=3", body=b"hello world",
                                     headers={"X-Tenant": "gold"})
    head, trailing = parse_in_segments(data, 7)
    assert (head.method, head.path, head.query, head.host) == ("POST", "/api/items", "id=3",
                                                               "127.0.0.1")
    assert (head.body_framing, head.content_length, trailing) == (
        BodyFraming.CONTENT_LENGTH, 11, b"hello world")
    assert head.headers.get("x-tenant") == "gold" and head.keep_alive

    chunked = bytes_sent_by_http_client("PUT", "/upload", body=iter([b"ab", b"cd"]),
                                        encode_chunked=True)
    head, trailing = parse_in_segments(chunked, 1460)
    assert head.body_framing is BodyFraming.CHUNKED
    assert trailing == b"2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n"


def test_handshake_request_choice_and_splice() -> None:
    flow = Flow(IPv4Address("198.51.100.9"), 51000, IPv4Address("10.0.0.100"), 80)
    cookies = SynCookies(b"k" * 32, clock=lambda: 120.0)
    client_isn = 2**32 - 3  # the client's data crosses the wrap
    cookie, mss = cookies.make(flow, client_isn, 1460)
    assert cookies.check(flow, seq_add(client_isn, 1), seq_add(cookie, 1)) == mss == 1460

    request = bytes_sent_by_http_client("GET", "/img/7.png")
    head, _ = parse_in_segments(request, 10)
    rules = parse_content_rules([{"extensions": ["png"], "pool": "static"}],
                                default_pool="web", pools={"static", "web"})
    choice = rules.select(head)
    assert choice is not None and choice.pool == "static"
    backend = Lard().pick([Candidate("s1", 1, active=3), Candidate("s2", 1, active=1)],
                          head.url, flow.client_ip)
    assert backend == "s2"

    server_isn = 123456
    splice = Splice.from_handshakes(client_isn=client_isn, cookie_isn=cookie,
                                    server_isn=server_isn)
    # The request as the backend receives it: the client's own numbering, our SYN's ack.
    first_byte = seq_add(client_isn, 1)
    assert splice.seq(Direction.TO_SERVER, first_byte) == first_byte
    assert splice.ack(Direction.TO_SERVER, seq_add(cookie, 1)) == seq_add(server_isn, 1)
    # The response as the client receives it continues the cookie's numbering.
    response_seq = seq_add(server_isn, 1)
    assert splice.seq(Direction.TO_CLIENT, response_seq) == seq_add(cookie, 1)
    assert splice.ack(Direction.TO_CLIENT, seq_add(first_byte, len(request))) == seq_add(
        client_isn, 1 + len(request))
