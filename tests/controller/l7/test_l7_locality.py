"""LARD and LBLC keep content on its server until load says otherwise."""

from ipaddress import IPv4Address

import pytest

from controller.l7.locality import (
    LBLC_ENTRY_TIMEOUT_S,
    ConnectionScheduler,
    Lard,
    LardThresholds,
    Lblc,
    make_content_scheduler,
)
from controller.schedulers import Candidate

CLIENT = IPv4Address("192.0.2.7")


def pool(*loads: int, weights: tuple[int, ...] | None = None) -> list[Candidate]:
    weights = weights or (1,) * len(loads)
    return [Candidate(f"s{i}", w, active=a) for i, (a, w) in enumerate(zip(loads, weights,
                                                                           strict=True))]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_lard_new_target_goes_to_least_loaded_and_stays() -> None:
    lard = Lard(LardThresholds(low=2, high=5))
    assert lard.pick(pool(3, 1, 1), "/a", CLIENT) == "s1"
    assert lard.server_of("/a") == "s1"
    # s1 is now the busiest but still at or under T_high: locality wins.
    assert lard.pick(pool(0, 5, 0), "/a", CLIENT) == "s1"


def test_lard_moves_when_over_high_and_someone_under_low() -> None:
    lard = Lard(LardThresholds(low=2, high=5))
    lard.pick(pool(9, 0), "/a", CLIENT)
    assert lard.pick(pool(1, 6), "/a", CLIENT) == "s0"
    assert lard.server_of("/a") == "s0"


def test_lard_stays_when_over_high_but_nobody_under_low() -> None:
    lard = Lard(LardThresholds(low=2, high=5))
    lard.pick(pool(9, 0), "/a", CLIENT)
    assert lard.pick(pool(2, 9), "/a", CLIENT) == "s1"


def test_lard_moves_at_twice_high_even_if_all_are_busy() -> None:
    lard = Lard(LardThresholds(low=2, high=5))
    lard.pick(pool(9, 0), "/a", CLIENT)
    assert lard.pick(pool(8, 10), "/a", CLIENT) == "s0"


def test_lard_reassigns_when_server_drained_or_gone() -> None:
    lard = Lard()
    lard.pick(pool(5, 0), "/a", CLIENT)
    assert lard.pick(pool(5, 0, weights=(1, 0)), "/a", CLIENT) == "s0"
    lard.forget("s0")
    assert lard.server_of("/a") is None
    assert lard.pick(pool(0, 0, weights=(0, 0)), "/a", CLIENT) is None


def test_lard_table_keeps_most_recent_targets() -> None:
    lard = Lard(max_targets=2)
    for target in ("/a", "/b", "/a", "/c"):
        lard.pick(pool(0, 0), target, CLIENT)
    assert (lard.server_of("/a"), lard.server_of("/b"), lard.server_of("/c")) == ("s0", None,
                                                                                   "s0")


def test_lard_spreads_distinct_targets_by_load() -> None:
    lard = Lard()
    loads = [0, 0, 0]
    for n in range(30):
        chosen = lard.pick(pool(*loads), f"/t{n}", CLIENT)
        assert chosen is not None
        loads[int(chosen[1:])] += 1
    assert loads == [10, 10, 10]


@pytest.mark.parametrize(("low", "high"), [(5, 5), (-1, 3), (6, 2)])
def test_lard_threshold_validation(low: int, high: int) -> None:
    with pytest.raises(ValueError, match="low < high"):
        LardThresholds(low, high)


def test_lblc_keeps_mapping_until_overloaded() -> None:
    lblc = Lblc(clock=FakeClock())
    assert lblc.pick(pool(1, 0, weights=(4, 4)), "/a", CLIENT) == "s1"
    # s1 above its weight, but nobody has active*2 < weight: keep.
    assert lblc.pick(pool(2, 5, weights=(4, 4)), "/a", CLIENT) == "s1"
    # s0 now has active*2 < weight: s1 is overloaded, move to least-connection s0.
    assert lblc.pick(pool(1, 5, weights=(4, 4)), "/a", CLIENT) == "s0"
    assert lblc.server_of("/a") == "s0"


def test_lblc_weighted_least_connection_choice() -> None:
    lblc = Lblc(clock=FakeClock())
    # overhead / weight: s0 = 512/1, s1 = 768/3 -> s1; drained s2 never.
    cands = [Candidate("s0", 1, 2), Candidate("s1", 3, 3), Candidate("s2", 0, 0)]
    assert lblc.pick(cands, "/a", CLIENT) == "s1"
    assert lblc.pick([Candidate("s0", 1, 0, inactive=5), Candidate("s1", 1, 0, inactive=2)],
                     "/b", CLIENT) == "s1"
    assert lblc.pick([Candidate("s0", 0, 0)], "/c", CLIENT) is None


def test_lblc_reschedules_when_cached_server_drained_or_removed() -> None:
    lblc = Lblc(clock=FakeClock())
    lblc.pick(pool(0, 1), "/a", CLIENT)
    assert lblc.pick(pool(0, 1, weights=(0, 1)), "/a", CLIENT) == "s1"
    assert lblc.pick([Candidate("s9", 1)], "/a", CLIENT) == "s9"


def test_lblc_expiration() -> None:
    clock = FakeClock()
    lblc = Lblc(expiration_s=100, clock=clock)
    lblc.pick(pool(0), "/a", CLIENT)
    clock.now += 60
    lblc.pick(pool(0), "/b", CLIENT)
    clock.now += 50
    assert lblc.expire() == 1
    assert (lblc.server_of("/a"), lblc.server_of("/b")) == (None, "s0")


def test_lblc_over_size_drops_idle_entries() -> None:
    clock = FakeClock()
    lblc = Lblc(max_entries=4, clock=clock)
    for n in range(6):
        lblc.pick(pool(0), f"/old{n}", CLIENT)
    clock.now += LBLC_ENTRY_TIMEOUT_S
    lblc.pick(pool(0), "/fresh", CLIENT)
    # 7 entries, 3 over: goal 4 capped at max_entries // 2 = 2 idle entries dropped.
    assert lblc.expire() == 2 and len(lblc) == 5
    assert lblc.server_of("/fresh") == "s0"
    assert lblc.expire() == 1 and len(lblc) == 4
    assert lblc.expire() == 0


def test_lblc_argument_validation() -> None:
    with pytest.raises(ValueError, match="positive"):
        Lblc(expiration_s=0)


def test_factory_and_l4_adapter() -> None:
    assert isinstance(make_content_scheduler("lard", 251), Lard)
    assert isinstance(make_content_scheduler("lblc", 251), Lblc)
    rr = make_content_scheduler("rr", 251)
    assert isinstance(rr, ConnectionScheduler) and rr.name == "rr"
    assert [rr.pick(pool(0, 0), "/same", CLIENT) for _ in range(3)] == ["s0", "s1", "s0"]
    with pytest.raises(ValueError, match="unknown scheduler"):
        make_content_scheduler("nope", 251)
