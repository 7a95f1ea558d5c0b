"""Model outputs -> per-line CTC logits and losses; evaluation through the recognizer.

Training turns a batch's chunk outputs into per-line logits exactly as the recognizer merges
them. Evaluation during training does not re-implement inference: it builds a
:class:`~duguang_ocr.Recognizer` around the model being trained and scores it with
:func:`duguang_ocr.evaluate.evaluate`, the function ``duguang-ocr eval`` runs, so the numbers
a run logs for an eval set are the numbers ``duguang-ocr eval --model WORK/best --data SET``
prints for the same weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ..chunking import ChunkGeometry


def line_logits(out: torch.Tensor, chunk_counts: Sequence[int] | torch.Tensor,
                geometry: ChunkGeometry | None) -> torch.Tensor:
    """(B, T, C) per-line logits, zero-padded after each line's own frames.

    Chunked models (``geometry`` not None) return the chunks of every line, lines consecutive
    and sorted by chunk count (see :class:`~..data.collate.LineCollator`); each run of lines
    with equal counts is merged at once by :meth:`~..chunking.ChunkGeometry.merge`, the
    recognizer's merge. Whole-line models already return (B, T, C).

    Each run is padded as a whole and the runs concatenated: a handful of out-of-place ops.
    (Padding line by line, as ``pad_sequence`` does, writes B slices in place, and autograd
    then copies the whole (B, T, C) gradient once per line: quadratic in the batch, it made
    a batch of 256 lines take 0.3 s per step on an H200.)
    """
    if geometry is None:
        return out
    counts = [int(c) for c in chunk_counts]
    runs: list[torch.Tensor] = []
    start = i = 0
    while i < len(counts):
        j = i
        while j < len(counts) and counts[j] == counts[i]:
            j += 1
        k = counts[i] * (j - i)
        runs.append(geometry.merge(out[start : start + k], counts[i]))
        start, i = start + k, j
    if start != len(out):
        raise ValueError(f"chunk counts sum to {start}, but the model returned {len(out)} chunks")
    if not runs:
        return out.new_zeros(0, 0, out.shape[-1])
    frames = max(r.shape[1] for r in runs)
    return torch.cat([F.pad(r, (0, 0, 0, frames - r.shape[1])) for r in runs])


def fold_case(logp: torch.Tensor, rows: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """(B, T, C) log-probabilities where, for the lines ``rows`` (B,) bool, each upper-case
    letter's probability is added to its lower-case twin's and the upper-case class gets
    (almost) none: CTC against a lower-cased label then rewards the letter in either case.
    ``pairs``: (P, 2) ``(lower id, upper id)`` (:meth:`Vocab.case_pairs`)."""
    idx = rows.cpu().nonzero().squeeze(1)  # the collator's CPU flags: no device sync
    if idx.numel() == 0 or pairs.numel() == 0:
        return logp
    idx = idx.to(logp.device)
    lower, upper = pairs[:, 0], pairs[:, 1]
    sub = logp.index_select(0, idx)
    merged = torch.logaddexp(sub.index_select(-1, lower), sub.index_select(-1, upper))
    sub = sub.index_copy(-1, lower, merged)
    sub = sub.index_fill(-1, upper, -1e4)  # finite: no NaN gradients through CTC
    return logp.index_copy(0, idx, sub)


def ctc_per_line(logits: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor,
                 frames: torch.Tensor | None = None, *, fold_rows: torch.Tensor | None = None,
                 case_pairs: torch.Tensor | None = None) -> torch.Tensor:
    """(B,) CTC losses in float32: blank 0, infeasible alignments give 0 (``zero_infinity``),
    each line's loss summed over its own ``frames`` (default: all T), not divided by its
    length. ``fold_rows`` (B,) bool and ``case_pairs``: lines scored case-insensitively
    (:func:`fold_case`; their targets must be lower-cased)."""
    logp = logits.float().log_softmax(-1)
    if fold_rows is not None and case_pairs is not None:
        logp = fold_case(logp, fold_rows, case_pairs.to(logp.device))
    logp = logp.transpose(0, 1)  # (T, B, C)
    if frames is None:
        frames = torch.full((logp.shape[1],), logp.shape[0], dtype=torch.long)
    return F.ctc_loss(logp, targets, frames.to(logp.device), target_lengths, blank=0,
                      reduction="none", zero_infinity=True)
