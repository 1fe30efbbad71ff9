"""The arithmetic of a TCP splice: what the switch adds to each field of a spliced segment.

After the splicer has completed the client's handshake (ISN = SYN cookie) and opened its
own connection to the backend, the switch joins the two: client segments go to the backend
and backend segments to the client, with addresses rewritten and these numbers translated
(all modulo 2^32, RFC 9293 section 3.4):

* client -> server: ``seq + seq_delta`` (0 when the splicer's SYN reused the client's ISN),
  ``ack + ack_delta`` (``server_isn - cookie``), SACK blocks like ack numbers, TSecr minus
  the timestamp offset, and the window rescaled if the two sides scale differently.
* server -> client: ``seq + (cookie - server_isn)``, ``ack`` back into the client's space,
  SACK blocks likewise, TSval plus the timestamp offset, window rescaled.

The deltas are what the controller installs as action parameters; the functions below are
the reference the data plane is tested against.  docs/l7.md explains the choices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

SEQ_MODULUS = 1 << 32
MAX_WINDOW_FIELD = 0xFFFF
MAX_WSCALE = 14  # RFC 7323 section 2.3
IPV4_TCP_HEADERS = 40  # IPv4 + TCP headers without options
MIN_IPV4_MSS = 536  # RFC 9293 default send MSS


class Direction(Enum):
    TO_SERVER = "client->server"
    TO_CLIENT = "server->client"


def seq_add(value: int, delta: int) -> int:
    """``value + delta`` in sequence space (``delta`` may be negative)."""
    return (value + delta) % SEQ_MODULUS


def seq_delta(to: int, frm: int) -> int:
    """The delta that maps ``frm`` onto ``to`` (``seq_add(frm, seq_delta(to, frm)) == to``)."""
    return (to - frm) % SEQ_MODULUS


def seq_before(a: int, b: int) -> bool:
    """Whether ``a`` comes before ``b``, comparing across the wrap (Linux ``before()``)."""
    difference = (a - b) % SEQ_MODULUS
    return difference >= 1 << 31


@dataclass(frozen=True)
class WindowScaling:
    """The shift counts in effect on each side of the splice, 0 where scaling is off.

    ``client``: the client's window-scale option (its windows are scaled by it).
    ``to_client``: what the splicer advertised to the client.
    ``to_server``: what the splicer's SYN advertised to the backend.
    ``server``: the backend's window-scale option.
    """

    client: int = 0
    to_client: int = 0
    to_server: int = 0
    server: int = 0

    @classmethod
    def negotiate(cls, client_offer: int | None, advertised: int,
                  server_offer: int | None) -> WindowScaling:
        """RFC 7323: scaling is on for a connection only if both SYNs carried the option.

        The splicer answers a client that offers scaling with ``advertised`` and puts the
        client's own shift in its SYN to the backend (so that side needs no rescaling as
        long as the backend scales too); a client that offers nothing gets no option, and
        neither does the backend.
        """
        for name, shift in (("client", client_offer), ("advertised", advertised),
                            ("server", server_offer)):
            if shift is not None and not 0 <= shift <= MAX_WSCALE:
                raise ValueError(f"{name} window scale {shift} is outside 0..{MAX_WSCALE}")
        if client_offer is None:
            return cls()
        if server_offer is None:
            return cls(client=client_offer, to_client=advertised)
        return cls(client_offer, advertised, client_offer, server_offer)

    def shift(self, direction: Direction) -> int:
        """Bits to shift a window field left (negative: right) in ``direction``."""
        if direction is Direction.TO_SERVER:
            return self.client - self.to_server
        return self.server - self.to_client


@dataclass(frozen=True)
class Splice:
    """Per-direction deltas of one spliced connection.

    ``ts_offset`` is None when timestamps are not in use on the splice.
    """

    to_server_seq: int
    to_server_ack: int
    to_client_seq: int
    to_client_ack: int
    ts_offset: int | None = None
    windows: WindowScaling = WindowScaling()

    @classmethod
    def from_handshakes(cls, *, client_isn: int, cookie_isn: int, server_isn: int,
                        server_syn_isn: int | None = None, ts_offset: int | None = None,
                        windows: WindowScaling | None = None) -> Splice:
        """Deltas from the four ISNs of the two handshakes.

        ``cookie_isn``: the splicer's ISN towards the client; ``server_syn_isn``: the ISN of
        the splicer's SYN to the backend (default: the client's, so client data needs no
        translation); ``server_isn``: the backend's ISN.
        """
        syn_isn = client_isn if server_syn_isn is None else server_syn_isn
        for name, value in (("client_isn", client_isn), ("cookie_isn", cookie_isn),
                            ("server_isn", server_isn), ("server_syn_isn", syn_isn)):
            _check_u32(name, value)
        if ts_offset is not None:
            _check_u32("ts_offset", ts_offset)
        return cls(to_server_seq=seq_delta(syn_isn, client_isn),
                   to_server_ack=seq_delta(server_isn, cookie_isn),
                   to_client_seq=seq_delta(cookie_isn, server_isn),
                   to_client_ack=seq_delta(client_isn, syn_isn),
                   ts_offset=ts_offset, windows=windows or WindowScaling())

    def deltas(self, direction: Direction) -> tuple[int, int]:
        """(seq delta, ack delta) to install for ``direction``."""
        if direction is Direction.TO_SERVER:
            return self.to_server_seq, self.to_server_ack
        return self.to_client_seq, self.to_client_ack

    def seq(self, direction: Direction, value: int) -> int:
        return seq_add(value, self.deltas(direction)[0])

    def ack(self, direction: Direction, value: int) -> int:
        return seq_add(value, self.deltas(direction)[1])

    def sack_blocks(self, direction: Direction, blocks: Sequence[tuple[int, int]]
                    ) -> list[tuple[int, int]]:
        """SACK blocks acknowledge the other side's data: they move like ack numbers."""
        return [(self.ack(direction, left), self.ack(direction, right))
                for left, right in blocks]

    def timestamps(self, direction: Direction, tsval: int, tsecr: int) -> tuple[int, int]:
        """(TSval, TSecr) after the splice: the backend's clock is shown shifted by
        ``ts_offset`` to the client, and the client's echoes of it shifted back."""
        if self.ts_offset is None:
            raise ValueError("timestamps are not in use on this splice")
        if direction is Direction.TO_CLIENT:
            return seq_add(tsval, self.ts_offset), tsecr
        return tsval, seq_add(tsecr, -self.ts_offset)

    def window(self, direction: Direction, field: int) -> int:
        """The 16-bit window field, rescaled; saturates at 0xFFFF, never rounds to zero."""
        if not 0 <= field <= MAX_WINDOW_FIELD:
            raise ValueError(f"window {field} is not a 16-bit field")
        shift = self.windows.shift(direction)
        if shift >= 0:
            return min(field << shift, MAX_WINDOW_FIELD)
        return -(-field >> -shift)  # ceiling: a non-zero window stays open


def timestamp_offset(latest_tsval_to_client: int, server_synack_tsval: int) -> int:
    """Offset mapping the backend's timestamp clock onto what the client has seen.

    Anchoring the backend's SYN-ACK TSval at the latest TSval the splicer sent the client
    keeps the client's PAWS check (RFC 7323 section 5) passing: TSvals only go up.
    """
    _check_u32("latest_tsval_to_client", latest_tsval_to_client)
    _check_u32("server_synack_tsval", server_synack_tsval)
    return seq_delta(latest_tsval_to_client, server_synack_tsval)


def advertised_mss(mtu: int = 1500, encapsulation_overhead: int = 0) -> int:
    """The MSS to announce for a path: MTU minus IPv4/TCP headers and any tunnel header
    (20 bytes for IP-in-IP in TUN mode)."""
    if not 576 <= mtu <= 65535:
        raise ValueError(f"MTU {mtu} is outside 576..65535")
    if not 0 <= encapsulation_overhead <= mtu - IPV4_TCP_HEADERS - MIN_IPV4_MSS:
        raise ValueError(f"encapsulation overhead {encapsulation_overhead} leaves no room "
                         f"for a {MIN_IPV4_MSS}-byte segment in MTU {mtu}")
    return mtu - IPV4_TCP_HEADERS - encapsulation_overhead


def clamp_mss(mss: int, *limits: int) -> int:
    """``mss`` lowered to every limit (the MSS the splicer puts in a SYN it builds)."""
    if mss <= 0 or any(limit <= 0 for limit in limits):
        raise ValueError("MSS values must be positive")
    return min((mss, *limits))


def _check_u32(name: str, value: int) -> None:
    if not 0 <= value < SEQ_MODULUS:
        raise ValueError(f"{name} {value} is not a 32-bit value")
