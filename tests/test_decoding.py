import itertools

import numpy as np
import pytest
import torch

from duguang_ocr.decoding import (
    ctc_beam_search,
    ctc_beam_search_batch,
    ctc_forced_align,
    ctc_greedy,
    ctc_sequence_log_prob,
)

ITOS = ["", "a", "b", "c"]


def collapse(path):
    out, last = [], None
    for p in path:
        if p != last and p != 0:
            out.append(p)
        last = p
    return tuple(out)


def brute_force(probs):
    """Total probability of every labelling, summing all C**T alignments."""
    t, c = probs.shape
    totals = {}
    for path in itertools.product(range(c), repeat=t):
        p = float(np.prod([probs[i, k] for i, k in enumerate(path)]))
        key = collapse(path)
        totals[key] = totals.get(key, 0.0) + p
    return totals


def random_probs(rng, t, c):
    x = rng.gamma(0.5, size=(t, c))
    return x / x.sum(1, keepdims=True)


def test_greedy_hand_made():
    p = np.full((1, 7, 4), 0.01)
    for f, k in enumerate([1, 1, 0, 1, 2, 0, 0]):
        p[0, f, k] = 0.97
    (line,) = ctc_greedy(torch.tensor(p, dtype=torch.float16), ITOS)
    assert line.text == "aab" and line.ids == [1, 1, 2]
    assert line.char_frames == [0, 3, 4]
    assert line.char_confidences == pytest.approx([0.97] * 3, abs=1e-3)
    assert line.confidence == pytest.approx(0.97, abs=1e-3)
    (short,) = ctc_greedy(p, ITOS, lengths=[2])
    assert short.text == "a"
    (empty,) = ctc_greedy(np.eye(4)[[0, 0]][None] * 0.9 + 0.025, ITOS)
    assert empty.text == "" and empty.confidence == pytest.approx(0.925)


def test_greedy_batch_equals_single_and_unused_ids_emit_nothing():
    rng = np.random.default_rng(1)
    probs = np.stack([random_probs(rng, 9, 4) for _ in range(5)])
    batch = ctc_greedy(probs, ITOS)
    assert [b.text for b in batch] == [ctc_greedy(p[None], ITOS)[0].text for p in probs]
    itos = ["", "", "x", "y"]  # id 1 is an unused slot like ConvNextViT's
    for line in ctc_greedy(probs, itos):
        assert len(line.text) == len(line.char_frames) == len(line.char_confidences)
        assert set(line.text) <= {"x", "y"}


@pytest.mark.parametrize("seed", range(25))
def test_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    t, c = int(rng.integers(1, 6)), int(rng.integers(2, 5))
    probs = random_probs(rng, t, c)
    lp = np.log(probs)
    totals = brute_force(probs)
    for lab, total in totals.items():
        assert ctc_sequence_log_prob(lp, list(lab)) == pytest.approx(np.log(total), abs=1e-5)
    best = max(totals.values())
    beam = ctc_beam_search(lp, ITOS[:c], beam_width=c**t)
    assert totals[tuple(beam.ids)] == pytest.approx(best, rel=1e-5)
    best_path = max(itertools.product(range(c), repeat=t),
                    key=lambda p: np.prod([probs[i, k] for i, k in enumerate(p)]))
    assert tuple(ctc_greedy(probs[None], ITOS[:c])[0].ids) == collapse(best_path)


def test_greedy_never_emits_blanks_or_run_duplicates():
    rng = np.random.default_rng(7)
    probs = np.stack([random_probs(rng, 30, 4) for _ in range(20)])
    for row, line in zip(probs, ctc_greedy(probs, ITOS)):
        assert 0 not in line.ids
        assert line.ids == list(collapse(row.argmax(1)))


def test_forced_alignment():
    rng = np.random.default_rng(3)
    lp = np.log(random_probs(rng, 8, 4))
    frames = ctc_forced_align(lp, [1, 1, 2])
    assert frames == sorted(frames) and len(set(frames)) == 3
    assert all(0 <= f < 8 for f in frames)
    with pytest.raises(ValueError, match="needs 5 frames"):
        ctc_forced_align(lp[:4], [1, 1, 1])


def test_beam_batch_and_length():
    rng = np.random.default_rng(5)
    lp = np.log(np.stack([random_probs(rng, 6, 4) for _ in range(3)]))
    out = ctc_beam_search_batch(lp, ITOS, beam_width=8, lengths=[6, 3, 1])
    assert out[2].ids == ctc_beam_search(lp[2][:1], ITOS, beam_width=8).ids
    assert len(out) == 3
