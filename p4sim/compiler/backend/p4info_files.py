"""Write a P4Info message in the format chosen by file extension, as p4c does.

``--p4runtime-files a.txt,b.bin,c.json``: ``.txt``/``.txtpb`` are protobuf text
format, ``.bin`` the binary wire format and ``.json`` protobuf JSON.
"""

from __future__ import annotations

from pathlib import Path

from google.protobuf import json_format, text_format
from google.protobuf.message import Message

TEXT_SUFFIXES = (".txt", ".txtpb")
# What current p4c writes at the top of a text P4Info (a txtpb schema header: comments).
TEXT_HEADER = "# proto-file: p4/config/v1/p4info.proto\n# proto-message: p4.config.v1.P4Info\n\n"


class UnknownP4InfoFormat(ValueError):
    """The file name does not end in a suffix that names a P4Info format."""


def serialize_p4info(message: Message, path: str) -> bytes:
    """The bytes of ``message`` in the format implied by ``path``'s suffix."""
    suffix = Path(path).suffix
    if suffix in TEXT_SUFFIXES:
        return (TEXT_HEADER + text_format.MessageToString(message)).encode()
    if suffix == ".bin":
        return message.SerializeToString()
    if suffix == ".json":
        return json_format.MessageToJson(message, indent=1).encode()
    raise UnknownP4InfoFormat(
        f"{path}: could not detect p4runtime info file format from file suffix "
        f"'{suffix}'; known suffixes are .bin, .txt, .txtpb, .json")
