"""lbd start-up: configuration errors are reported completely and stop it (exit 2)."""

from pathlib import Path

import pytest
import yaml

from controller.daemon import main

EXAMPLE = Path(__file__).parents[2] / "controller" / "examples" / "lb.yaml"


def write_config(tmp_path: Path, **changes: object) -> Path:
    raw = yaml.safe_load(EXAMPLE.read_text())
    raw["pipeline"] = {"p4info": "lb.p4info.txtpb", "bmv2_json": "lb.json"}
    raw.update(changes)
    path = tmp_path / "lb.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_check_accepts_a_valid_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "lb.p4info.txtpb").write_text('pkg_info { arch: "v1model" }\n')
    (tmp_path / "lb.json").write_text("{}")
    assert main(["--config", str(write_config(tmp_path)), "--check"]) == 0
    assert capsys.readouterr().out.endswith(": ok (2 services, 1 switches)\n")


def test_invalid_config_lists_every_problem(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, connection_idle_timeout=-1, switches=[{"name": "s1"}])
    assert main(["--config", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"lbd: invalid configuration {path}:"
    assert "  connection_idle_timeout: -1 is not a non-negative number of seconds" in err
    assert "  switches[0].address: is required" in err
    assert "  switches[0].router_mac: is required" in err


def test_missing_pipeline_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(write_config(tmp_path)), "--check"]) == 2
    err = capsys.readouterr().err
    assert f"pipeline: file not found: {tmp_path / 'lb.json'}" in err
    assert main(["--config", str(tmp_path / "absent.yaml")]) == 2


def test_unparsable_pipeline_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "lb.p4info.txtpb").write_text("garbage {\n")
    (tmp_path / "lb.json").write_text("{")
    assert main(["--config", str(write_config(tmp_path)), "--check"]) == 2
    err = capsys.readouterr().err
    assert f"pipeline.p4info: {tmp_path / 'lb.p4info.txtpb'} is not a P4Info" in err
    assert f"pipeline.bmv2_json: {tmp_path / 'lb.json'} is not JSON" in err
