"""``p4sim-switch``: command line compatible with BMv2's ``simple_switch_grpc``.

    p4sim-switch [prog.json | --no-p4] -i 1@veth1 -i 2@veth2 [--device-id N] [--cpu-port P]
                 [--log-console] [-L LEVEL] [--pcap [DIR]] [--thrift-port N] [--no-offload]
                 -- [--grpc-server-addr 127.0.0.1:9559] [--cpu-port P]

Options after ``--`` are the target options of simple_switch_grpc.  The gRPC server listens on
127.0.0.1:9559 unless told otherwise.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from p4sim.engine import ConfigError
from p4sim.p4runtime.device import Device
from p4sim.p4runtime.server import create_server
from p4sim.switch.heap import keep_freed_memory
from p4sim.switch.ports import PortError, Ports, parse_interface

log = logging.getLogger("p4sim.switch")

_LOG_LEVELS = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO,
               "warn": logging.WARNING, "warning": logging.WARNING, "error": logging.ERROR,
               "critical": logging.CRITICAL, "off": logging.CRITICAL + 10}


def _core_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="p4sim-switch", description="p4sim software switch with a P4Runtime server "
        "(command line of simple_switch_grpc; target options go after '--')")
    parser.add_argument("program", nargs="?", help="BMv2 JSON program to run at start")
    parser.add_argument("--no-p4", action="store_true",
                        help="start without a program (it comes through P4Runtime)")
    parser.add_argument("-i", "--interface", action="append", default=[],
                        metavar="PORT@IFACE", help="attach a network interface as a port")
    parser.add_argument("--device-id", type=int, default=0, help="P4Runtime device id")
    parser.add_argument("--cpu-port", type=int, help="port number of the CPU port")
    parser.add_argument("--log-console", action="store_true", help="log to stderr")
    parser.add_argument("--log-file", metavar="PATH", help="log to a file")
    parser.add_argument("--log-flush", action="store_true",
                        help="accepted for compatibility; log records are always flushed")
    parser.add_argument("-L", "--log-level", choices=sorted(_LOG_LEVELS), default="info",
                        help="log level with --log-console")
    parser.add_argument("--pcap", nargs="?", const=".", metavar="DIR",
                        help="write <iface>_in.pcap and <iface>_out.pcap files in DIR")
    parser.add_argument("--no-offload", action="store_true",
                        help="ports without GSO super-segments, partial checksums or batched "
                        "I/O: one MTU-sized frame per system call")
    parser.add_argument("--thrift-port", type=int,
                        help="accepted for compatibility; p4sim has no Thrift server")
    return parser


def _target_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="p4sim-switch ... --", add_help=True)
    parser.add_argument("--grpc-server-addr", default="127.0.0.1:9559",
                        help="address of the P4Runtime server (default 127.0.0.1:9559)")
    parser.add_argument("--cpu-port", type=int, help="port number of the CPU port")
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    args = list(argv)
    split = args.index("--") if "--" in args else len(args)
    core_parser = _core_parser()
    core = core_parser.parse_args(args[:split])
    target = _target_parser().parse_args(args[split + 1:])
    if core.program is None and not core.no_p4:
        core_parser.error("give a BMv2 JSON program or --no-p4")
    if core.program is not None and core.no_p4:
        core_parser.error("--no-p4 and a program are mutually exclusive")
    try:
        interfaces = dict(parse_interface(spec) for spec in core.interface)
    except ValueError as err:
        core_parser.error(str(err))
    if len(interfaces) != len(core.interface):
        core_parser.error("the same port number is given twice")
    core.interfaces = interfaces
    core.grpc_server_addr = target.grpc_server_addr
    if target.cpu_port is not None:
        core.cpu_port = target.cpu_port
    return core


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    level = _LOG_LEVELS[args.log_level]
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(level if args.log_console else logging.WARNING)
    handlers: list[logging.Handler] = [console]
    if args.log_file is not None:
        to_file = logging.FileHandler(args.log_file)
        to_file.setLevel(level)
        handlers.append(to_file)
    logging.basicConfig(level=min(level, logging.WARNING), handlers=handlers,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.thrift_port is not None:
        log.warning("--thrift-port %d ignored: p4sim-switch only serves P4Runtime",
                    args.thrift_port)
    device = Device(args.device_id, cpu_port=args.cpu_port)
    if args.program is not None:
        try:
            device.load_program(Path(args.program).read_bytes())
        except (OSError, ConfigError, ValueError) as err:
            print(f"p4sim-switch: cannot load {args.program}: {err}", file=sys.stderr)
            return 1
    pcap_dir = Path(args.pcap) if args.pcap is not None else None
    if pcap_dir is not None and not pcap_dir.is_dir():
        print(f"p4sim-switch: pcap directory {pcap_dir} does not exist", file=sys.stderr)
        return 1
    try:
        ports = Ports(args.interfaces, pcap_dir, offload=not args.no_offload)
    except PortError as err:
        print(f"p4sim-switch: {err}", file=sys.stderr)
        return 1
    device.attach_ports(ports.send, None if args.no_offload else ports.send_offloaded)
    keep_freed_memory()
    try:
        server, _ = create_server(device, args.grpc_server_addr)
    except (OSError, RuntimeError) as err:
        print(f"p4sim-switch: cannot start the gRPC server: {err}", file=sys.stderr)
        ports.close()
        return 1
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    device.start()
    log.info("p4sim-switch: device %d, P4Runtime on %s, ports %s", args.device_id,
             args.grpc_server_addr, args.interfaces)
    try:
        ports.serve(device.receive_batch, stop)
    finally:
        server.stop(grace=1).wait(2)
        device.stop()
        ports.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
