"""lbctl tls: TLS services, their SNI/ALPN rules and each switch's session-affinity table,
read from lbd's real state, switch agents and splicer after real TLS handshakes (OpenSSL
through memory BIOs; no switch connected)."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import pytest
from test_l7_tls_splicer import backend_flight, client, connect
from tls_memory import client_context, make_ca, server_context
from tls_memory import handshake as tls_handshake

from controller.api import ApiError
from controller.cli import build_parser, render, request_for
from controller.config import parse_config
from controller.fabric import SwitchFabric
from controller.l7.splicer import InstallSplice
from controller.management import Management
from controller.state import LbState, StateError
from topologies.tls_certs import TlsFiles


def member(name: str, last: int) -> dict[str, Any]:
    return {"name": name, "address": f"10.0.2.{last}", "port": 8080}


def config(pipeline: tuple[Path, Path]) -> dict[str, Any]:
    """Two TLS services (VIP and backends as test_l7_tls_splicer's frames use them) and an
    HTTP l7 service."""
    bmv2_json, p4info = pipeline
    return {
        "pipeline": {"p4info": str(p4info), "bmv2_json": str(bmv2_json)},
        "api": {"unix_socket": "/nonexistent/lbd.sock"},
        "switches": [{"name": "s1", "address": "127.0.0.1:1", "device_id": 1,
                      "ports": {"clients": 1, "servers": 2},
                      "router_mac": "00:00:00:00:01:00", "splice_address": "10.0.2.1",
                      "addresses": ["10.0.1.1"]}],
        "pools": {"api": [member("a1", 11)], "web": [member("w1", 21), member("w2", 22)],
                  "rr": [member("r1", 31), member("r2", 32)],
                  "shop": [member("h1", 41)]},
        "services": [
            {"name": "secure", "vip": "10.0.0.100", "port": 443, "mode": "l7",
             "scheduler": "rr", "tls": {"affinity": "strict", "affinity_timeout": 600},
             "rules": [{"sni": "api.example.com", "pool": "api"},
                       {"sni": "*.img.example.com", "alpn": ["h2"], "pool": "api"}],
             "default_pool": "web"},
            {"name": "secure-rr", "vip": "10.0.0.104", "port": 443, "mode": "l7",
             "scheduler": "rr", "tls": {"affinity": "off", "bad_hello": "reset"},
             "default_pool": "rr"},
            {"name": "shop", "vip": "10.0.0.105", "port": 80, "mode": "l7",
             "default_pool": "shop"}]}


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def lbd(pipeline: tuple[Path, Path]) -> tuple[Management, SwitchFabric]:
    lock = asyncio.Lock()
    state = LbState(parse_config(config(pipeline)))
    fabric = SwitchFabric(state.config, state, lock)
    fabric.agents[0].splicing.refresh_services()  # as a sync does
    return Management(state, fabric, lock), fabric


def lbctl(management: Management, *argv: str) -> tuple[Any, str]:
    method, params = request_for(build_parser().parse_args(list(argv)))
    result = asyncio.run(management.handlers()[method](params))
    return result, render(method, result)


def test_tls_services_rules_and_an_empty_affinity_table(
        lbd: tuple[Management, SwitchFabric]) -> None:
    management, _ = lbd
    result, text = lbctl(management, "tls")
    assert [s["name"] for s in result] == ["secure", "secure-rr"]  # shop is HTTP
    secure, plain = result
    assert secure["affinity"] == "strict" and secure["affinity_timeout"] == 600
    assert secure["rules"][1] == {"sni": "*.img.example.com", "alpn": ["h2"], "pool": "api"}
    assert [t["switch"] for t in secure["tables"]] == ["s1"]
    assert secure["tables"][0]["entries"] == 0 and secure["tables"][0]["size"] == 65536
    assert plain["affinity"] == "off" and plain["tables"] == []
    lines = text.splitlines()
    assert lines[0].split()[:5] == ["SERVICE", "VIRTUAL", "AFFINITY", "TIMEOUT(s)", "SWITCH"]
    assert lines[1].split() == ["secure", "10.0.0.100:443", "strict", "600", "s1", "0/65536",
                                "0", "0", "0", "0", "-", "0", "0"]
    assert lines[2].split() == ["secure-rr", "10.0.0.104:443", "off"] + ["-"] * 10
    assert "secure: rules by SNI/ALPN (first match wins), bad hello -> default" in lines
    assert "secure-rr: rules by SNI/ALPN (first match wins), bad hello -> reset" in lines
    rule_lines = [line.split() for line in lines]
    assert ["1", "api", 'sni="*.img.example.com"', 'alpn=["h2"]'] in rule_lines
    assert ["default", "rr"] in rule_lines
    described = asyncio.run(management.handlers()["service.list"]({}))
    tls = {s["name"]: s["content"]["tls"] for s in described}
    assert tls["secure"]["affinity"] == "strict" and tls["shop"] is None


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_hits_after_resumed_handshakes(lbd: tuple[Management, SwitchFabric], ca: TlsFiles,
                                       version: ssl.TLSVersion) -> None:
    """One full handshake, then three resumptions through the splicer: lbctl tls counts
    three lookups answered (hit rate 100 %), three resumed and one full handshake."""
    management, fabric = lbd
    splicer = fabric.agents[0].splicing.splicer
    context, server = client_context(ca, version=version), server_context(ca)
    first = tls_handshake(context, server)
    syn, home = connect(splicer, first.client_flights[0], client(40001))
    assert isinstance(backend_flight(splicer, syn, first.server_flights[0])[0], InstallSplice)
    kept = []  # OpenSSL drops a session from its cache when an unclosed SSL is freed
    for port in (40002, 40003, 40004):
        again = tls_handshake(context, server, session=first.session)
        kept.append(again)
        assert again.reused
        syn, dst = connect(splicer, again.client_flights[0], client(port))
        assert dst == home
        backend_flight(splicer, syn, again.server_flights[0])
    (secure,), text = lbctl(management, "tls", "secure")
    (table,) = secure["tables"]
    assert (table["lookups"], table["hits"] + table["hints"], table["resumed"],
            table["full"], table["clients"]) == (3, 3, 3, 1, 1)
    assert table["hit_rate"] == 1.0 and table["entries"] >= 1
    row = text.splitlines()[1].split()
    assert row[:5] == ["secure", "10.0.0.100:443", "strict", "600", "s1"]
    assert row[7] == "3" and row[10:] == ["100.0%", "3", "1"]


def test_tls_of_a_service_that_is_not_tls(lbd: tuple[Management, SwitchFabric]) -> None:
    management, _ = lbd
    with pytest.raises(ApiError, match="service 'shop' is not a TLS service"):
        lbctl(management, "tls", "shop")
    with pytest.raises(StateError, match="unknown service .nope."):
        lbctl(management, "tls", "nope")

