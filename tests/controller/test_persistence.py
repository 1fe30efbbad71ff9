"""Persistence templates: per client network, expiring, dropped for drained backends."""

from ipaddress import IPv4Address

from controller.persistence import PersistenceTable

MASK24 = IPv4Address("255.255.255.0")


def test_same_network_same_backend_until_timeout() -> None:
    table = PersistenceTable()
    table.record("web", IPv4Address("192.0.2.10"), MASK24, "a", timeout=30, now=100)
    assert table.lookup("web", IPv4Address("192.0.2.99"), MASK24, now=120) == "a"
    assert table.lookup("web", IPv4Address("192.0.3.10"), MASK24, now=120) is None
    assert table.lookup("other", IPv4Address("192.0.2.10"), MASK24, now=120) is None
    assert table.lookup("web", IPv4Address("192.0.2.10"), MASK24, now=130) is None


def test_refresh_expire_and_forget() -> None:
    table = PersistenceTable()
    table.record("web", IPv4Address("192.0.2.10"), MASK24, "a", timeout=30, now=0)
    table.record("web", IPv4Address("192.0.2.11"), MASK24, "a", timeout=30, now=20)
    assert table.lookup("web", IPv4Address("192.0.2.1"), MASK24, now=45) == "a"
    table.record("web", IPv4Address("198.51.100.1"), MASK24, "b", timeout=5, now=20)
    assert table.expire(now=30) == 1 and len(table) == 1
    table.forget_backend("web", "a")
    assert len(table) == 0
    table.record("web", IPv4Address("192.0.2.10"), MASK24, "a", timeout=30, now=0)
    table.forget_service("web")
    assert len(table) == 0
