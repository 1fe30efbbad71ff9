"""Compile time of the project's P4 program (p4src/lb.p4) with p4sim's compiler.

    .venv/bin/python bench/compile_time.py [--runs N] [program.p4]

Prints the front end (preprocess, parse, check) and back end (midend, BMv2 JSON,
P4Info) times of each run and the best total; the goal is under 2 s.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from p4sim.compiler.backend.bmv2_json import build_bmv2_json
from p4sim.compiler.backend.json_text import to_p4c_json_text
from p4sim.compiler.backend.p4info import build_p4info
from p4sim.compiler.frontend import frontend_file
from p4sim.compiler.midend.lowering import lower_program

DEFAULT_PROGRAM = Path(__file__).resolve().parent.parent / "p4src" / "lb.p4"
GOAL_SECONDS = 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("program", nargs="?", default=str(DEFAULT_PROGRAM))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    totals: list[float] = []
    for run in range(1, args.runs + 1):
        start = time.perf_counter()
        program = frontend_file(args.program)
        middle = time.perf_counter()
        lowered = lower_program(program)
        build_p4info(lowered.control_plane)
        to_p4c_json_text(build_bmv2_json(lowered.sections, args.program))
        end = time.perf_counter()
        total = end - start
        totals.append(total)
        print(f"run {run}: total {total:.3f} s (front end {middle - start:.3f} s, "
              f"midend+backends {end - middle:.3f} s)")
    best = min(totals)
    verdict = "OK" if best < GOAL_SECONDS else "SLOWER THAN GOAL"
    print(f"{args.program}: best {best:.3f} s over {args.runs} runs (goal < {GOAL_SECONDS} s): "
          f"{verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
