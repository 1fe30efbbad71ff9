"""Maglev table: full, weighted, deterministic, minimally disrupted by removals."""

from collections import Counter

import pytest

from controller.maglev import maglev_table, permutation_start

SIZE = 251


def test_every_slot_filled_with_equal_shares() -> None:
    table = maglev_table({f"be{i}": 1 for i in range(5)}, SIZE)
    assert len(table) == SIZE
    shares = Counter(table)
    assert set(shares) == {f"be{i}" for i in range(5)}
    assert max(shares.values()) - min(shares.values()) <= 1


def test_weights_set_the_share() -> None:
    table = maglev_table({"a": 1, "b": 2, "c": 3, "drained": 0}, 1009)
    shares = Counter(table)
    assert "drained" not in shares
    for name, weight in {"a": 1, "b": 2, "c": 3}.items():
        assert shares[name] == pytest.approx(1009 * weight / 6, abs=3)


def test_deterministic_and_order_independent() -> None:
    assert maglev_table({"x": 1, "y": 1}) == maglev_table({"y": 1, "x": 1})


def test_permutation_parameters_in_range() -> None:
    for name in ("a", "b", "web-1"):
        offset, skip = permutation_start(name, SIZE)
        assert 0 <= offset < SIZE and 1 <= skip < SIZE


def test_minimal_disruption_on_removal() -> None:
    backends = {f"be{i}": 1 for i in range(10)}
    before = maglev_table(backends, 1009)
    del backends["be3"]
    after = maglev_table(backends, 1009)
    moved = sum(1 for old, new in zip(before, after, strict=True) if old != new and old != "be3")
    assert all(new != "be3" for new in after)
    # Slots of surviving backends move only rarely (paper: a few percent).
    assert moved / 1009 < 0.05


def test_bad_sizes_and_empty() -> None:
    assert maglev_table({"a": 0}) == []
    with pytest.raises(ValueError, match="not a prime"):
        maglev_table({"a": 1}, 250)
    with pytest.raises(ValueError, match="do not fit"):
        maglev_table({f"b{i}": 1 for i in range(4)}, 3)
