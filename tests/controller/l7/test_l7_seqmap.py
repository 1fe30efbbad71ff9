"""Splice arithmetic: both ends see consistent sequence spaces, across the 2^32 wrap."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.l7.seqmap import (
    Direction,
    Splice,
    WindowScaling,
    advertised_mss,
    clamp_mss,
    seq_add,
    seq_before,
    seq_delta,
    timestamp_offset,
)

U32 = st.integers(0, 2**32 - 1)
TO_SERVER, TO_CLIENT = Direction.TO_SERVER, Direction.TO_CLIENT


def test_sequence_helpers_wrap() -> None:
    assert seq_add(2**32 - 1, 1) == 0
    assert seq_add(0, -1) == 2**32 - 1
    assert seq_delta(5, 2**32 - 5) == 10
    assert seq_before(2**32 - 10, 5) and not seq_before(5, 2**32 - 10)
    assert not seq_before(7, 7)


def test_default_splice_leaves_client_data_alone() -> None:
    splice = Splice.from_handshakes(client_isn=1000, cookie_isn=5000, server_isn=9000)
    assert splice.deltas(TO_SERVER) == (0, 4000)
    assert splice.deltas(TO_CLIENT) == (2**32 - 4000, 0)
    assert splice.seq(TO_SERVER, 1001) == 1001
    assert splice.ack(TO_SERVER, 5001) == 9001
    assert splice.seq(TO_CLIENT, 9001) == 5001
    assert splice.ack(TO_CLIENT, 1001) == 1001


def test_explicit_server_syn_isn_translates_client_data() -> None:
    splice = Splice.from_handshakes(client_isn=10, cookie_isn=20, server_isn=30,
                                    server_syn_isn=2**32 - 5)
    assert splice.seq(TO_SERVER, 11) == 2**32 - 4
    assert splice.ack(TO_CLIENT, 2**32 - 4) == 11


@pytest.mark.parametrize(("client_isn", "cookie_isn", "server_isn"), [
    (2**32 - 1, 2**32 - 2, 0), (0, 2**32 - 1, 2**32 - 1), (2**31, 3, 2**32 - 3),
])
def test_wraparound_at_two_to_the_32(client_isn: int, cookie_isn: int, server_isn: int) -> None:
    splice = Splice.from_handshakes(client_isn=client_isn, cookie_isn=cookie_isn,
                                    server_isn=server_isn)
    for offset in (1, 2, 1000, 2**31):
        assert splice.ack(TO_SERVER, seq_add(cookie_isn, offset)) == seq_add(server_isn, offset)
        assert splice.seq(TO_CLIENT, seq_add(server_isn, offset)) == seq_add(cookie_isn, offset)


@given(client_isn=U32, cookie_isn=U32, server_isn=U32, syn_isn=U32,
       sent=st.integers(0, 2**33), received=st.integers(0, 2**33))
def test_both_ends_see_their_own_sequence_spaces(client_isn: int, cookie_isn: int,
                                                 server_isn: int, syn_isn: int, sent: int,
                                                 received: int) -> None:
    """``sent`` client bytes and ``received`` server bytes, numbered as each end does."""
    splice = Splice.from_handshakes(client_isn=client_isn, cookie_isn=cookie_isn,
                                    server_isn=server_isn, server_syn_isn=syn_isn)
    client_seq, client_ack = seq_add(client_isn, 1 + sent), seq_add(cookie_isn, 1 + received)
    server_seq, server_ack = seq_add(server_isn, 1 + received), seq_add(syn_isn, 1 + sent)
    assert splice.seq(TO_SERVER, client_seq) == server_ack
    assert splice.ack(TO_SERVER, client_ack) == server_seq
    assert splice.seq(TO_CLIENT, server_seq) == client_ack
    assert splice.ack(TO_CLIENT, server_ack) == client_seq
    assert splice.sack_blocks(TO_SERVER, [(client_ack, seq_add(client_ack, 100))]) == [
        (server_seq, seq_add(server_seq, 100))]
    assert splice.sack_blocks(TO_CLIENT, [(server_ack, seq_add(server_ack, 7))]) == [
        (client_seq, seq_add(client_seq, 7))]


def test_timestamps_map_the_server_clock_onto_the_clients_view() -> None:
    offset = timestamp_offset(latest_tsval_to_client=100, server_synack_tsval=2**32 - 50)
    splice = Splice.from_handshakes(client_isn=1, cookie_isn=2, server_isn=3,
                                    ts_offset=offset)
    # The backend's next TSvals continue from the last one the client saw.
    assert splice.timestamps(TO_CLIENT, 2**32 - 50, 777) == (100, 777)
    assert splice.timestamps(TO_CLIENT, 10, 777) == (160, 777)
    # The client echoes a mapped TSval; the backend must get its own clock back.
    assert splice.timestamps(TO_SERVER, 4242, 160) == (4242, 10)
    with pytest.raises(ValueError, match="not in use"):
        Splice.from_handshakes(client_isn=1, cookie_isn=2, server_isn=3).timestamps(
            TO_CLIENT, 1, 2)


def test_window_scaling_negotiation() -> None:
    assert WindowScaling.negotiate(None, 7, None) == WindowScaling()
    assert WindowScaling.negotiate(2, 7, 9) == WindowScaling(2, 7, 2, 9)
    assert WindowScaling.negotiate(2, 7, None) == WindowScaling(client=2, to_client=7)
    with pytest.raises(ValueError, match="server window scale 15"):
        WindowScaling.negotiate(2, 7, 15)


def test_window_rescaling() -> None:
    same = Splice.from_handshakes(client_isn=1, cookie_isn=2, server_isn=3,
                                  windows=WindowScaling.negotiate(6, 7, 7))
    assert same.window(TO_SERVER, 1234) == 1234 and same.window(TO_CLIENT, 1234) == 1234
    wider = Splice.from_handshakes(client_isn=1, cookie_isn=2, server_isn=3,
                                   windows=WindowScaling.negotiate(6, 7, 9))
    assert wider.window(TO_CLIENT, 100) == 400
    assert wider.window(TO_CLIENT, 0x8000) == 0xFFFF
    narrower = Splice.from_handshakes(client_isn=1, cookie_isn=2, server_isn=3,
                                      windows=WindowScaling.negotiate(6, 7, 5))
    assert narrower.window(TO_CLIENT, 400) == 100
    assert narrower.window(TO_CLIENT, 1) == 1  # rounded up: an open window stays open
    assert narrower.window(TO_CLIENT, 0) == 0
    unscaled_server = Splice.from_handshakes(client_isn=1, cookie_isn=2, server_isn=3,
                                             windows=WindowScaling.negotiate(3, 7, None))
    assert unscaled_server.window(TO_SERVER, 1000) == 8000
    assert unscaled_server.window(TO_CLIENT, 0xFFFF) == 512
    with pytest.raises(ValueError, match="16-bit"):
        same.window(TO_CLIENT, 0x10000)


def test_mss_choices() -> None:
    assert advertised_mss() == 1460
    assert advertised_mss(1500, encapsulation_overhead=20) == 1440
    assert advertised_mss(9000) == 8960
    assert clamp_mss(1460, 1440, 1500) == 1440
    assert clamp_mss(536) == 536
    with pytest.raises(ValueError, match="MTU 100"):
        advertised_mss(100)
    with pytest.raises(ValueError, match="leaves no room"):
        advertised_mss(576, encapsulation_overhead=1)
    with pytest.raises(ValueError, match="positive"):
        clamp_mss(1460, 0)


def test_isn_validation() -> None:
    with pytest.raises(ValueError, match="server_isn 4294967296 is not a 32-bit value"):
        Splice.from_handshakes(client_isn=1, cookie_isn=2, server_isn=2**32)
    with pytest.raises(ValueError, match="server_synack_tsval"):
        timestamp_offset(0, -1)
