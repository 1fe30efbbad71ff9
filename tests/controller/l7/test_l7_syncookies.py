"""SYN cookies: valid, expired, forged, wrapped ISNs, every MSS, timestamp-encoded options."""

import random
from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.l7.syncookies import (
    MSS_TABLE,
    Flow,
    SynCookies,
    TimestampOptions,
    decode_timestamp,
    encode_timestamp,
    mss_index,
)

FLOW = Flow(IPv4Address("198.51.100.7"), 40000, IPv4Address("10.0.0.100"), 80)
SECRET = bytes(range(32))


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def client_ack(cookie: int, client_isn: int) -> tuple[int, int]:
    """(seq, ack) of the handshake-completing ACK."""
    return (client_isn + 1) % 2**32, (cookie + 1) % 2**32


@pytest.mark.parametrize(("offered", "encoded"), [
    (1460, 1460), (9000, 1460), (1459, 1440), (1452, 1440), (1440, 1440), (1400, 1300),
    (1300, 1300), (1299, 536), (536, 536), (200, 536),
])
def test_every_mss_round_trips_to_its_table_value(offered: int, encoded: int) -> None:
    cookies = SynCookies(SECRET, clock=FakeClock())
    cookie, mss = cookies.make(FLOW, 12345, offered)
    assert mss == encoded
    assert cookies.check(FLOW, *client_ack(cookie, 12345)) == encoded


def test_mss_index_covers_the_table() -> None:
    assert [mss_index(m) for m in MSS_TABLE] == list(range(len(MSS_TABLE)))


def test_valid_in_current_and_previous_period_expired_after() -> None:
    clock = FakeClock(6000.0)  # start of a period
    cookies = SynCookies(SECRET, clock=clock)
    cookie, _ = cookies.make(FLOW, 777, 1460)
    clock.now += 119.0  # end of the next period
    assert cookies.check(FLOW, *client_ack(cookie, 777)) == 1460
    clock.now += 1.0
    assert cookies.check(FLOW, *client_ack(cookie, 777)) is None


def test_cookie_from_the_future_is_rejected() -> None:
    clock = FakeClock(6000.0)
    cookies = SynCookies(SECRET, clock=clock)
    cookie, _ = cookies.make(FLOW, 777, 1460)
    clock.now -= 60.0
    assert cookies.check(FLOW, *client_ack(cookie, 777)) is None


def test_period_counter_wraps_in_the_cookie() -> None:
    clock = FakeClock(255 * 60.0 + 30)
    cookies = SynCookies(SECRET, clock=clock)
    cookie, _ = cookies.make(FLOW, 5, 1460)
    clock.now += 60.0  # count 256: its low 8 bits are 0
    assert cookies.check(FLOW, *client_ack(cookie, 5)) == 1460


@pytest.mark.parametrize("client_isn", [0, 1, 2**32 - 1, 2**32 - 2, 2**31])
def test_wrapped_isn(client_isn: int) -> None:
    cookies = SynCookies(SECRET, clock=FakeClock())
    cookie, _ = cookies.make(FLOW, client_isn, 1440)
    seq, ack = client_ack(cookie, client_isn)
    assert cookies.check(FLOW, seq, ack) == 1440


def test_forged_and_misdirected_acks_are_rejected() -> None:
    cookies = SynCookies(SECRET, clock=FakeClock())
    cookie, _ = cookies.make(FLOW, 1000, 1460)
    seq, ack = client_ack(cookie, 1000)
    other_flow = Flow(FLOW.client_ip, FLOW.client_port + 1, FLOW.service_ip, 80)
    assert cookies.check(other_flow, seq, ack) is None
    assert cookies.check(FLOW, seq + 1, ack) is None  # another client ISN
    assert cookies.check(FLOW, seq, ack + 1) is None
    assert SynCookies(bytes(32), clock=FakeClock()).check(FLOW, seq, ack) is None
    rng = random.Random(7)
    accepted = sum(cookies.check(FLOW, seq, rng.randrange(2**32)) is not None
                   for _ in range(20000))
    assert accepted == 0


@given(client_isn=st.integers(0, 2**32 - 1), mss=st.integers(0, 65535),
       port=st.integers(0, 65535), ip=st.integers(0, 2**32 - 1))
def test_round_trip_property(client_isn: int, mss: int, port: int, ip: int) -> None:
    cookies = SynCookies(SECRET, clock=FakeClock())
    flow = Flow(IPv4Address(ip), port, IPv4Address("10.0.0.1"), 443)
    cookie, encoded = cookies.make(flow, client_isn, mss)
    assert encoded <= max(mss, MSS_TABLE[0])
    assert cookies.check(flow, *client_ack(cookie, client_isn)) == encoded


def test_argument_errors() -> None:
    with pytest.raises(ValueError, match="16 to 64 bytes"):
        SynCookies(b"short")
    with pytest.raises(ValueError, match="positive"):
        SynCookies(SECRET, period_s=0)
    with pytest.raises(ValueError, match="not a 32-bit"):
        SynCookies(SECRET).make(FLOW, 2**32, 1460)
    with pytest.raises(ValueError, match="not a 16-bit port"):
        Flow(FLOW.client_ip, 70000, FLOW.service_ip, 80)
    with pytest.raises(ValueError, match="window scale 15"):
        TimestampOptions(wscale=15)
    assert len({SynCookies().make(FLOW, 1, 1460)[0] for _ in range(4)}) > 1  # random secrets


@pytest.mark.parametrize("options", [
    TimestampOptions(), TimestampOptions(wscale=7, sack_ok=True),
    TimestampOptions(wscale=0, ecn_ok=True), TimestampOptions(wscale=14, sack_ok=True,
                                                              ecn_ok=True),
])
@pytest.mark.parametrize("now", [0, 5, 64, 1_000_000_123, 2**32 + 17, 2**40 + 63])
def test_timestamp_carries_options_and_never_runs_ahead(options: TimestampOptions,
                                                        now: int) -> None:
    tsval = encode_timestamp(now, options)
    assert 0 <= tsval < 2**32
    assert decode_timestamp(tsval) == options
    assert (now - tsval) % 2**32 < 64  # at most 63 ms behind the clock, never ahead
