"""switch.list: lbd reports, per switch, whether its P4Runtime stream is up and whether it
holds the desired state, so that topologies and tests wait on the API instead of lbd's log."""

import asyncio
import dataclasses
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.api import ApiServer
from controller.cli import main
from controller.config import ApiConfig, load_config
from controller.fabric import SwitchFabric
from controller.management import Management
from controller.state import LbState

EXAMPLE = Path(__file__).parents[2] / "controller" / "examples" / "lb.yaml"
S1 = {"name": "s1", "address": "127.0.0.1:9559", "device_id": 1, "connected": True,
      "synchronised": True, "status": "ok", "role": "primary", "election_id": 10,
      "primary_election_id": 10}
S2 = {"name": "s2", "address": "127.0.0.1:9560", "device_id": 2, "connected": False,
      "synchronised": False, "status": "down (will be synchronised when it reconnects)",
      "role": "none", "election_id": 10, "primary_election_id": None}


class StatusFabric:
    """Two switches, one programmed and one down."""

    async def sync(self) -> dict[str, str]:
        return {"s1": "ok", "s2": S2["status"]}

    async def traffic(self) -> dict[tuple[str, str], tuple[int, int]]:
        return {}

    def switches(self) -> list[dict[str, Any]]:
        return [dict(S1), dict(S2)]


@pytest.fixture
def api_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "lbd.sock"
    loop = asyncio.new_event_loop()
    management = Management(LbState(load_config(EXAMPLE)), StatusFabric(), asyncio.Lock())
    server = ApiServer(ApiConfig(unix_socket=path), management.handlers())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(5)
    try:
        yield path
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_lbctl_switch_list_table_and_json(api_socket: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--socket", str(api_socket), "switch", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["SWITCH", "ADDRESS", "DEVICE", "CONNECTED", "ROLE",
                                "SYNCHRONISED", "PRIMARY", "BACKUPS", "STATUS"]
    # Without ha there are no peers to ask: PRIMARY and BACKUPS stay empty ("-").
    assert lines[1].split() == ["s1", "127.0.0.1:9559", "1", "yes", "primary", "yes", "-",
                                "-", "ok"]
    assert lines[2].split()[:8] == ["s2", "127.0.0.1:9560", "2", "no", "none", "no", "-",
                                    "-"]
    assert main(["--socket", str(api_socket), "--json", "switch", "list"]) == 0
    assert json.loads(capsys.readouterr().out) == [S1, S2]


def test_a_switch_never_reached_is_neither_connected_nor_synchronised(tmp_path: Path) -> None:
    # The agents load the P4Info when built; a minimal one is enough without a switch.
    (tmp_path / "lb.p4info.txtpb").write_text('pkg_info { arch: "v1model" }\n')
    (tmp_path / "lb.json").write_text("{}")
    config = load_config(EXAMPLE)
    config = dataclasses.replace(config, pipeline=dataclasses.replace(
        config.pipeline, p4info=tmp_path / "lb.p4info.txtpb", bmv2_json=tmp_path / "lb.json"))
    fabric = SwitchFabric(config, LbState(config), asyncio.Lock())
    described = fabric.switches()
    assert [s["name"] for s in described] == [s.name for s in config.switches]
    for status, switch in zip(described, config.switches, strict=True):
        assert status == {"name": switch.name, "address": switch.address,
                          "device_id": switch.device_id, "connected": False,
                          "synchronised": False, "status": "connecting", "role": "none",
                          "election_id": 10, "primary_election_id": None}
