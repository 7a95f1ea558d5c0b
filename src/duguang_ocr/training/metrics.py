"""Evaluation totals during training, with the definitions ``duguang-ocr eval`` uses.

Line accuracy, character accuracy (ModelScope's "AR": ``1 - edits / label chars``, clamped
at 0) and normalised edit distance come from :class:`duguang_ocr.evaluate.EvalReport`, so a
number in ``metrics.jsonl`` means the same as one printed by ``duguang-ocr eval``. This
module adds what training needs on top: summing over DDP ranks, the worst errors, and the
run's record (``metrics.jsonl``, TensorBoard, console).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import atomic_write_text
from ..evaluate import EvalReport, edit_distance
from ..progress import progress_bar, progress_enabled
from ..tsv import tsv_row
from .distributed import DistInfo, all_reduce_sum, gather_objects

logger = logging.getLogger(__name__)

_SUMS = ("lines", "correct", "label_chars", "edits", "ned_sum", "unreadable")


@dataclass
class EvalTotals:
    """Running totals over one eval set (exact-match protocol).

    ``errors`` holds ``(item, label, prediction)`` for every wrong line until
    :meth:`reduce` keeps the worst ``num_errors`` of all ranks.
    """

    name: str
    report: EvalReport = field(init=False)

    def __post_init__(self) -> None:
        self.report = EvalReport(self.name, "exact")

    def add(self, item: str, label: str, pred: str) -> None:
        self.report.add(item, label, pred)

    def reduce(self, info: DistInfo, num_errors: int) -> EvalTotals:
        """Sum the totals of every rank (all ranks get the result) and keep the worst
        ``num_errors`` errors."""
        r = self.report
        sums = all_reduce_sum([getattr(r, k) for k in _SUMS], info)
        out = EvalTotals(self.name)
        for k, v in zip(_SUMS, sums):
            setattr(out.report, k, v if k == "ned_sum" else int(v))
        errors = [e for part in gather_objects(worst_errors(r.errors, num_errors), info)
                  for e in part]
        out.report.errors = worst_errors(errors, num_errors)
        return out

    def to_dict(self) -> dict:
        r = self.report
        return {"lines": r.lines, "line_acc": r.line_acc, "char_acc": r.char_acc, "ned": r.ned}


def worst_errors(errors: list[tuple[str, str, str]], k: int) -> list[tuple[str, str, str]]:
    """The ``k`` errors with the largest normalised edit distance (then edit distance)."""
    def badness(e: tuple[str, str, str]) -> tuple[float, int]:
        ed = edit_distance(e[1], e[2])
        return ed / max(1, len(e[1]), len(e[2])), ed

    return sorted(errors, key=badness, reverse=True)[:k]


def write_errors(path: str | os.PathLike, totals: list[EvalTotals]) -> None:
    """``errors.tsv``: data set, item, edit distance, label, prediction (worst first).

    Tabs and newlines inside texts are escaped (:mod:`..tsv`) so every error stays one row.
    """
    rows = ["data\titem\tedit_distance\tlabel\tprediction"]
    for t in totals:
        for item, label, pred in t.report.errors:
            rows.append(tsv_row(t.name, item, edit_distance(label, pred), label, pred))
    atomic_write_text(path, "\n".join(rows) + "\n")


class RunLog:
    """Rank 0's record of a run: ``metrics.jsonl`` lines, TensorBoard scalars when
    ``tensorboard`` is installed, and progress as a tqdm bar in a terminal or a notebook or as
    plain log lines otherwise (files, CI). With ``enabled=False`` (other ranks) it is silent.
    """

    def __init__(self, work_dir: Path, total: int, initial: int, enabled: bool = True) -> None:
        self.path = work_dir / "metrics.jsonl"
        self.enabled = enabled
        self.bar = self.writer = None
        if not enabled:
            return
        if progress_enabled():  # a terminal or a notebook (tqdm.auto draws a widget there)
            self.bar = progress_bar(total=total, initial=initial, unit="step")
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            pass
        else:
            self.writer = SummaryWriter(str(work_dir / "tensorboard"))

    def update(self, step: int) -> None:
        if self.bar is not None:
            self.bar.update(step - self.bar.n)

    def message(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text)
        elif self.enabled:
            logger.info(text)

    def record(self, rec: dict, kind: str) -> None:
        """Append ``{"kind": kind, "time": ..., **rec}`` (``kind``: train or eval)."""
        if not self.enabled:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"kind": kind, "time": time.time(), **rec},
                               ensure_ascii=False) + "\n")
        if self.writer is None:
            return
        if kind == "train":
            for k in ("loss", "lr", "grad_norm", "lines_per_s"):
                self.writer.add_scalar(f"train/{k}", rec[k], rec["step"])
        else:
            for name, scores in rec["eval"].items():
                for k, v in scores.items():
                    self.writer.add_scalar(f"eval/{name}/{k}", v, rec["step"])

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()


def _record_step(line: str) -> float:
    try:
        return json.loads(line)["step"]
    except (ValueError, KeyError, TypeError):
        return math.inf  # a line torn by a crash


def forget_records_after(path: Path, step: int) -> None:
    """Drop ``metrics.jsonl`` lines a crashed run wrote after its last saved state (and any
    torn line); the resumed run writes them again, identically."""
    if not path.exists():
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    keep = [ln for ln in lines if _record_step(ln) <= step]
    if len(keep) != len(lines):
        atomic_write_text(path, "".join(ln + "\n" for ln in keep))


__all__ = ["EvalTotals", "RunLog", "edit_distance", "forget_records_after", "worst_errors",
           "write_errors"]
