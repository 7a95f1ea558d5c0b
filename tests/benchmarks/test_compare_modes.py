"""Smoke test of benchmarks/compare_modes.py on a tiny model and a three-line folder."""

import shutil

from tests.helpers import load_script


def _load():
    return load_script("benchmarks/compare_modes.py")


def test_compare_modes_prints_one_row_per_config(tiny_model_dir, line_images, tmp_path, capsys):
    data = tmp_path / "set"
    data.mkdir()
    rows = []
    for name, path in list(line_images.items())[:3]:
        shutil.copy(path, data / f"{name}.png")
        rows.append(f"{name}.png\tsome text")
    (data / "labels.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    code = _load().main(["--model", str(tiny_model_dir), "--data", str(data),
                         "--configs", "fast,bf16"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    table = [line.split() for line in out if line.startswith("set ")]
    assert [r[1] for r in table] == ["default", "fast", "bf16"]  # default added first
    assert all(r[2] == "3" for r in table)
    assert table[0][-1] == "100.0%"  # default agrees with itself


def test_compare_modes_rejects_unknown_configs(capsys):
    import pytest

    with pytest.raises(SystemExit):
        _load().main(["--data", "x", "--configs", "turbo"])
    assert "unknown configs" in capsys.readouterr().err
