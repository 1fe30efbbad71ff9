"""Minimal pcap (libpcap 2.4, Ethernet link type) writer for ``--pcap``."""

from __future__ import annotations

import struct
import time
from pathlib import Path
from typing import BinaryIO

_MAGIC = 0xA1B2C3D4
_LINKTYPE_ETHERNET = 1
_SNAPLEN = 65535


class PcapWriter:
    """Appends packets to one pcap file, flushed after every packet so it is always readable."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO = path.open("wb")
        self._file.write(struct.pack("<IHHiIII", _MAGIC, 2, 4, 0, 0, _SNAPLEN,
                                     _LINKTYPE_ETHERNET))
        self._file.flush()

    def write(self, data: bytes, timestamp_ns: int | None = None) -> None:
        if timestamp_ns is None:
            timestamp_ns = time.time_ns()
        seconds, rest_ns = divmod(timestamp_ns, 1_000_000_000)
        captured = data[:_SNAPLEN]
        self._file.write(struct.pack("<IIII", seconds, rest_ns // 1000, len(captured), len(data)))
        self._file.write(captured)
        self._file.flush()

    def close(self) -> None:
        self._file.close()
