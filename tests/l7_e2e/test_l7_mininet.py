"""End to end in Mininet (topologies/l7.py): real curl, wrk, nginx and Linux TCP through the
embedded P4 switch and lbd.  Root only; one network for the whole file (about 2.5 minutes
on 2 cores, 10,000 connections and two 100 MiB downloads included).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from finsy.proto import p4i, p4r, p4r_grpc
from google.protobuf import text_format

pytestmark = pytest.mark.timeout(300)

SPLICE_TABLES = ("IngressPipe.splice.splice_to_server_table",
                 "IngressPipe.splice.splice_to_client_table")
CONNECTION_TABLE = "IngressPipe.connections.connection_table"
SERVICE_TABLE = "IngressPipe.service.service_table"
PACKET_IN_COUNTER = "IngressPipe.controller.packet_in_counter"
DROP_COUNTER = "IngressPipe.counters.drop_counter"
DROP_PACKET_IN_METER = 8  # drop_counter index of packet-ins the meter refused (dataplane.md)


def _why_not_runnable() -> str | None:
    if os.geteuid() != 0:
        return "Mininet needs root"
    for tool in ("/usr/sbin/nginx", "/usr/bin/curl", "/usr/bin/wrk", "/usr/sbin/tc"):
        if not Path(tool).exists():
            return f"{tool} is not installed"
    if shutil.which("ip") is None:
        return "iproute2 is not installed"
    return None


class SwitchView:
    """Reads of one switch over P4Runtime (a second client; lbd stays primary)."""

    def __init__(self, grpc_port: int, p4info_path: Path, device_id: int = 1) -> None:
        self.address = f"127.0.0.1:{grpc_port}"
        self.device_id = device_id
        self.p4info = text_format.Parse(p4info_path.read_text(), p4i.P4Info())
        self.table_ids = {t.preamble.name: t.preamble.id for t in self.p4info.tables}
        self.counter_ids = {c.preamble.name: c.preamble.id for c in self.p4info.counters}

    def _read(self, entity: p4r.Entity) -> list[p4r.Entity]:
        with grpc.insecure_channel(self.address) as channel:
            stub = p4r_grpc.P4RuntimeStub(channel)
            request = p4r.ReadRequest(device_id=self.device_id, entities=[entity])
            return [e for reply in stub.Read(request, timeout=20) for e in reply.entities]

    def entries(self, table: str) -> list[p4r.TableEntry]:
        found = self._read(p4r.Entity(table_entry=p4r.TableEntry(
            table_id=self.table_ids[table])))
        return [e.table_entry for e in found]

    def sizes(self) -> dict[str, int]:
        """Entries in the splice tables and the connection table."""
        return {name: len(self.entries(name)) for name in (*SPLICE_TABLES, CONNECTION_TABLE)}

    def counter(self, name: str, index: int) -> int:
        return self.counter_data(name, index)[0]

    def counter_data(self, name: str, index: int) -> tuple[int, int]:
        """(packets, bytes) of one counter cell."""
        (found,) = self._read(p4r.Entity(counter_entry=p4r.CounterEntry(
            counter_id=self.counter_ids[name], index=p4r.Index(index=index))))
        data = found.counter_entry.data
        return int(data.packet_count), int(data.byte_count)

    def service_id(self, vip: str) -> int:
        """The data plane's id of the service on ``vip`` (set_service's service_id)."""
        table = next(t for t in self.p4info.tables if t.preamble.name == SERVICE_TABLE)
        vip_field = next(f.id for f in table.match_fields if f.name == "vip")
        action = next(a for a in self.p4info.actions
                      if a.preamble.name == "IngressPipe.service.set_service")
        id_param = next(p.id for p in action.params if p.name == "service_id")
        wanted = int.from_bytes(bytes(int(part) for part in vip.split(".")), "big")
        for entry in self.entries(SERVICE_TABLE):
            fields = {m.field_id: m for m in entry.match}
            if int.from_bytes(fields[vip_field].exact.value, "big") == wanted:
                params = {p.param_id: p.value for p in entry.action.action.params}
                return int.from_bytes(params[id_param], "big")
        raise LookupError(f"no service_table entry for {vip}")


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def l7net() -> Iterator[object]:
    reason = _why_not_runnable()
    if reason is not None:
        pytest.skip(reason)
    from topologies.l7 import CHUNK, L7Network, L7Options

    size = 100 * CHUNK  # a spliced 100 MiB download takes about 5 s on the embedded switch
    network = L7Network(L7Options(big_file_bytes=size, lard_thresholds=LARD_THRESHOLDS,
                                  new_connection_limit=PACKET_IN_LIMIT,
                                  connection_idle_timeout_s=IDLE_TIMEOUT_S))
    with network:
        yield network


@pytest.fixture(scope="module")
def switch_view(l7net: object) -> SwitchView:
    from topologies.l7 import L7Network

    assert isinstance(l7net, L7Network) and l7net.program is not None
    return SwitchView(l7net.site.grpc_port, l7net.program.p4info_path, l7net.site.device_id)


MANY_CONNECTIONS = 10_000
IDLE_TIMEOUT_S = 10.0  # connection and splice entries
LARD_THRESHOLDS = (2, 6)  # (t_low, t_high) of the locality service
# The shop service's packet-in meter: 4 packet-ins per connection, so ~250 new connections/s.
PACKET_IN_LIMIT = {"rate": 1000, "burst": 200}
FLOOD_SYNS = 3000


def backend_of(body: str) -> str:
    """Pages read ``backend <name> <address>``."""
    words = body.split()
    assert len(words) == 3 and words[0] == "backend", f"unexpected page {body!r}"
    return words[1]


def curl(net: Any, url: str, host_header: str | None = None, client: str = "c1") -> str:
    header = f"-H 'Host: {host_header}' " if host_header else ""
    return str(net.host(client).cmd(f"curl -s -m 10 {header}'{url}'"))


def download(net: Any, url: str, max_time: int = 120) -> tuple[str, int, float]:
    """(SHA-256, bytes, seconds) of one curl download in c1, hashed as it arrives."""
    stats = net.run_dir / "curl-stats.txt"
    out = net.host("c1").cmd(
        f"curl -s --max-time {max_time} -w '%{{stderr}}%{{size_download}} %{{time_total}}' "
        f"'{url}' 2>{stats} | sha256sum; cat {stats}")
    words = out.split()
    return words[0], int(words[-2]), float(words[-1])


def splices_gone(view: SwitchView, baseline: dict[str, int], timeout: float = 30) -> None:
    """The splice tables (and, by then, the connection table) are back at ``baseline``."""
    wait_until(lambda: view.sizes() == baseline, timeout,
               f"tables back to their baseline {baseline} (now {view.sizes()})")


@pytest.fixture(scope="module")
def baseline(switch_view: SwitchView) -> dict[str, int]:
    """Table sizes with no connection open (earlier tests' splices linger 2 s)."""
    wait_until(lambda: all(switch_view.sizes()[t] == 0 for t in SPLICE_TABLES), 30,
               "no splice entries")
    return switch_view.sizes()


@pytest.mark.parametrize(("path", "host_header", "pool"), [
    ("/", None, {"b3", "b4"}),
    ("/static/", None, {"b1"}),
    ("/", "api.example", {"b2"}),
    ("/static/", "api.example", {"b1"}),  # the path rule comes first
    ("/index.html", "www.example", {"b3", "b4"}),
])
def test_curl_lands_on_the_pool_of_its_host_and_path(l7net: Any, path: str,
                                                    host_header: str | None,
                                                    pool: set[str]) -> None:
    seen = Counter(backend_of(curl(l7net, f"http://{l7net.vip('shop')}{path}", host_header))
                   for _ in range(6))
    assert set(seen) <= pool
    if len(pool) > 1:
        assert set(seen) == pool  # round robin inside the pool


def access_log_lines(net: Any) -> dict[str, int]:
    """Requests each backend's :80/:8000/:8080 nginx has logged."""
    return {plan.name: sum(1 for _ in open(net.run_dir / "www" / plan.name / "logs"
                                           / "access.log"))
            for plan in net.site.backends}


@pytest.mark.parametrize(("host_header", "path", "backend"), [
    (None, "/static/", "b1"), ("api.example", "/", "b2")])
def test_wrk_through_the_vip_has_no_errors_and_stays_in_the_pool(
        l7net: Any, host_header: str | None, path: str, backend: str) -> None:
    before = access_log_lines(l7net)
    header = f"-H 'Host: {host_header}' " if host_header else ""
    out = l7net.host("c1").cmd(f"wrk -t1 -c4 -d3s --timeout 5s {header}"
                               f"http://{l7net.vip('shop')}{path}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    assert requests > 100, out
    assert "Non-2xx" not in out and "Socket errors" not in out, out
    after = access_log_lines(l7net)
    grown = {name: after[name] - before[name] for name in after if after[name] != before[name]}
    assert list(grown) == [backend] and grown[backend] >= requests, (grown, out)


def test_100mb_download_is_byte_exact_and_never_reaches_the_controller(
        l7net: Any, switch_view: SwitchView, baseline: dict[str, int]) -> None:
    """A small request and the 100 MiB one cost the controller the same packet-ins (the
    handshake and the request): none of the ~70,000 data segments is a packet-in."""
    service = switch_view.service_id(l7net.vip("shop"))
    url = f"http://{l7net.vip('shop')}/static/"
    first = switch_view.counter(PACKET_IN_COUNTER, service)
    assert backend_of(curl(l7net, url)) == "b1"
    splices_gone(switch_view, baseline)
    small = switch_view.counter(PACKET_IN_COUNTER, service) - first
    digest, size, seconds = download(l7net, url + "big.bin")
    splices_gone(switch_view, baseline)
    big = switch_view.counter(PACKET_IN_COUNTER, service) - first - small
    assert size == l7net.l7_options.big_file_bytes and digest == l7net.big_sha256
    assert 0 < small <= 4 and big == small, (small, big)
    print(f"spliced 100 MiB download: {seconds:.1f} s, {size * 8 / seconds / 1e6:.0f} Mbit/s;"
          f" packet-ins: {small} for a small request, {big} for the download")


def test_relay_service_forwards_every_segment_through_lbd(
        l7net: Any, switch_view: SwitchView, baseline: dict[str, int]) -> None:
    """shop-relay (``relay: true``): same rules, no splice entries, every data byte goes
    to lbd as a packet-in; the bytes still arrive exact.  (Bytes, not packets: with the
    switch's offload path a GSO super-segment is one pipeline pass, so one packet-in.)"""
    vip = l7net.vip("shop-relay")
    assert backend_of(curl(l7net, f"http://{vip}/", "api.example")) == "b2"
    service = switch_view.service_id(vip)
    before = switch_view.counter_data(PACKET_IN_COUNTER, service)[1]
    length = 2 << 20
    with open(l7net.run_dir / "big.bin", "rb") as big:
        expected = hashlib.sha256(big.read(length)).hexdigest()
    out = l7net.host("c1").cmd(f"curl -s -m 60 -r 0-{length - 1} "
                               f"http://{vip}/static/big.bin | sha256sum")
    assert out.split()[0] == expected
    relayed = switch_view.counter_data(PACKET_IN_COUNTER, service)[1] - before
    assert relayed > length  # every byte of the download passed through lbd
    assert switch_view.sizes() == baseline  # no splice entry was ever installed


# This kernel has no netem and no tc actions (sch_netem, act_gact are missing); what it has
# is htb and the u32 classifier.  Segments whose sequence number has bits 12-14 clear (about
# one in eight) take a slow class with a short queue: they arrive after later segments
# (reordering) and are tail-dropped when it overflows (loss, retransmissions included).
IMPAIR = ("tc qdisc add dev {dev} root handle 1: htb default 10 && "
          "tc class add dev {dev} parent 1: classid 1:10 htb rate 10gbit && "
          "tc class add dev {dev} parent 1: classid 1:20 htb rate {slow} ceil {slow} && "
          "tc qdisc add dev {dev} parent 1:20 handle 20: pfifo limit {limit} && "
          "tc filter add dev {dev} parent 1: protocol ip u32 "
          "match u8 6 0xff at 9 match u32 0 0x7000 at 24 flowid 1:20 && echo impaired")


def test_download_with_loss_and_reordering_on_the_backend_link(
        l7net: Any, switch_view: SwitchView, baseline: dict[str, int]) -> None:
    size = l7net.l7_options.big_file_bytes
    b1, dev = l7net.host("b1"), "b1-eth0"
    assert "impaired" in b1.cmd(IMPAIR.format(dev=dev, slow="20mbit", limit=3))
    try:
        digest, got, seconds = download(l7net, f"http://{l7net.vip('shop')}/static/big.bin",
                                        max_time=150)
        stats = b1.cmd(f"tc -s class show dev {dev} classid 1:20; "
                       f"tc -s qdisc show dev {dev} handle 20:")
        sent = b1.cmd(f"tc -s qdisc show dev {dev} handle 1:")
    finally:
        b1.cmd(f"tc qdisc del dev {dev} root")
    assert got == size and digest == l7net.big_sha256, (got, seconds)
    slow = int(re.search(r"Sent \d+ bytes (\d+) pkt", stats).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"Sent \d+ bytes (\d+) pkt", sent).group(1))  # type: ignore[union-attr]
    dropped = int(re.search(r"dropped (\d+)", stats).group(1))  # type: ignore[union-attr]
    print(f"100 MiB with loss and reordering on b1's link: {seconds:.1f} s; of {total} "
          f"segments {slow} took the slow class (reordered), {dropped} "
          f"({100 * dropped / max(total, 1):.2f}%) were dropped")
    assert dropped > 0 and slow > 0  # the link really lost and reordered segments
    splices_gone(switch_view, baseline)


HOLDER = """
import socket, sys, time
names = []
socks = []
for _ in range(int(sys.argv[3])):
    s = socket.create_connection((sys.argv[1], 80), timeout=10)
    s.sendall(f"GET {sys.argv[2]} HTTP/1.1\\r\\nHost: lard\\r\\n\\r\\n".encode())
    data = b""
    while not data.endswith(b"\\n") or b"\\r\\n\\r\\n" not in data:
        data += s.recv(4096)
    names.append(data.split(b"\\r\\n\\r\\n", 1)[1].split()[1].decode())
    socks.append(s)
print(" ".join(names), flush=True)
sys.stdin.readline()
"""


def test_lard_keeps_a_url_on_its_server_until_the_load_thresholds_move_it(
        l7net: Any, switch_view: SwitchView, baseline: dict[str, int]) -> None:
    """locality: LARD with t_low = 2, t_high = 6; load = the server's connections, closed
    ones included for their 2 s linger."""
    vip = l7net.vip("locality")
    url = f"http://{vip}/?item=42"
    home = {backend_of(curl(l7net, url)) for _ in range(3)}
    assert len(home) == 1  # one URL, one server while it is idle
    (server,) = home
    splices_gone(switch_view, baseline)  # the lingering connections are gone: load 0
    # Seven keep-alive connections to the URL: loads 0..6 when chosen, none above t_high.
    holder = l7net.host("c2").popen([sys.executable, "-c", HOLDER, vip, "/?item=42", "7"],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        held = holder.stdout.readline().split()  # type: ignore[union-attr]
        assert held == [server] * 7
        # Now the server's load (7) is above t_high and the others are below t_low: moved.
        moved = backend_of(curl(l7net, url))
        assert moved != server
        assert backend_of(curl(l7net, f"http://{vip}/?item=7")) != server  # least loaded
    finally:
        holder.stdin.close()  # type: ignore[union-attr]
        holder.wait(10)
    assert {backend_of(curl(l7net, url)) for _ in range(3)} == {moved}  # it stays moved
    splices_gone(switch_view, baseline)


FLOOD = """
import random, sys
from scapy.all import Ether, IP, TCP
import socket
vip, count, mac = sys.argv[1], int(sys.argv[2]), sys.argv[3]
frames = [bytes(Ether(dst=mac) / IP(src=f"10.0.0.{200 + i % 50}", dst=vip)
                / TCP(sport=random.randrange(1024, 65536), dport=80, flags="S",
                      seq=random.getrandbits(32))) for i in range(count)]
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind(("c2-eth0", 0))
print("ready", flush=True)
for frame in frames:
    sock.send(frame)
print("sent", count, flush=True)
"""


def test_syn_flood_is_metered_and_everything_else_keeps_working(
        l7net: Any, switch_view: SwitchView, baseline: dict[str, int]) -> None:
    service = switch_view.service_id(l7net.vip("shop"))
    metered = switch_view.counter(DROP_COUNTER, DROP_PACKET_IN_METER)
    packet_ins = switch_view.counter(PACKET_IN_COUNTER, service)
    started = time.monotonic()
    flood = l7net.host("c2").popen([sys.executable, "-c", FLOOD, l7net.vip("shop"),
                                    str(FLOOD_SYNS), l7net.site.router_mac],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert flood.stdout is not None and "ready" in flood.stdout.readline()
        during = [backend_of(curl(l7net, f"http://{l7net.vip('shop')}/static/"))
                  for _ in range(3)]
        nat = curl(l7net, f"http://{l7net.vip('web-nat')}/")
        listed = l7net.lbd.lbctl("service", "list")
        flood.wait(120)
        flood_out = flood.stdout.read()  # not communicate(): readline() buffered part of it
    finally:
        if flood.poll() is None:
            flood.kill()
    assert "sent" in flood_out, flood_out
    assert during == ["b1"] * 3  # legitimate clients are served during the flood
    assert backend_of(nat).startswith("b")  # the L4 service keeps working
    assert "shop" in listed and "web-nat" in listed  # lbd answers
    shed = switch_view.counter(DROP_COUNTER, DROP_PACKET_IN_METER) - metered
    reached = switch_view.counter(PACKET_IN_COUNTER, service) - packet_ins
    print(f"SYN flood of {FLOOD_SYNS} in {time.monotonic() - started:.1f} s: {reached} "
          f"packet-ins reached lbd, {shed} shed by the meter")
    assert shed > 0  # the data plane's meter rate-limited the flood
    # Cookies: the flood left no state.  The legitimate connections made meanwhile may have
    # lost their teardown digest in the overloaded switch: their entries idle out.
    splices_gone(switch_view, baseline, timeout=IDLE_TIMEOUT_S * 3)
    assert backend_of(curl(l7net, f"http://{l7net.vip('shop')}/")) in {"b3", "b4"}


def test_many_connections_then_the_tables_are_back_at_baseline(
        l7net: Any, switch_view: SwitchView, baseline: dict[str, int]) -> None:
    count = MANY_CONNECTIONS
    out = l7net.host("c1").cmd(f"{sys.executable} -m topologies.l7_load --address "
                               f"{l7net.vip('shop')} --connections {count} --concurrency 16")
    result = json.loads(out.strip().splitlines()[-1])
    print(f"{count} spliced connections: {result['elapsed_s']} s, {result['per_second']}/s,"
          f" {result['failed']} failed")
    assert result["ok"] == count, result
    assert set(result["backends"]) == {"b3", "b4"}
    splices_gone(switch_view, baseline)


# ----- TLS services (SNI routing and session reuse, docs/l7.md) ----------------------------
def https(net: Any, service: str, name: str, path: str = "/") -> str:
    """curl over TLS to ``service``'s VIP as ``name`` (certificate checked against the
    run's test CA); the page."""
    address = net.vip(service)
    return str(net.host("c1").cmd(
        f"curl -s -m 10 --cacert {net.tls.ca_cert} --resolve {name}:443:{address} "
        f"'https://{name}{path}'"))


def tls_probe(net: Any, service: str, name: str, count: int, version: str) -> list[dict]:
    out = net.host("c1").cmd(
        f"{sys.executable} -m topologies.tls_probe {net.vip(service)} {name} "
        f"--cafile {net.tls.ca_cert} --count {count} --tls {version}")
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_tls_sni_routes_to_the_pools(l7net: Any) -> None:
    """SNI api.example.com and *.img.example.com go to b1's pool, others round robin."""
    assert backend_of(https(l7net, "secure", "api.example.com")) == "b1"
    assert backend_of(https(l7net, "secure", "a.img.example.com")) == "b1"
    others = {backend_of(https(l7net, "secure-rr", "www.example.com")) for _ in range(6)}
    assert others == {"b2", "b3", "b4"}, others


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_tls_resumed_sessions_land_on_the_issuing_server(l7net: Any, version: str) -> None:
    """With affinity, a returning client's session id / ticket / PSK goes back to the
    server that issued it, which resumes it."""
    before = affinity_table(l7net, "secure")
    results = tls_probe(l7net, "secure", "www.example.com", 8, version)
    assert len(results) == 8 and not any("error" in r for r in results), results
    assert len({r["backend"] for r in results}) == 1, results
    assert not results[0]["reused"] and all(r["reused"] for r in results[1:]), results
    after = affinity_table(l7net, "secure")  # lbctl tls: the 7 returns were found
    assert {key: after[key] - before[key] for key in ("lookups", "resumed", "full")} == \
        {"lookups": 7, "resumed": 7, "full": 1}, (before, after)
    assert after["hits"] + after["hints"] - before["hits"] - before["hints"] == 7
    assert after["entries"] > 0 and after["clients"] >= 1
    assert "secure-shared" in l7net.lbd.lbctl("tls")


def affinity_table(net: Any, service: str) -> dict[str, Any]:
    (listed,) = net.lbd.lbctl_json("tls", service)
    (table,) = listed["tables"]
    return dict(table)


def test_openssl_reconnect_is_resumed_with_affinity(l7net: Any) -> None:
    out = l7net.host("c1").cmd(
        f"openssl s_client -connect {l7net.vip('secure')}:443 -servername www.example.com "
        f"-CAfile {l7net.tls.ca_cert} -tls1_2 -reconnect < /dev/null 2>&1")
    assert "Verify return code: 0 (ok)" in out, out[-2000:]
    assert out.count("Reused, TLSv1.2") == 5, out[-2000:]  # -reconnect: 5 reconnections


def test_large_download_over_spliced_tls_is_exact(l7net: Any) -> None:
    address = l7net.vip("secure")
    out = l7net.host("c1").cmd(
        f"curl -s --max-time 120 --cacert {l7net.tls.ca_cert} "
        f"--resolve www.example.com:443:{address} https://www.example.com/big.bin "
        "| sha256sum")
    assert out.split()[0] == l7net.big_sha256


def test_splicer_metrics_move_with_spliced_connections(l7net: Any) -> None:
    """/metrics (parsed by prometheus_client) counts what the splicer does for each new
    connection: SYN cookie sent and validated, request read, splice installed."""
    from topologies.controller_process import metric

    switch = l7net.site.switch
    names = ("p4lb_splicer_syn_cookies_sent_total", "p4lb_splicer_syn_cookies_validated_total",
             "p4lb_splicer_requests_parsed_total", "p4lb_splicer_splices_installed_total")
    before = l7net.lbd.metrics()
    for _ in range(REQUESTS_FOR_METRICS):
        assert curl(l7net, f"http://{l7net.vip('shop')}/").startswith("backend ")
    after = l7net.lbd.metrics()
    for name in names:
        grown = metric(after, name, switch=switch) - metric(before, name, switch=switch)
        assert grown >= REQUESTS_FOR_METRICS, (name, grown)
    client_ins = metric(after, "p4lb_packet_ins_total", switch=switch, reason="splice_client")
    assert client_ins - metric(before, "p4lb_packet_ins_total", switch=switch,
                               reason="splice_client") >= 2 * REQUESTS_FOR_METRICS


REQUESTS_FOR_METRICS = 10
