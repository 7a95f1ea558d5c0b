import io
import json

import numpy as np
import pytest
from PIL import Image

from duguang_ocr.data.check import FrameBudget, Histogram, check_data, open_sets
from duguang_ocr.data.collate import Keyed, LineCollator
from duguang_ocr.data.lmdb import write_lmdb
from duguang_ocr.data.lmdb_dataset import open_dataset
from duguang_ocr.io import ImageLoadError, image_size, load_image
from duguang_ocr.models import create_model
from duguang_ocr.vocab import Vocab
from tests.helpers import render

VOCAB = Vocab(list("abcdehlorw "), offset=2)


def png(text: str, width: int | None = None) -> bytes:
    buf = io.BytesIO()
    render(text, width=width).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    """An LMDB with one of each problem; every line fits one 300-px chunk."""
    hello = png("hello")
    items = [
        (hello, "hello"),
        (png("world"), "ｗｏｒｌｄ"),  # full-width: normalised, then known
        (png("red hat"), "red hat"),  # 't' is not in VOCAB
        (png("zz"), "zz"),  # nothing known: dropped under either policy
        (png("ab", width=40), "ab" * 40),  # one chunk's 75 frames for 80 symbols
        (b"not an image", "bad"),
        (b"", "empty"),
        (hello, "hallo"),  # same bytes as #1, another label
        (png("door"), ""),
    ]
    path = tmp_path_factory.mktemp("check") / "messy.lmdb"
    write_lmdb(items, path)
    return path


def run_check(path, **kw):
    sets = open_sets([path])
    try:
        return check_data(sets, progress=False, **kw)
    finally:
        sets[0].close()


def test_report_finds_each_problem(messy):
    r = run_check(messy, vocab=VOCAB)
    assert (r.samples, r.kept, r.sets) == (9, 4, {"messy.lmdb": 9})
    assert r.dropped == {"bad": 2, "unknown_skipped": 2, "too_long": 1}
    assert [e.split(":")[0] for e in r.unreadable.examples] == ["messy.lmdb#6", "messy.lmdb#7"]
    assert "empty" in r.unreadable.examples[1]
    assert r.unknown_symbols == {"z": 2, "t": 1}
    assert r.unknown_lines.count == 2 and r.unknown_lines.examples[0].startswith("messy.lmdb#3")
    assert r.too_long.count == 1 and "needs 80 frames" in r.too_long.examples[0]
    assert r.normalized_lines.count == 1 and r.normalized_symbols["'ｗ'->'w'"] == 1
    assert r.duplicates.examples == ["messy.lmdb#8 = messy.lmdb#1"]
    assert r.conflicting_duplicates.count == 1
    assert r.empty_labels.examples == ["messy.lmdb#9"]
    assert r.chunks == {1: 7}
    text = r.format()
    assert "will train on 4 of 9 lines; dropped every epoch: 5" in text
    assert "'z' x2" in text and "e.g. messy.lmdb#8 = messy.lmdb#1" in text
    json.dumps(r.to_dict())


def test_drop_chars_policy_and_no_vocabulary(messy):
    r = run_check(messy, vocab=VOCAB, unknown="drop_chars")
    assert r.dropped == {"bad": 2, "unknown_skipped": 1, "too_long": 1}
    assert r.unknown_chars_dropped == 1 and r.kept == 5
    r = run_check(messy, vocab=None, normalize_width=False)  # from_data: all symbols known
    assert r.dropped == {"bad": 2, "unknown_skipped": 0, "too_long": 1}
    assert r.normalized_lines.count == 0


@pytest.mark.parametrize("unknown", ["skip", "drop_chars"])
def test_drops_equal_what_the_training_collate_drops(messy, unknown):
    """The report's 'dropped' counts are the collate's own counters over the same samples."""
    r = run_check(messy, vocab=VOCAB, unknown=unknown)
    ds = open_dataset(messy)
    try:
        col = LineCollator(VOCAB, "ConvNextViT", unknown=unknown)
        batch = col([Keyed(ds)[(i, i)] for i in range(len(ds))])
    finally:
        ds.close()
    assert {k: batch["stats"][k] for k in r.dropped} == r.dropped
    assert len(batch["texts"]) == r.kept
    assert batch["stats"]["unknown_chars_dropped"] == r.unknown_chars_dropped


def test_frame_budget_follows_the_chunks_the_line_needs():
    chunked = FrameBudget.of(create_model("convnextvit_test", num_classes=5).config)
    assert chunked == FrameBudget(True, 300, 252, 6)
    assert chunked.frames(chunked.plan(32, 300)) == 75
    assert chunked.frames(chunked.plan(64, 602)) == 75 + 63  # 301 px at height 32: 2 chunks
    assert chunked.plan(32, 1000).num_chunks == 4  # kept aspect ratio, never squashed
    whole = FrameBudget.of(create_model("crnn_lite", num_classes=5).config)
    assert not whole.chunked and whole.frames(whole.plan(32, 100)) == 128 // 4


def test_header_mode_misses_truncated_pixels_decode_mode_finds_them(tmp_path):
    noisy = Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 200, 3), np.uint8))
    buf = io.BytesIO()
    noisy.save(buf, format="PNG")
    write_lmdb([(buf.getvalue()[:-400], "a")], tmp_path / "t.lmdb")
    assert run_check(tmp_path / "t.lmdb").dropped["bad"] == 0
    decoded = run_check(tmp_path / "t.lmdb", decode=True)
    assert decoded.dropped["bad"] == 1 and decoded.decoded


def test_image_size_reads_headers_like_load_image():
    im = Image.fromarray(np.zeros((20, 50, 3), np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90: load_image returns 50 x 20
    buf = io.BytesIO()
    im.save(buf, format="JPEG", exif=exif.tobytes())
    assert image_size(buf.getvalue()) == load_image(buf.getvalue()).shape[:2] == (50, 20)
    assert image_size(png("hi")) == load_image(png("hi")).shape[:2]
    for bad in (b"", b"not an image"):
        with pytest.raises(ImageLoadError):
            image_size(bad)
    with pytest.raises(ImageLoadError, match="exceeds"):
        image_size(png("hi"), max_pixels=10)


def test_folder_set_counts_normalisation_from_the_labels_file(tmp_path):
    (tmp_path / "a.png").write_bytes(png("hello"))
    (tmp_path / "labels.tsv").write_text("a.png\tｈｅｌｌｏ\nmissing.png\thello\n",
                                         encoding="utf-8")
    r = check_data([open_dataset(tmp_path)], vocab=VOCAB, progress=False)
    assert r.normalized_lines.count == 1 and r.kept == 1
    assert r.unreadable.examples[0].startswith(f"{tmp_path.name}/missing.png: cannot read")


def test_histogram_has_round_edges():
    h = Histogram.of([3, 150, 151, 990])
    assert h.edges[0] == 0 and h.edges[1] - h.edges[0] == 200 and sum(h.counts) == 4
    assert (h.min, h.median, h.max) == (3, 150.5, 990)
    assert h.format(" px")[0].startswith("  0-199 px ####")
    assert Histogram.of([]).format() == []

