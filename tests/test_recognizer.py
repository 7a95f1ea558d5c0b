import numpy as np
import pytest
import torch
from PIL import Image

from duguang_ocr import RecognitionResult, Recognizer
from duguang_ocr.io import ImageLoadError
from tests.helpers import as_bgr, assert_same_recognizer, recognizer_state, render


@pytest.fixture(scope="module")
def rec(tiny_model_dir):
    rec = Recognizer.from_pretrained(tiny_model_dir, device="cpu", batch_size=4)
    before = recognizer_state(rec)
    yield rec
    assert_same_recognizer(before, recognizer_state(rec))


def test_every_input_type_gives_the_same_text(rec, line_images):
    path = line_images["short"]
    img = Image.open(path)
    expected = rec(str(path))
    assert isinstance(expected, str)
    rgb = np.array(img.convert("RGB"))
    for x in (
        path,                                        # pathlib.Path
        path.read_bytes(),                           # encoded bytes
        img,                                         # PIL
        as_bgr(img),                                 # cv2-style BGR array
        torch.from_numpy(rgb).permute(2, 0, 1).float() / 255,  # RGB CHW float tensor
    ):
        assert rec(x) == expected


def test_list_returns_list_in_order_and_batches_consistently(rec, line_images):
    paths = list(line_images.values())
    one_by_one = [rec(p) for p in paths]
    assert rec(paths) == one_by_one
    assert rec(paths, batch_size=1) == one_by_one
    assert rec(tuple(paths[::-1])) == one_by_one[::-1]


def test_details(rec, line_images):
    r = rec.recognize(line_images["long"])
    assert isinstance(r, RecognitionResult) and r.ok
    assert len(r.char_confidences) == len(r.char_positions) == len(r.text)
    width = Image.open(line_images["long"]).width
    assert all(0 <= x <= width for x in r.char_positions)
    assert all(0 <= c <= 1 for c in r.char_confidences)
    assert r.char_positions == sorted(r.char_positions)
    texts = rec.recognize([line_images["short"]], return_details=False)
    assert texts == [rec(line_images["short"])]


def test_beam_search_path_matches_the_decoder(rec, line_images):
    """The facade's beam path returns exactly what the decoder finds on the same logits
    (optimality against brute force is tested in test_decoding.py)."""
    from duguang_ocr.decoding import ctc_beam_search, ctc_greedy, ctc_sequence_log_prob

    for path in list(line_images.values())[:2]:
        (logits,) = rec.forward_logits([path])
        lp = logits.log_softmax(-1)
        greedy = ctc_greedy(lp.exp()[None], rec.vocab.itos)[0]
        beam = ctc_beam_search(lp, rec.vocab.itos, beam_width=4)
        assert np.isfinite(ctc_sequence_log_prob(lp, beam.ids))
        assert greedy.text == rec(path)
        assert rec(path, beam_width=4) == beam.text


def test_bad_single_input_raises_naming_it(rec, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(ImageLoadError, match="broken.png"):
        rec(bad)
    with pytest.raises(TypeError):
        rec(12345)


def test_bad_item_in_list_is_skipped_or_raised(rec, tmp_path, line_images):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"")
    good = line_images["short"]
    results = rec.recognize([good, bad, good])
    assert [r.ok for r in results] == [True, False, True]
    assert "broken.png" in results[1].error and results[1].text == ""
    assert rec([good, bad]) == [rec(good), ""]
    with pytest.raises(ImageLoadError, match="broken.png"):
        rec([good, bad], errors="raise")


def test_long_lines_use_more_chunks_and_are_not_squashed(rec):
    long_img = np.array(render("word " * 60))  # ~2,000 px at height 32
    item = rec._prepare(0, long_img[:, :, ::-1].copy())
    assert item.plan.num_chunks > 3 and item.plan.resized_width > 804
    parity = Recognizer(rec.model, rec.vocab, rec.spec, device="cpu", mode="parity")
    assert parity._prepare(0, long_img).plan.num_chunks == 3


def test_argument_validation(tiny_model_dir):
    with pytest.raises(ValueError, match="mode"):
        Recognizer.from_pretrained(tiny_model_dir, mode="fastest")
    with pytest.raises(ValueError, match="errors"):
        Recognizer.from_pretrained(tiny_model_dir, errors="ignore")
    with pytest.raises(ValueError, match="GPU"):
        Recognizer.from_pretrained(tiny_model_dir, device="cpu", dtype=torch.float16)
    with pytest.raises(ValueError, match="neither a local model directory"):
        Recognizer.from_pretrained("no/such/thing")


def test_crnn_model_dir(tmp_path, line_images):
    from tests.helpers import make_model_dir

    rec = Recognizer.from_pretrained(make_model_dir(tmp_path / "crnn", "crnn"), device="cpu")
    paths = list(line_images.values())
    assert rec(paths) == [rec(p) for p in paths]


def test_cpu_default_mode_runs_fused_kernels_and_parity_runs_the_model_as_loaded(
        tiny_model_dir, line_images):
    from duguang_ocr.fused import FusedLinear

    fast = Recognizer.from_pretrained(tiny_model_dir, device="cpu")
    exact = Recognizer.from_pretrained(tiny_model_dir, device="cpu", mode="parity")
    assert any(isinstance(m, FusedLinear) for m in fast.model.modules())
    assert not any(isinstance(m, FusedLinear) for m in exact.model.modules())
    # Same chunk plan (a line that needs 1 chunk runs 1 chunk in default mode; give parity
    # the same by comparing per-chunk outputs): fused and plain logits agree to 1e-4.
    x = torch.rand(3, 3, 32, 300)
    with torch.inference_mode():
        torch.testing.assert_close(fast._backend(x), exact._backend(x), atol=1e-4, rtol=1e-4)


def test_cpu_bf16(tiny_model_dir, line_images):
    fp32 = Recognizer.from_pretrained(tiny_model_dir, device="cpu")
    bf16 = Recognizer.from_pretrained(tiny_model_dir, device="cpu", dtype="bf16")
    assert bf16.dtype == torch.bfloat16 and bf16._backend.autocast
    paths = list(line_images.values())
    texts = bf16(paths)
    assert len(texts) == len(paths) and all(isinstance(t, str) for t in texts)
    for a, b in zip(fp32.forward_logits(paths), bf16.forward_logits(paths)):
        assert b.dtype == torch.float32 and b.shape == a.shape
        assert (a - b).abs().max() <= 0.02 * a.abs().max() + 1e-3


def test_dtype_validation(tiny_model_dir, monkeypatch):
    from duguang_ocr import backends

    assert backends.parse_dtype(None) == torch.float32
    assert backends.parse_dtype("BF16") == torch.bfloat16
    with pytest.raises(ValueError, match="unknown dtype 'half'"):
        Recognizer.from_pretrained(tiny_model_dir, device="cpu", dtype="half")
    with pytest.raises(ValueError, match="float32, bfloat16 or float16"):
        Recognizer.from_pretrained(tiny_model_dir, device="cpu", dtype=torch.float64)
    with pytest.raises(ValueError, match="float16 inference is for GPUs"):
        Recognizer.from_pretrained(tiny_model_dir, device="cpu", dtype="fp16")
    with pytest.raises(ValueError, match="quantize='int8'"):
        Recognizer.from_pretrained(tiny_model_dir, device="cpu", dtype="bf16", quantize="int8")
    with pytest.raises(ValueError, match="onnxruntime backend runs float32"):
        Recognizer.from_pretrained(tiny_model_dir, device="cpu", dtype="bf16",
                                   backend="onnxruntime")
    monkeypatch.setattr(backends, "cpu_has_native_bf16", lambda: False)
    with pytest.warns(RuntimeWarning, match="no native bf16"):
        Recognizer.from_pretrained(tiny_model_dir, device="cpu", dtype="bf16")


def test_fast_mode_cuts_the_last_chunk_and_batches_like_single_lines(tiny_model_dir, line_images):
    from duguang_ocr.decoding import ctc_greedy

    fast = Recognizer.from_pretrained(tiny_model_dir, device="cpu", mode="fast")
    default = Recognizer.from_pretrained(tiny_model_dir, device="cpu")
    paths = list(line_images.values())
    for p in paths:
        a, b = fast._prepare(0, p), default._prepare(0, p)
        assert a.plan.num_chunks == b.plan.num_chunks
        assert a.plan.canvas_width <= b.plan.canvas_width
    logits = fast.forward_logits(paths)  # one line per pass
    for p, lg in zip(paths, logits):
        assert lg.shape[0] == fast._prepare(0, p).plan.canvas_width // 4
    # Batched (lines of different widths and chunk counts in one pass) == one at a time.
    results = fast.recognize(paths, spaces="model", punctuation="keep")
    singles = [ctc_greedy(lg[None].softmax(-1), fast.vocab.itos)[0] for lg in logits]
    assert [r.text for r in results] == [s.text for s in singles]
    for r, s in zip(results, singles):
        assert r.char_confidences == pytest.approx(s.char_confidences, abs=1e-4)
    # Beam search runs through the same ragged path.
    assert len(fast(paths, beam_width=3)) == len(paths)


def test_fast_mode_on_onnxruntime_matches_torch(tiny_model_dir, line_images):
    pytest.importorskip("onnxruntime")
    paths = list(line_images.values())
    torch_fast = Recognizer.from_pretrained(tiny_model_dir, device="cpu", mode="fast")
    onnx_fast = Recognizer.from_pretrained(tiny_model_dir, device="cpu", mode="fast",
                                           backend="onnxruntime")
    assert onnx_fast._backend.fixed_width is None  # exported with a dynamic width
    for a, b in zip(torch_fast.forward_logits(paths), onnx_fast.forward_logits(paths)):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    assert onnx_fast(paths) == torch_fast(paths)


def test_fast_mode_validation(tiny_model_dir, tmp_path, line_images):
    pytest.importorskip("onnxruntime")
    import shutil

    from duguang_ocr.export import export_onnx
    from duguang_ocr.hub.modelscope import load_model_dir
    from tests.helpers import make_model_dir

    # An ONNX directory whose graph fixes the width (older exports did) cannot run "fast".
    fixed = tmp_path / "fixed"
    fixed.mkdir()
    for name in ("configuration.json", "vocab.txt"):
        shutil.copyfile(tiny_model_dir / name, fixed / name)
    export_onnx(load_model_dir(tiny_model_dir)[0], fixed / "model.onnx", dynamic_width=False)
    with pytest.raises(ValueError, match="fixed 300-px width"):
        Recognizer.from_pretrained(fixed, device="cpu", mode="fast", backend="onnxruntime")
    assert Recognizer.from_pretrained(fixed, device="cpu", backend="onnxruntime")(
        str(line_images["short"])) is not None  # default mode still runs it
    crnn_dir = make_model_dir(tmp_path / "crnn", "crnn")
    paths = list(line_images.values())
    fast = Recognizer.from_pretrained(crnn_dir, device="cpu", mode="fast")
    assert fast(paths) == Recognizer.from_pretrained(crnn_dir, device="cpu")(paths)


def test_a_line_on_a_blank_page_reads_like_the_line_with_positions_on_the_page():
    """A short line pasted in the middle of a big blank image used to shrink to a few pixels
    (the whole page scaled to 32 px) and read as nothing; now the line is cut out first."""
    rec = Recognizer()
    line = np.asarray(Image.open("examples/en_hello.png").convert("RGB"))
    page = np.full((8 * line.shape[0], line.shape[1] + 400, 3), 255, np.uint8)
    y, x = 3 * line.shape[0], 200
    page[y:y + line.shape[0], x:x + line.shape[1]] = line
    direct, on_page = rec.recognize(line[:, :, ::-1].copy()), rec.recognize(page[:, :, ::-1].copy())
    assert on_page.text == direct.text == "Hello, world! 2026"
    assert all(x <= p <= x + line.shape[1] for p in on_page.char_positions)
    # The page's positions are the line's, shifted by where it was pasted (a few px of the
    # band's own margin aside).
    shift = np.array(on_page.char_positions) - np.array(direct.char_positions)
    assert np.all(np.abs(shift - x) < 8)
    # Parity mode reads the image as ModelScope does, page and all.
    assert Recognizer(mode="parity").recognize(page[:, :, ::-1].copy()).text != direct.text
