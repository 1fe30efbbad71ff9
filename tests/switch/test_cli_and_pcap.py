"""Command line (simple_switch_grpc compatible) and the pcap writer."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.utils import rdpcap

from p4sim.switch import ports
from p4sim.switch.cli import parse_args
from p4sim.switch.pcap import PcapWriter
from p4sim.switch.ports import parse_interface

REPO = Path(__file__).resolve().parents[2]


def test_simple_switch_grpc_command_line() -> None:
    args = parse_args(["-i", "1@veth1", "--interface", "2@veth2", "--device-id", "3",
                       "--log-console", "-L", "debug", "--pcap", "/tmp", "--thrift-port",
                       "9091", "prog.json", "--", "--grpc-server-addr", "127.0.0.1:50001",
                       "--cpu-port", "255"])
    assert args.interfaces == {1: "veth1", 2: "veth2"}
    assert (args.device_id, args.cpu_port, args.program) == (3, 255, "prog.json")
    assert args.grpc_server_addr == "127.0.0.1:50001"
    assert args.pcap == "/tmp" and args.log_level == "debug"


def test_defaults_and_cpu_port_before_the_separator() -> None:
    args = parse_args(["--no-p4", "--cpu-port", "64"])
    assert args.grpc_server_addr == "127.0.0.1:9559"
    assert args.cpu_port == 64 and args.program is None and args.interfaces == {}
    assert parse_args(["--no-p4", "--pcap"]).pcap == "."


@pytest.mark.parametrize("argv", [
    [],  # neither a program nor --no-p4
    ["--no-p4", "prog.json"],
    ["--no-p4", "-i", "veth1"],
    ["--no-p4", "-i", "1@a", "-i", "1@b"],
    ["--no-p4", "--", "--unknown"],
])
def test_bad_command_lines_exit_with_usage(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        parse_args(argv)
    assert info.value.code == 2


def test_parse_interface() -> None:
    assert parse_interface("12@eth0") == (12, "eth0")
    with pytest.raises(ValueError):
        parse_interface("x@eth0")


def run_switch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "p4sim.switch.cli", *args],
                          capture_output=True, text=True, timeout=30, cwd=REPO)


def test_startup_errors_are_reported_cleanly(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    result = run_switch(str(bad_json))
    assert result.returncode == 1 and "cannot load" in result.stderr
    result = run_switch("--no-p4", "-i", "1@p4sw-nonexistent0")
    assert result.returncode == 1 and "p4sw-nonexistent0" in result.stderr
    assert "Traceback" not in result.stderr


def test_pcap_files_are_readable_by_scapy(tmp_path: Path) -> None:
    path = tmp_path / "port_in.pcap"
    writer = PcapWriter(path)
    frames = [b"\x00" * 14 + b"first", b"\xff" * 60]
    for frame in frames:
        writer.write(frame)
    assert [bytes(p) for p in rdpcap(str(path))] == frames  # flushed while still open
    writer.close()


def test_vlan_tag_stripped_by_the_kernel_is_restored() -> None:
    untagged = bytes(6) + bytes.fromhex("020000000001") + b"\x08\x00" + b"payload"
    status = ports.TP_STATUS_VLAN_VALID
    auxdata = struct.pack("=IIIHHHH", status, len(untagged), len(untagged), 0, 0, 0x2064, 0)
    tagged = ports.restore_vlan_tag(untagged, [(ports.SOL_PACKET, ports.PACKET_AUXDATA,
                                                 auxdata)])
    assert tagged == untagged[:12] + b"\x81\x00\x20\x64" + untagged[12:]
    assert ports.restore_vlan_tag(untagged, []) == untagged
