"""Two lbd instances on the same switches (docs/ha.md): the higher election id is primary
and the only writer, the backup follows its changes, takes over when it is killed, and the
old primary comes back as a backup.  Against p4sim-switch, and simple_switch_grpc when
installed (switch_rig.py)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from finsy import P4TableAction, P4TableEntry, P4TableMatch
from finsy.proto import p4r, p4r_grpc
from switch_rig import (
    B1_MAC,
    B2_MAC,
    SWITCH_PROGRAMS,
    LbdProcess,
    Rig,
    connection_entries,
    send_and_capture,
    switch_program,
    tcp_syn,
    wait_for,
)

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                       reason="needs root and iproute2 (network namespaces)"),
    pytest.mark.skipif(importlib.util.find_spec("p4sim.compiler.cli") is None,
                       reason="p4sim-compile is not in this tree yet"),
]
PRIMARY_ID, BACKUP_ID = 20, 10


class HaRig(Rig):
    """The rig's switches with two lbd instances: ``a`` (election id 20) and ``b`` (10)."""

    def __init__(self, program: str, pipeline: tuple[Path, Path], workdir: Path) -> None:
        super().__init__(program, pipeline, workdir)
        secret = workdir / "cookie.key"
        secret.write_text(os.urandom(32).hex())
        sockets = {"a": workdir / "lbd-a.sock", "b": workdir / "lbd-b.sock"}
        self.instances: dict[str, LbdProcess] = {}
        for name, election_id in (("a", PRIMARY_ID), ("b", BACKUP_ID)):
            config = dict(self.config, api={"unix_socket": str(sockets[name])}, ha={
                "election_id": election_id, "cookie_secret_file": str(secret),
                "sync_interval": 0.1,
                "peers": [{"unix_socket": str(s)} for n, s in sockets.items() if n != name]})
            path = workdir / f"lbd-{name}.yaml"
            path.write_text(yaml.safe_dump(config))
            self.instances[name] = LbdProcess(path, sockets[name], workdir / f"lbd-{name}.log")
        self.a, self.b = self.instances["a"], self.instances["b"]

    def roles(self, lbd: LbdProcess) -> dict[str, Any]:
        return {s["name"]: s for s in lbd.lbctl_json("switch", "list")}  # type: ignore


def kill(lbd: LbdProcess) -> None:
    assert lbd.proc is not None
    lbd.proc.send_signal(signal.SIGKILL)
    lbd.proc.wait(10)
    lbd.socket.unlink(missing_ok=True)


def primary_and_synchronised(lbd: LbdProcess) -> bool:
    try:
        switches = lbd.lbctl_json("switch", "list")
    except AssertionError:
        return False
    return all(s["role"] == "primary" and s["synchronised"]
               for s in switches)  # type: ignore[union-attr]


@pytest.fixture(scope="module", params=SWITCH_PROGRAMS)
def ha(request: pytest.FixtureRequest, pipeline: tuple[Path, Path], namespace: str,
       tmp_path_factory: pytest.TempPathFactory) -> Iterator[HaRig]:
    program = switch_program(request.param)
    rig = HaRig(program, pipeline, tmp_path_factory.mktemp("ha"))
    try:
        rig.switch.start()
        rig.switch2.start()
        rig.a.start()
        wait_for(lambda: primary_and_synchronised(rig.a), 30, "a to program the switches")
        rig.b.start()
        wait_for(lambda: all(s["role"] == "backup" for s in rig.roles(rig.b).values()), 20,
                 "b to connect as backup")
        yield rig
    finally:
        for lbd in rig.instances.values():
            lbd.stop()
        rig.switch.stop()
        rig.switch2.stop()


def test_higher_election_id_is_primary_and_switch_list_names_both(ha: HaRig) -> None:
    for lbd in (ha.a, ha.b):
        for name, switch in ha.roles(lbd).items():
            assert switch["primary"] == f"{PRIMARY_ID}@{ha.a.socket}", name
            assert switch["backups"] == [f"{BACKUP_ID}@{ha.b.socket}"], name
    assert {s["role"] for s in ha.roles(ha.a).values()} == {"primary"}
    assert {s["role"] for s in ha.roles(ha.b).values()} == {"backup"}
    status = ha.b.lbctl("ha", "status")
    assert status.returncode == 0 and "role       backup" in status.stdout
    table = ha.a.lbctl("switch", "list").stdout.splitlines()
    assert table[1].split()[4] == "primary"


def test_backup_cannot_write_neither_through_lbd_nor_p4runtime(ha: HaRig) -> None:
    refused = ha.b.lbctl("backend", "weight", "tls", "b2", "5")
    assert refused.returncode != 0 and "is a backup" in refused.stderr
    # Split brain is impossible by construction: the switch itself refuses a write that
    # does not carry the primary's election id.
    schema = ha.schema
    entry = P4TableEntry("vip_table", match=P4TableMatch(vip="10.9.9.9"),
                         action=P4TableAction("NoAction"))
    update = p4r.Update(type=p4r.Update.INSERT, entity=entry.encode(schema))
    with grpc.insecure_channel(f"127.0.0.1:{ha.switch.port}") as channel:
        stub = p4r_grpc.P4RuntimeStub(channel)
        for election_id in (BACKUP_ID, PRIMARY_ID - 1, PRIMARY_ID + 1):
            with pytest.raises(grpc.RpcError) as denied:
                stub.Write(p4r.WriteRequest(device_id=1, updates=[update],
                                            election_id=p4r.Uint128(low=election_id)),
                           timeout=5)
            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert len(ha.table("vip_table")) == 1


def test_changes_on_the_primary_reach_the_backup(ha: HaRig) -> None:
    assert ha.a.lbctl("backend", "weight", "tls", "b2", "3").returncode == 0

    def weights(lbd: LbdProcess) -> list[int]:
        services = lbd.lbctl_json("service", "list")
        (tls,) = [s for s in services if s["name"] == "tls"]  # type: ignore[union-attr]
        return [b["weight"] for b in tls["backends"]]

    assert weights(ha.a) == [1, 3]
    wait_for(lambda: weights(ha.b) == [1, 3], 5, "b to replay the change")


def test_backup_takes_over_when_the_primary_is_killed(ha: HaRig) -> None:
    seen = send_and_capture(tcp_syn(443, 43001))  # controller-scheduled: a pins it
    assert seen
    before = connection_entries(ha)
    assert (43001, 443) in before
    wait_for(lambda: any(c["client_port"] == 43001 for c in ha.b.lbctl_json("conns")),
             5, "b to mirror the pinned connection")  # type: ignore[union-attr]
    killed = time.monotonic()
    kill(ha.a)
    wait_for(lambda: primary_and_synchronised(ha.b), 10, "b to take over")
    takeover = time.monotonic() - killed
    print(f"takeover: {takeover * 1000:.0f} ms")
    assert takeover < 3.0
    # The switch kept its connections; b adopted them and schedules new ones.
    assert connection_entries(ha) == before
    assert send_and_capture(tcp_syn(443, 43002))
    assert (43002, 443) in connection_entries(ha)
    # b schedules with the change made on a, which it replayed.
    services = ha.b.lbctl_json("service", "list")
    (tls,) = [s for s in services if s["name"] == "tls"]  # type: ignore[union-attr]
    assert [b["weight"] for b in tls["backends"]] == [1, 3]
    for switch in ha.roles(ha.b).values():
        assert switch["election_id"] == PRIMARY_ID  # b bid the highest id the switch saw
        assert switch["primary"] == f"{PRIMARY_ID}@{ha.b.socket}"
        assert switch["backups"] == []


def test_old_primary_comes_back_as_backup_and_does_not_write(ha: HaRig) -> None:
    def programmed() -> list[str]:  # all but connections, which come and go with traffic
        return sorted(repr(e) for e in ha.entries() if e.table != "connection_table")

    entries_before = programmed()
    ha.a.start()
    wait_for(lambda: all(s["role"] == "backup" for s in ha.roles(ha.a).values()), 20,
             "a to connect as backup")
    for switch in ha.roles(ha.a).values():
        # a's id is b's now: a bids one lower and stays a backup.
        assert switch["election_id"] == PRIMARY_ID - 1
        assert switch["primary"] == f"{PRIMARY_ID}@{ha.b.socket}"
        assert switch["backups"] == [f"{PRIMARY_ID - 1}@{ha.a.socket}"]
    assert primary_and_synchronised(ha.b)
    # a replays b's journal (which holds a's own earlier change) and writes nothing.
    time.sleep(1.5)
    assert programmed() == entries_before
    services = ha.a.lbctl_json("service", "list")
    (tls,) = [s for s in services if s["name"] == "tls"]  # type: ignore[union-attr]
    assert [b["weight"] for b in tls["backends"]] == [1, 3]
    assert ha.a.lbctl("backend", "drain", "tls", "b1").returncode != 0
    # b still serves new connections.
    frames = send_and_capture(tcp_syn(443, 43003))
    assert frames
    from scapy.layers.l2 import Ether
    assert Ether(frames[0]).dst in (B1_MAC, B2_MAC)
