"""Independent P4Runtime clients against the server: finsy (asyncio) and p4runtime-shell."""

from __future__ import annotations

import asyncio
import subprocess
import textwrap
from pathlib import Path

import finsy as fy
import pytest
from p4rt_fixture import FIXTURES
from p4rt_testlib import Server

REPO = Path(__file__).resolve().parents[2]
SHELL_PYTHON = REPO / ".venv-shell" / "bin" / "python"


def test_finsy_sets_the_pipeline_writes_and_reads(server: Server) -> None:
    async def scenario() -> list[fy.P4TableEntry]:
        options = fy.SwitchOptions(p4info=FIXTURES / "mini.p4info.txtpb",
                                   p4blob=FIXTURES / "mini.json", device_id=0)
        async with fy.Switch("sw", server.address, options) as switch:
            await switch.insert([
                fy.P4TableEntry(
                    "ipv4_lpm", match=fy.P4TableMatch({"hdr.ipv4.dstAddr": "10.0.0.0/8"}),
                    action=fy.P4TableAction("set_nhop", dmac=1, port=2)),
                fy.P4MulticastGroupEntry(1, replicas=[1, 2]),
            ])
            found = [entry async for entry in switch.read(  # type: ignore[attr-defined]
                fy.P4TableEntry("ipv4_lpm"))]
            await switch.delete_all()
            remaining = switch.read(fy.P4TableEntry())
            assert [e async for e in remaining] == []  # type: ignore[attr-defined]
            return found

    found = asyncio.run(asyncio.wait_for(scenario(), timeout=30))
    assert len(found) == 1
    assert found[0].action is not None


@pytest.mark.skipif(not SHELL_PYTHON.exists(), reason=".venv-shell is not installed")
def test_p4runtime_shell_sets_the_pipeline_inserts_and_reads(server: Server) -> None:
    script = textwrap.dedent(f"""
        import p4runtime_sh.shell as sh
        sh.setup(device_id=0, grpc_addr={server.address!r}, election_id=(0, 1),
                 config=sh.FwdPipeConfig({str(FIXTURES / 'mini.p4info.txtpb')!r},
                                         {str(FIXTURES / 'mini.json')!r}), verbose=False)
        entry = sh.TableEntry("MyIngress.ipv4_lpm")(action="MyIngress.set_nhop")
        entry.match["hdr.ipv4.dstAddr"] = "10.0.0.0/8"
        entry.action["dmac"] = "00:00:00:00:00:01"
        entry.action["port"] = "2"
        entry.insert()
        found = list(sh.TableEntry("MyIngress.ipv4_lpm").read())
        lpm = found[0].match["hdr.ipv4.dstAddr"].lpm
        print("ENTRIES", len(found), lpm.value.hex(), lpm.prefix_len)
        sh.teardown()
    """)
    result = subprocess.run([str(SHELL_PYTHON), "-c", script], capture_output=True, text=True,
                            timeout=60, cwd="/")
    assert result.returncode == 0, result.stderr
    assert "ENTRIES 1 0a000000 8" in result.stdout


