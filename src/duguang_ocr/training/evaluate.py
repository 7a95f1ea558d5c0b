"""Model outputs -> per-line CTC logits and losses, and evaluation over a loader.

Training and evaluation share these functions, so the loss a run optimises is the loss it
reports on held-out data, computed on identically prepared tensors.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..decoding import ctc_greedy
from ..models import merge_chunks
from .metrics import EvalTotals


def line_logits(out: torch.Tensor, num_chunks: int, trim: int | None) -> torch.Tensor:
    """(B, T, C) per-line logits from the model output: chunked models (``trim`` not None)
    return (B * num_chunks, 75, C), merged exactly as the recognizer merges them."""
    return out if trim is None else merge_chunks(out, num_chunks, trim)


def ctc_per_line(logits: torch.Tensor, targets: torch.Tensor,
                 target_lengths: torch.Tensor) -> torch.Tensor:
    """(B,) CTC losses in float32: blank 0, infeasible alignments give 0 (``zero_infinity``),
    each line's loss summed over its frames (not divided by its length)."""
    logp = logits.float().log_softmax(-1).transpose(0, 1)  # (T, B, C)
    frames = torch.full((logp.shape[1],), logp.shape[0], dtype=torch.long, device=logp.device)
    return F.ctc_loss(logp, targets, frames, target_lengths, blank=0, reduction="none",
                      zero_infinity=True)


def model_trim(model: nn.Module, chunked: bool) -> int | None:
    """Frames dropped at inner chunk edges for chunked models, None for whole-line ones."""
    return model.config.trim if chunked else None


@torch.no_grad()
def evaluate_loader(model: nn.Module, loader: Any, name: str, itos: list[str], *,
                    chunked: bool, device: torch.device,
                    autocast: AbstractContextManager) -> EvalTotals:
    """Score ``model`` on the batches of ``loader`` (a :class:`~..data.collate.LineCollator`
    with ``drop_too_long=False``), greedy-decoded; returns this process's totals.

    Errors are named ``<name>#<1-based index>`` like ``duguang-ocr eval`` names LMDB lines.
    """
    was_training = model.training
    model.eval()
    totals = EvalTotals(name)
    trim = model_trim(model, chunked)
    try:
        for batch in loader:
            totals.report.unreadable += batch["stats"]["bad"]
            if not batch["texts"]:
                continue
            with autocast:
                out = model(batch["images"].to(device, non_blocking=True))
            logits = line_logits(out.float(), batch["num_chunks"], trim)
            losses = ctc_per_line(logits, batch["targets"].to(device),
                                  batch["target_lengths"].to(device))
            totals.add_loss(float(losses.sum()), len(losses))
            for line, text, key in zip(ctc_greedy(logits.softmax(-1), itos), batch["texts"],
                                       batch["keys"]):
                totals.add(f"{name}#{key + 1}" if isinstance(key, int) else name, text,
                           line.text)
    finally:
        model.train(was_training)
    return totals
