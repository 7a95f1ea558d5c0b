import numpy as np
import pytest
import torch

from duguang_ocr import preprocess
from duguang_ocr.data.collate import Keyed, LineCollator, ctc_frames_needed
from duguang_ocr.io import load_image
from duguang_ocr.recognizer import Recognizer
from duguang_ocr.vocab import Vocab
from tests.helpers import render

VOCAB = Vocab(list("abcdehlorw 读光"), offset=2)


def line(text: str, width: int | None = None) -> np.ndarray:
    return np.asarray(render(text, width=width))


def test_chunked_canvas_shapes_targets_and_texts():
    col = LineCollator(VOCAB, "ConvNextViT", num_chunks=3)
    batch = col([(line("hello"), "hello"), (line("读光 world", 900), "读光 world")])
    assert batch["images"].shape == (6, 3, 32, 300)
    assert batch["target_lengths"].tolist() == [5, 8]
    assert batch["targets"].tolist() == VOCAB.encode("hello") + VOCAB.encode("读光 world")
    assert batch["texts"] == ["hello", "读光 world"] and batch["num_chunks"] == 3
    assert batch["frames"] == 201 and col.canvas_width == 804


def test_crnn_canvas():
    col = LineCollator(Vocab(list("ab"), offset=1), "CRNN", img_width=320)
    batch = col([(line("ab"), "ab"), (line("ab" * 40), "ab")])
    assert batch["images"].shape == (2, 3, 32, 320) and batch["frames"] == 80


def test_training_tensors_equal_the_recognizers_parity_input(tiny_model_dir, tmp_path):
    """A wide line is squashed onto the 804-px canvas exactly as inference prepares it."""
    render("a fairly long line of text, squashed " * 2).save(tmp_path / "l.png")
    rec = Recognizer.from_pretrained(tiny_model_dir, device="cpu", mode="parity")
    expected = rec._prepare(0, str(tmp_path / "l.png")).tensor
    img = load_image(str(tmp_path / "l.png"), composite_alpha=False)
    got = LineCollator(rec.vocab, "ConvNextViT", num_chunks=3).image_tensor(img)
    assert torch.equal(got, expected)
    one = LineCollator(rec.vocab, "ConvNextViT", num_chunks=1).image_tensor(img)
    plan = preprocess.plan_line(*img.shape[:2], parity=True, img_width=300)
    assert plan.resized_width == 300 and one.shape == (1, 3, 32, 300)


def test_unknown_symbols_skip_or_drop_chars():
    samples = [(line("hello"), "hello"), (line("hex"), "hex"), (line("xyz"), "xyz")]
    skip = LineCollator(VOCAB, "ConvNextViT")(samples)
    assert skip["texts"] == ["hello"] and skip["stats"]["unknown_skipped"] == 2
    drop = LineCollator(VOCAB, "ConvNextViT", unknown="drop_chars")(samples)
    # "hex" trains as "he"; "xyz" would be empty and is dropped.
    assert drop["texts"] == ["hello", "hex"] and drop["target_lengths"].tolist() == [5, 2]
    assert drop["stats"]["unknown_chars_dropped"] == 1 and drop["stats"]["unknown_skipped"] == 1
    with pytest.raises(ValueError, match="unknown"):
        LineCollator(VOCAB, "ConvNextViT", unknown="unk")


def test_labels_longer_than_the_frames_are_dropped():
    assert ctc_frames_needed([1, 2, 3]) == 3 and ctc_frames_needed([1, 1, 2, 2, 2]) == 8
    col = LineCollator(VOCAB, "ConvNextViT")  # 75 frames
    fits, repeats = "ab" * 37, "a" * 39  # 74 frames fit; 39 symbols + 38 blanks do not
    batch = col([(line("x"), fits), (line("x"), repeats)])
    assert batch["texts"] == [fits] and batch["stats"]["too_long"] == 1
    keep = LineCollator(VOCAB, "ConvNextViT", drop_too_long=False)([(line("x"), repeats)])
    assert keep["texts"] == [repeats]


def test_none_samples_are_counted_and_an_all_dropped_batch_is_empty():
    batch = LineCollator(VOCAB, "ConvNextViT")([None, (line("x"), "xyz"), None])
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
    col = LineCollator(VOCAB, "ConvNextViT", augment=augment)
    a = col([ds[(0, (1, 2, 0))], ds[(2, (1, 2, 2))]])
    b = col([ds[(0, (1, 2, 0))], ds[(2, (1, 2, 2))]])
    assert calls[:2] == calls[2:] and calls[0] != calls[1]
    assert torch.equal(a["images"], b["images"]) and a["keys"] == [(1, 2, 0), (1, 2, 2)]
    plain = LineCollator(VOCAB, "ConvNextViT")([ds[(0, 0)]])
    assert not torch.equal(plain["images"], a["images"][:1])  # the augmentation was applied
