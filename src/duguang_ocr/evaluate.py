"""Accuracy of a recognizer on a labelled data set.

Metrics (per data set; never pool different data sets into one number):

* line accuracy: exact match after the protocol's normalisation;
* character accuracy: ``1 - sum(edit distance) / sum(label characters)``, clamped at 0
  (ModelScope's "AR");
* normalised edit distance: mean of ``ed / max(len(label), len(pred))``.

Protocols normalise both label and prediction: ``exact``, ``ci`` (case-insensitive) and
``alnum-ci`` (lower-case, only ASCII letters and digits kept: the usual scene-text word
protocol for IIIT5K and ICDAR2015).

Confidence, when results carry one: expected calibration error (ECE, 10 equal-width bins,
see :mod:`.calibration`) of ``confidence`` against "line exactly right", and the accuracy
and coverage of the lines at or above 90 % and 99 % confidence: what a pipeline that routes
the other lines to a human would get.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from .progress import progress_bar

PROTOCOLS: dict[str, Callable[[str], str]] = {
    "exact": lambda s: s,
    "ci": lambda s: s.lower(),
    "alnum-ci": lambda s: re.sub(r"[^0-9a-z]", "", s.lower()),
}

# Confidence levels at which eval reports the accuracy of the lines kept.
CONFIDENCE_THRESHOLDS = (0.9, 0.99)

# shared/realtest subsets -> protocol (from its README).
REALTEST_PROTOCOLS = {
    "en_print": "exact",
    "en_scene_iiit5k": "alnum-ci",
    "en_scene_ic15": "alnum-ci",
    "en_scene_misc": "ci",
    "plate_zh": "exact",
    "zh_handwriting": "exact",
    "mixed_fixtures": "exact",
}


@dataclass(frozen=True)
class LabelledSet:
    """A labelled data set to score: its name in tables, where it is, its protocol."""

    name: str
    path: Path
    protocol: str = "exact"


def labelled_sets(realtest: str | os.PathLike | None = None, data: Iterable[str] = (),
                  protocol: str = "exact") -> list[LabelledSet]:
    """The sets that ``--realtest DIR`` and ``--data [NAME=]PATH`` name, in that order.

    Every subset of ``shared/realtest`` present under ``realtest`` comes with its own protocol
    (:data:`REALTEST_PROTOCOLS`); each ``data`` entry is scored with ``protocol`` and named
    NAME, or after its path when given bare. An entry that exists as a path is taken whole,
    so a path with ``=`` in it still works. The CLI's ``eval`` and the benchmarks read their
    sets through here so that a subset's name and protocol have one home.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {sorted(PROTOCOLS)}")
    sets = []
    if realtest is not None:
        root = Path(realtest)
        if not root.is_dir():
            raise FileNotFoundError(f"realtest folder not found: {root}")
        sets += [LabelledSet(s, root / s, p) for s, p in REALTEST_PROTOCOLS.items()
                 if (root / s).is_dir()]
        if not sets:
            raise FileNotFoundError(f"no realtest subset ({', '.join(REALTEST_PROTOCOLS)}) "
                                    f"under {root}")
    for spec in data:
        name, sep, path = str(spec).partition("=")
        if not sep or not name or Path(spec).exists():
            name, path = Path(spec).name, str(spec)
        sets.append(LabelledSet(name, Path(path), protocol))
    return sets


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions all cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


@dataclass
class EvalReport:
    name: str
    protocol: str
    lines: int = 0
    correct: int = 0
    label_chars: int = 0
    edits: int = 0
    ned_sum: float = 0.0
    unreadable: int = 0
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (item, label, pred)
    confidences: list[float] = field(default_factory=list)  # per line, when given
    hits: list[bool] = field(default_factory=list)  # per line with a confidence: exact?

    def add(self, item: str, label: str, pred: str, confidence: float | None = None) -> None:
        norm = PROTOCOLS[self.protocol]
        gt, pr = norm(label), norm(pred)
        ed = edit_distance(gt, pr)
        self.lines += 1
        self.correct += gt == pr
        if confidence is not None:
            self.confidences.append(float(confidence))
            self.hits.append(gt == pr)
        self.label_chars += len(gt)
        self.edits += ed
        self.ned_sum += ed / max(1, len(gt), len(pr))
        if gt != pr:
            self.errors.append((item, label, pred))

    @property
    def line_acc(self) -> float:
        return self.correct / self.lines if self.lines else 0.0

    @property
    def char_acc(self) -> float:
        return max(0.0, 1.0 - self.edits / self.label_chars) if self.label_chars else 0.0

    @property
    def ned(self) -> float:
        return self.ned_sum / self.lines if self.lines else 0.0

    @property
    def ece(self) -> float:
        """Expected calibration error of the confidences (nan without any)."""
        from .calibration import expected_calibration_error

        if not self.confidences:
            return float("nan")
        return expected_calibration_error(self.confidences, self.hits)

    def accuracy_above(self, threshold: float) -> tuple[float, float]:
        """(accuracy, coverage) of the lines with confidence >= ``threshold``."""
        from .calibration import accuracy_above

        return accuracy_above(self.confidences, self.hits, threshold)

    def to_dict(self) -> dict:
        d = {"data": self.name, "protocol": self.protocol, "lines": self.lines,
             "line_acc": round(self.line_acc, 4), "char_acc": round(self.char_acc, 4),
             "ned": round(self.ned, 4), "unreadable": self.unreadable}
        if self.confidences:
            d["ece"] = round(self.ece, 4)
            for t in CONFIDENCE_THRESHOLDS:
                acc, cov = self.accuracy_above(t)
                d[f"acc_at_{t:g}"] = None if acc != acc else round(acc, 4)
                d[f"coverage_at_{t:g}"] = round(cov, 4)
        return d


def iter_labelled(data: str | os.PathLike) -> Iterator[tuple[str, object, str]]:
    """``(item name, recognizer input, label)`` from an LMDB data set, a folder with
    ``labels.tsv`` or a ``labels.tsv`` file. LMDB images are passed on as encoded bytes."""
    path = Path(data)
    if (path / "data.mdb").exists():
        from .data.lmdb import read_records

        for i, img, label in read_records(path):
            yield (f"{path.name}#{i}", img if img is not None else b"",
                   label.decode("utf-8", "replace") if label is not None else "")
        return
    from .data.folder import read_labels

    labels = path if path.is_file() else path / "labels.tsv"
    for rel, text in read_labels(labels):
        yield rel, labels.parent / rel, text


def evaluate(rec, data: str | os.PathLike, protocol: str = "exact",
             name: str | None = None, *, limit: int | None = None,
             shard: tuple[int, int] = (0, 1), progress: bool | None = None) -> EvalReport:
    """Run ``rec`` (a :class:`~duguang_ocr.Recognizer`) over ``data`` and score it.

    Unreadable images count as wrong (empty prediction) and are tallied in ``unreadable``.
    ``limit`` scores only the first N lines; ``shard=(rank, world_size)`` scores every
    ``world_size``-th of them from ``rank`` (training evaluates on all DDP ranks and sums).
    The trainer scores its eval sets with this function, so the numbers it logs are the
    numbers ``duguang-ocr eval`` prints. ``progress``: a lines-read bar on stderr (None:
    when stderr is a terminal or in a notebook, see :mod:`duguang_ocr.progress`).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {sorted(PROTOCOLS)}")
    report = EvalReport(name or Path(data).name, protocol)
    rank, world = shard
    items = list(islice(iter_labelled(data), limit))[rank::world]
    results = rec.iter_recognize([x for _, x, _ in items], errors="skip")
    with progress_bar(results, total=len(items), desc=report.name, unit="line",
                      progress=progress) as bar:
        for result, (item, _, label) in zip(bar, items):  # bar first: it counts the last
            report.unreadable += not result.ok
            report.add(item, label, result.text, result.confidence if result.ok else 0.0)
    return report


def _at(report: EvalReport, threshold: float) -> str:
    acc, cov = report.accuracy_above(threshold)
    return f"– ({cov:.1%})" if acc != acc else f"{acc:.1%} ({cov:.1%})"


def format_table(reports: list[EvalReport]) -> str:
    """A markdown table, one row per data set; with confidences, also ECE and the accuracy
    (coverage) at the :data:`CONFIDENCE_THRESHOLDS`."""
    conf = all(r.confidences for r in reports) and reports
    head = "| data | protocol | lines | line acc | char acc | NED |"
    if conf:
        head += " ECE | " + " | ".join(f"acc at conf >= {t:.0%} (kept)"
                                       for t in CONFIDENCE_THRESHOLDS) + " |"
    rows = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in reports:
        row = (f"| {r.name} | {r.protocol} | {r.lines} | {r.line_acc:.1%} | "
               f"{r.char_acc:.1%} | {r.ned:.3f} |")
        if conf:
            row += f" {r.ece:.3f} | " + " | ".join(_at(r, t) for t in CONFIDENCE_THRESHOLDS) + " |"
        rows.append(row)
    return "\n".join(rows)
