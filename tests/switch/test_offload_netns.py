"""A real TCP transfer through ``p4sim-switch`` with the veths' offloads on: the switch
receives GSO super-segments, forwards them as such with a partial checksum it recomputed,
and the receiver gets every byte."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from finsy.proto import p4i
from google.protobuf import text_format
from scapy.layers.inet import IP, TCP
from scapy.utils import checksum, rdpcap

from bench.switch_pps import EntrySpec, program_switch
from tests.switch.netns_testlib import can_create_namespaces, ip
from topologies.p4build import compile_program
from topologies.switch_process import Target, embedded_switch_path

pytestmark = pytest.mark.skipif(not can_create_namespaces(), reason="needs root and iproute2")

REPO = Path(__file__).resolve().parents[2]
SWITCH, A, B = "p4osw", "p4oa", "p4ob"
HOSTS = {A: ("s1", "10.0.1.1", "02:00:00:00:01:01", "10.0.2.0/24"),
         B: ("s2", "10.0.2.1", "02:00:00:00:02:01", "10.0.1.0/24")}
TRANSFER_MB = 8


def netns_exec(namespace: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", namespace, *argv]


@pytest.fixture
def lab() -> Iterator[None]:
    for namespace in (SWITCH, A, B):
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        ip("netns", "add", namespace)
    try:
        for host, (port, address, mac, other) in HOSTS.items():
            ip("-n", SWITCH, "link", "add", port, "type", "veth", "peer", "name", "eth0",
               "netns", host)
            ip("-n", host, "link", "set", "eth0", "address", mac)
            ip("-n", host, "addr", "add", f"{address}/24", "dev", "eth0")
            for namespace, name in ((SWITCH, port), (host, "eth0")):
                subprocess.run(netns_exec(namespace, "sysctl", "-qw",
                                          f"net.ipv6.conf.{name}.disable_ipv6=1"),
                               capture_output=True)
                ip("-n", namespace, "link", "set", name, "up")
            ip("-n", host, "link", "set", "lo", "up")
            gateway = address.rsplit(".", 1)[0] + ".254"
            ip("-n", host, "route", "add", other, "via", gateway)
            ip("-n", host, "neigh", "add", gateway, "lladdr", "02:00:00:00:00:fe", "dev", "eth0")
        yield
    finally:
        for namespace in (SWITCH, A, B):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)


SERVER = textwrap.dedent("""
    import hashlib, socket
    s = socket.socket()
    s.bind(("10.0.2.1", 5001))
    s.listen(1)
    s.settimeout(20)
    c, _ = s.accept()
    c.settimeout(20)
    h = hashlib.sha256()
    while data := c.recv(1 << 20):
        h.update(data)
    c.sendall(h.hexdigest().encode())
""")
CLIENT = textwrap.dedent(f"""
    import hashlib, os, socket, time
    data = os.urandom({TRANSFER_MB} << 20)
    for _ in range(50):
        try:
            c = socket.create_connection(("10.0.2.1", 5001), timeout=20)
            break
        except OSError:
            time.sleep(0.1)
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    print(c.recv(100).decode() == hashlib.sha256(data).hexdigest())
""")


def test_tcp_super_segments_cross_the_switch_intact(lab: None, tmp_path: Path) -> None:
    files = compile_program(REPO / "bench" / "basic.p4", tmp_path, Target.EMBEDDED)
    p4info = text_format.Parse(files.p4info_path.read_text(), p4i.P4Info())
    pcap = tmp_path / "pcap"
    pcap.mkdir()
    socket_path = tmp_path / "switch.sock"
    switch = subprocess.Popen(
        netns_exec(SWITCH, embedded_switch_path(), str(files.json_path), "-i", "1@s1",
                   "-i", "2@s2", "--pcap", str(pcap), "--",
                   "--grpc-server-addr", f"unix:{socket_path}"),
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        table, action = "BasicIngress.ipv4_lpm", "BasicIngress.ipv4_forward"
        program_switch(f"unix:{socket_path}", files.json_path, p4info, [
            EntrySpec(table, ((0x0A000200, 24),), action, (0x020000000201, 2)),
            EntrySpec(table, ((0x0A000100, 24),), action, (0x020000000101, 1))])
        server = subprocess.Popen(netns_exec(B, sys.executable, "-c", SERVER))
        client = subprocess.run(netns_exec(A, sys.executable, "-c", CLIENT),
                                capture_output=True, text=True, timeout=60)
        server.wait(20)
        assert client.stdout.strip() == "True", client.stderr
    finally:
        switch.terminate()
        switch.wait(10)
    received = rdpcap(str(pcap / "s1_in.pcap"))
    sent = rdpcap(str(pcap / "s2_out.pcap"))
    big_in = [p for p in received if len(p) > 1514]
    big_out = [p for p in sent if len(p) > 1514]
    assert big_in, "no GSO super-segment reached the switch"
    assert len(big_out) == len(big_in)  # forwarded as super-segments, not segmented
    for frame in big_out[:20]:
        # the partial checksum: the pseudo-header sum of what was sent, not complemented
        ipv4 = frame[IP]
        pseudo = bytes(ipv4)[12:20] + bytes([0, 6]) + (ipv4.len - 20).to_bytes(2)
        assert frame[TCP].chksum == ~checksum(pseudo) & 0xFFFF
        assert ipv4.ttl == 63 and ipv4.len == len(frame) - 14
        header = IP(bytes(ipv4)[:20])
        del header.chksum
        assert IP(bytes(header)).chksum == ipv4.chksum  # the program's own update
