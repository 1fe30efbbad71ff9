"""P4Runtime conformance through p4runtime-shell, run from its own environment (.venv-shell).

shell_conformance.py runs every check against an in-process server whose port 1 is cabled
back to port 2 (packet-outs come back as packet-ins and digests) and reports them as JSON;
each check is one test here.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from p4rt_fixture import FIXTURES
from p4rt_testlib import Server

HERE = Path(__file__).resolve().parent
SHELL_PYTHON = HERE.parents[1] / ".venv-shell" / "bin" / "python"
LOOP_OUT, LOOP_IN = 1, 2
CHECKS = (
    "pipeline_config_round_trip", "capabilities_api_version", "exact_insert_modify_delete",
    "lpm_read_is_canonical_and_filtered", "default_entry_read_modify_reset",
    "default_entry_insert_is_invalid", "ternary_priorities", "range_match_read_back",
    "packet_out_loopback_packet_in", "direct_counter_counts_and_writes",
    "indirect_counter_counts_and_writes", "digest_list_and_ack",
    "idle_timeout_notification_and_time_since_last_hit", "meter_config_round_trip",
    "action_selector_members_and_groups", "multicast_group_lifecycle",
    "clone_session_lifecycle", "duplicate_insert_already_exists",
    "delete_and_modify_missing_not_found", "too_wide_value_invalid_argument",
    "unknown_ids_invalid_argument", "backup_client_cannot_write",
)

pytestmark = pytest.mark.skipif(not SHELL_PYTHON.exists(), reason=".venv-shell is not installed")


class Loopback:
    """A cable from port LOOP_OUT back to port LOOP_IN, on its own thread (not under the
    device lock the pipeline holds while it emits)."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self._frames: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, daemon=True)
        server.device.attach_ports(self._send)
        self._thread.start()

    def _send(self, port: int, data: bytes) -> None:
        if port == LOOP_OUT:
            self._frames.put(data)

    def _run(self) -> None:
        while (frame := self._frames.get()) is not None:
            self._server.device.receive(LOOP_IN, frame)

    def close(self) -> None:
        self._frames.put(None)
        self._thread.join(timeout=5)


@pytest.fixture(scope="module")
def shell_results() -> Iterator[dict[str, dict[str, object]]]:
    with Server() as server:
        loopback = Loopback(server)
        try:
            result = subprocess.run(
                [str(SHELL_PYTHON), str(HERE / "shell_conformance.py"), server.address,
                 str(FIXTURES / "mini.p4info.txtpb"), str(FIXTURES / "mini.json")],
                capture_output=True, text=True, timeout=120, cwd="/")
        finally:
            loopback.close()
    assert result.returncode == 0, result.stderr[-3000:]
    checks = json.loads(result.stdout)["checks"]
    yield {check["name"]: check for check in checks}


def test_the_script_runs_exactly_the_listed_checks(
        shell_results: dict[str, dict[str, object]]) -> None:
    assert sorted(shell_results) == sorted(CHECKS)


@pytest.mark.parametrize("name", CHECKS)
def test_shell_check(shell_results: dict[str, dict[str, object]], name: str) -> None:
    check = shell_results[name]
    assert check["ok"], check["detail"]
