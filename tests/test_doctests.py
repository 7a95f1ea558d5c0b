"""Every ``>>>`` example in the package runs as written (collected with the rest of the
suite, so CI runs them): the examples in docstrings are documentation users copy."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import duguang_ocr
from tests.helpers import ROOT

# Imported only with their optional extras installed (serve, ray, onnx, synth, ...).
OPTIONAL = ("fastapi", "uvicorn", "ray", "onnx", "onnxruntime", "jieba", "faker", "pydantic",
            "httpx", "starlette")


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(duguang_ocr.__path__, "duguang_ocr.")
                  if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name, monkeypatch):
    try:
        module = importlib.import_module(name)
    except ImportError as e:
        if e.name and e.name.split(".")[0] in OPTIONAL:
            pytest.skip(f"{name} needs {e.name}")
        raise
    tests = [t for t in doctest.DocTestFinder().find(module, name) if t.examples]
    if not tests:
        return
    monkeypatch.chdir(ROOT)  # examples name files relative to the repository
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed"
