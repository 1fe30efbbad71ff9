"""P4Runtime binary strings <-> Python ints.

Incoming values follow PI (the P4Runtime server of simple_switch_grpc): any length is accepted
as long as the unsigned value fits in the field's bitwidth (shorter strings are implicitly
zero-padded, longer ones must have leading zero bits).  Outgoing values are always in the
spec's canonical form: the shortest string, one zero byte for the value 0.
"""

from __future__ import annotations

from p4sim.p4runtime.errors import invalid_argument


def decode(data: bytes, bitwidth: int, what: str) -> int:
    """The unsigned value of ``data``; INVALID_ARGUMENT if it needs more than ``bitwidth`` bits."""
    value = int.from_bytes(data, "big")
    if value.bit_length() > bitwidth:
        raise invalid_argument(
            f"{what}: bytestring provided does not fit within {bitwidth} bits")
    return value


def encode(value: int) -> bytes:
    """Canonical P4Runtime bytestring of a non-negative int."""
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
