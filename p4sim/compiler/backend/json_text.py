"""Render a JSON value the way p4c's ``Util::JsonObject`` prints it.

p4c writes ``"key" : value`` with two-space indentation, and prints arrays
whose elements are all scalars on a single line (``["dstAddr", 48, false]``).
Matching that layout keeps our ``-o`` output diff-able against p4c's.
"""

from __future__ import annotations

import json
from typing import Any

_INDENT = "  "


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _render(value: Any, level: int, out: list[str]) -> None:
    if isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        out.append("{\n")
        items = list(value.items())
        for index, (key, item) in enumerate(items):
            out.append(_INDENT * (level + 1))
            out.append(json.dumps(key))
            out.append(" : ")
            _render(item, level + 1, out)
            out.append(",\n" if index + 1 < len(items) else "\n")
        out.append(_INDENT * level + "}")
    elif isinstance(value, list):
        if not value:
            out.append("[]")
            return
        if all(_is_scalar(item) for item in value):
            out.append("[" + ", ".join(json.dumps(item) for item in value) + "]")
            return
        out.append("[\n")
        for index, item in enumerate(value):
            out.append(_INDENT * (level + 1))
            _render(item, level + 1, out)
            out.append(",\n" if index + 1 < len(value) else "\n")
        out.append(_INDENT * level + "]")
    else:
        out.append(json.dumps(value))


def to_p4c_json_text(value: Any) -> str:
    """Serialize ``value`` in p4c's JSON layout, with a trailing newline."""
    out: list[str] = []
    _render(value, 0, out)
    out.append("\n")
    return "".join(out)
