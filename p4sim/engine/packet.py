"""Per-packet state carried through the pipeline, and the exceptions generated code raises."""

from __future__ import annotations


class Packet:
    """One packet instance in flight: its field vector plus BMv2's packet registers."""

    __slots__ = (
        "f", "data", "off", "payload", "ingress_length", "length_reg", "exit",
        "clone_session", "clone_field_list", "resubmit_field_list", "recirculate_field_list",
        "learn_id", "truncate_length", "egress_port", "l4_partial",
    )

    def __init__(self, f: list[int], data: bytes) -> None:
        self.f = f
        self.data = data
        self.off = 0
        self.payload: bytes | memoryview = data
        self.ingress_length = len(data)
        self.length_reg = len(data)
        self.exit = False
        self.clone_session = 0
        self.clone_field_list = 0
        self.resubmit_field_list = 0
        self.recirculate_field_list = 0
        self.learn_id = 0
        self.truncate_length: int | None = None
        """BMv2's per-packet truncated length: the smallest truncate() so far; copies made by
        the PRE (multicast, clone, resubmit, recirculate) start without one."""
        self.egress_port = 0
        self.l4_partial = False
        """The L4 checksum is the kernel's partial form (CHECKSUM_PARTIAL: pseudo-header sum
        only, finished by whoever transmits).  Checksums over the payload then leave the
        payload out, and their verification passes, as the kernel trusts such a checksum."""


class ParserError(Exception):
    """Raised inside a parser state; ``code`` is the numeric P4 error value."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class PacketAbort(Exception):
    """The program did something BMv2 would abort on (failed assert, stack index out of
    range...): the packet is dropped instead of taking the switch down."""
