"""lbd against a real P4Runtime switch (p4sim-switch running p4src/lb.p4, and
simple_switch_grpc when installed): the rig of switch_rig.py."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import time
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path

import pytest
import yaml
from switch_rig import (
    B1_MAC,
    BIN,
    CLIENT_IF,
    ROUTER_MAC,
    SWITCH_PROGRAMS,
    VIP,
    Rig,
    connection_entries,
    ns_socket,
    send_and_capture,
    sh,
    switch_program,
    tcp_syn,
    wait_for,
)

from controller.api import call
from controller.dataplane import Entry

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                       reason="needs root and iproute2 (network namespaces)"),
    pytest.mark.skipif(importlib.util.find_spec("p4sim.compiler.cli") is None,
                       reason="p4sim-compile is not in this tree yet"),
]


@pytest.fixture(scope="module", params=SWITCH_PROGRAMS)
def rig(request: pytest.FixtureRequest, pipeline: tuple[Path, Path], namespace: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """The whole module runs against the embedded switch, and against BMv2 if installed."""
    program = switch_program(request.param)
    rig = Rig(program, pipeline, tmp_path_factory.mktemp("rig"))
    try:
        rig.switch.start()
        rig.switch2.start()
        rig.lbd.start()
        wait_for(lambda: rig.synced() and rig.synced(rig.switch2), 30,
                 "lbd to program the switches")
        yield rig
    finally:
        rig.lbd.stop()
        rig.switch.stop()
        rig.switch2.stop()



# ----- tests ------------------------------------------------------------------------------
def test_switch_is_programmed_from_the_config(rig: Rig) -> None:
    counts: dict[str, int] = {}
    for e in rig.entries():
        counts[e.table] = counts.get(e.table, 0) + 1
    assert counts == {"router_mac_table": 1, "arp_table": 3, "vip_table": 1,
                      "service_table": 2, "backend_table": 4, "nat_reverse_table": 2,
                      "maglev_table": 251, "nexthop_table": 3, "ipv4_lpm_table": 3}
    services = {dict(e.match)["port"]: dict(e.params) for e in rig.table("service_table")}
    assert services[80]["forwarding_mode"] == 1 and services[80]["scheduler"] == 1
    assert services[443]["forwarding_mode"] == 2 and services[443]["scheduler"] == 2
    # s2 gets the same services except tls, which is scoped to s1
    on_s2 = [dict(e.match)["port"] for e in rig.entries(rig.switch2)
             if e.table == "service_table"]
    assert on_s2 == [80]


@pytest.mark.parametrize("scheduler", ["wrr", "lc", "wlc", "sh", "sed", "nq"])
def test_every_controller_scheduler_pins_connections(rig: Rig, scheduler: str) -> None:
    port = 5000 + ["wrr", "lc", "wlc", "sh", "sed", "nq"].index(scheduler)
    added = rig.lbd.lbctl("service", "add", f"t-{scheduler}", "--vip", VIP, "--port",
                          str(port), "--mode", "dr", "--scheduler", scheduler, "--pool", "tls",
                          "--switch", "s1")
    assert added.returncode == 0, added.stderr
    try:
        assert send_and_capture(tcp_syn(port, 43000)), "the SYN did not reach the server side"
        (conn,) = rig.lbd.lbctl_json("conns", "--service", f"t-{scheduler}")
        assert (conn["backend"], conn["origin"]) == ("b1", "controller")  # b2 is drained
    finally:
        assert rig.lbd.lbctl("service", "del", f"t-{scheduler}").returncode == 0
    assert (43000, port) not in connection_entries(rig)


def test_controller_scheduled_connection(rig: Rig) -> None:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    seen = send_and_capture(tcp_syn(443, 41000))
    assert seen, "the SYN did not reach the server side"
    out = Ether(seen[0])
    # rr over the tls pool: b2 is drained (weight 0), so b1; DR keeps the IP packet
    assert (out.dst, out.src) == (B1_MAC, ROUTER_MAC)
    assert (out[IP].dst, out[TCP].dport, out[IP].ttl) == (VIP, 443, 63)
    conns = rig.lbd.lbctl_json("conns", "--service", "tls")
    assert [(c["client_port"], c["backend"], c["origin"]) for c in conns] == [
        (41000, "b1", "controller")]
    assert (41000, 443) in connection_entries(rig)


def test_new_connection_limit_meters_packet_ins(rig: Rig) -> None:
    added = rig.lbd.lbctl("service", "add", "limited", "--vip", VIP, "--port", "6000",
                          "--mode", "dr", "--scheduler", "rr", "--pool", "tls", "--switch",
                          "s1", "--new-connection-rate", "1", "--new-connection-burst", "1")
    assert added.returncode == 0, added.stderr
    try:
        service_id = next(dict(e.params)["service_id"] for e in rig.table("service_table")
                          if dict(e.match)["port"] == 6000)
        assert rig.meter_config("packet_in_meter", service_id) == (1, 1, 1, 1)
        client = ns_socket(f"{CLIENT_IF}p")
        with client:
            for sport in (44000, 44001, 44002):  # back to back: only the first is green
                client.send(tcp_syn(6000, sport))
        wait_for(lambda: rig.lbd.lbctl_json("conns", "--service", "limited"), 5,
                 "the first connection")
        time.sleep(0.5)
        conns = rig.lbd.lbctl_json("conns", "--service", "limited")
        assert [c["client_port"] for c in conns] == [44000]
    finally:
        assert rig.lbd.lbctl("service", "del", "limited").returncode == 0
    assert rig.meter_config("packet_in_meter", service_id) is None  # reset: always green


def test_maglev_connection_is_pinned_from_the_digest(rig: Rig) -> None:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    seen = send_and_capture(tcp_syn(80, 42000))
    assert seen, "the SYN did not reach the server side"
    out = Ether(seen[0])
    assert out[IP].dst in ("10.0.2.11", "10.0.2.12") and out[TCP].dport == 8080
    wait_for(lambda: (42000, 80) in connection_entries(rig), 5, "the pinned connection")
    (conn,) = rig.lbd.lbctl_json("conns", "--service", "http")
    assert conn["origin"] == "dataplane"
    assert {"10.0.2.11": "b1", "10.0.2.12": "b2"}[out[IP].dst] == conn["backend"]
    (http,) = rig.lbd.lbctl_json("stats", "http")
    backend = next(b for b in http["backends"] if b["name"] == conn["backend"])
    assert http["packets"] == backend["packets"] == 1 and http["bytes"] == len(out) > 0
    assert (http["active"], backend["active"]) == (1, 1)


def test_change_reaches_the_switch_within_100ms(rig: Rig) -> None:
    def b2_buckets() -> int:
        ids = {dict(e.params)["addr"]: dict(e.match)["backend_id"]
               for e in rig.table("backend_table") if dict(e.params)["port"] == 8080}
        b2 = ids[int(IPv4Address("10.0.2.12"))]
        return sum(1 for e in rig.table("maglev_table") if dict(e.params)["backend_id"] == b2)

    assert b2_buckets() > 100
    start = time.monotonic()
    call("backend.drain", {"service": "http", "backend": "b2"}, unix_socket=rig.lbd.socket)
    elapsed = time.monotonic() - start
    assert b2_buckets() == 0
    # The API answers once lbd has written the change to both switches (251-bucket Maglev
    # table rewritten): the round trip bounds the delay.  Budget 100 ms, with slack for a
    # loaded CI machine.
    print(f"drain round trip: {elapsed * 1000:.1f} ms")
    assert elapsed < 0.5
    stats = rig.lbd.lbctl_json("stats", "http")
    assert [b["state"] for b in stats[0]["backends"]] == ["active", "draining"]
    assert rig.lbd.lbctl("backend", "weight", "http", "b2", "1").returncode == 0


def test_controller_restart_adopts_connections_and_repairs(rig: Rig) -> None:
    before = connection_entries(rig)
    assert before, "earlier tests pinned connections"
    rig.lbd.stop()
    # Established connections keep working without the controller: pinned in the switch.
    from scapy.layers.l2 import Ether
    seen = send_and_capture(tcp_syn(443, 41000))
    assert seen and Ether(seen[0]).dst == B1_MAC
    # While lbd is down: a stale VIP appears and a service entry is lost.
    sh(str(BIN / "python"), "-c", _TAMPER, str(rig.switch.port), str(rig.config["pipeline"]
                                                                       ["p4info"]))
    assert any(dict(e.match)["vip"] == int(IPv4Address("10.9.9.9"))
               for e in rig.table("vip_table"))
    rig.lbd.start()
    wait_for(lambda: len(rig.table("service_table")) == 2 and len(rig.table("vip_table")) == 1,
             20, "lbd to repair the switch")
    assert connection_entries(rig) == before
    origins = {c["origin"] for c in rig.lbd.lbctl_json("conns")}
    assert origins == {"adopted"}


def test_removed_backend_serves_its_connections_until_they_end(rig: Rig) -> None:
    (conn,) = rig.lbd.lbctl_json("conns", "--service", "http")
    backend = conn["backend"]
    assert rig.lbd.lbctl("backend", "del", "http", backend).returncode == 0
    (http,) = rig.lbd.lbctl_json("stats", "http")
    assert {b["name"]: b["state"] for b in http["backends"]}[backend] == "retiring"
    assert len(rig.table("backend_table")) == 4  # still reachable for its connection
    assert all(dict(e.params)["backend_id"] != dict(_pinned(rig, 42000).params)["backend_id"]
               for e in rig.table("maglev_table"))
    # The connection ends (idle timeout): the backend goes with it.
    wait_for(lambda: not connection_entries(rig), 35, "idle connections to expire")
    assert rig.lbd.lbctl_json("conns") == []
    wait_for(lambda: len(rig.table("backend_table")) == 3, 5, "the retired backend to go")
    (http,) = rig.lbd.lbctl_json("stats", "http")
    assert [b["name"] for b in http["backends"]] == [n for n in ("b1", "b2") if n != backend]


def _pinned(rig: Rig, client_port: int) -> Entry:
    return next(e for e in rig.table("connection_table")
                if dict(e.match)["client_port"] == client_port)


def test_switch_restart_is_reprogrammed(rig: Rig) -> None:
    rig.switch.stop()
    rig.switch.start()
    wait_for(rig.synced, 30, "lbd to reprogram the restarted switch")
    assert len(rig.table("maglev_table")) == 251


def test_sighup_reapplies_the_config_file(rig: Rig) -> None:
    original = rig.lbd.config.read_text()
    changed = yaml.safe_load(original)
    changed["pools"]["tls"][1]["weight"] = 3
    broken = yaml.safe_load(original)
    broken["services"][0]["vip"] = "10.0.0.300"

    def tls_weights() -> list[int]:
        (tls,) = [s for s in rig.lbd.lbctl_json("service", "list") if s["name"] == "tls"]
        return [b["weight"] for b in tls["backends"]]

    assert rig.lbd.proc is not None
    try:
        rig.lbd.config.write_text(yaml.safe_dump(broken))
        rig.lbd.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload of" in rig.lbd.log.read_text(), 5, "the refusal")
        assert "services[0].vip: '10.0.0.300' is not an IPv4 address" in rig.lbd.log.read_text()
        assert tls_weights() == [1, 0]
        rig.lbd.config.write_text(yaml.safe_dump(changed))
        rig.lbd.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: tls_weights() == [1, 3], 5, "the reloaded weights")
    finally:
        rig.lbd.config.write_text(original)
        rig.lbd.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: tls_weights() == [1, 0], 5, "the original weights")


# Run as a separate process: a primary P4Runtime client that damages the switch state.
_TAMPER = """
import asyncio, sys
from pathlib import Path
from finsy import Switch, SwitchOptions, P4TableEntry, P4TableMatch, P4TableAction

async def main(port, p4info):
    opts = SwitchOptions(p4info=Path(p4info), device_id=1, initial_election_id=20)
    async with Switch("tamper", f"127.0.0.1:{port}", opts) as sw:
        await sw.insert([P4TableEntry("vip_table", match=P4TableMatch(vip="10.9.9.9"),
                                      action=P4TableAction("NoAction"))])
        entries = [e async for e in sw.read(P4TableEntry("service_table"))]
        await sw.delete(entries[:1])

asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
"""
