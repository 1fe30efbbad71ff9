"""Regenerate the P4Info golden files of the corpus:

    .venv/bin/python tests/compiler/regen_goldens.py

Review every diff by hand (ids, names, scopes) against p4c's behaviour before
committing it; test_p4info_golden.py compares against these files.
"""

from __future__ import annotations

import sys
from pathlib import Path

from google.protobuf import text_format

sys.path.insert(0, str(Path(__file__).parent))

from compiler_corpus import GOLDEN, GOLDEN_PROGRAMS, compiled  # noqa: E402


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for name in GOLDEN_PROGRAMS:
        text = text_format.MessageToString(compiled(name).p4info)
        (GOLDEN / f"{name}.p4info.txtpb").write_text(text)
        print(f"wrote {name}.p4info.txtpb")


if __name__ == "__main__":
    main()
