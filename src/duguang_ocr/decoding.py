"""CTC decoding: greedy and prefix beam search, with per-character confidences and frames.

Pure torch/numpy; knows nothing about images or vocab files. ``itos[c]`` is the text class
``c`` emits: '' for the blank (class 0) and for unused slots, which are still reported in
:attr:`DecodedLine.ids` but produce no character. Frame indices are turned into pixel
positions by the recognizer.

Greedy decoding is what the recognizer and evaluation use by default, so it is vectorised
over the whole batch. Beam search is per line (prefix search is inherently sequential over
frames) but vectorised over classes, so a 7,000-class vocabulary costs one numpy pass per
frame rather than a Python loop over classes. :func:`ctc_sequence_log_prob` and
:func:`ctc_forced_align` are the exact forward and Viterbi recursions; the first lets callers
score a labelling, the second gives beam search the same per-character frames and
confidences that greedy decoding reads off its argmax runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

from .automaton import Automaton, from_edges
from .prefix_search import prefix_search
from .vocab import BLANK

_NEG_INF = -np.inf


@dataclass
class DecodedLine:
    """One decoded line.

    Attributes:
        text: the collapsed string.
        confidence: line confidence in [0, 1]: the mean of ``char_confidences``; for an empty
            text, the mean blank probability over the valid frames (0.0 when there are none,
            since no frames is no evidence for anything).
        char_confidences: per character, its probability at ``char_frames``.
        char_frames: per character, the frame (0..T-1) where it is most confidently emitted
            within its run (greedy) or its forced-alignment segment (beam search).
        ids: emitted class ids after collapsing and removing blanks, including ids that
            emit '' (so callers can tell "nothing recognised" from "only unused slots").
        char_spans: per character, its first and last frame: the run of frames greedy
            decoding merged into it, or its segment of the best alignment (beam search).
            Frames between two spans are blanks.
        alternatives: per character, up to k ``(char, probability)`` pairs read at its
            frame, best first (None unless asked for, see :func:`add_alternatives`).
        constraint_met: for constrained decoding, whether the text satisfies the
            constraint (False: nothing did, and this is the unconstrained reading); None
            when there was no constraint.
        space_evidence: per pair of neighbouring characters, the highest probability of a
            space in a blank frame between them (filled by the reader for
            ``spaces="auto"``, see :func:`duguang_ocr.textpolicy.space_evidence`).
        log_peak: mean over the line's frames of the log-probability of the likeliest
            class (filled by the reader; a calibration feature, see
            :mod:`duguang_ocr.calibration`).
        constraint_cost: for a constrained reading, how much likelier (log, >= 0) the
            model found its own best-path text than this one: the evidence a constraint
            overrode, which the confidence must pay (a word forced out of a whole line has
            confident characters but a huge cost). 0 otherwise.
    """

    text: str
    confidence: float
    char_confidences: list[float] = field(default_factory=list)
    char_frames: list[int] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    char_spans: list[tuple[int, int]] = field(default_factory=list)
    alternatives: list[list[tuple[str, float]]] | None = None
    constraint_met: bool | None = None
    space_evidence: list[float] | None = None
    log_peak: float | None = None
    constraint_cost: float = 0.0


def _to_float64(x) -> np.ndarray:
    """Any tensor/array (bf16 and fp16 included) as a float64 numpy array on the CPU.

    The beam and alignment recursions add many log-probabilities, so they run in float64
    whatever the network produced.
    """
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().to(torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


def _check_labels(ids: Sequence[int], num_classes: int) -> list[int]:
    labels = [int(i) for i in ids]
    for i in labels:
        if i == BLANK or not 0 < i < num_classes:
            raise ValueError(
                f"label ids must be in 1..{num_classes - 1} (0 is the CTC blank), got {i}"
            )
    return labels


def _assemble(ids: list[int], confs: list[float], frames: list[int],
              spans: list[tuple[int, int]], itos: Sequence[str], blank_mean: float
              ) -> DecodedLine:
    """Build a :class:`DecodedLine`, dropping ids that emit '' from the character lists."""
    text, char_confs, char_frames, char_spans = [], [], [], []
    for i, c, f, span in zip(ids, confs, frames, spans):
        if i >= len(itos):
            # A model/vocabulary mismatch; emitting nothing would hide it.
            raise ValueError(f"class id {i} has no entry in itos (length {len(itos)})")
        s = itos[i]
        if s:
            text.append(s)
            char_confs.append(float(c))
            char_frames.append(int(f))
            char_spans.append((int(span[0]), int(span[1])))
    conf = float(np.mean(char_confs)) if char_confs else float(blank_mean)
    return DecodedLine("".join(text), conf, char_confs, char_frames, [int(i) for i in ids],
                       char_spans)


def ctc_greedy(probs: torch.Tensor | np.ndarray, itos: Sequence[str],
               lengths: Sequence[int] | torch.Tensor | np.ndarray | None = None,
               ) -> list[DecodedLine]:
    """Best-path decoding of a batch: argmax per frame, merge runs, drop blanks.

    Everything up to the per-line assembly is done for the whole batch at once: the argmax
    runs on the tensor's own device and dtype (only (N, T) results are copied to the CPU),
    runs are found with a shifted comparison, and each run's best probability and frame
    come from scatter-reductions over a batch-wide run index. Python only loops over the
    emitted characters.

    Args:
        probs: (N, T, C) probabilities (already softmaxed); torch or numpy; float32, float16
            or bfloat16.
        itos: class id -> emitted text.
        lengths: optional (N,) valid frame counts; frames at or beyond a line's length are
            ignored (padding of shorter lines in a batch).

    Returns:
        One :class:`DecodedLine` per row.
    """
    p = probs if isinstance(probs, torch.Tensor) else torch.from_numpy(np.asarray(probs))
    p = p.detach()
    if p.ndim != 3:
        raise ValueError(f"expected (N, T, C) probabilities, got shape {tuple(p.shape)}")
    best, ids = p.max(-1)
    return greedy_lines(best, ids, p[..., BLANK], itos, lengths)


def greedy_lines(best: torch.Tensor, ids: torch.Tensor, blank: torch.Tensor,
                 itos: Sequence[str], lengths: Sequence[int] | torch.Tensor | np.ndarray | None
                 = None) -> list[DecodedLine]:
    """:func:`ctc_greedy` from what it needs of each frame, all (N, T): the best class
    ``ids``, its probability ``best`` and the blank's probability ``blank``. A caller that
    already holds log-probabilities passes ``exp`` of these few values instead of a second
    softmax over every class."""
    n, t = ids.shape
    if n == 0:
        return []
    if t == 0:
        return [DecodedLine("", 0.0) for _ in range(n)]
    best, ids, blank = best.float().cpu(), ids.cpu(), blank.float().cpu()
    frame = torch.arange(t)
    if lengths is None:
        valid = torch.ones(n, t, dtype=torch.bool)
    else:
        lens = torch.as_tensor(lengths).detach().cpu().long().reshape(-1)
        if lens.numel() != n:
            raise ValueError(f"lengths has {lens.numel()} entries for a batch of {n}")
        valid = frame[None] < lens[:, None]
    ids = ids.masked_fill(~valid, BLANK)

    new_run = torch.ones(n, t, dtype=torch.bool)
    new_run[:, 1:] = ids[:, 1:] != ids[:, :-1]
    # Every line starts a run at frame 0, so a flat cumulative sum numbers runs uniquely
    # across the whole batch.
    run = new_run.reshape(-1).cumsum(0) - 1
    flat_best = best.reshape(-1)
    run_best = torch.full((n * t,), -torch.inf).scatter_reduce(0, run, flat_best, "amax")
    at_best = flat_best == run_best[run]
    frames = frame.repeat(n)
    run_frame = torch.full((n * t,), t, dtype=torch.long).scatter_reduce(
        0, run[at_best], frames[at_best], "amin"
    )  # first frame of each run reaching the run's maximum
    run_first = torch.full((n * t,), t, dtype=torch.long).scatter_reduce(0, run, frames, "amin")
    run_last = torch.full((n * t,), -1, dtype=torch.long).scatter_reduce(0, run, frames, "amax")

    emit = (new_run & (ids != BLANK)).reshape(-1)  # masked frames are blank already
    pos = emit.nonzero().squeeze(1)
    counts = torch.bincount(pos // t, minlength=n).tolist()
    out_ids = ids.reshape(-1)[pos].tolist()
    out_conf = run_best[run[pos]].tolist()
    out_frame = run_frame[run[pos]].tolist()
    out_span = list(zip(run_first[run[pos]].tolist(), run_last[run[pos]].tolist()))

    n_valid = valid.sum(1)
    blank_mean = blank.masked_fill(~valid, 0).sum(1) / n_valid.clamp(min=1)
    blank_mean = blank_mean.masked_fill(n_valid == 0, 0.0).tolist()

    lines, start = [], 0
    for b in range(n):
        end = start + counts[b]
        lines.append(_assemble(out_ids[start:end], out_conf[start:end], out_frame[start:end],
                               out_span[start:end], itos, blank_mean[b]))
        start = end
    return lines


@lru_cache(maxsize=8)
def _any_label(num_classes: int) -> Automaton:
    """The unconstrained case: one accepting state looping on every non-blank class."""
    return from_edges([[(i, 0) for i in range(1, num_classes)]], [True])


def _aligned_line(lp: np.ndarray, ids: list[int], itos: Sequence[str]) -> DecodedLine:
    """A :class:`DecodedLine` for labelling ``ids``, its frames and confidences from
    :func:`ctc_forced_align`, so they mean the same as greedy's."""
    blank_mean = float(np.exp(lp[:, BLANK]).mean()) if lp.shape[0] else 0.0
    frames, spans = _align(lp, ids) if ids else ([], [])
    confs = np.exp(lp[frames, ids]).tolist() if ids else []  # not exp of all T x C
    return _assemble(ids, confs, frames, spans, itos, blank_mean)


def _check_beam(beam_width: int, lp: np.ndarray, length: int | None) -> np.ndarray:
    if beam_width < 1:
        raise ValueError(f"beam_width must be >= 1, got {beam_width}")
    if lp.ndim != 2:
        raise ValueError(f"expected (T, C) log-probabilities, got shape {lp.shape}")
    return lp if length is None else lp[: int(length)]


def ctc_beam_search(log_probs: torch.Tensor | np.ndarray, itos: Sequence[str],
                    beam_width: int = 10, length: int | None = None,
                    prune: float = 0.0) -> DecodedLine:
    """CTC prefix beam search over one line.

    Unlike greedy decoding, this sums the probability of all alignments of a labelling, so
    a text spread over several likely paths can beat the single best path. With a beam at
    least as wide as the number of possible labellings the result is exact. (It is
    :func:`ctc_constrained_search` with an automaton that allows everything.)

    Args:
        log_probs: (T, C) natural-log probabilities (log_softmax output), torch or numpy.
        itos: class id -> emitted text.
        beam_width: prefixes kept per frame.
        length: use only the first ``length`` frames.
        prune: skip extending by classes whose probability in a frame is below this. The
            default 0 disables it and keeps the search exact for the given beam; a small
            value such as 1e-6 speeds up large vocabularies at the risk of changing
            results whose margins are in the pruned mass.

    Returns:
        The best labelling. Its character frames and confidences come from
        :func:`ctc_forced_align` of that labelling, and ``confidence`` is their mean (the
        mean blank probability for an empty text), so they mean the same as greedy's.
    """
    lp = _check_beam(beam_width, _to_float64(log_probs), length)
    ids = prefix_search(lp, _any_label(lp.shape[1]), beam_width, prune)
    return _aligned_line(lp, list(ids or ()), itos)


def ctc_constrained_search(log_probs: torch.Tensor | np.ndarray, itos: Sequence[str],
                           automaton: Automaton, beam_width: int = 10,
                           length: int | None = None) -> DecodedLine | None:
    """The most probable labelling of one line that ``automaton`` accepts.

    Exact prefix beam search over the CTC lattice through the automaton (see
    :mod:`.prefix_search`): with a beam as wide as the number of accepted labellings it
    returns the constrained optimum, and it never returns a labelling the automaton
    rejects.

    Returns:
        The line (``constraint_met=True``), or None when no accepted labelling survived the
        search (none exists in T frames, or the beam lost every one).
    """
    lp = _check_beam(beam_width, _to_float64(log_probs), length)
    columns, compact = automaton.compact  # only the classes the automaton can emit
    ids = prefix_search(lp[:, columns], compact, beam_width)
    if ids is None:
        return None
    line = _aligned_line(lp, columns[list(ids)].tolist(), itos)
    line.constraint_met = True
    return line


def ctc_beam_search_batch(log_probs: torch.Tensor | np.ndarray, itos: Sequence[str],
                          beam_width: int = 10,
                          lengths: Sequence[int] | torch.Tensor | np.ndarray | None = None,
                          prune: float = 0.0) -> list[DecodedLine]:
    """:func:`ctc_beam_search` for each row of (N, T, C) log-probabilities.

    ``lengths`` (N,) gives each line's valid frames, as for :func:`ctc_greedy`.
    """
    lp = _to_float64(log_probs)
    if lp.ndim != 3:
        raise ValueError(f"expected (N, T, C) log-probabilities, got shape {lp.shape}")
    lens = None if lengths is None else _to_float64(lengths).astype(np.int64).reshape(-1)
    if lens is not None and lens.size != lp.shape[0]:
        raise ValueError(f"lengths has {lens.size} entries for a batch of {lp.shape[0]}")
    return [
        ctc_beam_search(lp[i], itos, beam_width, None if lens is None else int(lens[i]), prune)
        for i in range(lp.shape[0])
    ]


def _extended(labels: list[int]) -> np.ndarray:
    """The CTC state sequence: blank, l1, blank, l2, ..., blank."""
    ext = np.zeros(2 * len(labels) + 1, dtype=np.int64)
    ext[1::2] = labels
    return ext


def _can_skip(ext: np.ndarray) -> np.ndarray:
    """Which states may be entered from two states back (skipping a blank).

    Only a label differing from the previous label may: between equal labels the blank is
    what separates two characters from one long run.
    """
    skip = np.zeros(ext.size, dtype=bool)
    skip[2:] = (ext[2:] != BLANK) & (ext[2:] != ext[:-2])
    return skip


def ctc_sequence_log_prob(log_probs: torch.Tensor | np.ndarray, ids: Sequence[int]) -> float:
    """log P(labelling | x): the CTC forward algorithm, summed over all alignments.

    This is the quantity beam search maximises (and minus the CTC loss), so it can be used
    to compare or rescore candidate texts.

    Args:
        log_probs: (T, C) natural-log probabilities of one line.
        ids: the labelling, class ids without blanks.

    Returns:
        The log-probability; -inf if the labelling cannot be produced in T frames.
    """
    lp = _to_float64(log_probs)
    if lp.ndim != 2:
        raise ValueError(f"expected (T, C) log-probabilities, got shape {lp.shape}")
    labels = _check_labels(ids, lp.shape[1])
    if lp.shape[0] == 0:
        return 0.0 if not labels else float(_NEG_INF)
    ext = _extended(labels)
    skip = _can_skip(ext)
    emit = lp[:, ext]
    alpha = np.full(ext.size, _NEG_INF)
    alpha[:2] = emit[0, :2]
    from_prev = np.empty_like(alpha)
    from_skip = np.empty_like(alpha)
    for t in range(1, lp.shape[0]):
        from_prev[0], from_prev[1:] = _NEG_INF, alpha[:-1]
        from_skip[:2], from_skip[2:] = _NEG_INF, alpha[:-2]
        from_skip[~skip] = _NEG_INF
        alpha = np.logaddexp(np.logaddexp(alpha, from_prev), from_skip) + emit[t]
    # A valid alignment ends on the last label or on the trailing blank.
    return float(np.logaddexp.reduce(alpha[-2:]))


def ctc_forced_align(log_probs: torch.Tensor | np.ndarray, ids: Sequence[int]) -> list[int]:
    """Per label, the frame where it is most probable within its Viterbi-aligned segment.

    The single most probable alignment of the labelling decides which frames belong to
    which label; within each label's segment the frame with the highest probability for
    that label is returned, matching greedy decoding's "best frame of the run".

    Args:
        log_probs: (T, C) natural-log probabilities of one line.
        ids: the labelling, class ids without blanks.

    Returns:
        One frame index per label, strictly increasing.

    Raises:
        ValueError: the labelling cannot fit in T frames (each label needs a frame, and
            each pair of equal adjacent labels a blank frame between them), or every
            alignment of it has zero probability.
    """
    lp = _to_float64(log_probs)
    if lp.ndim != 2:
        raise ValueError(f"expected (T, C) log-probabilities, got shape {lp.shape}")
    return _align(lp, _check_labels(ids, lp.shape[1]))[0]


def _align(lp: np.ndarray, labels: list[int]) -> tuple[list[int], list[tuple[int, int]]]:
    """:func:`ctc_forced_align`'s frames, plus each label's (first, last) segment frame."""
    if not labels:
        return [], []
    t_len = lp.shape[0]
    need = len(labels) + sum(a == b for a, b in zip(labels, labels[1:]))
    if need > t_len:
        raise ValueError(
            f"a labelling of {len(labels)} symbols needs {need} frames, have {t_len}"
        )
    ext = _extended(labels)
    s = ext.size
    skip = _can_skip(ext)
    emit = lp[:, ext]
    score = np.full(s, _NEG_INF)
    score[:2] = emit[0, :2]
    back = np.zeros((t_len, s), dtype=np.int64)  # how many states back each state came from
    cand = np.empty((3, s))
    cols = np.arange(s)
    for t in range(1, t_len):
        cand[0] = score
        cand[1, 0], cand[1, 1:] = _NEG_INF, score[:-1]
        cand[2, :2], cand[2, 2:] = _NEG_INF, score[:-2]
        cand[2, ~skip] = _NEG_INF
        step = cand.argmax(0)  # ties keep the current state
        back[t] = step
        score = cand[step, cols] + emit[t]
    end = s - 1 if score[s - 1] >= score[s - 2] else s - 2
    if not np.isfinite(score[end]):
        raise ValueError("every alignment of the labelling has zero probability")
    states = np.empty(t_len, dtype=np.int64)
    j = end
    for t in range(t_len - 1, -1, -1):
        states[t] = j
        j -= back[t, j]
    # States never decrease along an alignment, so each label's frames are one slice.
    label_states = 2 * np.arange(len(labels)) + 1
    starts = np.searchsorted(states, label_states, side="left")
    ends = np.searchsorted(states, label_states, side="right")
    peaks = [int(a + np.argmax(lp[a:b, k])) for a, b, k in zip(starts, ends, labels)]
    return peaks, [(int(a), int(b) - 1) for a, b in zip(starts, ends)]


def add_alternatives(lines: Sequence[DecodedLine], probs: torch.Tensor | np.ndarray,
                     itos: Sequence[str], k: int) -> None:
    """Set each line's ``alternatives``: per character, the ``k`` likeliest characters at
    its frame with their probabilities, best first.

    What the model saw at that position, whatever the decoder chose: under a constraint or
    an output policy the chosen character need not be first. The blank and classes that
    emit nothing are left out, so probabilities need not sum to 1.

    Args:
        lines: decoded lines, row ``i`` of ``probs`` belonging to ``lines[i]``.
        probs: (N, T, C) probabilities (softmax output).
        itos: class id -> emitted text.
        k: alternatives per character (at most the number of emitting classes).
    """
    if k < 1:
        raise ValueError(f"alternatives must be >= 1, got {k}")
    p = probs if isinstance(probs, torch.Tensor) else torch.from_numpy(np.asarray(probs))
    rows = [(i, f) for i, line in enumerate(lines) for f in line.char_frames]
    for line in lines:
        line.alternatives = []
    if not rows:
        return
    silent = torch.tensor([not s for s in itos] + [True] * (p.shape[-1] - len(itos)))
    index = torch.tensor(rows)
    picked = p[index[:, 0], index[:, 1]].float().cpu().masked_fill(silent, -1.0)
    k = min(k, int((~silent).sum()))
    values, ids = picked.topk(k, dim=-1)
    for (i, _), vals, cls in zip(rows, values.tolist(), ids.tolist()):
        lines[i].alternatives.append([(itos[c], v) for c, v in zip(cls, vals)])
