"""P4Info of the corpus programs against hand-reviewed golden text files.

Regenerate with ``.venv/bin/python tests/compiler/regen_goldens.py`` and review
the diff before committing.
"""

from __future__ import annotations

import pytest
from compiler_corpus import GOLDEN, GOLDEN_PROGRAMS, compiled
from google.protobuf import text_format


@pytest.mark.parametrize("name", GOLDEN_PROGRAMS)
def test_p4info_matches_golden(name: str) -> None:
    expected = (GOLDEN / f"{name}.p4info.txtpb").read_text()
    assert text_format.MessageToString(compiled(name).p4info) == expected
