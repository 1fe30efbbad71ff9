"""Controller packet metadata (P4Info controller_packet_metadata) <-> header bytes.

As in simple_switch_grpc, a packet the pipeline sends to the CPU port starts with the
``packet_in`` header (its fields packed MSB first, in P4Info order); a PacketOut's metadata are
packed the same way into a ``packet_out`` header put in front of the payload before the packet
enters the pipeline on the CPU port.
"""

from __future__ import annotations

from collections.abc import Sequence

from finsy.proto import p4r

from p4sim.p4runtime import bytestrings
from p4sim.p4runtime.errors import invalid_argument
from p4sim.p4runtime.p4info_index import PacketMetadataSpec


def _header_bytes(fields: Sequence[PacketMetadataSpec]) -> int:
    return (sum(f.bitwidth for f in fields) + 7) // 8


def parse_packet_in(fields: Sequence[PacketMetadataSpec], data: bytes) -> p4r.PacketIn:
    """Split a CPU-port packet into its packet_in metadata and payload."""
    size = _header_bytes(fields)
    if not fields or len(data) < size:
        return p4r.PacketIn(payload=data)
    total_bits = size * 8
    header = int.from_bytes(data[:size], "big")
    packet = p4r.PacketIn(payload=data[size:])
    offset = 0
    for spec in fields:
        offset += spec.bitwidth
        value = (header >> (total_bits - offset)) & ((1 << spec.bitwidth) - 1)
        packet.metadata.add(metadata_id=spec.id, value=bytestrings.encode(value))
    return packet


def build_packet_out(fields: Sequence[PacketMetadataSpec], packet: p4r.PacketOut) -> bytes:
    """The bytes injected on the CPU port for a PacketOut; INVALID_ARGUMENT on bad metadata."""
    values: dict[int, int] = {}
    specs = {f.id: f for f in fields}
    for metadata in packet.metadata:
        spec = specs.get(metadata.metadata_id)
        if spec is None:
            raise invalid_argument(f"Unknown packet_out metadata id {metadata.metadata_id}")
        if metadata.metadata_id in values:
            raise invalid_argument(f"Duplicate packet_out metadata id {metadata.metadata_id}")
        values[spec.id] = bytestrings.decode(
            metadata.value, spec.bitwidth, f"packet_out metadata '{spec.name}'")
    missing = [f.name for f in fields if f.id not in values]
    if missing:
        raise invalid_argument(f"Missing packet_out metadata: {', '.join(missing)}")
    header = 0
    bits = 0
    for spec in fields:
        header = (header << spec.bitwidth) | values[spec.id]
        bits += spec.bitwidth
    size = _header_bytes(fields)
    header <<= size * 8 - bits
    return (header.to_bytes(size, "big") if fields else b"") + packet.payload


