"""Calibrated line confidence: the probability that a recognised line is exactly right.

A CTC model's per-character probabilities are not that: a mean of them says nothing about
a 40-character line with one doubtful character, and a small model trained on synthetic
lines is over-confident on scene text it has never seen. So each reading gets two
features (:class:`LineFeatures`): the log of its *raw score*, the product of its character
confidences (the model's own estimate that every character is right; for an empty
reading, its mean blank probability), and the mean log-probability of the likeliest class
over all its frames (how peaked the whole output is: a line the model cannot really read
gives flat frames even where the characters it picks look confident). A per-model map
fitted on held-out labelled lines turns them into a probability:

* ``"logistic"`` (default): ``sigmoid(a * log raw + b * mean log peak + c)``, Platt scaling
  (a temperature and a bias on the line's log score) plus the peak feature;
* ``"isotonic"``: the pool-adjacent-violators fit of "line exactly right" on the raw score,
  interpolated linearly between its steps: monotone, no shape assumed.

A map is only as good as the lines it was fitted on are like the lines it is used on.
Measured (README, ``benchmarks/bench_calibration.py``): for the first default model
(``crnn_lite``) a logistic map fitted on synthetic lines cut expected calibration error on
real scene words (IIIT5K 0.068 -> 0.054, ICDAR2015 0.253 -> 0.137), the peak feature doing
the work; for the current default (``convnextvit_nano``) every map form fitted on synthetic
lines made IIIT5K and plates worse calibrated than the raw scores (0.037 -> 0.10-0.17 and
0.078 -> 0.17-0.35) for a small gain on ICDAR2015 (0.130 -> 0.09-0.12): that model is
under-confident on synthetic lines and not on real ones. So the embedded model ships
without a map, and a map is best fitted on held-out lines of the kind it will read.

The map lives in the model's ``configuration.json`` (``model.duguang_ocr.calibration``,
which ModelScope ignores) and is fitted with :func:`fit_calibration` (``duguang-ocr
calibrate``) on labelled lines the model was not trained on: synthetic ones from an unused
seed, or better, real ones like those it will read. Models without one report the raw
score. :func:`expected_calibration_error` and :func:`reliability_bins` measure how
well confidences match accuracy (``duguang-ocr eval`` prints both).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import atomic_write_bytes

METHODS = ("logistic", "isotonic")
CONFIG_KEY = "calibration"  # under model.duguang_ocr in configuration.json


@dataclass(frozen=True)
class LineFeatures:
    """What a calibration map sees of one reading.

    Attributes:
        log_raw: log of the product of the character confidences (of the mean blank
            probability for an empty reading).
        log_peak: mean over the line's frames of the log-probability of the likeliest class.
    """

    log_raw: float
    log_peak: float

    @property
    def raw(self) -> float:
        return math.exp(self.log_raw)


def line_features(char_confidences: Sequence[float], empty_confidence: float,
                  log_peak: float, constraint_cost: float = 0.0) -> LineFeatures:
    """The features of one reading; ``constraint_cost`` (see
    :attr:`~duguang_ocr.decoding.DecodedLine.constraint_cost`) lowers the raw score of a
    reading a constraint moved away from the model's own."""
    conf = list(char_confidences) or [empty_confidence]
    log_raw = float(np.sum(np.log(np.clip(conf, 1e-12, 1.0)))) - max(0.0, constraint_cost)
    return LineFeatures(log_raw, float(log_peak))


@dataclass(frozen=True)
class Calibration:
    """A map from :class:`LineFeatures` to the probability of an exact line.

    Attributes:
        method: one of :data:`METHODS`.
        weights: ``"logistic"``: (a, b, c) of ``sigmoid(a * log_raw + b * log_peak + c)``.
        knots: ``"isotonic"``: increasing raw scores ...
        values: ... and the probability at each (linear in between, flat outside).
        lines: how many labelled lines it was fitted on.
    """

    method: str
    weights: tuple[float, float, float] = (1.0, 0.0, 0.0)
    knots: tuple[float, ...] = ()
    values: tuple[float, ...] = ()
    lines: int = 0

    def __call__(self, f: LineFeatures) -> float:
        if self.method == "logistic":
            a, b, c = self.weights
            z = a * f.log_raw + b * f.log_peak + c
            return float(1 / (1 + math.exp(-z))) if z > -700 else 0.0
        return float(np.interp(f.raw, self.knots, self.values))

    def to_dict(self) -> dict:
        d: dict = {"method": self.method, "lines": self.lines}
        if self.method == "logistic":
            d["weights"] = [round(w, 6) for w in self.weights]
        else:
            d["knots"] = [round(x, 6) for x in self.knots]
            d["values"] = [round(y, 6) for y in self.values]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Calibration:
        method = d.get("method")
        if method == "logistic":
            w = tuple(float(x) for x in d["weights"])
            if len(w) != 3 or not all(map(math.isfinite, w)):
                raise ValueError(f"logistic calibration needs 3 finite weights, got {w}")
            return cls(method, weights=w, lines=int(d.get("lines", 0)))
        if method == "isotonic":
            knots, values = tuple(map(float, d["knots"])), tuple(map(float, d["values"]))
            if not knots or len(knots) != len(values) or list(knots) != sorted(knots):
                raise ValueError("isotonic calibration needs equally many increasing knots "
                                 "and values")
            return cls(method, knots=knots, values=values, lines=int(d.get("lines", 0)))
        raise ValueError(f"unknown calibration method {method!r}; use one of {METHODS}")


def fit_isotonic(features: Sequence[LineFeatures], correct: Sequence[bool]) -> Calibration:
    """Pool-adjacent-violators: the non-decreasing step function of the raw score closest
    (least squares) to ``correct``; each pooled block becomes one knot at its mean score."""
    raw = np.array([f.raw for f in features])
    order = np.argsort(raw, kind="stable")
    blocks: list[list[float]] = []  # [sum correct, sum raw, count]
    for xi, yi in zip(raw[order], np.asarray(correct, dtype=float)[order]):
        blocks.append([yi, xi, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][2] >= blocks[-1][0] / blocks[-1][2]:
            sy, sx, n = blocks.pop()
            blocks[-1][0] += sy
            blocks[-1][1] += sx
            blocks[-1][2] += n
    knots = tuple(b[1] / b[2] for b in blocks)
    values = tuple(b[0] / b[2] for b in blocks)
    return Calibration("isotonic", knots=knots, values=values, lines=len(raw))


def fit_logistic(features: Sequence[LineFeatures], correct: Sequence[bool],
                 l2: float = 1e-3) -> Calibration:
    """Logistic regression of ``correct`` on (log_raw, log_peak): Newton's method on
    standardised features with a small L2 penalty (so perfectly separable data still gives
    finite weights), folded back to weights on the raw features."""
    x = np.array([[f.log_raw, f.log_peak] for f in features], dtype=float)
    y = np.asarray(correct, dtype=float)
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = np.c_[(x - mu) / sd, np.ones(len(x))]
    w = np.zeros(3)
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(z @ w, -500, 500)))
        grad = z.T @ (p - y) + l2 * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + l2 * np.eye(3)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    a, b = w[:2] / sd
    c = w[2] - float(np.dot(w[:2], mu / sd))
    return Calibration("logistic", weights=(float(a), float(b), float(c)), lines=len(y))


def reliability_bins(confidences: Sequence[float], correct: Sequence[bool],
                     bins: int = 10) -> list[tuple[float, float, int, float, float]]:
    """Equal-width confidence bins: (low, high, lines, mean confidence, accuracy); empty
    bins are left out."""
    c = np.asarray(confidences, dtype=float)
    y = np.asarray(correct, dtype=float)
    which = np.minimum((c * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        m = which == b
        if m.any():
            out.append((b / bins, (b + 1) / bins, int(m.sum()), float(c[m].mean()),
                        float(y[m].mean())))
    return out


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool],
                               bins: int = 10) -> float:
    """ECE: the line-weighted mean of |accuracy - mean confidence| over equal-width
    confidence bins (10 by default)."""
    n = len(confidences)
    if not n:
        return 0.0
    return sum(k * abs(acc - conf) for _, _, k, conf, acc in
               reliability_bins(confidences, correct, bins)) / n


def accuracy_above(confidences: Sequence[float], correct: Sequence[bool],
                   threshold: float) -> tuple[float, float]:
    """(accuracy, coverage) of the lines with confidence >= ``threshold``: what a pipeline
    that sends the others to a human would get, and how much it keeps."""
    c = np.asarray(confidences, dtype=float)
    y = np.asarray(correct, dtype=bool)
    keep = c >= threshold
    if not keep.any():
        return float("nan"), 0.0
    return float(y[keep].mean()), float(keep.mean())


class _FeatureLog:
    """Stands in for a calibration while fitting: records each reading's features and
    returns their index as its "confidence", so results map back to features whatever
    order the recognizer read them in."""

    def __init__(self):
        self.features: list[LineFeatures] = []

    def __call__(self, f: LineFeatures) -> float:
        self.features.append(f)
        return float(len(self.features) - 1)


def read_features(recognizer, pairs: Sequence[tuple[object, str]], protocol: str = "exact"
                  ) -> tuple[list[LineFeatures], list[bool]]:
    """Each labelled line's calibration features and whether it was read exactly right.

    Lines are read through the recognizer's own path (batching, decoding options, output
    policies), so a map is fitted on exactly what it will be applied to; unreadable images
    are left out. The recognizer's calibration is set aside meanwhile and put back.
    """
    from .evaluate import PROTOCOLS

    norm = PROTOCOLS[protocol]
    saved, log = recognizer.calibration, _FeatureLog()
    recognizer.calibration = log
    try:
        results = list(recognizer.iter_recognize([x for x, _ in pairs], errors="skip"))
    finally:
        recognizer.calibration = saved
    kept = [(r, label) for r, (_, label) in zip(results, pairs) if r.ok]
    return ([log.features[int(r.confidence)] for r, _ in kept],
            [norm(r.text) == norm(label) for r, label in kept])


def fit_calibration(recognizer, labelled_lines: Iterable[tuple[object, str]] | str | os.PathLike,
                    method: str = "logistic", protocol: str = "exact") -> dict:
    """Fit a calibration map for ``recognizer`` on held-out labelled lines.

    Args:
        recognizer: a :class:`~duguang_ocr.Recognizer`; its current calibration is set
            aside while fitting and left in place.
        labelled_lines: ``(image, label)`` pairs (any recognizer input), or a data set
            path (LMDB, folder with labels.tsv, labels.tsv).
        method: one of :data:`METHODS`.
        protocol: how readings are compared to labels (see
            :data:`duguang_ocr.evaluate.PROTOCOLS`).

    Returns:
        The map as a dict for ``configuration.json`` (see :func:`save_calibration`), plus
        ``"line_acc"`` on the data and ``"ece_before"``/``"ece_after"`` on it (in-sample).
    """
    from .evaluate import iter_labelled

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if isinstance(labelled_lines, (str, os.PathLike)):
        labelled_lines = [(x, label) for _, x, label in iter_labelled(labelled_lines)]
    features, correct = read_features(recognizer, list(labelled_lines), protocol)
    if not features:
        raise ValueError("no readable labelled lines to fit a calibration on")
    fitted = (fit_logistic if method == "logistic" else fit_isotonic)(features, correct)
    d = fitted.to_dict()
    d["line_acc"] = round(float(np.mean(correct)), 4)
    d["ece_before"] = round(expected_calibration_error([f.raw for f in features], correct), 4)
    d["ece_after"] = round(expected_calibration_error([fitted(f) for f in features], correct), 4)
    return d


def read_calibration(config: dict) -> Calibration | None:
    """The calibration stored in a parsed ``configuration.json``, or None."""
    d = ((config.get("model") or {}).get("duguang_ocr") or {}).get(CONFIG_KEY)
    return Calibration.from_dict(d) if d else None


def save_calibration(model_dir: str | os.PathLike, calibration: dict) -> Path:
    """Store ``calibration`` (from :func:`fit_calibration`) in ``model_dir``'s
    configuration.json, replacing any earlier one; written atomically."""
    Calibration.from_dict(calibration)  # refuse to store something unreadable
    path = Path(model_dir) / "configuration.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config.setdefault("model", {}).setdefault("duguang_ocr", {})[CONFIG_KEY] = calibration
    atomic_write_bytes(path, (json.dumps(config, indent=2, ensure_ascii=False) + "\n")
                       .encode("utf-8"))
    return path
