"""Parity with ModelScope's own recognizer code (shared/msref), on random-weight checkpoints.

ModelScope's classes build the checkpoints and produce reference texts and logits in a
separate virtualenv (scripts/setup_msref.sh); we load the same directories and must give the
same logits (1e-5) and identical strings in ``parity`` mode, for images given as file paths.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import torch

from duguang_ocr import Recognizer
from tests.helpers import ROOT, SHARED

pytestmark = pytest.mark.msref

# Float results of conv/matmul kernels depend on how many threads split the work, so both
# sides run with the same count (other tests, e.g. training with train.threads, change it).
THREADS = 2


@pytest.fixture(autouse=True)
def same_thread_count_as_the_reference():
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(before)


def _msref_python() -> str | None:
    env = os.environ.get("DUGUANG_MSREF_PYTHON")
    cand = Path(env) if env else ROOT / ".venv-msref" / "bin" / "python"
    return str(cand) if cand.exists() else None


@pytest.fixture(scope="module")
def reference(tmp_path_factory, line_images):
    python = _msref_python()
    script = SHARED / "msref" / "make_and_run.py"
    if python is None or not script.exists():
        pytest.skip("ModelScope reference venv missing: run scripts/setup_msref.sh")
    out = tmp_path_factory.mktemp("msref")
    images = [str(p) for p in line_images.values()]
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS)}
    proc = subprocess.run(
        [python, str(script), str(out), *images], capture_output=True, text=True, timeout=600,
        env=env,
    )
    if proc.returncode != 0:
        pytest.fail(f"ModelScope reference run failed:\n{proc.stderr[-3000:]}")
    return out


@pytest.mark.parametrize("arch", ["convnextvit", "crnn", "lightweightedge"])
def test_logits_and_strings_match_modelscope(reference, line_images, arch):
    model_dir = reference / arch
    texts = json.loads((model_dir / "reference.json").read_text(encoding="utf-8"))
    logits = torch.load(model_dir / "reference_logits.pt", weights_only=True)
    rec = Recognizer.from_pretrained(model_dir, device="cpu", mode="parity")
    paths = list(line_images.values())
    assert len(texts) == len(paths) == 5
    ours = rec.forward_logits(paths)
    for path, out in zip(paths, ours):
        ref = logits[path.name][0]
        assert out.shape == ref.shape
        torch.testing.assert_close(out, ref, rtol=0, atol=1e-5)
    assert rec([str(p) for p in paths]) == [texts[p.name] for p in paths]
    # Batched parity-mode inference gives the same strings as one at a time.
    assert [rec(p) for p in paths] == [texts[p.name] for p in paths]


def test_default_mode_agrees_with_parity_logits_on_shared_frames(reference, line_images):
    """Default mode runs only the chunks a line needs; the frames both modes compute from
    the same pixels agree (fused attention: float rounding only)."""
    rec_default = Recognizer.from_pretrained(reference / "convnextvit", device="cpu")
    rec_parity = Recognizer.from_pretrained(reference / "convnextvit", device="cpu", mode="parity")
    for key in ("short", "exact804"):
        (fast,) = rec_default.forward_logits([line_images[key]])
        (slow,) = rec_parity.forward_logits([line_images[key]])
        n = fast.shape[0] - 6  # the last 6 frames of the last chunk overlap padding-only chunks
        torch.testing.assert_close(fast[:n], slow[:n], rtol=1e-4, atol=1e-4)


