"""Config validation: every problem reported with its key path, nothing partial."""

import copy
from pathlib import Path

import pytest
import yaml

from controller.config import ConfigError, load_config, parse_config

EXAMPLE = Path(__file__).parents[2] / "controller" / "examples" / "lb.yaml"


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load(EXAMPLE.read_text())


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    return info.value.problems


def test_example_config_loads() -> None:
    config = load_config(EXAMPLE)
    assert [s.name for s in config.services] == ["http", "cache"]
    assert config.service("http").persistence is not None
    assert str(config.service("http").persistence.netmask) == "255.255.255.0"
    assert config.pools["web"][1].weight == 2
    assert config.pipeline.bmv2_json == EXAMPLE.parent / "../../build/lb.json"


def test_bad_vip_names_its_path(raw: dict) -> None:
    raw["services"][0]["vip"] = "10.0.0.300"
    assert problems(raw) == ["services[0].vip: '10.0.0.300' is not an IPv4 address"]


def test_all_problems_are_collected(raw: dict) -> None:
    raw["services"][1]["scheduler"] = "fastest"
    raw["pools"]["web"][0]["mac"] = "00:00:00:00:01"
    raw["switches"][0]["address"] = "nowhere"
    del raw["services"][0]["pool"]
    assert sorted(problems(raw)) == sorted([
        "services[1].scheduler: 'fastest' is not one of rr, wrr, lc, wlc, sh, mh, sed, nq",
        "pools.web[0].mac: '00:00:00:00:01' is not a MAC address (aa:bb:cc:dd:ee:ff)",
        "switches[0].address: 'nowhere' is not a gRPC address HOST:PORT",
        "services[0].pool: is required",
    ])


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda r: r["services"][0].update(pool="nope"), "services[0].pool: unknown pool 'nope'"),
    (lambda r: r["services"][1].update(vip="10.0.0.100", port=80),
     "services[1].vip: 10.0.0.100:80/tcp is already used by service 'http'"),
    (lambda r: r["services"][1].update(name="http"),
     "services[1].name: duplicate service name 'http'"),
    (lambda r: r["services"][0].update(switches=["s9"]),
     "services[0].switches[0]: unknown switch 's9'"),
    (lambda r: r["pools"]["web"][0].update(weight=-1),
     "pools.web[0].weight: -1 is not an integer in [0, 65535]"),
    (lambda r: r["pools"]["web"][0].update(egress_port="uplink"),
     "pools.web[0].egress_port: port 'uplink' is not in switch 's1' ports"),
    (lambda r: r["services"][0]["persistence"].update(netmask="255.0.255.0"),
     "services[0].persistence.netmask: '255.0.255.0' is not a netmask "
     "(use 255.255.255.0 or a prefix length)"),
    (lambda r: r["services"][0].update(colour="red"), "services[0].colour: unknown key"),
    (lambda r: r.update(api={"tcp_port": 9900}),
     "api.token: a token of at least 16 characters is required with tcp_port"),
    (lambda r: r["switches"].append(dict(r["switches"][0])),
     "switches[1].name: duplicate switch name 's1'"),
    (lambda r: r.update(services="http"), "services: expected a list, got str"),
    (lambda r: r["pools"]["web"][0].pop("egress_port"),
     "pools.web[0].egress_port: is required with mac (a directly attached backend needs both)"),
    (lambda r: r["switches"][0]["routes"][0].update(prefix="10.0.0.1/24"),
     "switches[0].routes[0].prefix: '10.0.0.1/24' is not an IPv4 prefix with no host bits "
     "(10.0.0.0/24)"),
    (lambda r: r["switches"][0]["routes"][1].update(egress_port="wan"),
     "switches[0].routes[1].egress_port: port 'wan' is not in this switch's ports"),
    (lambda r: r["switches"][0].pop("router_mac"), "switches[0].router_mac: is required"),
    (lambda r: r["services"][1].update(persistence={"timeout": 5}),
     "services[1].persistence: is not available with scheduler mh (the data plane "
     "schedules every connection on its own)"),
    (lambda r: r["services"][0].update(new_connection_limit={"rate": 0}),
     "services[0].new_connection_limit.rate: 0 is not an integer in [1, 1000000000]"),
    (lambda r: r["services"][1].update(mode="nat", pool="web"),
     "services[1].pool: backend 10.0.1.1:80 already serves NAT service 'http' "
     "(a NAT backend serves one service)"),
])
def test_single_problem(raw: dict, mutate, expected: str) -> None:
    raw = copy.deepcopy(raw)
    mutate(raw)
    assert expected in problems(raw)


def test_routed_backend(raw: dict) -> None:
    raw["pools"]["web"].append({"address": "172.16.0.9", "port": 80})
    backend = parse_config(raw).pools["web"][-1]
    assert (backend.name, backend.mac, backend.egress_port) == ("172.16.0.9:80", None, None)
    raw["services"][0]["mode"] = "dr"
    assert problems(raw) == ["services[0].pool: backend '172.16.0.9:80' has no mac/egress_port: "
                             "DR mode needs directly attached backends"]


def test_capacity(raw: dict) -> None:
    raw["pools"]["big"] = [{"address": f"10.9.{i // 250}.{i % 250 + 1}", "port": 80}
                           for i in range(1000)]
    raw["services"] += [{"name": f"s{i}", "vip": "10.0.0.200", "port": 1000 + i, "pool": "big",
                         "mode": "tun"} for i in range(2)]
    assert problems(raw) == ["pools: 2004 (service, backend) pairs, at most 1023 fit"]


def test_new_connection_limit(raw: dict) -> None:
    raw["services"][0]["new_connection_limit"] = {"rate": 500}
    limit = parse_config(raw).services[0].new_connection_limit
    assert limit is not None and (limit.rate, limit.burst) == (500, 500)


def test_netmask_forms(raw: dict) -> None:
    raw["services"][0]["persistence"]["netmask"] = "255.255.0.0"
    assert str(parse_config(raw).services[0].persistence.netmask) == "255.255.0.0"
    raw["services"][0]["persistence"]["netmask"] = "/16"
    assert str(parse_config(raw).services[0].persistence.netmask) == "255.255.0.0"


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("services: [\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(bad)
    bad.write_text("- 1\n")
    with pytest.raises(ConfigError, match="expected a mapping, got list"):
        load_config(bad)
