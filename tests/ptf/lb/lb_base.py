"""Shared set-up of the load balancer PTF tests (p4src/lb.p4, contract in docs/dataplane.md).

The network: a client on port 0, backend 1 on port 1, backend 2 on port 2, another host on
port 3, all behind the switch as router (/32 routes); one VIP.  ``LbTest.setUp`` installs that
plumbing; each test adds the services it exercises.  Expected packets are built from scratch
with scapy (checksums computed by scapy), so they check the switch's checksums exactly.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import ptf.testutils as testutils
from base.p4runtime_client import decode, ipv4, mac
from base.p4runtime_test import P4RuntimeTest
from finsy.proto import p4r
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

CPU_PORT = 255
ROUTER_MAC = "00:00:00:00:01:00"
VIP = "10.0.0.100"
GATEWAYS = ("10.0.1.1", "10.0.2.1", "10.0.3.1")

FWD_MODE_NAT, FWD_MODE_DR, FWD_MODE_TUN = 1, 2, 3
SCHED_MAGLEV, SCHED_CONTROLLER = 1, 2
PACKET_IN_REASON_NEW_CONNECTION = 1
PACKET_OUT_MODE_DIRECT, PACKET_OUT_MODE_PIPELINE = 0, 1
MAGLEV_TABLE_SIZE = 251
TUNNEL_MAX_MSS = 1440
PROTO_TCP, PROTO_UDP = 6, 17

DROP_UNSUPPORTED_PACKET = 1
DROP_BAD_IPV4_CHECKSUM = 2
DROP_NOT_ROUTER_MAC = 3
DROP_TTL_EXPIRED = 4
DROP_NO_ROUTE = 5
DROP_UNKNOWN_VIP_PORT = 6
DROP_NO_BACKEND = 7
DROP_PACKET_IN_METERED = 8
DROP_ARP_NOT_ANSWERED = 11

NEW_CONNECTION_DIGEST = "new_connection_digest_t"
BACKEND_PORT = 8080  # NAT backends listen here; DR/TUN keep the service port


@dataclass(frozen=True)
class Host:
    ip: str
    mac: str
    port: int
    nexthop_id: int


CLIENT = Host("10.0.1.10", "00:00:00:00:00:10", port=0, nexthop_id=1)
BACKEND1 = Host("10.0.2.11", "00:00:00:00:00:11", port=1, nexthop_id=11)
BACKEND2 = Host("10.0.2.12", "00:00:00:00:00:12", port=2, nexthop_id=12)
OTHER = Host("10.0.3.13", "00:00:00:00:00:13", port=3, nexthop_id=13)
BACKENDS = {1: BACKEND1, 2: BACKEND2}


def maglev_bucket(client_ip: str, vip: str, protocol: int, client_port: int,
                  vip_port: int) -> int:
    """The data plane's bucket: CRC-32 of the 5-tuple as received, modulo the table size."""
    data = struct.pack("!IIBHH", ipv4(client_ip), ipv4(vip), protocol, client_port, vip_port)
    return zlib.crc32(data) % MAGLEV_TABLE_SIZE


def tcp_packet(src: Host | str, dst: Host | str, sport: int, dport: int, *,
               eth_src: str, eth_dst: str, ttl: int = 64, flags: str = "S",
               options: Sequence[tuple[str, object]] = (), payload: bytes = b"lb" * 10) -> Packet:
    return (Ether(src=eth_src, dst=eth_dst)
            / IP(src=_ip(src), dst=_ip(dst), ttl=ttl, id=7)
            / TCP(sport=sport, dport=dport, flags=flags, seq=1000, options=list(options))
            / Raw(payload))


def udp_packet(src: Host | str, dst: Host | str, sport: int, dport: int, *,
               eth_src: str, eth_dst: str, ttl: int = 64, payload: bytes = b"query" * 6,
               zero_checksum: bool = False) -> Packet:
    udp = UDP(sport=sport, dport=dport, chksum=0) if zero_checksum else UDP(sport=sport,
                                                                           dport=dport)
    return (Ether(src=eth_src, dst=eth_dst) / IP(src=_ip(src), dst=_ip(dst), ttl=ttl, id=7)
            / udp / Raw(payload))


def _ip(host: Host | str) -> str:
    return host.ip if isinstance(host, Host) else host


class LbTest(P4RuntimeTest):
    """Installs ARP, router MAC, VIP, routes, next hops and the two backends."""

    def setUp(self) -> None:
        super().setUp()
        for address in (*GATEWAYS, VIP):
            self.p4rt.insert("IngressPipe.arp.arp_table", {"target_addr": ipv4(address)},
                             "IngressPipe.arp.reply", {"mac": mac(ROUTER_MAC)})
        self.p4rt.insert("IngressPipe.router_mac.router_mac_table",
                         {"dst_mac": mac(ROUTER_MAC)}, "NoAction")
        self.p4rt.insert("IngressPipe.service.vip_table", {"vip": ipv4(VIP)}, "NoAction")
        for host in (CLIENT, BACKEND1, BACKEND2, OTHER):
            self.p4rt.insert("IngressPipe.routing.nexthop_table", {"nexthop_id": host.nexthop_id},
                             "IngressPipe.routing.forward",
                             {"port": host.port, "dst_mac": mac(host.mac),
                              "src_mac": mac(ROUTER_MAC)})
            self.p4rt.insert("IngressPipe.routing.ipv4_lpm_table",
                             {"dst_addr": (ipv4(host.ip), 32)}, "IngressPipe.routing.set_nexthop",
                             {"nexthop_id": host.nexthop_id})
        for backend_id, backend in BACKENDS.items():
            self.p4rt.insert("IngressPipe.backends.backend_table", {"backend_id": backend_id},
                             "IngressPipe.backends.set_backend",
                             {"addr": ipv4(backend.ip), "port": BACKEND_PORT})

    # --- control plane ----------------------------------------------------------------------
    def add_service(self, service_id: int, protocol: int, port: int, mode: int,
                    scheduler: int) -> None:
        self.p4rt.insert("IngressPipe.service.service_table",
                         {"vip": ipv4(VIP), "protocol": protocol, "port": port},
                         "IngressPipe.service.set_service",
                         {"service_id": service_id, "forwarding_mode": mode,
                          "scheduler": scheduler})

    def fill_maglev(self, service_id: int, backends: Sequence[int],
                    update: p4r.Update.Type.ValueType = p4r.Update.INSERT) -> None:
        """Bucket ``b`` -> ``backends[b]``, all buckets in one write."""
        if len(backends) != MAGLEV_TABLE_SIZE:
            raise ValueError(f"{len(backends)} buckets given, the table has {MAGLEV_TABLE_SIZE}")
        self.p4rt.write([
            p4r.Update(type=update, entity=p4r.Entity(table_entry=self.p4rt.table_entry(
                "IngressPipe.maglev.maglev_table", {"service_id": service_id, "bucket": bucket},
                "IngressPipe.maglev.set_maglev_backend", {"backend_id": backend_id})))
            for bucket, backend_id in enumerate(backends)])

    def pin_connection(self, client_port: int, vip_port: int, backend_id: int,
                       protocol: int = PROTO_TCP, idle_timeout_ns: int = 0) -> None:
        self.p4rt.insert("IngressPipe.connections.connection_table",
                         {"client_addr": ipv4(CLIENT.ip), "vip": ipv4(VIP),
                          "protocol": protocol, "client_port": client_port,
                          "vip_port": vip_port},
                         "IngressPipe.connections.set_connection_backend",
                         {"backend_id": backend_id}, idle_timeout_ns=idle_timeout_ns)

    def add_nat_reverse(self, backend_id: int, vip_port: int, service_id: int,
                        protocol: int = PROTO_TCP) -> None:
        self.p4rt.insert("IngressPipe.nat_reverse.nat_reverse_table",
                         {"backend_addr": ipv4(BACKENDS[backend_id].ip), "protocol": protocol,
                          "backend_port": BACKEND_PORT},
                         "IngressPipe.nat_reverse.rewrite_source_to_vip",
                         {"vip": ipv4(VIP), "vip_port": vip_port, "service_id": service_id,
                          "backend_id": backend_id})

    def counter(self, name: str, index: int) -> tuple[int, int]:
        """(packets, bytes) of an indexed counter cell."""
        counter_id = self.p4rt.info.get("counters", name).preamble.id
        (entity,) = self.p4rt.read([p4r.Entity(counter_entry=p4r.CounterEntry(
            counter_id=counter_id, index=p4r.Index(index=index)))])
        data = entity.counter_entry.data
        return data.packet_count, data.byte_count

    def drops(self, reason: int) -> int:
        return self.counter("IngressPipe.counters.drop_counter", reason)[0]

    def set_packet_in_rate(self, service_id: int, packets_per_second: int, burst: int) -> None:
        meter_id = self.p4rt.info.get("meters", "IngressPipe.controller.packet_in_meter")
        self.p4rt.write_entity(p4r.Update.MODIFY, p4r.Entity(meter_entry=p4r.MeterEntry(
            meter_id=meter_id.preamble.id, index=p4r.Index(index=service_id),
            config=p4r.MeterConfig(cir=packets_per_second, cburst=burst,
                                   pir=packets_per_second, pburst=burst))))

    def next_digest(self, timeout: float = 3.0) -> list[tuple[int, ...]]:
        """Members of each struct in the next digest list ([] if none came)."""
        digest = self.p4rt.digest(timeout=timeout)
        if digest is None:
            return []
        return [tuple(decode(member.bitstring) for member in data.struct.members)
                for data in digest.data]

    # --- data plane -------------------------------------------------------------------------
    def send(self, port: int, packet: Packet) -> None:
        testutils.send_packet(self, port, packet)

    def expect(self, packet: Packet, port: int) -> None:
        testutils.verify_packet(self, packet, port)

    def expect_nothing_else(self) -> None:
        testutils.verify_no_other_packets(self)
