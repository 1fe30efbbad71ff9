"""Remove what killed topology runs left behind (their processes and interfaces only).

    python -m topologies.cleanup

Unlike ``mn -c`` this touches nothing but what runs registered (topologies/runs.py) and whose
owning process is gone: other users' switches, namespaces and processes are left alone.
"""

from __future__ import annotations

import sys

from topologies import runs


def main() -> int:
    stale = runs.stale_runs()
    for path in stale:
        actions = runs.clean_run(path)
        print(f"{path.stem}: " + ("; ".join(actions) if actions else "nothing left"))
    if not stale:
        print("no leftovers of killed runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
