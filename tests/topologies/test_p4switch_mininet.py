"""Mininet with the P4Switch class on the embedded target, running tests/ptf/smoke/basic.p4.

Two hosts in different subnets route through the switch: ping and an HTTP fetch must work once
the routes are written over P4Runtime, and nothing may pass before.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from base.p4runtime_client import P4RuntimeClient, ipv4, mac
from base.p4runtime_test import load_p4info
from mininet.net import Mininet
from mininet.node import Host

from topologies import runs
from topologies.lb_network import free_tcp_ports
from topologies.p4build import compile_program
from topologies.p4switch import P4Switch
from topologies.switch_process import Target

BASIC_P4 = Path(__file__).resolve().parent.parent / "ptf" / "smoke" / "basic.p4"
ROUTER_MAC = "02:aa:00:00:00:01"
HOSTS = {  # name: (address/len, mac, gateway, switch port)
    "h1": ("10.1.0.1/24", "02:00:0a:01:00:01", "10.1.0.254", 1),
    "h2": ("10.1.1.1/24", "02:00:0a:01:01:01", "10.1.1.254", 2),
}


@pytest.fixture
def network(as_root: None, tmp_path: Path) -> Iterator[tuple[Any, P4RuntimeClient]]:
    program = compile_program(BASIC_P4, tmp_path / "build", Target.EMBEDDED)
    tag = secrets.token_hex(2)  # names this run's root-namespace interfaces
    (grpc_port,) = free_tcp_ports(1)
    net = Mininet(controller=None, build=False, autoSetMacs=False, waitConnected=False)
    try:
        switch = net.addSwitch("s1", cls=P4Switch, grpc_port=grpc_port, device_id=1,
                               log_dir=str(tmp_path))
        for name, (cidr, hw, _, port) in HOSTS.items():
            host = net.addHost(name, cls=Host, ip=cidr, mac=hw)
            net.addLink(host, switch, port2=port, intfName1=f"{name}-eth0",
                        intfName2=f"lb{tag}p{port}")
        net.build()
        net.start()
        for name, (_, _, gateway, _) in HOSTS.items():
            host = net[name]
            host.cmd(f"ip route replace default via {gateway}")
            # basic.p4 does not answer ARP: the gateway's MAC is static.
            host.cmd(f"ip neigh replace {gateway} lladdr {ROUTER_MAC} dev {name}-eth0")
        client = P4RuntimeClient(switch.grpc_addr, device_id=1)
        try:
            client.set_pipeline(load_p4info(program.p4info_path), program.json_path.read_bytes())
            yield net, client
        finally:
            client.close()
    finally:
        net.stop()
        runs.remove_interfaces(tag)


def add_host_routes(client: P4RuntimeClient) -> None:
    for cidr, hw, _, port in HOSTS.values():
        client.insert("SmokeIngress.ipv4_routes",
                      {"hdr.ipv4.dst_addr": (ipv4(cidr.split("/")[0]), 32)},
                      "SmokeIngress.forward",
                      {"dst_mac": mac(hw), "src_mac": mac(ROUTER_MAC), "port": port})


@pytest.mark.timeout(90)
def test_hosts_reach_each_other_only_through_programmed_routes(
        network: tuple[Any, P4RuntimeClient]) -> None:
    net, client = network
    h1, h2 = net["h1"], net["h2"]
    assert "100% packet loss" in h1.cmd("ping -c 1 -W 1 10.1.1.1")  # table empty: dropped
    add_host_routes(client)
    assert " 0% packet loss" in h1.cmd("ping -c 3 -i 0.2 -W 2 10.1.1.1")
    # Bound to the wildcard: http.server looks up the FQDN of a specific address, which waits
    # for DNS timeouts inside a namespace without a resolver.
    server = h2.popen([sys.executable, "-m", "http.server", "8000", "--bind", "0.0.0.0"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        reply = ""
        for _ in range(50):
            reply = h1.cmd("curl -s -m 2 -o /dev/null -w '%{http_code}' http://10.1.1.1:8000/")
            if reply.strip() == "200":
                break
            h1.cmd("sleep 0.1")
        assert reply.strip() == "200"
    finally:
        server.terminate()
        server.wait()
