"""Content rules through the management API and lbctl: list, add, delete, default pool."""

import asyncio
import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.api import ApiError
from controller.cli import build_parser, main, render, request_for
from controller.config import ConfigError, parse_config
from controller.l7.rules import RulesError
from controller.management import Management
from controller.state import LbState

EXAMPLE = Path(__file__).parents[2] / "controller" / "examples" / "lb.yaml"


class QuietFabric:
    def __init__(self) -> None:
        self.pushes = 0

    async def sync(self) -> dict[str, str]:
        self.pushes += 1
        return {"s1": "ok"}

    async def traffic(self) -> dict[tuple[str, str], tuple[int, int]]:
        return {}


@pytest.fixture
def management() -> Management:
    raw = yaml.safe_load(EXAMPLE.read_text())
    raw["switches"][0]["splice_address"] = "10.0.1.254"
    raw["pools"]["static"] = [{"name": "st1", "address": "10.0.3.1", "port": 8080}]
    raw["pools"]["app"] = [{"name": "app1", "address": "10.0.3.2", "port": 8080}]
    raw["services"].append({"name": "shop", "vip": "10.0.0.102", "port": 80, "mode": "l7",
                            "rules": [{"path_prefix": "/static/", "pool": "static"}],
                            "default_pool": "app"})
    return Management(LbState(parse_config(copy.deepcopy(raw))), QuietFabric(),
                      asyncio.Lock())


def call(management: Management, argv: list[str]) -> tuple[str, Any]:
    method, params = request_for(build_parser().parse_args(argv))
    return method, asyncio.run(management.handlers()[method](params))


def test_rules_are_listed_added_and_deleted_in_order(management: Management) -> None:
    method, result = call(management, ["rule", "add", "shop", "--pool", "static",
                                       "--extension", "png", "--extension", "jpg",
                                       "--header", "X-Tenant=gold", "--position", "0"])
    assert method == "rule.add" and result == {"switches": {"s1": "ok"}}
    method, listed = call(management, ["rule", "list", "shop"])
    assert listed["rules"] == [
        {"pool": "static", "extensions": ["png", "jpg"],
         "headers": [{"name": "X-Tenant", "value": "gold"}]},
        {"path_prefix": "/static/", "pool": "static"}]
    table = render(method, listed).splitlines()
    assert table[0].split() == ["RULE", "POOL", "CONDITIONS"]
    assert table[-1].split() == ["default", "app"]
    call(management, ["rule", "del", "shop", "1"])
    call(management, ["rule", "default", "shop"])
    service = management.state.service("shop")
    assert service.content is not None and service.content.default_pool is None
    assert [r.pool for r in service.content.rules.rules] == ["static"]
    assert service.pools == ("static",) and service.pool == "static"


def test_bad_rules_change_nothing(management: Management) -> None:
    before = management.state.config
    with pytest.raises(RulesError) as info:
        call(management, ["rule", "add", "shop", "--pool", "nowhere", "--path-regex", "(a+)+"])
    assert any(p.startswith("rules[1].pool: unknown pool 'nowhere'")
               for p in info.value.problems)
    assert any(p.startswith("rules[1].path_regex: ") for p in info.value.problems)
    with pytest.raises(ApiError, match="index: 5 is not a rule of service 'shop'"):
        call(management, ["rule", "del", "shop", "5"])
    with pytest.raises(ApiError, match="'http' is not an l7 service"):
        call(management, ["rule", "list", "http"])
    call(management, ["rule", "del", "shop", "0"])
    with pytest.raises(ApiError, match="needs a rule or a default pool"):
        call(management, ["rule", "default", "shop"])
    assert management.state.config.service("shop").pools == ("app",)
    assert before.service("http") == management.state.config.service("http")


def test_l7_service_added_from_lbctl(management: Management) -> None:
    call(management, ["service", "add", "blog", "--vip", "10.0.0.103", "--port", "80",
                      "--mode", "l7", "--scheduler", "lblc", "--pool", "app"])
    service = management.state.service("blog")
    assert service.content is not None and service.content.default_pool == "app"
    method, listed = call(management, ["service", "list"])
    row = next(line for line in render(method, listed).splitlines()
               if line.startswith("blog"))
    assert row.split()[2:4] == ["l7", "lblc"]
    with pytest.raises(ConfigError, match="service.scheduler: 'lard' is not one of"):
        call(management, ["service", "add", "x", "--vip", "10.0.0.104", "--port", "80",
                          "--scheduler", "lard", "--pool", "web"])


def test_pool_is_required_for_l4_services_only(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["service", "add", "x", "--vip", "10.0.0.1", "--port", "1"])
    assert info.value.code == 2
    assert "--pool is required" in capsys.readouterr().err
