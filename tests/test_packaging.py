"""What the package claims about itself agrees with what is tested and shipped.

A newcomer reads README's Python floor, pip reads ``requires-python`` and CI installs one
torch; when these drift apart, installs fail in ways no other test notices.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from duguang_ocr import __version__
from duguang_ocr.hub import DEFAULT_MODEL_DIR

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def _pyproject_value(key: str) -> str:
    match = re.search(rf'^{re.escape(key)}\s*=\s*"([^"]*)"', PYPROJECT, re.MULTILINE)
    assert match, f"{key} missing from pyproject.toml"
    return match.group(1)


def _python_floor() -> str:
    spec = _pyproject_value("requires-python")
    assert spec.startswith(">="), spec
    return spec[2:]


def test_readme_states_the_python_and_torch_floor_of_the_metadata() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"Python ≥ {_python_floor()}" in readme
    torch_floor = re.search(r'"torch>=([\d.]+)"', PYPROJECT).group(1)
    assert f"torch ≥ {torch_floor}" in readme


def test_ci_tests_the_lowest_torch_the_metadata_allows() -> None:
    torch_floor = re.search(r'"torch>=([\d.]+)"', PYPROJECT).group(1)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    pinned = re.search(r"torch==([\d.]+)", ci).group(1)
    assert pinned.split(".")[:2] == torch_floor.split(".")[:2]


def test_code_needs_no_newer_python_than_claimed() -> None:
    """Only one interpreter is installed here, so the lowest claimed Python is checked
    statically: vermin knows which release added each syntax form and stdlib name."""
    if shutil.which("vermin") is None:
        pytest.skip("vermin not installed (pip install -e '.[test]')")
    target = f"-t={_python_floor()}-"
    proc = subprocess.run(["vermin", "--no-tips", "--violations", target, "src", "scripts",
                           "examples", "benchmarks"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_license_is_an_spdx_expression() -> None:
    # The TOML-table form is deprecated by setuptools (an error from 2027-02-18).
    assert _pyproject_value("license") == "Apache-2.0"
    assert _pyproject_value("version") == __version__


def test_scratch_config_header_names_the_real_default_vocabulary() -> None:
    header = (ROOT / "src/duguang_ocr/configs/scratch_convnextvit_small.yaml").read_text()
    count = int(re.search(r"([\d,]+) symbols", header).group(1).replace(",", ""))
    vocab = (DEFAULT_MODEL_DIR / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert count == len(vocab)
    config = json.loads((DEFAULT_MODEL_DIR / "configuration.json").read_text(encoding="utf-8"))
    assert config["model"]["duguang_ocr"]["variant"] in header


def test_tests_use_a_private_model_cache() -> None:
    from duguang_ocr.hub.cache import cache_dir

    assert not cache_dir().is_relative_to(Path.home() / ".cache")
