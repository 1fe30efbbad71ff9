"""The -o output uses p4c's JSON layout."""

from __future__ import annotations

import json

from p4sim.compiler.backend.json_text import to_p4c_json_text


def test_layout_matches_p4c() -> None:
    value = {"fields": [["dstAddr", 48, False]], "empty": [], "obj": {}, "none": None,
             "nested": [{"a": 1}]}
    text = to_p4c_json_text(value)
    assert text == (
        '{\n'
        '  "fields" : [\n'
        '    ["dstAddr", 48, false]\n'
        '  ],\n'
        '  "empty" : [],\n'
        '  "obj" : {},\n'
        '  "none" : null,\n'
        '  "nested" : [\n'
        '    {\n'
        '      "a" : 1\n'
        '    }\n'
        '  ]\n'
        '}\n')
    assert json.loads(text) == value
