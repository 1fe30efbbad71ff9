"""Per-connection consistency, idle timeouts, and drops of traffic no service claims."""

from __future__ import annotations

from base.p4runtime_client import decode, ipv4
from finsy.proto import p4r
from lb_base import (
    BACKEND1,
    BACKEND2,
    BACKEND_PORT,
    CLIENT,
    DROP_NO_BACKEND,
    DROP_UNKNOWN_VIP_PORT,
    FWD_MODE_NAT,
    MAGLEV_TABLE_SIZE,
    PROTO_TCP,
    ROUTER_MAC,
    SCHED_MAGLEV,
    VIP,
    LbTest,
    tcp_packet,
    udp_packet,
)

SERVICE = 5


class PinnedConnectionSurvivesPoolChange(LbTest):
    """A pinned connection stays on backend 1 after every bucket moves to backend 2."""

    def runTest(self) -> None:
        self.add_service(SERVICE, PROTO_TCP, 80, FWD_MODE_NAT, SCHED_MAGLEV)
        self.fill_maglev(SERVICE, [1] * MAGLEV_TABLE_SIZE)
        self.send(CLIENT.port, tcp_packet(CLIENT, VIP, 40000, 80, eth_src=CLIENT.mac,
                                          eth_dst=ROUTER_MAC))
        self.expect(tcp_packet(CLIENT, BACKEND1, 40000, BACKEND_PORT, eth_src=ROUTER_MAC,
                               eth_dst=BACKEND1.mac, ttl=63), BACKEND1.port)
        self.pin_connection(40000, 80, backend_id=1, idle_timeout_ns=60_000_000_000)

        self.fill_maglev(SERVICE, [2] * MAGLEV_TABLE_SIZE, update=p4r.Update.MODIFY)
        self.send(CLIENT.port, tcp_packet(CLIENT, VIP, 40000, 80, eth_src=CLIENT.mac,
                                          eth_dst=ROUTER_MAC, flags="A"))
        self.expect(tcp_packet(CLIENT, BACKEND1, 40000, BACKEND_PORT, eth_src=ROUTER_MAC,
                               eth_dst=BACKEND1.mac, ttl=63, flags="A"), BACKEND1.port)
        self.send(CLIENT.port, tcp_packet(CLIENT, VIP, 40002, 80, eth_src=CLIENT.mac,
                                          eth_dst=ROUTER_MAC))
        self.expect(tcp_packet(CLIENT, BACKEND2, 40002, BACKEND_PORT, eth_src=ROUTER_MAC,
                               eth_dst=BACKEND2.mac, ttl=63), BACKEND2.port)
        self.expect_nothing_else()


class IdleConnectionTimesOut(LbTest):
    """A connection entry with a short idle timeout is reported by an idle timeout notification."""

    def runTest(self) -> None:
        self.pin_connection(40000, 80, backend_id=1, idle_timeout_ns=200_000_000)
        notification = self.p4rt.idle_timeouts.get(timeout=5.0)
        (entry,) = notification.table_entry
        table = self.p4rt.info.table("IngressPipe.connections.connection_table")
        self.assertEqual(entry.table_id, table.preamble.id)
        names = {field.id: field.name for field in table.match_fields}
        self.assertEqual({names[match.field_id]: decode(match.exact.value)
                          for match in entry.match},
                         {"client_addr": ipv4(CLIENT.ip), "vip": ipv4(VIP),
                          "protocol": PROTO_TCP, "client_port": 40000, "vip_port": 80})


class UnclaimedVipTrafficIsDropped(LbTest):
    """A VIP port without service, and a service without Maglev entries: dropped and counted."""

    def runTest(self) -> None:
        self.add_service(SERVICE, PROTO_TCP, 80, FWD_MODE_NAT, SCHED_MAGLEV)
        self.send(CLIENT.port, tcp_packet(CLIENT, VIP, 40000, 81, eth_src=CLIENT.mac,
                                          eth_dst=ROUTER_MAC))
        self.send(CLIENT.port, udp_packet(CLIENT, VIP, 40000, 80, eth_src=CLIENT.mac,
                                          eth_dst=ROUTER_MAC))
        self.send(CLIENT.port, tcp_packet(CLIENT, VIP, 40000, 80, eth_src=CLIENT.mac,
                                          eth_dst=ROUTER_MAC))
        self.expect_nothing_else()
        self.assertEqual(self.drops(DROP_UNKNOWN_VIP_PORT), 2)
        self.assertEqual(self.drops(DROP_NO_BACKEND), 1)
