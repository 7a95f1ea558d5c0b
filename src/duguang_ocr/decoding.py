"""CTC decoding: greedy and prefix beam search, with per-character confidences and frames.

Pure torch/numpy; knows nothing about images. ``itos[c]`` is the text class ``c`` emits
('' for the blank, class 0, and for unused ids). Frames map to pixels in the recognizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

BLANK = 0


@dataclass
class DecodedLine:
    """One decoded line.

    Attributes:
        text: the collapsed string.
        confidence: mean of ``char_confidences``; for an empty text, the mean blank
            probability over frames.
        char_confidences: per character, its highest frame probability.
        char_frames: per character, the frame where it is most confidently emitted.
        ids: emitted class ids after collapsing (including ids that emit '').
    """

    text: str
    confidence: float
    char_confidences: list[float] = field(default_factory=list)
    char_frames: list[int] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)


def _as_tensor(x) -> torch.Tensor:
    t = torch.as_tensor(x) if not isinstance(x, torch.Tensor) else x
    return t.detach().float().cpu()


def _assemble(ids, confs, frames, itos, blank_mean: float) -> DecodedLine:
    text, cc, cf = [], [], []
    for i, c, f in zip(ids, confs, frames):
        s = itos[i] if 0 <= i < len(itos) else ""
        if s:
            text.append(s)
            cc.append(float(c))
            cf.append(int(f))
    conf = float(np.mean(cc)) if cc else blank_mean
    return DecodedLine("".join(text), conf, cc, cf, [int(i) for i in ids])


def ctc_greedy(probs, itos: Sequence[str], lengths=None) -> list[DecodedLine]:
    """Best-path decoding of a batch.

    Args:
        probs: (N, T, C) probabilities (softmaxed), torch or numpy, any float dtype.
        itos: class id -> emitted text.
        lengths: optional (N,) valid frame counts; later frames are ignored.

    Returns:
        One :class:`DecodedLine` per row. The argmax, run starts and per-run maxima are
        computed for the whole batch at once; Python only loops over emitted characters.
    """
    p = _as_tensor(probs)
    if p.ndim != 3:
        raise ValueError(f"expected (N, T, C) probabilities, got shape {tuple(p.shape)}")
    n, t, _ = p.shape
    best, ids = p.max(-1)  # (N, T)
    valid = torch.ones(n, t, dtype=torch.bool)
    if lengths is not None:
        valid = torch.arange(t)[None] < torch.as_tensor(lengths).view(-1, 1)
    ids = ids.masked_fill(~valid, BLANK)
    new_run = torch.ones_like(valid)
    new_run[:, 1:] = ids[:, 1:] != ids[:, :-1]
    run_id = new_run.cumsum(1) - 1  # (N, T): index of the run each frame belongs to
    # Per-run best probability and its frame, via scatter-reduce over (line, run).
    flat = (torch.arange(n)[:, None] * t + run_id).view(-1)
    run_best = torch.full((n * t,), -1.0).scatter_reduce(0, flat, best.view(-1), "amax")
    is_best = best.view(-1) == run_best[flat]
    frame_idx = torch.arange(t).repeat(n)
    run_frame = torch.full((n * t,), t, dtype=torch.long).scatter_reduce(
        0, flat[is_best], frame_idx[is_best], "amin")
    emit = new_run & (ids != BLANK) & valid
    blank_p = p[..., BLANK].masked_fill(~valid, 0).sum(1) / valid.sum(1).clamp(min=1)
    out = []
    ids_np, emit_np = ids.numpy(), emit.numpy()
    run_np, rb, rf = run_id.numpy(), run_best.view(n, t).numpy(), run_frame.view(n, t).numpy()
    for b in range(n):
        cols = np.nonzero(emit_np[b])[0]
        runs = run_np[b, cols]
        out.append(_assemble(ids_np[b, cols], rb[b, runs], rf[b, runs], itos,
                             float(blank_p[b])))
    return out


def _logsumexp(a: float, b: float) -> float:
    if a == -np.inf:
        return b
    if b == -np.inf:
        return a
    m = max(a, b)
    return m + float(np.log1p(np.exp(-abs(a - b))))


def _adder(beams: dict):
    """Accumulate (p_blank, p_nonblank) log-probabilities into ``beams[prefix]``."""

    def add(prefix: tuple[int, ...], pb: float, pnb: float) -> None:
        cur = beams.setdefault(prefix, [-np.inf, -np.inf])
        cur[0] = _logsumexp(cur[0], pb)
        cur[1] = _logsumexp(cur[1], pnb)

    return add


def ctc_beam_search(log_probs, itos: Sequence[str], beam_width: int = 10,
                    length: int | None = None, prune: float = 0.0) -> DecodedLine:
    """CTC prefix beam search over one line's (T, C) natural-log probabilities.

    Each prefix keeps the log-probability of ending in a blank and in its last label, so
    alignments that collapse to the same text are summed, and a repeated label is only
    extended through a blank. ``prune`` skips classes whose per-frame probability is below
    it (0 keeps the search exact). Character frames and confidences come from a forced
    alignment of the winning labelling.
    """
    lp = _as_tensor(log_probs)
    if length is not None:
        lp = lp[:length]
    t_len, c = lp.shape
    lp_np = lp.numpy().astype(np.float64)
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, -np.inf)}
    for t in range(t_len):
        row = lp_np[t]
        cand = np.arange(c) if prune <= 0 else np.nonzero(row >= np.log(prune))[0]
        nxt: dict[tuple[int, ...], list[float]] = {}
        add = _adder(nxt)
        for prefix, (pb, pnb) in beams.items():
            total = _logsumexp(pb, pnb)
            for k in cand:
                p = row[k]
                if k == BLANK:
                    add(prefix, total + p, -np.inf)
                    continue
                last = prefix[-1] if prefix else None
                ext = prefix + (int(k),)
                if k == last:
                    add(ext, -np.inf, pb + p)  # a repeat needs a blank in between
                    add(prefix, -np.inf, pnb + p)  # or it continues the same run
                else:
                    add(ext, -np.inf, total + p)
        ranked = sorted(nxt.items(), key=lambda kv: -_logsumexp(*kv[1]))[:beam_width]
        beams = {k: (v[0], v[1]) for k, v in ranked}
    best = max(beams.items(), key=lambda kv: _logsumexp(*kv[1]))[0]
    ids = list(best)
    probs = np.exp(lp_np)
    if not ids:
        return DecodedLine("", float(probs[:, BLANK].mean()) if t_len else 1.0, [], [], [])
    frames = ctc_forced_align(lp, ids)
    confs = [probs[f, i] for f, i in zip(frames, ids)]
    return _assemble(ids, confs, frames, itos, float(probs[:, BLANK].mean()))


def ctc_beam_search_batch(log_probs, itos: Sequence[str], beam_width: int = 10,
                          lengths=None) -> list[DecodedLine]:
    """:func:`ctc_beam_search` for each row of (N, T, C) log-probabilities."""
    lp = _as_tensor(log_probs)
    return [
        ctc_beam_search(lp[i], itos, beam_width, None if lengths is None else int(lengths[i]))
        for i in range(lp.shape[0])
    ]


def _extended(ids: Sequence[int]) -> list[int]:
    ext = [BLANK]
    for i in ids:
        ext += [int(i), BLANK]
    return ext


def ctc_sequence_log_prob(log_probs, ids: Sequence[int]) -> float:
    """log P(labelling | x): the CTC forward algorithm summed over all alignments."""
    lp = _as_tensor(log_probs).numpy().astype(np.float64)
    ext = _extended(ids)
    s = len(ext)
    alpha = np.full(s, -np.inf)
    alpha[0] = lp[0, ext[0]]
    if s > 1:
        alpha[1] = lp[0, ext[1]]
    for t in range(1, lp.shape[0]):
        prev = alpha.copy()
        for j in range(s):
            a = prev[j]
            if j >= 1:
                a = _logsumexp(a, prev[j - 1])
            if j >= 2 and ext[j] != BLANK and ext[j] != ext[j - 2]:
                a = _logsumexp(a, prev[j - 2])
            alpha[j] = a + lp[t, ext[j]]
    return _logsumexp(alpha[-1], alpha[-2]) if s > 1 else float(alpha[-1])


def ctc_forced_align(log_probs, ids: Sequence[int]) -> list[int]:
    """Viterbi alignment of ``ids`` to the frames; per label, the frame within its aligned
    segment where that label is most probable. Raises ValueError if it cannot fit."""
    lp = _as_tensor(log_probs).numpy().astype(np.float64)
    t_len = lp.shape[0]
    ext = _extended(ids)
    s = len(ext)
    need = len(ids) + sum(1 for a, b in zip(ids, ids[1:]) if a == b)
    if need > t_len:
        raise ValueError(f"a labelling of {len(ids)} symbols needs {need} frames, have {t_len}")
    score = np.full((t_len, s), -np.inf)
    back = np.zeros((t_len, s), dtype=np.int64)
    score[0, 0] = lp[0, ext[0]]
    score[0, 1] = lp[0, ext[1]]
    for t in range(1, t_len):
        for j in range(s):
            opts = [(score[t - 1, j], j)]
            if j >= 1:
                opts.append((score[t - 1, j - 1], j - 1))
            if j >= 2 and ext[j] != BLANK and ext[j] != ext[j - 2]:
                opts.append((score[t - 1, j - 2], j - 2))
            best, arg = max(opts)
            score[t, j] = best + lp[t, ext[j]]
            back[t, j] = arg
    j = s - 1 if score[-1, s - 1] >= score[-1, s - 2] else s - 2
    states = [0] * t_len
    for t in range(t_len - 1, -1, -1):
        states[t] = j
        j = back[t, j]
    frames = []
    for k in range(len(ids)):
        seg = [t for t in range(t_len) if states[t] == 2 * k + 1]
        frames.append(max(seg, key=lambda t: lp[t, ids[k]]))
    return frames
