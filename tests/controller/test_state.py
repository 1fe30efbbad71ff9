"""Desired state: scheduling with persistence, drain, retiring backends, all-or-nothing."""

from ipaddress import IPv4Address
from pathlib import Path

import pytest

from controller.config import Backend, ConfigError, load_config
from controller.state import FlowKey, LbState, StateError

EXAMPLE = Path(__file__).parents[2] / "controller" / "examples" / "lb.yaml"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> LbState:
    return LbState(load_config(EXAMPLE), clock=clock)


def flow(client: str, sport: int = 40000, vip: str = "10.0.0.100", vport: int = 80) -> FlowKey:
    return FlowKey(IPv4Address(client), sport, IPv4Address(vip), vport, 6)


def test_wlc_balances_by_weight_and_pins(state: LbState) -> None:
    chosen = [state.schedule("s1", flow(f"192.0.{i}.1")).backend for i in range(6)]
    assert chosen.count("web2") == 4 and chosen.count("web1") == 2
    assert state.active_connections("http", "web2") == 4
    assert state.schedule("s1", flow("192.0.0.1")).backend == chosen[0]  # already pinned


def test_unknown_flow_is_not_scheduled(state: LbState) -> None:
    assert state.schedule("s1", flow("192.0.2.1", vport=81)) is None


def test_persistence_keeps_client_network_on_one_backend(state: LbState, clock: Clock) -> None:
    first = state.schedule("s1", flow("192.0.2.1", 1000)).backend
    same = {state.schedule("s1", flow("192.0.2.77", p)).backend for p in range(2000, 2010)}
    assert same == {first}
    clock.now += 301
    state.expire()
    others = {state.schedule("s1", flow("192.0.2.1", p)).backend for p in range(3000, 3010)}
    assert len(others) >= 1


def test_drain_stops_new_connections_only(state: LbState) -> None:
    conn = state.schedule("s1", flow("192.0.2.1"))
    state.set_weight("http", conn.backend, 0)
    assert state.connections[("s1", conn.flow)].backend == conn.backend
    later = {state.schedule("s1", flow(f"198.51.{i}.1")).backend for i in range(5)}
    assert conn.backend not in later


def test_removal_waits_for_connections_then_times_out(state: LbState, clock: Clock) -> None:
    conns = [state.schedule("s1", flow(f"192.0.{i}.1")) for i in range(4)]
    victim = conns[0].backend
    victim_id = state.backend_id(state.service("http"), victim)
    state.remove_backend("http", victim)
    assert victim not in [b.name for b in state.pool_backends(state.service("http"))]
    assert victim in [b.name for b in state.backends_in_use(state.service("http"))]
    assert state.backend_id(state.service("http"), victim) == victim_id
    mine = [c for c in conns if c.backend == victim]
    state.unpin("s1", mine[0].flow)
    if len(mine) > 1:
        clock.now += 301
        dropped = state.expire()
        assert {c.flow for c in dropped} == {c.flow for c in mine[1:]}
    assert not state.retiring
    assert victim not in [b.name for b in state.backends_in_use(state.service("http"))]


def test_idle_backend_is_removed_at_once(state: LbState) -> None:
    state.remove_backend("http", "web1")
    assert not state.retiring


def test_add_service_and_backend_validate(state: LbState) -> None:
    service = state.service("http")
    with pytest.raises(ConfigError, match="already used by service 'http'"):
        state.add_service(service.__class__(**{**service.__dict__, "name": "copy"}))
    backend = Backend("web3", IPv4Address("10.0.1.3"), 80, "00:00:00:00:01:03", "nowhere")
    with pytest.raises(ConfigError, match="port 'nowhere' is not in switch 's1' ports"):
        state.add_backend("http", backend)
    with pytest.raises(StateError, match="unknown service 'nope'"):
        state.remove_service("nope")
    with pytest.raises(StateError, match="has no backend 'ghost'"):
        state.set_weight("http", "ghost", 1)
    before = state.version
    state.add_backend("http", Backend("web3", IPv4Address("10.0.1.3"), 80,
                                      "00:00:00:00:01:03", "servers"))
    assert state.version > before
    assert state.backend_id(service, "web3") not in {state.backend_id(service, "web1"),
                                                      state.backend_id(service, "web2")}


def test_apply_config_replaces_services(state: LbState) -> None:
    state.schedule("s1", flow("192.0.2.1"))
    new = load_config(EXAMPLE)
    new = new.__class__(**{**new.__dict__, "services": new.services[1:]})
    state.apply_config(new)
    assert [s.name for s in state.config.services] == ["cache"]
    assert not state.connections


def test_pin_from_dataplane_checks_backend(state: LbState) -> None:
    key = flow("192.0.2.1", vip="10.0.0.101", vport=8080)
    assert state.pin("s1", key, "cache2", "dataplane").service == "cache"
    with pytest.raises(StateError, match="no backend 'web1'"):
        state.pin("s1", key, "web1", "dataplane")
    with pytest.raises(StateError, match="does not belong to any service"):
        state.pin("s1", flow("192.0.2.1", vport=1), "web1", "dataplane")


def test_connections_to_vanished_backends_are_forgotten(state: LbState) -> None:
    conn = state.pin("s1", flow("192.0.2.1", vip="10.0.0.101", vport=8080), "cache1",
                     "dataplane")
    new = load_config(EXAMPLE)
    moved = [s if s.name != "cache" else s.__class__(**{**s.__dict__, "pool": "web",
                                                       "mode": "tun"})
             for s in new.services]
    state.apply_config(new.__class__(**{**new.__dict__, "services": tuple(moved)}))
    assert ("s1", conn.flow) not in state.connections
    assert state.backend_ids.find(state.backend_id(state.service("cache"), "web1")) == (
        "cache", "web1")


def test_ids_are_taken_over_from_a_switch(state: LbState) -> None:
    http = state.service("http")
    fresh = {name: state.backend_id(http, name) for name in ("web1", "web2")}
    # A switch programmed by an earlier lbd used other ids; unknown names are ignored.
    state.adopt_ids({"http": 7}, {("http", "web1"): fresh["web2"], ("http", "web2"): 40,
                                  ("gone", "x"): 41})
    assert state.service_id(http) == 7 and state.ids_adopted
    assert state.backend_id(http, "web1") == fresh["web2"]
    assert state.backend_id(http, "web2") == 40
    assert state.backend_ids.find(41) is None
    ids = [state.backend_id(s, b.name) for s in state.config.services
           for b in state.backends_in_use(s)]
    assert len(set(ids)) == len(ids)  # still one id per (service, backend)
    assert state.service_by_id(7) == http and state.backend_by_id(40) == (http, "web2")
