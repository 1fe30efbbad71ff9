"""cpp invocation as p4c does it, and mapping of positions back to the sources."""

from pathlib import Path

import pytest

from p4sim.compiler.diagnostics import CompileError
from p4sim.compiler.preprocess import preprocess_file, preprocess_source, strip_line_markers


def test_line_markers_map_lines_back_to_included_files(tmp_path: Path) -> None:
    (tmp_path / "inc.p4").write_text("struct s_t { bit<1> a; }\n")
    main = tmp_path / "main.p4"
    main.write_text('#define W 8\n#include "inc.p4"\nconst bit<W> c = 1;\n')
    result = preprocess_file(main)
    lines = result.text.split("\n")
    struct_line = next(i for i, line in enumerate(lines, 1) if "struct s_t" in line)
    const_line = next(i for i, line in enumerate(lines, 1) if "const bit<8>" in line)
    assert result.line_map.locate(struct_line) == (str(tmp_path / "inc.p4"), 1)
    assert result.line_map.locate(const_line) == (str(main), 3)


def test_defines_and_include_dirs(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "defs.p4").write_text("const bit<8> K = VALUE;\n")
    result = preprocess_source('#include "defs.p4"\n', "x.p4",
                               include_dirs=[tmp_path / "lib"], defines={"VALUE": "42"})
    assert "const bit<8> K = 42;" in result.text


def test_target_macro_is_defined_and_no_system_macros_leak() -> None:
    text = preprocess_source("#ifdef __TARGET_BMV2__\nbmv2\n#endif\n#ifdef __linux__\nlinux\n"
                             "#endif\n", "x.p4").text
    assert "bmv2" in text and "linux" not in text


def test_core_and_v1model_come_from_the_compiler(tmp_path: Path) -> None:
    text = preprocess_source("#include <v1model.p4>\n", "x.p4").text
    assert "package V1Switch" in text and "extern packet_in" in text


def test_missing_include_is_a_compile_error_at_the_directive() -> None:
    with pytest.raises(CompileError) as info:
        preprocess_source('\n#include "nope.p4"\n', "x.p4")
    assert str(info.value).startswith("x.p4:2:10: error: nope.p4: No such file or directory")


def test_error_directive_is_reported() -> None:
    with pytest.raises(CompileError) as info:
        preprocess_source("#error stop here\n", "x.p4")
    assert info.value.diagnostics[0].line == 1
    assert "stop here" in info.value.diagnostics[0].message


def test_missing_file() -> None:
    with pytest.raises(CompileError, match="No such file"):
        preprocess_file("/nonexistent/prog.p4")


def test_strip_line_markers_keeps_line_numbers_aligned() -> None:
    result = strip_line_markers('# 1 "a.p4"\nx\n# 10 "b.p4" 1\ny\n', "a.p4")
    assert result.text.split("\n") == ["", "x", "", "y", ""]
    assert result.line_map.locate(2) == ("a.p4", 1)
    assert result.line_map.locate(4) == ("b.p4", 10)
