import numpy as np
import pytest
import torch
from PIL import Image

from duguang_ocr import preprocess
from duguang_ocr.chunking import ChunkGeometry
from duguang_ocr.data.collate import Keyed, LineCollator, ctc_frames_needed
from duguang_ocr.io import load_image
from duguang_ocr.recognizer import Recognizer
from duguang_ocr.training.evaluate import line_logits
from duguang_ocr.vocab import Vocab
from tests.helpers import render

VOCAB = Vocab(list("abcdehlorw 读光"), offset=2)
G = ChunkGeometry()


def line(text: str, width: int | None = None) -> np.ndarray:
    return np.asarray(render(text, width=width))


def test_keep_ratio_gives_each_line_the_chunks_it_needs_sorted_by_count():
    col = LineCollator(VOCAB, G)
    wide, short = line("读光 world", 900), line("hello")
    batch = col([(wide, "读光 world"), (short, "hello")])
    n_wide = preprocess.plan_line(*wide.shape[:2], geometry=G).num_chunks
    assert n_wide > 1
    # Lines are sorted by chunk count (as inference packs passes); targets follow them.
    assert batch["texts"] == ["hello", "读光 world"]
    assert batch["chunk_counts"].tolist() == [1, n_wide]
    assert batch["images"].shape == (1 + n_wide, 3, 32, 300)
    assert batch["frames"].tolist() == [75, G.merged_frames(n_wide)]
    assert batch["target_lengths"].tolist() == [5, 8]
    assert batch["targets"].tolist() == VOCAB.encode("hello") + VOCAB.encode("读光 world")


def test_squash_keeps_modelscopes_fixed_canvas():
    col = LineCollator(VOCAB, G, preprocess="squash", num_chunks=3)
    batch = col([(line("hello"), "hello"), (line("读光 world", 900), "读光 world")])
    assert batch["images"].shape == (6, 3, 32, 300) and col.canvas_width == 804
    assert batch["chunk_counts"].tolist() == [3, 3] and batch["frames"].tolist() == [201, 201]


def test_crnn_keep_ratio_pads_to_the_widest_line_and_counts_each_lines_frames():
    col = LineCollator(Vocab(list("ab"), offset=1), None)
    short, long_ = line("ab"), line("ab" * 40)
    batch = col([(short, "ab"), (long_, "ab")])
    widths = [preprocess.plan_line(*im.shape[:2], geometry=None).canvas_width
              for im in (short, long_)]
    assert batch["images"].shape == (2, 3, 32, max(widths))
    assert batch["frames"].tolist() == [w // 4 for w in widths]
    squash = LineCollator(Vocab(list("ab"), offset=1), None, preprocess="squash",
                          img_width=320)([(short, "ab"), (long_, "ab")])
    assert squash["images"].shape == (2, 3, 32, 320) and squash["frames"].tolist() == [80, 80]


def test_training_tensors_equal_the_recognizers_input(tiny_model_dir, tmp_path):
    """Training sees exactly what the recognizer runs: default mode for keep_ratio, parity
    mode for squash (a wide line squashed onto the 804-px canvas)."""
    render("a fairly long line of text, kept whole " * 2).save(tmp_path / "l.png")
    img = load_image(str(tmp_path / "l.png"), composite_alpha=False)
    for mode, kwargs in (("default", {}), ("parity", {"preprocess": "squash",
                                                      "num_chunks": 3})):
        rec = Recognizer.from_pretrained(tiny_model_dir, device="cpu", mode=mode)
        expected = rec._prepare(0, str(tmp_path / "l.png")).tensor
        got = LineCollator(rec.vocab, G, **kwargs).image_tensor(img)
        assert torch.equal(got, expected), mode
    one = LineCollator(rec.vocab, G, preprocess="squash").image_tensor(img)
    assert one.shape == (1, 3, 32, 300)


def test_a_loose_crop_is_cut_to_its_text_in_training_as_in_inference(tiny_model_dir, tmp_path):
    """A word with wide blank margins: the recognizer reads it cut to its text (bigger
    glyphs, more CTC frames), so training must cut it the same way; parity reads it whole."""
    word = np.asarray(render("hello world"))
    h, w = word.shape[:2]
    loose = np.full((3 * h, w + 60, 3), word[0, 0], np.uint8)
    loose[h:2 * h, 30:30 + w] = word
    Image.fromarray(loose).save(tmp_path / "loose.png")
    img = load_image(str(tmp_path / "loose.png"), composite_alpha=False)
    assert preprocess.text_band(img) is not None
    rec = Recognizer.from_pretrained(tiny_model_dir, device="cpu")
    expected = rec._prepare(0, str(tmp_path / "loose.png")).tensor
    col = LineCollator(rec.vocab, G)
    assert torch.equal(col.image_tensor(img), expected)
    batch = col([(img, rec.vocab.symbols[0])])  # any label the tiny vocab spells
    assert torch.equal(batch["images"], expected)
    cut = preprocess.cut_to_text(img)[0]
    assert batch["frames"].tolist() == [col.frames(col.plan(*cut.shape[:2]))]
    uncut = preprocess.line_tensors(img, col.plan(*img.shape[:2]), G)[0]
    assert not torch.equal(expected, uncut)
    squash = LineCollator(rec.vocab, G, preprocess="squash", num_chunks=3)
    parity = Recognizer.from_pretrained(tiny_model_dir, device="cpu", mode="parity")
    assert torch.equal(squash.image_tensor(img), parity._prepare(0, str(tmp_path / "loose.png")).tensor)


@pytest.mark.parametrize("geometry", [G, None], ids=["chunked", "whole_line"])
def test_raw_pixels_scale_to_exactly_the_float_batch(geometry):
    """The trainer ships uint8 batches to the device and scales them there: the model must
    see bit-for-bit the floats the float collate (and so the recognizer) produces."""
    samples = [(line("读光 world", 900), "读光 world"), (line("hello"), "hello"), None]
    floats = LineCollator(VOCAB, geometry)(samples)
    raw = LineCollator(VOCAB, geometry, raw_pixels=True)(samples)
    assert raw["images"].dtype == torch.uint8 and floats["images"].dtype == torch.float32
    assert torch.equal(preprocess.scale_pixels(raw["images"]), floats["images"])
    assert raw["frames"].tolist() == floats["frames"].tolist()
    empty = LineCollator(VOCAB, geometry, raw_pixels=True)([None])["images"]
    assert empty.dtype == torch.uint8 and empty.shape[0] == 0


def test_line_logits_merges_ragged_lines_like_the_recognizer():
    torch.manual_seed(0)
    counts = [1, 1, 3]
    out = torch.randn(sum(counts), 75, 5)
    got = line_logits(out, counts, G)
    assert got.shape == (3, G.merged_frames(3), 5)
    assert torch.equal(got[0, :75], out[0]) and torch.equal(got[0, 75:], torch.zeros(126, 5))
    assert torch.equal(got[2], G.merge_ragged(list(out[2:5])))
    with pytest.raises(ValueError, match="chunk counts"):
        line_logits(out, [1, 1], G)


def test_unknown_symbols_skip_or_drop_chars():
    samples = [(line("hello"), "hello"), (line("hex"), "hex"), (line("xyz"), "xyz")]
    skip = LineCollator(VOCAB, G)(samples)
    assert skip["texts"] == ["hello"] and skip["stats"]["unknown_skipped"] == 2
    drop = LineCollator(VOCAB, G, unknown="drop_chars")(samples)
    # "hex" trains as "he"; "xyz" would be empty and is dropped.
    assert drop["texts"] == ["hello", "hex"] and drop["target_lengths"].tolist() == [5, 2]
    assert drop["stats"]["unknown_chars_dropped"] == 1 and drop["stats"]["unknown_skipped"] == 1
    with pytest.raises(ValueError, match="unknown"):
        LineCollator(VOCAB, G, unknown="unk")


def test_labels_longer_than_the_frames_are_dropped():
    assert ctc_frames_needed([1, 2, 3]) == 3 and ctc_frames_needed([1, 1, 2, 2, 2]) == 8
    col = LineCollator(VOCAB, G)  # a short line: one chunk, 75 frames
    fits, repeats = "ab" * 37, "a" * 39  # 74 frames fit; 39 symbols + 38 blanks do not
    batch = col([(line("x"), fits), (line("x"), repeats)])
    assert batch["texts"] == [fits] and batch["stats"]["too_long"] == 1
    keep = LineCollator(VOCAB, G, drop_too_long=False)([(line("x"), repeats)])
    assert keep["texts"] == [repeats]


def test_none_samples_are_counted_and_an_all_dropped_batch_is_empty():
    batch = LineCollator(VOCAB, G)([None, (line("x"), "xyz"), None])
    assert batch["stats"]["bad"] == 2 and batch["stats"]["unknown_skipped"] == 1
    assert batch["images"].shape == (0, 3, 32, 300) and batch["targets"].numel() == 0


class ToyData:
    def __init__(self):
        self.items = [(line("hello"), "hello"), None, (line("world"), "world")]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def test_augmentation_is_seeded_by_the_sample_key():
    calls = []

    def augment(img, rng):
        calls.append(rng.integers(1 << 30))
        return 255 - img

    ds = Keyed(ToyData())
    assert ds[(1, 5)] is None and ds[(0, 7)][2] == 7
    col = LineCollator(VOCAB, G, augment=augment)
    a = col([ds[(0, (1, 2, 0, 5))], ds[(2, (1, 2, 2, 6))]])
    b = col([ds[(0, (1, 2, 0, 5))], ds[(2, (1, 2, 2, 6))]])
    assert calls[:2] == calls[2:] and calls[0] != calls[1]
    assert torch.equal(a["images"], b["images"]) and a["keys"] == [(1, 2, 0, 5), (1, 2, 2, 6)]
    plain = LineCollator(VOCAB, G)([ds[(0, 0)]])
    assert not torch.equal(plain["images"], a["images"][:1])  # the augmentation was applied


class KeyedSource:
    """A synthetic-like part: renders from the key, not the index."""

    def __len__(self):
        return 4

    def sample(self, index, key):
        return line("ab"), f"{index}:{key[3]}"


def test_keyed_concatenates_parts_and_passes_keys_to_sources():
    ds = Keyed(ToyData(), KeyedSource())
    assert len(ds) == 7 and ds[(2, 9)][1] == "world"
    assert ds[(4, (0, 0, 4, 11))][1] == "1:11"  # the second part's local index 1
    with pytest.raises(IndexError):
        ds[(7, 0)]


def test_case_unreliable_parts_are_flagged_and_their_targets_lower_cased():
    vocab = Vocab(list("helowHELOW"), offset=2)
    ds = Keyed(ToyData(), KeyedSource(), fold_case=[0])
    assert ds[(2, 9)][3] is True and len(ds[(4, (0, 0, 4, 11))]) == 3  # only part 0
    batch = LineCollator(vocab, G)([(line("HELLO"), "HELLO", None, True),
                                    (line("HELLO"), "HELLO", None)])
    assert batch["fold_case"].tolist() == [True, False]
    n = batch["target_lengths"][0]
    assert vocab.decode(batch["targets"][:n].tolist()) == "hello"  # folded target
    assert vocab.decode(batch["targets"][n:].tolist()) == "HELLO"  # the label as written
    assert batch["texts"] == ["HELLO", "HELLO"]
