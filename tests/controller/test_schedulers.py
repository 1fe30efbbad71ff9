"""Schedulers follow the IPVS selection rules."""

from collections import Counter
from ipaddress import IPv4Address

import pytest

from controller.schedulers import (
    SOURCE_HASH_BUCKETS,
    Candidate,
    make_scheduler,
    source_hash_bucket,
    source_hash_table,
)

CLIENT = IPv4Address("192.0.2.1")


def run(name: str, candidates: list[Candidate], n: int) -> list[str | None]:
    scheduler = make_scheduler(name, 251)
    return [scheduler.pick(candidates, CLIENT) for _ in range(n)]


def test_rr_cycles_and_skips_drained() -> None:
    cands = [Candidate("a", 1), Candidate("b", 0), Candidate("c", 5)]
    assert run("rr", cands, 5) == ["a", "c", "a", "c", "a"]


def test_rr_resumes_after_last_choice_when_pool_changes() -> None:
    scheduler = make_scheduler("rr", 251)
    assert scheduler.pick([Candidate("a", 1), Candidate("b", 1)], CLIENT) == "a"
    assert scheduler.pick([Candidate("z", 1), Candidate("a", 1), Candidate("b", 1)],
                          CLIENT) == "b"


def test_wrr_interleaves_by_gcd() -> None:
    # IPVS example: weights 4, 3, 2 give a a b a b c a b c.
    cands = [Candidate("a", 4), Candidate("b", 3), Candidate("c", 2)]
    assert run("wrr", cands, 9) == list("aababcabc")
    assert Counter(run("wrr", cands, 90)) == {"a": 40, "b": 30, "c": 20}


def test_wrr_gcd_step_and_drain() -> None:
    cands = [Candidate("a", 20), Candidate("b", 10), Candidate("c", 0)]
    assert run("wrr", cands, 6) == list("aabaab")


@pytest.mark.parametrize("name", ["rr", "wrr", "lc", "wlc", "sh", "mh", "sed", "nq"])
def test_nothing_available(name: str) -> None:
    assert run(name, [Candidate("a", 0), Candidate("b", 0)], 1) == [None]
    assert run(name, [], 1) == [None]


def test_lc_ignores_weight_but_not_drain() -> None:
    cands = [Candidate("a", 100, active=3), Candidate("b", 1, active=2),
             Candidate("c", 0, active=0)]
    assert run("lc", cands, 1) == ["b"]
    # active counts 256 times an inactive one
    assert run("lc", [Candidate("a", 1, 1, 0), Candidate("b", 1, 0, 255)], 1) == ["b"]
    assert run("lc", [Candidate("a", 1, 1, 0), Candidate("b", 1, 0, 256)], 1) == ["a"]


def test_wlc_divides_by_weight_and_prefers_first_on_ties() -> None:
    cands = [Candidate("a", 1, active=2), Candidate("b", 3, active=5)]
    assert run("wlc", cands, 1) == ["b"]   # 5/3 < 2/1
    cands = [Candidate("a", 1, active=2), Candidate("b", 2, active=4)]
    assert run("wlc", cands, 1) == ["a"]   # tie


def test_sed_counts_the_new_connection() -> None:
    # wlc would pick b (0 active); sed compares (0+1)/1 with (1+1)/10
    cands = [Candidate("b", 1, active=0), Candidate("a", 10, active=1)]
    assert run("wlc", cands, 1) == ["b"]
    assert run("sed", cands, 1) == ["a"]


def test_nq_prefers_an_idle_backend() -> None:
    cands = [Candidate("a", 10, active=1), Candidate("b", 1, active=0)]
    assert run("nq", cands, 1) == ["b"]
    cands = [Candidate("a", 10, active=1), Candidate("b", 1, active=1)]
    assert run("nq", cands, 1) == ["a"]


def test_sh_is_sticky_and_weighted() -> None:
    cands = [Candidate("a", 1), Candidate("b", 3)]
    table = source_hash_table(cands)
    assert Counter(c.name for c in table) == {"a": SOURCE_HASH_BUCKETS // 4,
                                              "b": 3 * SOURCE_HASH_BUCKETS // 4}
    assert [c.name for c in table[:5]] == ["a", "b", "b", "b", "a"]
    scheduler = make_scheduler("sh", 251)
    clients = [IPv4Address(0x0A000000 + 7919 * i) for i in range(2000)]
    for client in clients[:50]:
        chosen = scheduler.pick(cands, client)
        assert chosen == table[source_hash_bucket(client)].name
        assert scheduler.pick(cands, client) == chosen
    spread = Counter(scheduler.pick(cands, client) for client in clients)
    assert 0.2 < spread["a"] / len(clients) < 0.3


def test_sh_bucket_is_linux_hash_32() -> None:
    # hash_32(val, 8) == (val * 0x61C88647 mod 2**32) >> 24
    assert source_hash_bucket(IPv4Address("0.0.0.1")) == 0x61
    assert source_hash_bucket(IPv4Address("0.0.0.0")) == 0


def test_sh_falls_over_from_a_drained_backend() -> None:
    scheduler = make_scheduler("sh", 251)
    cands = [Candidate("a", 1), Candidate("b", 1)]
    clients = [IPv4Address(f"203.0.113.{i}") for i in range(64)]
    before = {c: scheduler.pick(cands, c) for c in clients}
    drained = [Candidate("a", 0), Candidate("b", 1)]
    after = {c: scheduler.pick(drained, c) for c in clients}
    assert set(after.values()) == {"b"}
    assert all(after[c] == "b" for c in clients if before[c] == "b")


def test_mh_spreads_by_weight() -> None:
    scheduler = make_scheduler("mh", 251)
    cands = [Candidate("a", 1), Candidate("b", 1)]
    spread = Counter(scheduler.pick(cands, IPv4Address(i)) for i in range(0x0A000000,
                                                                          0x0A000000 + 1000))
    assert spread["a"] + spread["b"] == 1000 and min(spread.values()) > 350


def test_unknown_scheduler() -> None:
    with pytest.raises(ValueError, match="unknown scheduler 'fifo'"):
        make_scheduler("fifo", 251)
