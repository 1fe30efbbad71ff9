"""``p4sim-compile`` writes p4c's outputs and reports errors like p4c."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from compiler_corpus import CORPUS
from finsy.proto import p4i
from google.protobuf import json_format, text_format

from p4sim.compiler.cli import main


def test_writes_json_and_p4info_in_every_format(tmp_path: Path) -> None:
    out = tmp_path / "prog.json"
    text = tmp_path / "prog.p4info.txtpb"
    binary = tmp_path / "prog.p4info.bin"
    as_json = tmp_path / "prog.p4info.json"
    code = main([str(CORPUS / "basic_ipv4.p4"), "-o", str(out), "--p4runtime-files",
                 f"{text},{binary},{as_json}"])
    assert code == 0
    document = json.loads(out.read_text())
    assert document["pipelines"][0]["tables"][0]["name"] == "MyIngress.ipv4_lpm"
    assert text.read_text().startswith(
        "# proto-file: p4/config/v1/p4info.proto\n# proto-message: p4.config.v1.P4Info\n\n")
    from_text = text_format.Parse(text.read_text(), p4i.P4Info())
    from_binary = p4i.P4Info.FromString(binary.read_bytes())
    from_json = json_format.Parse(as_json.read_text(), p4i.P4Info())
    assert from_text == from_binary == from_json
    assert from_text.tables[0].preamble.name == "MyIngress.ipv4_lpm"


def test_defines_and_include_dirs(tmp_path: Path) -> None:
    source = tmp_path / "main.p4"
    source.write_text((CORPUS / "basic_ipv4.p4").read_text().replace(
        "size = 1024;", "size = TABLE_SIZE;"))
    out = tmp_path / "main.json"
    assert main([str(source), "-o", str(out), "-D", "TABLE_SIZE=77", "-I", str(CORPUS)]) == 0
    assert json.loads(out.read_text())["pipelines"][0]["tables"][0]["max_size"] == 77


def test_compile_error_exits_1_with_diagnostics(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "bad.p4"
    source.write_text("#include <core.p4>\n#include <v1model.p4>\ncontrol C() { apply {} }\n")
    assert main([str(source), "-o", str(tmp_path / "bad.json")]) == 1
    err = capsys.readouterr().err
    assert f"{source}:" in err and "error:" in err
    assert not (tmp_path / "bad.json").exists()


def test_unknown_p4info_suffix_is_rejected(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code = main([str(CORPUS / "basic_ipv4.p4"), "-o", str(tmp_path / "x.json"),
                 "--p4runtime-files", str(tmp_path / "x.yaml")])
    assert code == 1
    assert "known suffixes are .bin, .txt, .txtpb, .json" in capsys.readouterr().err


def test_deprecated_single_p4runtime_file_option(tmp_path: Path) -> None:
    out = tmp_path / "p4info.any"
    assert main([str(CORPUS / "basic_ipv4.p4"), "-o", str(tmp_path / "x.json"),
                 "--p4runtime-file", str(out), "--p4runtime-format", "text"]) == 0
    assert text_format.Parse(out.read_text(), p4i.P4Info()).tables[0].preamble.id == 37375156


def _ecmp_with_implementation(tmp_path: Path, annotation: str) -> Path:
    source = (CORPUS / "ecmp_selector.p4").read_text()
    source = source.replace("        implementation = ecmp_selector;",
                            f"        {annotation}implementation = "
                            "action_selector(HashAlgorithm.crc16, 32w64, 32w16);")
    path = tmp_path / "inplace.p4"
    path.write_text(source)
    return path


def test_in_place_implementation_is_named_by_its_property(tmp_path: Path) -> None:
    source = _ecmp_with_implementation(tmp_path, '@name("ecmp_ap") ')
    text = tmp_path / "p.txt"
    assert main([str(source), "-I", str(CORPUS), "-o", str(tmp_path / "p.json"),
                 "--p4runtime-files", str(text)]) == 0
    info = text_format.Parse(text.read_text(), p4i.P4Info())
    # the property's @name is used as is (p4c's action_profile_max_group_size_annotation
    # sample: `@name("ap") implementation = ...` -> action profile "ap")
    assert [p.preamble.name for p in info.action_profiles] == ["MyIngress.ecmp_selector",
                                                               "ecmp_ap"]


def test_anonymous_in_place_implementation_fails_only_for_p4info(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _ecmp_with_implementation(tmp_path, "")
    out = tmp_path / "p.json"
    assert main([str(source), "-I", str(CORPUS), "-o", str(out)]) == 0
    table = json.loads(out.read_text())["pipelines"][0]["tables"]
    assert any(t.get("action_profile") == "action_profile" for t in table)
    assert main([str(source), "-I", str(CORPUS), "-o", str(out), "--p4runtime-files",
                 str(tmp_path / "p.txt")]) == 1
    assert "anonymous table property 'implementation'" in capsys.readouterr().err
