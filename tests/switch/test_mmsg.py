"""recvmmsg/sendmmsg batches (p4sim/switch/mmsg.py) over a Unix datagram socket pair: the
whole-batch fast path and the message-by-message path give each message's data after its
header, and the headers with flags."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from p4sim.switch.mmsg import BatchReceiver, BatchSender

HEAD = 10


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def test_plain_messages_come_as_their_data_without_extras(
        pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    receiver = BatchReceiver(b.fileno(), 8, 256, 64, HEAD, 16, 0x10)
    sender = BatchSender(a.fileno(), 8)
    frames = [bytes([i]) * (20 + i) for i in range(5)]
    assert sender.send([(bytes(HEAD), b"", frame, 0) for frame in frames]) == 5
    assert receiver.receive() == (frames, {})
    assert receiver.receive() == ([], {})


def test_a_message_is_its_head_then_the_rest_of_its_frame(
        pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    receiver = BatchReceiver(b.fileno(), 8, 256, 64, HEAD, 16, 0x10)
    sender = BatchSender(a.fileno(), 8)
    frame = bytes(range(40))
    assert sender.send([(bytes(HEAD), b"new", frame, 3), (bytes(HEAD), b"", frame, 38)]) == 2
    assert receiver.receive() == ([b"new" + frame[3:], frame[38:]], {})


def test_bare_frames_go_after_the_plain_header(
        pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    receiver = BatchReceiver(b.fileno(), 8, 256, 64, HEAD, 16, 0x10)
    plain = b"\x00" * HEAD
    sender = BatchSender(a.fileno(), 8, plain_header=plain)
    frame = bytes(range(30))
    assert sender.send([b"bare one", (plain, b"new", frame, 3), frame]) == 3
    assert receiver.receive() == ([b"bare one", b"new" + frame[3:], frame], {})


def test_flagged_headers_and_short_messages(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    receiver = BatchReceiver(b.fileno(), 8, 256, 64, HEAD, 16, 0x10)
    flagged = b"\x01" + bytes(HEAD - 1)
    gso = b"\x00\x03" + bytes(HEAD - 2)
    a.send(bytes(HEAD) + b"first")
    a.send(flagged + b"second")
    a.send(b"short")                       # shorter than the header: skipped
    a.send(gso + b"third")
    frames, extras = receiver.receive()
    assert frames == [b"first", b"second", b"third"]
    assert extras == {1: (flagged, None), 2: (gso, None)}
    # the buffers are ready for the next batch, which takes the fast path again
    a.send(bytes(HEAD) + b"again")
    assert receiver.receive() == ([b"again"], {})


def test_flagged_headers_come_from_the_whole_batch_path_too(
        pair: tuple[socket.socket, socket.socket]) -> None:
    """No short or outgoing message: the batch is read at once, flagged headers included."""
    a, b = pair
    receiver = BatchReceiver(b.fileno(), 8, 256, 64, HEAD, 16, 0x10)
    flagged = b"\x01" + bytes(HEAD - 1)
    gso = b"\x00\x04" + bytes(range(HEAD - 2))
    for header, data in ((gso, b"one"), (bytes(HEAD), b"two"), (flagged, b"three")):
        a.send(header + data)
    assert receiver.receive() == ([b"one", b"two", b"three"],
                                  {0: (gso, None), 2: (flagged, None)})


@pytest.mark.parametrize("short_one", [False, True], ids=["whole batch", "message by message"])
def test_long_messages_are_handed_over_and_keep_their_data(
        pair: tuple[socket.socket, socket.socket], short_one: bool) -> None:
    """Messages longer than ``keep_bytes`` come as the bytes object the kernel wrote into;
    the next receive goes to a new one, so what was handed over never changes."""
    a, b = pair
    receiver = BatchReceiver(b.fileno(), 4, 256, 64, HEAD, 16, 0x10, keep_bytes=32)
    long_one, other = bytes(range(200)), bytes(range(100, 0, -1))
    a.send(bytes(HEAD) + long_one)
    a.send(bytes(HEAD) + b"small")
    if short_one:
        a.send(b"tiny")  # shorter than the header: skipped, message by message
    frames, _ = receiver.receive()
    assert frames == [long_one, b"small"]
    first = frames[0]
    assert type(first) is bytes and len(first) == 200 and hash(first) == hash(long_one)
    assert first + b"!" == long_one + b"!" and first[-1:] == b"\xc7"
    for _ in range(3):  # every slot written again
        for i in range(4):
            a.send(bytes(HEAD) + other[i:])
        assert receiver.receive()[0] == [other[i:] for i in range(4)]
    assert first == long_one
