import io
import json

import numpy as np
import pytest
from PIL import Image

from duguang_ocr.cli import main
from duguang_ocr.data.check import Histogram, check_data, collate_for, open_sets
from duguang_ocr.data.collate import Keyed
from duguang_ocr.data.lmdb import write_lmdb
from duguang_ocr.data.lmdb_dataset import open_dataset
from duguang_ocr.io import ImageLoadError, image_size, load_image
from duguang_ocr.models import create_model
from duguang_ocr.vocab import Vocab
from tests.helpers import render

VOCAB = Vocab(list("abcdehlorw "), offset=2)
CONFIG = create_model("convnextvit_test", num_classes=5).config
WIDE = "hello world " * 8


def png(text: str, width: int | None = None) -> bytes:
    buf = io.BytesIO()
    render(text, width=width).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    """An LMDB with one of each problem, and one wide line that needs several chunks."""
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
        (png(WIDE), WIDE),  # 96 symbols: fits its chunks, not a squashed 300-px canvas
    ]
    path = tmp_path_factory.mktemp("check") / "messy.lmdb"
    write_lmdb(items, path)
    return path


def run_check(path, vocab=VOCAB, unknown="skip", preprocess="keep_ratio", **kw):
    sets = open_sets([path])
    try:
        collate = collate_for(vocab, CONFIG, unknown=unknown, preprocess=preprocess)
        return check_data(sets, collate, progress=False, **kw)
    finally:
        sets[0].close()


def test_report_finds_each_problem(messy):
    r = run_check(messy)
    assert (r.samples, r.kept, r.sets) == (10, 5, {"messy.lmdb": 10})
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
    assert r.chunks[1] == 7 and sum(r.chunks.values()) == 8 and max(r.chunks) >= 3
    text = r.format()
    assert "will train on 5 of 10 lines; dropped every epoch: 5" in text
    assert "'z' x2" in text and "e.g. messy.lmdb#8 = messy.lmdb#1" in text
    json.dumps(r.to_dict())


def test_drop_chars_squash_and_no_normalisation(messy):
    r = run_check(messy, unknown="drop_chars")
    assert r.dropped == {"bad": 2, "unknown_skipped": 1, "too_long": 1}
    assert r.unknown_chars_dropped == 1 and r.kept == 6
    squashed = run_check(messy, preprocess="squash")  # the wide line on one 300-px chunk
    assert squashed.dropped["too_long"] == 2 and squashed.chunks == {1: 8}
    assert "squashed to 300 px" in squashed.too_long.examples[-1]
    assert squashed.widths == run_check(messy).widths  # widths as drawn, before squashing
    raw = run_check(messy, normalize_width=False)  # 'ｗｏｒｌｄ' stays unknown
    assert raw.normalized_lines.count == 0 and raw.dropped["unknown_skipped"] == 3


@pytest.mark.parametrize("unknown", ["skip", "drop_chars"])
@pytest.mark.parametrize("preprocess", ["keep_ratio", "squash"])
def test_drops_equal_what_the_training_collate_drops(messy, unknown, preprocess):
    """The report's 'dropped' counts are the collate's own counters over the same samples."""
    r = run_check(messy, unknown=unknown, preprocess=preprocess)
    ds = open_dataset(messy)
    try:
        col = collate_for(VOCAB, CONFIG, unknown=unknown, preprocess=preprocess)
        batch = col([Keyed(ds)[(i, i)] for i in range(len(ds))])
    finally:
        ds.close()
    assert {k: batch["stats"][k] for k in r.dropped} == r.dropped
    assert len(batch["texts"]) == r.kept
    assert batch["stats"]["unknown_chars_dropped"] == r.unknown_chars_dropped


def test_collate_for_lays_lines_out_like_the_trainer():
    chunked = collate_for(VOCAB, CONFIG)
    assert chunked.frames(chunked.plan(32, 300)) == 75
    assert chunked.frames(chunked.plan(64, 602)) == 75 + 63  # 301 px at height 32: 2 chunks
    assert chunked.plan(32, 1000).num_chunks == 4  # kept aspect ratio, never squashed
    squash = collate_for(VOCAB, CONFIG, preprocess="squash", num_chunks=3)
    assert squash.plan(32, 5000).canvas_width == 804
    whole = collate_for(VOCAB, create_model("crnn_lite", num_classes=5).config)
    assert not whole.chunked and whole.frames(whole.plan(32, 100)) == 128 // 4


def test_header_mode_misses_truncated_pixels_decode_mode_finds_them(tmp_path):
    noisy = Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 200, 3), np.uint8))
    buf = io.BytesIO()
    noisy.save(buf, format="PNG")
    write_lmdb([(buf.getvalue()[:-400], "a")], tmp_path / "t.lmdb")
    vocab = Vocab(["a"])
    assert run_check(tmp_path / "t.lmdb", vocab).dropped["bad"] == 0
    decoded = run_check(tmp_path / "t.lmdb", vocab, decode=True)
    assert decoded.dropped["bad"] == 1 and decoded.decoded


def test_decode_mode_plans_a_loose_crop_cut_to_its_text_as_training_does(tmp_path):
    """A long label on a line in the middle of a tall blank crop: scaled whole it gets too
    few frames, cut to its text (as the collate and the recognizer cut it) it fits."""
    line = np.asarray(render(WIDE))
    h, w = line.shape[:2]
    page = np.full((10 * h, w, 3), line[0, 0], np.uint8)
    page[5 * h:6 * h] = line
    buf = io.BytesIO()
    Image.fromarray(page).save(buf, format="PNG")
    write_lmdb([(buf.getvalue(), WIDE)], tmp_path / "t.lmdb")
    assert run_check(tmp_path / "t.lmdb").dropped["too_long"] == 1  # sized from the header
    decoded = run_check(tmp_path / "t.lmdb", decode=True)
    assert decoded.dropped["too_long"] == 0 and decoded.kept == 1
    ds = open_dataset(tmp_path / "t.lmdb")
    try:
        batch = collate_for(VOCAB, CONFIG)([Keyed(ds)[(0, 0)]])
    finally:
        ds.close()
    assert batch["texts"] == [WIDE]  # what training does with it


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
    r = check_data([open_dataset(tmp_path)], collate_for(VOCAB, CONFIG), progress=False)
    assert r.normalized_lines.count == 1 and r.kept == 1
    assert r.unreadable.examples[0].startswith(f"{tmp_path.name}/missing.png: cannot read")


def test_histogram_has_round_edges():
    h = Histogram.of([3, 150, 151, 990])
    assert h.edges[0] == 0 and h.edges[1] - h.edges[0] == 200 and sum(h.counts) == 4
    assert (h.min, h.median, h.max) == (3, 150.5, 990)
    assert h.format(" px")[0].startswith("  0-199 px ####")
    assert Histogram.of([]).format() == []



def test_cli_check_data(messy, tmp_path, capsys):
    VOCAB.save(tmp_path / "vocab.txt")
    args = ["check-data", str(messy), "--model", "convnextvit_test", "--vocab",
            str(tmp_path / "vocab.txt"), "--no-progress"]
    assert main(args) == 0
    assert "will train on 5 of 10 lines" in capsys.readouterr().out
    assert main([*args, "--json", "--unknown", "drop_chars"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["unknown_policy"], out["samples"], out["kept"]) == ("drop_chars", 10, 6)
    # A config's settings: tiny_test's from_data vocabulary knows every symbol; --set squash.
    assert main(["check-data", str(messy), "--config", "tiny_test", "--json", "--set",
                 "model.preprocess=squash", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["unknown_lines"]["count"] == 0 and out["dropped"]["too_long"] == 2
    assert "squash onto 300 px" in out["model"]
    write_lmdb([(b"junk", "x")], tmp_path / "junk.lmdb")
    assert main(["check-data", str(tmp_path / "junk.lmdb"), "--model", "convnextvit_test",
                 "--no-progress"]) == 1
