"""``p4sim-compile``: p4c-bm2-ss compatible command line.

    p4sim-compile prog.p4 -o prog.json --p4runtime-files prog.p4info.txtpb[,prog.p4info.bin]
                  [-I DIR] [-D NAME[=VAL]] [--std p4-16] [--arch v1model]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from finsy.proto import p4i

from p4sim.compiler import CompileError, compile_file
from p4sim.compiler.backend.p4info_files import UnknownP4InfoFormat, serialize_p4info


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="p4sim-compile",
        description="Compile a P4_16 v1model program to BMv2 JSON and P4Info (as p4c-bm2-ss).")
    parser.add_argument("source", help="P4_16 source file")
    parser.add_argument("-o", "--output", help="BMv2 JSON output file "
                                               "(default: <source stem>.json here)")
    parser.add_argument("--p4runtime-files", default="",
                        help="comma-separated P4Info outputs; format from the suffix: "
                             ".txt/.txtpb text, .bin binary, .json JSON")
    parser.add_argument("--p4runtime-file", default="",
                        help="deprecated p4c form: one P4Info output, format from "
                             "--p4runtime-format")
    parser.add_argument("--p4runtime-format", default="binary",
                        choices=["binary", "json", "text"],
                        help="format of --p4runtime-file (default: binary)")
    parser.add_argument("-I", dest="include_dirs", action="append", default=[],
                        metavar="DIR", help="add DIR to the #include search path")
    parser.add_argument("-D", dest="defines", action="append", default=[],
                        metavar="NAME[=VAL]", help="define a preprocessor macro")
    parser.add_argument("--std", default="p4-16", choices=["p4-16", "p4_16"],
                        help="language version (only P4_16 is supported)")
    parser.add_argument("--arch", default="v1model", choices=["v1model"],
                        help="target architecture (only v1model is supported)")
    parser.add_argument("--target", default="bmv2", choices=["bmv2"], help=argparse.SUPPRESS)
    return parser


def _defines(values: list[str]) -> dict[str, str | None]:
    result: dict[str, str | None] = {}
    for value in values:
        name, sep, rest = value.partition("=")
        result[name] = rest if sep else None
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    p4info_paths = [p for p in args.p4runtime_files.split(",") if p]
    single_format = {"binary": ".bin", "json": ".json", "text": ".txt"}[args.p4runtime_format]
    try:
        for path in p4info_paths:
            serialize_p4info(p4i.P4Info(), path)  # reject unknown suffixes before compiling
    except UnknownP4InfoFormat as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    try:
        program = compile_file(args.source, include_dirs=args.include_dirs,
                               defines=_defines(args.defines))
    except CompileError as err:
        print(str(err), file=sys.stderr)
        return 1
    for warning in program.warnings:
        print(str(warning), file=sys.stderr)
    if program.p4info_errors and (p4info_paths or args.p4runtime_file):
        print(str(CompileError(program.p4info_errors)), file=sys.stderr)
        return 1
    # like the p4c driver, default to <source stem>.json in the current directory
    output = Path(args.output) if args.output else Path(Path(args.source).stem + ".json")
    try:
        output.write_text(program.json_text())
        for path in p4info_paths:
            Path(path).write_bytes(serialize_p4info(program.p4info, path))
        if args.p4runtime_file:
            Path(args.p4runtime_file).write_bytes(
                serialize_p4info(program.p4info, "p4info" + single_format))
    except OSError as err:
        print(f"error: cannot write output: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
