import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from duguang_ocr.decoding import (
    DecodedLine,
    ctc_beam_search,
    ctc_beam_search_batch,
    ctc_forced_align,
    ctc_greedy,
    ctc_sequence_log_prob,
    greedy_lines,
)

ITOS = ["", "a", "b", "c"]


def collapse(path) -> tuple[int, ...]:
    """Reference CTC collapse: merge runs, then drop blanks."""
    out, last = [], None
    for k in path:
        if k != last and k != 0:
            out.append(int(k))
        last = k
    return tuple(out)


def all_paths(t: int, c: int) -> np.ndarray:
    return np.array(list(itertools.product(range(c), repeat=t)), dtype=np.int64).reshape(-1, t)


def brute_force(probs: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray]:
    """Total probability of every labelling over all C**T alignments, plus the paths and
    their probabilities."""
    t, c = probs.shape
    paths = all_paths(t, c)
    path_p = probs[np.arange(t), paths].prod(1)
    totals: dict[tuple[int, ...], float] = {}
    for path, p in zip(paths, path_p):
        key = collapse(path)
        totals[key] = totals.get(key, 0.0) + float(p)
    return totals, paths, path_p


def random_probs(rng, t: int, c: int) -> np.ndarray:
    x = rng.gamma(0.5, size=(t, c))  # peaky rows, like a trained model's
    return x / x.sum(1, keepdims=True)


def one_hot_line(labels, peaks, c: int = 4, floor: float = 0.01) -> np.ndarray:
    """(T, C) probabilities with class ``labels[f]`` at probability ``peaks[f]`` in frame f."""
    p = np.empty((len(labels), c))
    for f, (k, peak) in enumerate(zip(labels, peaks)):
        p[f] = (1 - peak) / (c - 1)
        p[f, k] = peak
    return p


# --- greedy -------------------------------------------------------------------------


def test_greedy_hand_made():
    p = one_hot_line([1, 1, 0, 1, 2, 2, 0], [0.6, 0.9, 0.8, 0.8, 0.7, 0.95, 0.9])
    (line,) = ctc_greedy(p[None], ITOS)
    assert line.text == "aab" and line.ids == [1, 1, 2]
    # Frame and confidence are the run's best: frame 1 (0.9) beats frame 0 (0.6).
    assert line.char_frames == [1, 3, 5]
    assert line.char_confidences == pytest.approx([0.9, 0.8, 0.95])
    assert line.confidence == pytest.approx(np.mean([0.9, 0.8, 0.95]))


def test_greedy_repeats_need_a_blank():
    merged = one_hot_line([1, 1, 1], [0.9] * 3)
    split = one_hot_line([1, 0, 1], [0.9] * 3)
    assert ctc_greedy(merged[None], ITOS)[0].text == "a"
    assert ctc_greedy(split[None], ITOS)[0].text == "aa"


def test_greedy_empty_line_confidence_is_mean_blank():
    p = one_hot_line([0, 0, 0], [0.9, 0.6, 0.3 + 0.4])
    (line,) = ctc_greedy(p[None], ITOS)
    assert line == DecodedLine("", pytest.approx(np.mean([0.9, 0.6, 0.7])), [], [], [])


def test_greedy_lengths_mask_padding():
    a = one_hot_line([1, 0, 2, 2, 3, 0], [0.9] * 6)
    b = one_hot_line([0, 0, 0, 1, 2, 3], [0.8, 0.7, 0.6, 0.9, 0.9, 0.9])
    batch = np.stack([a, b])
    short_a, short_b = ctc_greedy(batch, ITOS, lengths=torch.tensor([4, 3]))
    assert short_a.text == "ab" and short_a.char_frames == [0, 2]
    assert short_b.text == "" and short_b.confidence == pytest.approx(0.7)
    full = ctc_greedy(batch, ITOS, lengths=[6, 6])
    assert [x.text for x in full] == ["abc", "abc"]
    assert ctc_greedy(batch, ITOS, lengths=np.array([0, 6]))[0] == DecodedLine("", 0.0)


def test_greedy_input_types_agree():
    rng = np.random.default_rng(0)
    p = np.stack([random_probs(rng, 12, 4) for _ in range(3)]).astype(np.float32)
    ref = ctc_greedy(p, ITOS)
    for variant in (torch.from_numpy(p), torch.from_numpy(p).half(), torch.from_numpy(p).bfloat16(),
                    p.astype(np.float16), p.astype(np.float64)):
        got = ctc_greedy(variant, ITOS)
        for r, g in zip(ref, got):
            assert (g.text, g.ids, g.char_frames) == (r.text, r.ids, r.char_frames)
            assert g.char_confidences == pytest.approx(r.char_confidences, abs=1e-2)
            assert isinstance(g.confidence, float) and 0 <= g.confidence <= 1


def test_greedy_batch_equals_single():
    rng = np.random.default_rng(1)
    probs = np.stack([random_probs(rng, 9, 4) for _ in range(6)])
    lengths = [9, 5, 1, 0, 7, 9]
    batch = ctc_greedy(probs, ITOS, lengths=lengths)
    singles = [ctc_greedy(p[None, :n], ITOS)[0] if n else DecodedLine("", 0.0)
               for p, n in zip(probs, lengths)]
    assert batch == singles
    assert any(line.text for line in batch)


def test_greedy_lines_from_log_probs_equals_greedy_over_softmax():
    """The recognizer reads from log-probabilities: each frame's best class and exp of the
    few values greedy needs must give what a full softmax gave (texts, spans, confidences to
    float rounding), also with padded lengths."""
    torch.manual_seed(3)
    logits = torch.randn(5, 11, 4) * 3
    lengths = [11, 6, 1, 0, 9]
    ref = ctc_greedy(logits.softmax(-1), ITOS, lengths=lengths)
    lp = logits.log_softmax(-1)
    top = lp.max(-1)
    got = greedy_lines(top.values.exp(), top.indices, lp[..., 0].exp(), ITOS, lengths)
    assert [(g.text, g.ids, g.char_frames, g.char_spans) for g in got] == [
        (r.text, r.ids, r.char_frames, r.char_spans) for r in ref]
    assert any(r.text for r in ref)
    for g, r in zip(got, ref):
        assert g.char_confidences == pytest.approx(r.char_confidences, abs=1e-6)
        assert g.confidence == pytest.approx(r.confidence, abs=1e-6)


def test_unused_ids_are_kept_but_emit_nothing():
    itos = ["", "", "x", "y"]  # id 1 is an unused slot, as in ConvNextViT vocabularies
    p = one_hot_line([1, 0, 2, 1, 3], [0.9] * 5)
    (line,) = ctc_greedy(p[None], itos)
    assert line.ids == [1, 2, 1, 3] and line.text == "xy"
    assert line.char_frames == [2, 4] and len(line.char_confidences) == 2
    (only_unused,) = ctc_greedy(one_hot_line([0, 1, 0], [0.5, 0.9, 0.7])[None], itos)
    assert only_unused.ids == [1] and only_unused.text == ""
    assert only_unused.confidence == pytest.approx(np.mean([0.5, 0.1 / 3, 0.7]))


def test_class_without_itos_entry_raises():
    with pytest.raises(ValueError, match="no entry in itos"):
        ctc_greedy(one_hot_line([3], [0.9])[None], ITOS[:3])


def test_greedy_never_emits_blanks_or_run_duplicates():
    rng = np.random.default_rng(7)
    probs = np.stack([random_probs(rng, 40, 3) for _ in range(30)])  # few classes: many runs
    for row, line in zip(probs, ctc_greedy(probs, ITOS[:3])):
        best = row.argmax(1)
        assert 0 not in line.ids
        assert line.ids == list(collapse(best))
        # Equal neighbours in the output are two runs, so a blank frame lies between them.
        for (i, j), (f, g) in zip(zip(line.ids, line.ids[1:]),
                                  zip(line.char_frames, line.char_frames[1:])):
            assert f < g
            if i == j:
                assert (best[f:g] == 0).any()


# --- exactness against brute-force enumeration ---------------------------------------


CASES = [(seed, 1 + seed % 6, 2 + seed % 3) for seed in range(72)]  # all T 1..6 x C 2..4


@pytest.mark.parametrize(("seed", "t", "c"), CASES)
def test_against_brute_force(seed, t, c):
    rng = np.random.default_rng(seed)
    probs = random_probs(rng, t, c)
    lp = np.log(probs)
    totals, paths, path_p = brute_force(probs)
    assert sum(totals.values()) == pytest.approx(1.0)

    # (a) The forward algorithm sums every alignment of every labelling.
    for lab, total in totals.items():
        assert ctc_sequence_log_prob(lp, lab) == pytest.approx(np.log(total), abs=1e-9)
    assert ctc_sequence_log_prob(lp, [1] * (t + 1)) == -np.inf

    # (b) A beam wide enough to hold every labelling finds the most probable one.
    beam = ctc_beam_search(lp, ITOS[:c], beam_width=c**t)
    best = max(totals.values())
    assert totals[tuple(beam.ids)] >= best * (1 - 1e-9)
    assert beam.char_frames == ctc_forced_align(lp, beam.ids)
    assert beam.char_confidences == pytest.approx(
        [probs[f, k] for f, k in zip(beam.char_frames, beam.ids)])

    # (c) Greedy is the collapse of the single most probable path.
    (greedy,) = ctc_greedy(probs[None], ITOS[:c])
    assert tuple(greedy.ids) == collapse(paths[path_p.argmax()])


@pytest.mark.parametrize("seed", range(12))
def test_forced_alignment_is_the_viterbi_path(seed):
    rng = np.random.default_rng(100 + seed)
    t, c = 6, 3
    probs = random_probs(rng, t, c)
    totals, paths, path_p = brute_force(probs)
    for lab in (lab for lab in totals if lab):
        keep = np.array([collapse(p) == lab for p in paths])
        viterbi = paths[keep][path_p[keep].argmax()]
        # Each label's segment is its run in the best path; the frame is that run's peak.
        expected, k, prev = [], -1, 0
        segments: list[list[int]] = []
        for f, cls in enumerate(viterbi):
            if cls != 0 and cls != prev:
                k += 1
                segments.append([])
            if cls != 0:
                segments[k].append(f)
            prev = cls
        expected = [max(seg, key=lambda f, i=i: probs[f, lab[i]]) for i, seg in enumerate(segments)]
        frames = ctc_forced_align(np.log(probs), lab)
        assert frames == expected
        assert all(f in seg for f, seg in zip(frames, segments))
        assert all(a < b for a, b in zip(frames, frames[1:]))


def test_forced_alignment_rejects_labellings_that_cannot_fit():
    lp = np.log(random_probs(np.random.default_rng(3), 4, 4))
    with pytest.raises(ValueError, match="needs 5 frames, have 4"):
        ctc_forced_align(lp, [1, 1, 1])  # two blanks are needed between the three a's
    with pytest.raises(ValueError, match="needs 5 frames"):
        ctc_forced_align(lp, [1, 2, 3, 1, 2])
    assert len(ctc_forced_align(lp, [1, 2, 1, 2])) == 4  # distinct neighbours need no blank
    with pytest.raises(ValueError, match="blank"):
        ctc_forced_align(lp, [1, 0, 2])
    assert ctc_forced_align(lp, []) == []


def test_sequence_log_prob_matches_torch_ctc_loss():
    rng = np.random.default_rng(11)
    lp = torch.randn(50, 12, generator=torch.Generator().manual_seed(0)).log_softmax(-1)
    for labels in ([3, 3, 5, 1, 1, 1, 7], list(rng.integers(1, 12, size=20)), []):
        loss = F.ctc_loss(lp[:, None].double(), torch.tensor([labels], dtype=torch.long),
                          torch.tensor([50]), torch.tensor([len(labels)]), reduction="sum")
        assert ctc_sequence_log_prob(lp, labels) == pytest.approx(-loss.item(), rel=1e-9)


# --- beam search ------------------------------------------------------------------------


def test_beam_sums_alignments_where_greedy_cannot():
    # The single best path is all blanks, but "a" has more total mass spread over paths.
    p = np.array([[0.4, 0.35, 0.25]] * 3)
    (greedy,) = ctc_greedy(p[None], ITOS[:3])
    beam = ctc_beam_search(np.log(p), ITOS[:3], beam_width=5)
    assert greedy.text == "" and beam.text == "a"
    assert ctc_sequence_log_prob(np.log(p), [1]) > ctc_sequence_log_prob(np.log(p), [])
    assert beam.confidence == pytest.approx(0.35)
    # Pruning classes below 0.36 per frame leaves "a" unreachable: documented trade-off.
    assert ctc_beam_search(np.log(p), ITOS[:3], beam_width=5, prune=0.36).text == ""


def test_beam_repeated_characters():
    lp = np.log(one_hot_line([1, 1, 0, 1, 2], [0.9] * 5))
    line = ctc_beam_search(torch.from_numpy(lp).float(), ITOS)
    assert line.text == "aab" and line.char_frames == [0, 3, 4]
    empty = ctc_beam_search(np.log(one_hot_line([0, 0], [0.8, 0.6])), ITOS)
    assert empty == DecodedLine("", pytest.approx(0.7), [], [], [])


def test_beam_batch_and_lengths():
    rng = np.random.default_rng(5)
    lp = np.log(np.stack([random_probs(rng, 6, 4) for _ in range(4)]))
    out = ctc_beam_search_batch(torch.from_numpy(lp), ITOS, beam_width=8, lengths=[6, 3, 1, 0])
    assert out[:3] == [ctc_beam_search(row[:n], ITOS, beam_width=8)
                       for row, n in zip(lp, [6, 3, 1])]
    assert out[3] == DecodedLine("", 0.0)
    assert out[1] == ctc_beam_search(lp[1], ITOS, beam_width=8, length=3)


def test_beam_large_vocabulary_is_fast_and_agrees_with_greedy_on_peaky_input():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(80, 6000, generator=gen)
    path = torch.randint(0, 6000, (80,), generator=gen)
    path[::3] = 0
    logits[torch.arange(80), path] += 30  # near one-hot: best path dominates
    itos = [""] + [chr(0x4E00 + i) for i in range(5999)]
    beam = ctc_beam_search(logits.log_softmax(-1), itos, beam_width=10)
    (greedy,) = ctc_greedy(logits.softmax(-1)[None], itos)
    assert beam.ids == greedy.ids == list(collapse(path.tolist()))
    assert beam.char_frames == greedy.char_frames


def test_beam_rejects_bad_arguments():
    with pytest.raises(ValueError, match="beam_width"):
        ctc_beam_search(np.zeros((2, 3)), ITOS, beam_width=0)
    with pytest.raises(ValueError, match=r"\(T, C\)"):
        ctc_beam_search(np.zeros((1, 2, 3)), ITOS)
