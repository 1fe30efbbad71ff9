"""Addressing plan, generated lbd config, switch command lines and traffic parsing (no root)."""

from __future__ import annotations

import struct
from collections import Counter
from pathlib import Path

import pytest

from controller.config import parse_config
from topologies.addressing import MODES, site_plan
from topologies.ipip_decap import inner_datagram
from topologies.lbd_config import lbd_config, service_name
from topologies.switch_process import SwitchConfig, Target
from topologies.traffic import FAILED, fetch_many, spread_table


def test_site_plans_do_not_overlap() -> None:
    sites = [site_plan(0, 3, 4, 50001), site_plan(1, 3, 4, 50002, name_prefix="s2")]
    hosts = [host for site in sites for host in site.hosts]
    assert len({h.ip for h in hosts}) == len({h.mac for h in hosts}) == len(hosts) == 14
    assert len({h.name for h in hosts}) == len(hosts)
    first = sites[0]
    assert [h.port for h in first.hosts] == list(range(1, 8))
    assert first.clients[0].gateway == "10.0.0.1" and first.backends[0].gateway == "10.0.1.254"
    assert first.backends[0].mac == "02:00:0a:00:01:01"
    assert set(first.vips) == set(MODES)
    assert not {sites[0].vips[m] for m in MODES} & {sites[1].vips[m] for m in MODES}


@pytest.mark.parametrize("clients, backends", [(0, 1), (1, 0), (81, 1), (1, 201)])
def test_site_plan_rejects_out_of_range_sizes(clients: int, backends: int) -> None:
    with pytest.raises(ValueError, match="between"):
        site_plan(0, clients, backends, 50001)


def test_generated_lbd_config_is_valid_for_the_controller(tmp_path: Path) -> None:
    sites = [site_plan(0, 2, 3, 50001), site_plan(1, 1, 2, 50002, name_prefix="s2")]
    raw = lbd_config(sites, p4info=tmp_path / "lb.p4info.txtpb", bmv2_json=tmp_path / "lb.json",
                     api_socket=tmp_path / "lbd.sock", modes=MODES, scheduler="rr")
    config = parse_config(raw)
    assert [s.name for s in config.switches] == ["s1", "s2"]
    assert len(config.services) == 8
    l7 = config.service(service_name(sites[0], "l7"))
    assert l7.mode == "l7" and str(config.switches[0].splice_address) == "10.0.1.254"
    http_dr = config.service(service_name(sites[1], "dr"))
    assert str(http_dr.vip) == "10.0.2.101" and http_dr.switches == ("s2",)
    assert [b.name for b in config.pools["web-s1"]] == ["b1", "b2", "b3"]


def test_embedded_and_bmv2_command_lines_place_the_cpu_port_as_each_expects(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}")
    base = dict(ports=[(1, "a"), (2, "b")], grpc_port=50001, device_id=3, cpu_port=255)
    embedded = SwitchConfig(target=Target.EMBEDDED, offload=True,
                            **base).argv()  # type: ignore[arg-type]
    assert embedded[1:] == ["-i", "1@a", "-i", "2@b", "--device-id", "3", "--log-console",
                            "--cpu-port", "255", "--no-p4",
                            "--", "--grpc-server-addr", "127.0.0.1:50001"]
    exact = SwitchConfig(target=Target.EMBEDDED, offload=False,
                         **base).argv()  # type: ignore[arg-type]
    assert exact[1:] == ["-i", "1@a", "-i", "2@b", "--device-id", "3", "--log-console",
                         "--cpu-port", "255", "--no-offload", "--no-p4",
                         "--", "--grpc-server-addr", "127.0.0.1:50001"]
    bmv2 = SwitchConfig(target=Target.BMV2, json_path="p.json", thrift_port=9091, offload=True,
                        **base).argv()  # type: ignore[arg-type]
    assert bmv2 == ["/usr/bin/simple_switch_grpc", "-i", "1@a", "-i", "2@b", "--device-id", "3",
                    "--log-console", "--thrift-port", "9091", "p.json",
                    "--", "--grpc-server-addr", "127.0.0.1:50001", "--cpu-port", "255"]


def ipv4_header(payload_len: int, protocol: int) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, 0, 0, 64, protocol, 0,
                       bytes([10, 0, 0, 100]), bytes([10, 0, 1, 1]))


def test_ipip_decap_extracts_the_inner_datagram_and_rejects_garbage() -> None:
    inner = ipv4_header(4, 6) + b"abcd"
    outer = ipv4_header(len(inner), 4) + inner
    assert inner_datagram(outer + b"trailer") == inner
    assert inner_datagram(ipv4_header(len(inner), 17) + inner) is None  # not IPIP
    assert inner_datagram(outer[:30]) is None  # truncated
    assert inner_datagram(b"\x60" + outer[1:]) is None  # IPv6 version nibble
    assert inner_datagram(ipv4_header(4, 4) + b"abcd") is None  # inner too short


class CannedHost:
    """Stands in for a Mininet host: returns a fixed curl output."""

    def __init__(self, output: str) -> None:
        self.output = output
        self.commands: list[str] = []

    def cmd(self, command: str) -> str:
        self.commands.append(command)
        return self.output


def test_fetch_many_attributes_each_transfer_and_counts_failures() -> None:
    host = CannedHost("backend b1 10.0.1.1\r\n\n200\nbackend b2 10.0.1.2\n\n200\n\n000\n")
    assert fetch_many(host, "http://10.0.0.100/", 4) == ["b1", "b2", FAILED, FAILED]
    assert "Connection: close" in host.commands[0]
    assert host.commands[0].count("http://10.0.0.100/") == 4


def test_spread_table_shows_counts_and_shares() -> None:
    table = spread_table({"nat": Counter({"b1": 3, "b2": 1})}, ["b1", "b2"])
    header, row = table.splitlines()
    assert header.split() == ["mode", "b1", "b2", FAILED, "total"]
    assert row.split() == ["nat", "3", "75%", "1", "25%", "0", "0%", "4"]
