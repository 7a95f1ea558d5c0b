"""Alternatives, character boxes, output policies, vertical views and the recognizer's
decoding options (issue 13)."""

import json
import re

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from duguang_ocr import Recognizer
from duguang_ocr.decoding import DecodedLine, add_alternatives, ctc_greedy
from duguang_ocr.pattern import PatternError
from duguang_ocr.readout import ReadOptions, char_cells
from duguang_ocr.textpolicy import apply_punctuation, apply_spaces
from duguang_ocr.vertical import View, cell_cuts, is_tall, views
from tests.helpers import assert_same_recognizer, font, recognizer_state, render
from tests.test_decoding import one_hot_line

ITOS = ["", "a", "b", "c"]


# --- alternatives and boxes -----------------------------------------------------------


def test_alternatives_are_the_frame_top_k_without_blank_or_silent_classes():
    itos = ["", "", "x", "y", "z"]  # class 1 emits nothing
    p = np.array([[0.1, 0.5, 0.3, 0.06, 0.04],   # 'x' at frame 0 (class 1 is silent)
                  [0.9, 0.02, 0.03, 0.03, 0.02],
                  [0.05, 0.05, 0.1, 0.2, 0.6]])
    p = p / p.sum(1, keepdims=True)
    lines = [DecodedLine("xz", 0.0, [0.3, 0.6], [0, 2], [2, 4], [(0, 0), (2, 2)])]
    add_alternatives(lines, torch.from_numpy(p)[None], itos, 2)
    alts = lines[0].alternatives
    assert [[c for c, _ in a] for a in alts] == [["x", "y"], ["z", "y"]]
    assert alts[0][0][1] == pytest.approx(p[0, 2]) and alts[1][1][1] == pytest.approx(p[2, 3])
    add_alternatives(lines, p[None], itos, 10)  # capped at the emitting classes
    assert [len(a) for a in lines[0].alternatives] == [3, 3]


def test_greedy_spans_are_the_runs():
    (line,) = ctc_greedy(one_hot_line([1, 1, 0, 2, 0, 0, 3, 3, 3], [0.9] * 9)[None], ITOS)
    assert line.char_spans == [(0, 1), (3, 3), (6, 8)]


def test_char_cells_split_blank_gaps_and_extend_the_ends_symmetrically():
    assert char_cells([(2, 2)]) == [(1.5, 2.5)]
    cells = char_cells([(1, 1), (4, 5), (9, 9)])
    assert cells == [(-0.5, 2.5), (2.5, 7.0), (7.0, 11.0)]


# --- output policies --------------------------------------------------------------------


def _line(text, spans, evidence=None):
    n = len(text)
    return DecodedLine(text, 0.9, [0.9] * n, [s[0] for s in spans], list(range(1, n + 1)),
                       spans, None, None, evidence)


def test_spaces_auto_adds_evidenced_spaces_and_never_spaces_wide_chars():
    # a|b: touching spans; b|c: 2 blank frames with space evidence 0.3; c|d: 8 blank frames
    # (a wide gap) without evidence; 中 文: a model space between two wide characters.
    line = _line("abcd中 文", [(0, 0), (1, 1), (4, 4), (13, 13), (15, 15), (17, 17), (19, 19)],
                 evidence=[0.0, 0.3, 0.0, 0.0, 0.0, 0.0])
    out = apply_spaces(line, "auto", line.space_evidence)
    assert out.text == "ab cd中文"
    assert len(out.char_confidences) == len(out.char_spans) == len(out.text)
    assert out.char_spans[2] == (2, 3)  # the inserted space spans the blank frames
    assert apply_spaces(line, "none").text == "abcd中文"
    assert apply_spaces(line, "model") is line
    low = _line("ab", [(0, 0), (3, 3)], evidence=[0.19])
    assert apply_spaces(low, "auto", low.space_evidence).text == "ab"
    kept = _line("a b", [(0, 0), (2, 2), (4, 4)], evidence=[0.0, 0.0])
    assert apply_spaces(kept, "auto", kept.space_evidence).text == "a b"  # the model's own


@pytest.mark.parametrize(("text", "auto", "full", "half"), [
    ("你好,world", "你好，world", "你好，world", "你好,world"),
    ("Hello，world", "Hello,world", "Hello，world", "Hello,world"),
    ("价格:42元", "价格：42元", "价格：42元", "价格:42元"),
    ("3。5", "3.5", "3。5", "3.5"),
    ("Total: 42.", "Total: 42.", "Total： 42。", "Total: 42."),
    ("好。", "好。", "好。", "好."),
    ("(中文)", "（中文）", "（中文）", "(中文)"),
    ("ＡＢ１", "ＡＢ１", "ＡＢ１", "AB1"),
])
def test_punctuation_policies(text, auto, full, half):
    line = _line(text, [(i, i) for i in range(len(text))])
    assert apply_punctuation(line, "auto").text == auto
    assert apply_punctuation(line, "full").text == full
    assert apply_punctuation(line, "half").text == half
    assert apply_punctuation(line, "keep") is line


def test_read_options_validate_and_read_lexicon_files(tmp_path):
    with pytest.raises(ValueError, match="spaces"):
        ReadOptions(spaces="sometimes")
    with pytest.raises(ValueError, match="not both"):
        ReadOptions().updated(pattern="a", lexicon=["a"])
    with pytest.raises(TypeError, match="unknown option"):
        ReadOptions().updated(patern="a")
    (tmp_path / "lex.txt").write_text("one\ntwo\n", encoding="utf-8")
    assert ReadOptions().updated(lexicon=tmp_path / "lex.txt").lexicon == ("one", "two")


# --- vertical ---------------------------------------------------------------------------


def _column(chars: str, width: int = 40) -> np.ndarray:
    im = Image.new("RGB", (width, int(width * 1.2) * len(chars) + 10), (250, 250, 250))
    d = ImageDraw.Draw(im)
    for i, ch in enumerate(chars):
        d.text((width / 2, 5 + width * 1.2 * (i + 0.5)), ch, fill=(0, 0, 0), font=font(28),
               anchor="mm")
    return np.array(im)


def test_stack_cuts_between_characters_and_maps_back_to_rows():
    img = _column("ABCDE")
    assert is_tall(*img.shape[:2]) and not is_tall(40, 61)
    cuts = cell_cuts(img)
    ink = np.abs(img.astype(float).mean(2) - 250).mean(1)
    inked = np.nonzero(ink > 1)[0]
    assert len(cuts) == 6  # five cells, the blank margins trimmed to a tenth of the width
    assert inked[0] - 4 <= cuts[0] < inked[0] and inked[-1] < cuts[-1] <= inked[-1] + 5
    assert all(ink[c] < 1 for c in cuts[1:-1])  # every inner cut is in a blank row
    stack, ccw, cw = views(img)
    assert stack.image.shape[1] == 5 * img.shape[1]
    ys = [stack.to_original(x) for x in np.linspace(0, stack.image.shape[1], 50)]
    assert ys == sorted(ys) and ys[0] == cuts[0] and ys[-1] == cuts[-1]
    assert ccw.image.shape[:2] == img.shape[1::-1] and ccw.to_original(10) == 10
    assert cw.to_original(10) == img.shape[0] - 10
    # Rotating counter-clockwise puts the top row at the left.
    assert np.array_equal(ccw.image[:, 0], img[0, ::-1])
    assert isinstance(stack, View)


# --- the recognizer ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    rec = Recognizer.from_pretrained(tiny_model_dir, device="cpu", num_workers=0)
    before = recognizer_state(rec)
    yield rec
    assert_same_recognizer(before, recognizer_state(rec))


def test_alternatives_boxes_and_json(tiny, line_images):
    paths = [line_images["short"], line_images["long"]]
    results = tiny.recognize(paths, alternatives=3, spaces="model", punctuation="keep")
    for r, p in zip(results, paths):
        width = Image.open(p).width
        n = len(r.text)
        assert len(r.alternatives) == len(r.char_boxes) == len(r.char_positions) == n
        for ch, alts, (x0, x1), x in zip(r.text, r.alternatives, r.char_boxes,
                                         r.char_positions):
            assert len(alts) == 3 and alts[0][0] == ch  # greedy: the frame's best class
            assert [a[1] for a in alts] == sorted((a[1] for a in alts), reverse=True)
            assert 0 <= x0 <= x <= x1 <= width
        assert all(b[1] <= c[0] + 1e-9 for b, c in zip(r.char_boxes, r.char_boxes[1:]))
        assert 0 <= r.confidence <= 1 and r.constraint_met is None
    from duguang_ocr.results import results_to_json

    d = json.loads(json.dumps(results_to_json(results)))[1]
    assert len(d["alternatives"]) == len(d["char_boxes"]) == len(d["text"])
    assert "constraint_met" not in d and "vertical" not in d


def test_constraints_per_call_and_per_recognizer(tiny_model_dir, tiny, line_images):
    paths = [line_images[k] for k in ("short", "gray", "rgba")]
    for r in tiny.recognize(paths, pattern=r"[0-9]{2}[a-z]?"):
        assert r.constraint_met and re.fullmatch(r"[0-9]{2}[a-z]?", r.text)
    for r in tiny.recognize(paths, lexicon=["hello", "world", "42"]):
        assert r.constraint_met and r.text in {"hello", "world", "42"}
    for r in tiny.recognize(paths, lexicon=["hello", "world"], lexicon_mode="words"):
        assert r.constraint_met and set(r.text.split(" ")) <= {"hello", "world"}
    for r in tiny.recognize(paths, allowed_chars="0123456789"):
        assert r.constraint_met and set(r.text) <= set("0123456789")
    assert all(set(t).isdisjoint("abc") for t in tiny(paths, blocked_chars="abc"))
    # Nothing the vocabulary can spell matches: the unconstrained reading, flagged.
    free = tiny.recognize(paths)
    for r, f in zip(tiny.recognize(paths, pattern="京"), free):
        assert r.constraint_met is False and r.text == f.text
    plates = Recognizer.from_pretrained(tiny_model_dir, device="cpu", pattern=r"\d{3}")
    assert all(re.fullmatch(r"\d{3}", t) for t in plates(paths))
    assert plates(paths, pattern=None) == [f.text for f in free]  # per-call override
    with pytest.raises(PatternError, match="lookahead"):
        tiny(paths, pattern="a(?=b)")


def test_tall_crops_are_read_as_columns_unless_opted_out(tiny):
    img = Image.fromarray(_column("1234"))
    r = tiny.recognize(img)
    off = tiny.recognize(img, vertical=False)
    assert off.vertical is False
    if r.vertical:  # random weights: whichever view reads most confidently wins
        assert all(0 <= y <= img.height for y in r.char_positions)
    wide = tiny.recognize(render("wide line"))
    assert wide.vertical is False
    for shape in ((400, 1, 3), (300, 9, 3)):  # degenerate columns: read, never stuck
        noise = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
        assert tiny.recognize(Image.fromarray(noise)).ok


def test_cli_alternatives_and_constraints(tiny_model_dir, line_images, tmp_path, capsys):
    from duguang_ocr.cli import main

    lexicon = tmp_path / "lex.txt"
    lexicon.write_text("alpha\nbeta\n", encoding="utf-8")
    base = ["recognize", "--json", "--model", str(tiny_model_dir), "--device", "cpu",
            str(line_images["short"])]
    assert main(base + ["--alternatives", "2", "--lexicon", str(lexicon)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["text"] in {"alpha", "beta"} and out["constraint_met"] is True
    assert [len(a) for a in out["alternatives"]] == [2] * len(out["text"])
    assert main(base + ["--pattern", "a(?=b)"]) == 2
    assert "lookahead" in capsys.readouterr().err


def test_a_constraint_compiled_while_another_thread_clears_the_cache_is_still_returned():
    """The server shares one recognizer between threads: a thread that clears the cache of
    compiled constraints right after another stored its automaton must not make that
    thread's lookup fail (it once read the entry back from the shared dict)."""
    from duguang_ocr.readout import Reader

    class ClearedByAnotherThread(dict):
        def __setitem__(self, key, value):
            super().__setitem__(key, value)
            self.clear()

    reader = Reader([" ", "", "a", "b", "c"])
    reader._automata = ClearedByAnotherThread()
    opts = ReadOptions().updated(pattern="a+b")
    automaton = reader.automaton(opts)
    assert automaton is not None and automaton.num_states > 1
    assert reader.automaton(ReadOptions()) is None  # no constraint: None, also uncached
