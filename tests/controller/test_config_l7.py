"""Config of l7 (content-aware) services: rules, pools, splice settings, key-path errors."""

import copy
from pathlib import Path

import pytest
import yaml

from controller.config import ConfigError, load_config, parse_config
from controller.dataplane import desired_meters
from controller.state import LbState

EXAMPLE = Path(__file__).parents[2] / "controller" / "examples" / "lb.yaml"

L7_SERVICE = {
    "name": "shop", "vip": "10.0.0.102", "port": 80, "mode": "l7", "scheduler": "lard",
    "lard": {"t_low": 10, "t_high": 40},
    "rules": [{"path_prefix": "/static/", "extensions": ["png"], "pool": "static"},
              {"host": "*.api.example", "methods": ["POST"], "pool": "api"}],
    "default_pool": "api", "request_timeout": 5, "max_request_head": 4096,
}


@pytest.fixture
def raw() -> dict:
    raw = yaml.safe_load(EXAMPLE.read_text())
    raw["switches"][0]["splice_address"] = "10.0.1.254"
    raw["pools"]["static"] = [{"name": "st1", "address": "10.0.3.1", "port": 8080}]
    raw["pools"]["api"] = [{"name": "api1", "address": "10.0.3.2", "port": 8080},
                           {"name": "st1", "address": "10.0.3.1", "port": 8080}]
    raw["services"].append(copy.deepcopy(L7_SERVICE))
    return raw


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    return info.value.problems


def test_l7_service_loads_with_its_rules_and_pools(raw: dict) -> None:
    service = parse_config(raw).service("shop")
    assert service.content is not None
    assert service.pool == "api" and service.pools == ("api", "static")
    assert (service.content.lard.low, service.content.lard.high) == (10, 40)
    assert service.content.request_timeout_s == 5.0
    assert service.content.max_request_head == 4096
    assert service.content.raw_rules == tuple(L7_SERVICE["rules"])
    assert [r.pool for r in service.content.rules.rules] == ["static", "api"]
    assert parse_config(raw).switches[0].splice_address is not None


def test_rule_errors_are_merged_with_their_key_paths(raw: dict) -> None:
    raw["services"][2]["rules"][0]["path_regex"] = "(a+)+c"
    raw["services"][2]["rules"][1]["pool"] = "nowhere"
    raw["services"][2]["port"] = 0
    found = problems(raw)
    assert "services[2].port: 0 is not an integer in [1, 65535]" in found
    assert any(p.startswith("services[2].rules[0].path_regex: ") for p in found)
    assert any(p.startswith("services[2].rules[1].pool: unknown pool 'nowhere'")
               for p in found)


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda s, r: s.update(pool="api"),
     "services[2].pool: an l7 service names its pools in rules and default_pool"),
    (lambda s, r: s.update(scheduler="fastest"), "services[2].scheduler: 'fastest' is not "
     "one of rr, wrr, lc, wlc, sh, mh, sed, nq, lard, lblc"),
    (lambda s, r: s.update(protocol="udp"), "services[2].protocol: an l7 service is TCP "
     "(HTTP/1.x or TLS)"),
    (lambda s, r: s.update(lard={"t_low": 50, "t_high": 40}),
     "services[2].lard: t_low (50) must be below t_high (40)"),
    (lambda s, r: s.update(max_request_head=10), "services[2].max_request_head: 10 is not "
     "an integer in [256, 65536]"),
    (lambda s, r: s.update(splice_profile="fast"),
     "services[2].splice_profile: 'fast' is not one of basic, full"),
    (lambda s, r: s.update(rules=[], default_pool=None),
     "services[2].rules: an l7 service needs a rule or a default_pool"),
    (lambda s, r: s.update(persistence={"timeout": 5}),
     "services[2].persistence: is not available for l7 services (use scheduler sh, lard or "
     "lblc for affinity)"),
    (lambda s, r: r["switches"][0].pop("splice_address"),
     "services[2].mode: switch 's1' has no splice_address (needed unless the service is "
     "transparent)"),
    (lambda s, r: r["switches"][0].update(splice_address="10.0.0.102"),
     "services[2].vip: 10.0.0.102 is a switch's splice_address"),
    (lambda s, r: r["pools"]["static"][0].update(port=9),
     "pools.static: backend name 'st1' means two endpoints in the pools of l7 service 'shop'"),
    (lambda s, r: s.update(bogus=1), "services[2].bogus: unknown key"),
])
def test_bad_l7_settings_name_their_key_path(raw: dict, mutate, expected: str) -> None:
    mutate(raw["services"][2], raw)
    assert expected in problems(raw)


def test_transparent_service_needs_no_splice_address(raw: dict) -> None:
    del raw["switches"][0]["splice_address"]
    raw["services"][2]["transparent"] = True
    assert parse_config(raw).service("shop").content.transparent


def test_l7_backend_cannot_also_serve_a_nat_service(raw: dict) -> None:
    raw["pools"]["api"].append({"name": "web1", "address": "10.0.1.1", "port": 80})
    assert any("backend 10.0.1.1:80 already serves NAT service 'http'" in p
               for p in problems(raw))


def test_l7_keys_are_refused_on_l4_services(raw: dict) -> None:
    raw["services"][0]["rules"] = []
    assert problems(raw) == ["services[0].rules: unknown key"]


def test_l7_example_config_loads() -> None:
    config = load_config(EXAMPLE.parent / "l7.yaml")
    service = config.service("shop")
    assert service.content is not None and service.scheduler == "lard"
    assert service.pools == ("web", "static", "api")
    assert str(config.switches[0].splice_address) == "10.0.2.1"


def test_l7_service_may_hash_clients_with_mh_and_be_rate_limited(raw: dict) -> None:
    raw["services"][2].update(scheduler="mh", new_connection_limit={"rate": 100})
    del raw["services"][2]["lard"]
    config = parse_config(raw)
    service = config.service("shop")
    assert service.scheduler == "mh" and service.new_connection_limit is not None
    state = LbState(config)
    assert desired_meters(state, config.switches[0])[state.service_id(service)] == (100, 100)



def test_tls_services_port_443_sni_rules_and_settings(raw: dict) -> None:
    from controller.config import TlsConfig

    def config(**settings: object) -> dict:
        tree = copy.deepcopy(raw)
        tree["pools"]["secure"] = [{"name": "tls1", "address": "10.0.3.9", "port": 443}]
        service = {"name": "secure", "mode": "l7", "vip": "10.0.0.109", "port": 443,
                   "rules": [{"sni": "*.example.com", "alpn": ["h2"], "pool": "secure"}],
                   "default_pool": "secure"}
        service.update(settings)
        tree["services"].append(service)
        return tree

    def secure(tree: dict) -> object:
        return parse_config(tree).service("secure").content

    content = secure(config())
    assert content.tls == TlsConfig()  # type: ignore[attr-defined]
    rule = content.rules.rules[0]  # type: ignore[attr-defined]
    assert rule.sni is not None and rule.sni.wildcard and rule.alpn == {"h2"}
    tuned = secure(config(port=8443, tls={"affinity": "preferred", "affinity_timeout": 60}))
    assert tuned.tls == TlsConfig("preferred", 60.0)  # type: ignore[attr-defined]
    assert secure(config(port=8443, rules=[{"host": "a.example", "pool": "secure"}])
                  ).tls is None  # type: ignore[attr-defined]
    found = problems(config(tls={"affinity": "sticky", "colour": 1},
                            rules=[{"host": "a.example", "pool": "secure"}]))
    text = "\n".join(found)
    assert "services[3].tls.affinity" in text and "services[3].tls.colour" in text
    assert "services[3].rules[0].host: unknown key (an HTTP condition: a TLS service sees " \
        "only the ClientHello)" in text
    assert any("rules[0].sni: unknown key (a TLS condition" in p
               for p in problems(config(tls=False)))
