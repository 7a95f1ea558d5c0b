"""Inference paths agree: batched vs per-image, torch vs ONNX Runtime, int8, loader threads.

Tiny random-weight models only (``convnextvit_test``, and a small-vocab CRNN for export).
"""

from __future__ import annotations

import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path

import pytest
import torch

from duguang_ocr import Recognizer
from duguang_ocr.hub.modelscope import load_model_dir
from tests.helpers import assert_same_recognizer, make_model_dir, recognizer_state, render

TEXTS = {
    "short": "Hi 42",
    "medium": "medium line 12345",
    "two_chunks": "a somewhat longer line of text, 2024",
    "five_chunks": "a long line of text " * 6,
    "cjk": "你好世界 mixed 中文识别",
}


@pytest.fixture(scope="module")
def lines(tmp_path_factory) -> list[Path]:
    """Rendered lines of different lengths on disk, one needing several chunks."""
    d = tmp_path_factory.mktemp("backend_lines")
    paths = []
    for name, text in TEXTS.items():
        render(text).save(p := d / f"{name}.png")
        paths.append(p)
    render("exactly 804 px wide", width=804).save(p := d / "exact804.png")
    paths.append(p)
    return paths


@pytest.fixture(scope="module")
def rec(tiny_model_dir) -> Recognizer:
    rec = Recognizer(tiny_model_dir, device="cpu", batch_size=4)
    before = recognizer_state(rec)
    yield rec
    assert_same_recognizer(before, recognizer_state(rec))


@pytest.fixture(scope="module")
def rec_onnx(tiny_model_dir) -> Recognizer:
    pytest.importorskip("onnxruntime")
    return Recognizer(tiny_model_dir, device="cpu", batch_size=4, backend="onnxruntime")


def _batched_logits(rec: Recognizer, paths: list[Path]) -> list[torch.Tensor]:
    """Merged logits per line from ONE forward pass over the chunks of every line."""
    items = [rec._prepare(i, p) for i, p in enumerate(paths)]
    with torch.inference_mode():
        out = rec._backend(torch.cat([it.tensor for it in items]))
    logits, start = [], 0
    for it in items:
        n = it.plan.num_chunks
        logits.append(rec.geometry.merge(out[start : start + n], n)[0])
        start += n
    assert start == out.shape[0]
    return logits


def test_lines_cover_several_chunk_counts(rec, lines):
    counts = {rec._prepare(0, p).plan.num_chunks for p in lines}
    assert 1 in counts and max(counts) >= 4


def test_batched_onnx_and_per_image_logits_agree(rec, rec_onnx, lines):
    per_image = rec.forward_logits(lines)
    batched = _batched_logits(rec, lines)
    onnx_per_image = rec_onnx.forward_logits(lines)
    onnx_batched = _batched_logits(rec_onnx, lines)
    for ref, *others in zip(per_image, batched, onnx_per_image, onnx_batched):
        for other in others:
            assert other.shape == ref.shape
            torch.testing.assert_close(other, ref, rtol=0, atol=1e-4)
    texts = [rec(p) for p in lines]
    assert any(texts)  # the random model reads something, so equality below means something
    assert rec(lines) == texts
    assert rec_onnx(lines) == texts
    assert [rec_onnx(p) for p in lines] == texts


def test_cli_export_dir_loads_with_onnxruntime(tiny_model_dir, rec, lines, tmp_path):
    pytest.importorskip("onnxruntime")
    out = tmp_path / "onnx"
    proc = subprocess.run(
        [sys.executable, "-m", "duguang_ocr.cli", "export", "--model", str(tiny_model_dir),
         "--format", "onnx", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "configuration.json", "model.onnx", "vocab.txt"]
    loaded = Recognizer.from_pretrained(out, device="cpu", backend="onnxruntime")
    assert loaded.model is None  # no torch weights: the ONNX graph does the work
    assert loaded.vocab == rec.vocab
    assert loaded(lines) == rec(lines)
    for a, b in zip(loaded.forward_logits(lines), rec.forward_logits(lines)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-4)


def test_onnx_dynamic_batch(tiny_model_dir, tmp_path):
    pytest.importorskip("onnxruntime")
    from duguang_ocr.backends import OnnxBackend
    from duguang_ocr.export import export_onnx

    model, _, _ = load_model_dir(tiny_model_dir)
    backend = OnnxBackend(export_onnx(model, tmp_path / "m.onnx"))
    g = torch.Generator().manual_seed(0)
    for batch in (1, 5):
        x = torch.rand(batch, 3, 32, 300, generator=g)
        with torch.no_grad():
            ref = model(x)
        out = backend(x)
        assert out.shape == ref.shape == (batch, 75, model.config.num_classes)
        torch.testing.assert_close(out, ref, rtol=0, atol=1e-4)


def test_int8_runs_and_stays_close_to_fp32(tiny_model_dir, rec, lines):
    q = Recognizer(tiny_model_dir, device="cpu", quantize="int8")
    assert any(type(m).__module__.startswith("torch.ao.nn.quantized") for m in q.model.modules())
    texts = q(lines)
    assert len(texts) == len(lines) and all(isinstance(t, str) for t in texts)
    for a, b in zip(rec.forward_logits(lines), q.forward_logits(lines)):
        assert a.shape == b.shape
        scale = float(a.abs().max())
        assert float((a - b).abs().max()) < 0.1 * scale  # loose: int8 moves logits a little
    # The fp32 recognizer's module is untouched by quantising a copy.
    assert not any("quantized" in type(m).__module__ for m in rec.model.modules())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(device="cpu", dtype=torch.bfloat16, quantize="int8"), "CPU in float32"),
        (dict(device="cpu", backend="onnxruntime", quantize="int8"), "CPU in float32"),
        (dict(device="cpu", quantize="int4"), "quantize must be one of"),
        (dict(device="cpu", backend="tensorrt"), r"backend must be one of .*'tensorrt'"),
        (dict(device="cpu", dtype=torch.float16), "for GPUs"),
        (dict(device="cpu", num_workers=-1), "num_workers must be >= 0"),
        (dict(device="cpu", max_chunks=0), "max_chunks must be >= 1"),
    ],
)
def test_argument_validation_is_clear(tiny_model_dir, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Recognizer(tiny_model_dir, **kwargs)


def test_workers_and_max_chunks_do_not_change_results_or_order(tiny_model_dir, lines):
    # Enough inputs for several windows (window=5), in an order that mixes chunk counts.
    inputs = [lines[i % len(lines)] for i in (3, 0, 5, 1, 3, 2, 4, 0, 3, 1, 5, 2, 4)]
    ref = None
    for workers in (0, 2):
        for max_chunks in (1, 3, 16):
            rec = Recognizer(tiny_model_dir, device="cpu", batch_size=2, num_workers=workers,
                             max_chunks=max_chunks)
            got = list(rec.iter_recognize(inputs, window=5))
            assert all(r.ok for r in got)
            if ref is None:
                ref = got
                assert [r.text for r in ref] == [rec(p) for p in inputs]
                continue
            assert [r.text for r in got] == [r.text for r in ref], (workers, max_chunks)
            assert [r.char_positions for r in got] == [r.char_positions for r in ref]
            for a, b in zip(got, ref):
                assert a.confidence == pytest.approx(b.confidence, abs=1e-5)


def test_crnn_export_and_onnx_backend(tmp_path, lines):
    pytest.importorskip("onnxruntime")
    from duguang_ocr.export import export_model_dir

    src = make_model_dir(tmp_path / "crnn", variant="crnn")
    out = export_model_dir(src, tmp_path / "crnn_onnx")
    torch_rec = Recognizer(src, device="cpu", batch_size=4)
    onnx_rec = Recognizer.from_pretrained(out, device="cpu", batch_size=4, backend="onnxruntime")
    # Lines of several widths: the exported CRNN has a dynamic width axis.
    widths = {torch_rec._prepare(0, p).tensor.shape[-1] for p in lines}
    assert len(widths) > 1
    for a, b in zip(torch_rec.forward_logits(lines), onnx_rec.forward_logits(lines)):
        assert a.shape == b.shape
        # Logits of tens here, and ORT's LSTM sums in another order over hundreds of steps:
        # float32 rounding reaches a few 1e-4 (ConvNextViT above stays within 1e-4).
        torch.testing.assert_close(b, a, rtol=0, atol=1e-3)
    assert onnx_rec(lines) == torch_rec(lines)


def _snapshot(model: torch.nn.Module) -> tuple:
    """Everything about a module that running it through a backend could change."""
    from duguang_ocr.models.layers import Attention

    return (model.training, [type(m) for m in model.modules()],
            [m.fused for m in model.modules() if isinstance(m, Attention)],
            {k: (v.dtype, v.device, v.clone()) for k, v in model.state_dict().items()})


@pytest.mark.parametrize("options", [
    dict(exact=True), dict(), dict(dtype="bf16"), dict(quantize="int8"),
    dict(backend="onnxruntime"),
])
def test_make_backend_never_changes_the_callers_module(options):
    from duguang_ocr.backends import make_backend
    from duguang_ocr.fused import cpu_has_native_bf16
    from duguang_ocr.models import create_model

    if options.get("backend") == "onnxruntime":
        pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = create_model("convnextvit_test", num_classes=12).train()
    before = _snapshot(model)
    emulated_bf16 = options.get("dtype") == "bf16" and not cpu_has_native_bf16()
    with pytest.warns(RuntimeWarning) if emulated_bf16 else nullcontext():
        backend = make_backend(model, device="cpu", **options)
    x = torch.rand(2, 3, 32, 300)
    with torch.inference_mode():
        backend(x)
    after = _snapshot(model)
    assert before[:3] == after[:3]
    for key, (dtype, device, value) in before[3].items():
        assert after[3][key][:2] == (dtype, device) and torch.equal(after[3][key][2], value), key


@pytest.mark.parametrize("variant", ["convnextvit_test", "crnn_lite"])
def test_row_padding_changes_no_logit(variant):
    """A GPU backend pads its input rows (few cuDNN plans, chunking.pad_rows): the model must
    see the padded batch, and every real row's logits must be those of the unpadded batch
    (rows are read independently; CRNN's batch norm uses running statistics)."""
    from duguang_ocr.backends import TorchBackend
    from duguang_ocr.models import create_model

    torch.manual_seed(0)
    model = create_model(variant, num_classes=12).eval()
    seen = []
    model.register_forward_pre_hook(lambda _, args: seen.append(len(args[0])))
    x = torch.rand(5, 3, 32, 300)
    device = torch.device("cpu")
    with torch.inference_mode():
        plain = TorchBackend(model, device, torch.float32)(x)
        padded = TorchBackend(model, device, torch.float32, row_multiple=8)(x)
    assert seen == [5, 8]
    assert padded.shape == plain.shape and torch.allclose(padded, plain, atol=1e-5)
