"""Look at line data sets before training on them: what the trainer will see, change and drop.

A training run only hints at its data's problems (``dropped so far: too_long 800`` inside
log lines, hours in). :func:`check_data` reads every sample once and says up front:
sizes, label lengths, symbols outside the vocabulary, labels too long for their line,
unreadable images, duplicate images, the label normalisation that will be applied, and how
many lines each epoch will drop and why. ``duguang-ocr check-data`` prints it and the
trainer logs it at the start of every run, so both go through this one function.

The verdict on each line is the training collate's own (:class:`~.collate.LineCollator`:
its ``plan``, ``frames`` and ``encode``), so the report's drop counts are what every epoch
drops: a sample the reader cannot return is ``bad``; under ``data.unknown=skip`` a label
with any symbol outside the vocabulary is ``unknown_skipped`` (under ``drop_chars`` only one
left empty); then a label needing more CTC frames than its line yields is ``too_long``.
Lines are measured before augmentation, which can change a line's width a little.

Images are sized from their headers (:func:`~..io.image_size`), so a 100k-line LMDB is
checked in seconds; ``decode=True`` decodes every image as training will, which also
catches files truncated after a sound header (``make-lmdb`` already decoded every image it
wrote, so its LMDBs need no more than headers) and sizes a loose crop as the collate cuts
it to its text (:func:`~..preprocess.cut_to_text`; from headers, such a line may be
counted too long although training keeps it).
"""

from __future__ import annotations

import hashlib
import logging
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..chunking import ChunkGeometry
from ..io import ImageLoadError, image_size, load_image
from ..preprocess import resized_width
from ..progress import progress_bar
from ..vocab import Vocab
from .collate import STAT_KEYS, LineCollator, ctc_frames_needed
from .folder import FolderDataset, read_labels
from .lmdb_dataset import LmdbDataset
from .text import to_halfwidth

logger = logging.getLogger(__name__)

MAX_EXAMPLES = 5  # example lines kept per finding: enough to recognise a pattern


def collate_for(vocab: Vocab, model_config: Any, *, unknown: str = "skip",
                preprocess: str = "keep_ratio", num_chunks: int = 1,
                img_width: int = 640) -> LineCollator:
    """The collate a training run of a model built from ``model_config`` uses (the
    trainer builds the same from ``model.preprocess``, ``num_chunks`` and ``img_width``)."""
    return LineCollator(vocab, ChunkGeometry.of(model_config), unknown=unknown,
                        preprocess=preprocess, num_chunks=num_chunks, img_width=img_width)


@dataclass
class Finding:
    """How many samples show one problem, and the first few of them as examples."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, example: str) -> None:
        self.count += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(example)


@dataclass
class Histogram:
    """Counts of values in ``[edges[i], edges[i + 1])``, plus min / median / max."""

    edges: list[int]
    counts: list[int]
    min: int = 0
    median: float = 0.0
    max: int = 0

    @classmethod
    def of(cls, values: Sequence[int], max_bins: int = 8) -> Histogram:
        """Bins of a round width (1, 2 or 5 x 10^k) covering ``values``: readable edges."""
        if not values:
            return cls([], [])
        lo, hi = min(values), max(values)
        step = _round_step((hi - lo + 1) / max_bins)
        start = lo // step * step
        n = (hi - start) // step + 1
        counts = [0] * n
        for v in values:
            counts[(v - start) // step] += 1
        return cls([start + i * step for i in range(n + 1)], counts, lo,
                   statistics.median(values), hi)

    def format(self, unit: str = "", width: int = 24) -> list[str]:
        if not self.counts:
            return []
        top = max(self.counts)
        ranges = [f"{self.edges[i]}-{self.edges[i + 1] - 1}{unit}" for i in range(len(self.counts))]
        pad = max(map(len, ranges))
        return [f"{r:>{pad}} {'#' * max(1 if c else 0, round(width * c / top)):<{width}} {c}"
                for r, c in zip(ranges, self.counts)]


def _round_step(raw: float) -> int:
    step = 1
    while True:
        for m in (1, 2, 5):
            if step * m >= raw:
                return step * m
        step *= 10


@dataclass
class DataReport:
    """What :func:`check_data` found (``format()`` for people, ``to_dict()`` for JSON).

    ``dropped`` uses the trainer's counter names (``bad``, ``unknown_skipped``,
    ``too_long``): these are the lines every epoch will skip; ``kept`` are trained on.
    """

    sets: dict[str, int]
    model: str
    unknown_policy: str
    normalize_width: bool
    decoded: bool
    samples: int = 0
    kept: int = 0
    widths: Histogram = field(default_factory=lambda: Histogram([], []))
    lengths: Histogram = field(default_factory=lambda: Histogram([], []))
    chunks: dict[int, int] = field(default_factory=dict)
    unreadable: Finding = field(default_factory=Finding)
    empty_labels: Finding = field(default_factory=Finding)
    unknown_lines: Finding = field(default_factory=Finding)
    unknown_symbols: dict[str, int] = field(default_factory=dict)
    unknown_chars_dropped: int = 0
    too_long: Finding = field(default_factory=Finding)
    duplicates: Finding = field(default_factory=Finding)
    conflicting_duplicates: Finding = field(default_factory=Finding)
    normalized_lines: Finding = field(default_factory=Finding)
    normalized_symbols: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("bad", "unknown_skipped", "too_long"), 0))

    def to_dict(self) -> dict:
        return asdict(self)

    def format(self) -> str:
        """A compact terminal summary (the trainer logs it line by line)."""
        sets = ", ".join(f"{name} {n}" for name, n in self.sets.items())
        out = [f"{self.samples} samples ({sets}); {self.model}; data.unknown={self.unknown_policy}"
               + ("" if self.decoded else "; images sized from headers")]
        out += _histogram_lines("line width at height 32", self.widths, " px")
        if self.chunks:
            out.append("  chunks per line: " + ", ".join(
                f"{k}: {v}" for k, v in sorted(self.chunks.items())))
        out += _histogram_lines("label length", self.lengths, " ch")
        out += self._findings()
        n_drop = sum(self.dropped.values())
        why = ", ".join(f"{k} {v}" for k, v in self.dropped.items() if v)
        out.append(f"will train on {self.kept} of {self.samples} lines"
                   + (f"; dropped every epoch: {n_drop} ({why})" if n_drop else ""))
        return "\n".join(out)

    def _findings(self) -> list[str]:
        out: list[str] = []
        if self.normalized_lines.count:
            pairs = ", ".join(f"{k} x{v}" for k, v in _top(self.normalized_symbols))
            out += _finding("labels normalised (full-width -> ASCII)", self.normalized_lines,
                            pairs)
        if self.unknown_lines.count:
            syms = ", ".join(f"{k!r} x{v}" for k, v in _top(self.unknown_symbols))
            extra = (f"; {self.unknown_chars_dropped} characters removed (drop_chars)"
                     if self.unknown_chars_dropped else "")
            out += _finding("labels with symbols outside the vocabulary", self.unknown_lines,
                            f"{len(self.unknown_symbols)} symbols: {syms}{extra}")
        out += _finding("labels too long for their line (CTC frames < needed)", self.too_long)
        out += _finding("unreadable samples", self.unreadable)
        out += _finding("empty labels (kept: trained as 'no text')", self.empty_labels)
        out += _finding("duplicate images (same bytes as an earlier sample)", self.duplicates)
        out += _finding("  of which labelled differently", self.conflicting_duplicates)
        return out


def _top(counts: dict[str, int], k: int = 12) -> list[tuple[str, int]]:
    return Counter(counts).most_common(k)


def _histogram_lines(title: str, h: Histogram, unit: str) -> list[str]:
    if not h.counts:
        return []
    return [f"{title}: min {h.min}, median {h.median:g}, max {h.max}",
            *("    " + line for line in h.format(unit))]


def _finding(title: str, f: Finding, detail: str = "") -> list[str]:
    if not f.count:
        return []
    return [f"{title}: {f.count}" + (f" ({detail})" if detail else ""),
            *(f"    e.g. {e}" for e in f.examples)]


def _show(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


# -- reading ------------------------------------------------------------------------------

@dataclass
class _Sample:
    item: str  # how the report names it: set#index (LMDB) or set/relative/path (folder)
    data: bytes | None
    label: str | None  # as stored, before normalisation
    problem: str | None  # why the reader would return None, when known without decoding


def _lmdb_samples(ds: LmdbDataset, name: str) -> Iterator[_Sample]:
    for i in range(len(ds)):
        data, raw = ds.raw(i)
        item = f"{name}#{i + 1}"
        if data is None or raw is None:
            yield _Sample(item, None, None, "image missing" if data is None else "label missing")
            continue
        try:
            yield _Sample(item, data, raw.decode("utf-8"), None)
        except UnicodeDecodeError as e:
            yield _Sample(item, None, None, f"label is not UTF-8: {e.reason}")


def _folder_samples(ds: FolderDataset, name: str) -> Iterator[_Sample]:
    # The labels file again, not ds.items: those are already normalised.
    for rel, label in read_labels(ds.labels_path):
        item = f"{name}/{rel}"
        try:
            yield _Sample(item, (ds.root / rel).read_bytes(), label, None)
        except OSError as e:
            yield _Sample(item, None, label, f"cannot read file ({e.strerror or e})")


def _samples(ds: Any, name: str) -> Iterator[_Sample]:
    if isinstance(ds, LmdbDataset):
        return _lmdb_samples(ds, name)
    if isinstance(ds, FolderDataset):
        return _folder_samples(ds, name)
    raise TypeError(f"cannot check {type(ds).__name__}: expected an LMDB or folder data set")


def set_name(ds: Any) -> str:
    """The name a data set goes by in reports (its directory's name)."""
    return (ds.path if isinstance(ds, LmdbDataset) else ds.root).name


def _size(data: bytes, decode: bool, collate: LineCollator) -> tuple[int, int]:
    """The size the collate plans the line at: decoded, after its cut of a loose crop to the
    text (:meth:`LineCollator.cut`); from the header, the stored size."""
    return collate.cut(load_image(data)).shape[:2] if decode else image_size(data)


# -- checking -----------------------------------------------------------------------------

class _Checker:
    """Runs each sample through the collate's rules; fills a :class:`DataReport`."""

    def __init__(self, report: DataReport, collate: LineCollator) -> None:
        self.r, self.collate = report, collate
        self.stats = dict.fromkeys(STAT_KEYS, 0)  # the collate's counters
        self.widths: list[int] = []
        self.lengths: list[int] = []
        self.chunks: Counter[int] = Counter()
        self.unknown: Counter[str] = Counter()
        self.normalized: Counter[str] = Counter()
        self.seen: dict[bytes, tuple[str, str]] = {}  # image hash -> (item, label)

    def add(self, s: _Sample) -> None:
        r, col = self.r, self.collate
        r.samples += 1
        size = None
        if s.problem is None:
            try:
                size = _size(s.data, r.decoded, col)
            except ImageLoadError as e:
                s.problem = str(e).partition(": ")[2] or str(e)  # drop "bytes (N B): "
        if s.problem is not None:
            r.unreadable.add(f"{s.item}: {s.problem}")
            self.stats["bad"] += 1
            return
        text = self._normalize(s)
        self._duplicate(s, text)
        plan, width = col.plan(*size), resized_width(*size)  # width: before any squash
        self.widths.append(width)
        self.lengths.append(len(text))
        if col.chunked:
            self.chunks[plan.num_chunks] += 1
        if not text:
            r.empty_labels.add(s.item)
        missing = [c for c in text if c not in col.vocab]
        if missing:
            self.unknown.update(missing)
            r.unknown_lines.add(f"{s.item}: {_show(text)} ({''.join(sorted(set(missing)))!r})")
        frames, too_long = col.frames(plan), self.stats["too_long"]
        ids = col.encode(text, frames, self.stats)
        if self.stats["too_long"] > too_long:
            needed = ctc_frames_needed(col.vocab.encode(text, unknown="skip"))
            squashed = (f", squashed to {plan.resized_width} px"
                        if plan.resized_width < width else "")
            r.too_long.add(f"{s.item}: {_show(text)} needs {needed} frames, its {width}-px "
                           f"line gives {frames}{squashed}")
        r.kept += ids is not None

    def _normalize(self, s: _Sample) -> str:
        if not self.r.normalize_width:
            return s.label
        text = to_halfwidth(s.label)
        if text != s.label:
            self.r.normalized_lines.add(f"{s.item}: {_show(s.label)} -> {_show(text)}")
            self.normalized.update(f"{a!r}->{b!r}" for a, b in zip(s.label, text) if a != b)
        return text

    def _duplicate(self, s: _Sample, text: str) -> None:
        digest = hashlib.blake2b(s.data, digest_size=16).digest()
        first = self.seen.setdefault(digest, (s.item, text))
        if first[0] == s.item:
            return
        self.r.duplicates.add(f"{s.item} = {first[0]}")
        if first[1] != text:
            self.r.conflicting_duplicates.add(
                f"{s.item} {_show(text)} vs {first[0]} {_show(first[1])}")

    def finish(self) -> DataReport:
        r = self.r
        r.widths, r.lengths = Histogram.of(self.widths), Histogram.of(self.lengths)
        r.chunks = dict(sorted(self.chunks.items()))
        r.unknown_symbols = dict(self.unknown.most_common())
        r.normalized_symbols = dict(self.normalized.most_common())
        r.dropped = {k: self.stats[k] for k in r.dropped}
        r.unknown_chars_dropped = self.stats["unknown_chars_dropped"]
        return r


def check_data(
    datasets: Iterable[Any],
    collate: LineCollator,
    *,
    normalize_width: bool = True,
    decode: bool = False,
    model: str = "",
    progress: bool | None = None,
) -> DataReport:
    """Read every sample of ``datasets`` once and report what training will make of them.

    Args:
        datasets: :func:`~.lmdb_dataset.open_dataset` results (LMDB or folder data sets).
            Open them with ``normalize_width=False`` (:func:`open_sets`) so the report can
            count what normalising changes.
        collate: the training collate (the trainer's own, or :func:`collate_for`): its
            vocabulary, ``data.unknown`` policy and line layout judge every line.
        normalize_width: ``data.normalize_width`` (full-width ASCII forms -> ASCII).
        decode: decode every image instead of reading its header (~40x slower; catches
            truncated pixel data).
        model: how the report names the model (its first line; :func:`describe_model`).
        progress: a tqdm bar on stderr; None: when stderr is a terminal or in a notebook.
    """
    datasets = list(datasets)
    names = [set_name(ds) for ds in datasets]
    report = DataReport({n: len(ds) for n, ds in zip(names, datasets)}, model,
                        collate.unknown, normalize_width, decode)
    checker = _Checker(report, collate)
    with progress_bar(total=sum(report.sets.values()), desc="check-data", unit="line",
                      progress=progress, leave=False) as bar:
        for ds, name in zip(datasets, names):
            for sample in _samples(ds, name):
                checker.add(sample)
                bar.update()
    return checker.finish()


def describe_model(name: str, collate: LineCollator) -> str:
    """``model 'name' (preprocessing, N symbols)`` for the report's first line."""
    if collate.squash:
        how = f"squash onto {collate.canvas_width} px"
    else:
        how = "keep_ratio, " + ("chunks per line" if collate.chunked else "whole line")
    return f"model {name!r} ({how}, {len(collate.vocab)} symbols)"


def open_sets(paths: Iterable[str | Path]) -> list[Any]:
    """Open data sets for checking: labels as stored, so normalisation can be counted."""
    from .lmdb_dataset import open_dataset

    return [open_dataset(p, normalize_width=False) for p in paths]


def check_training_data(datasets: Sequence[Any], collate: LineCollator, model_name: str,
                        normalize_width: bool) -> DataReport | None:
    """The trainer's look at its training sets before the first step: the report, logged
    line by line, and a warning when lines will be dropped. Sources that are not LMDB or
    folder data sets (synthetic lines, rendered on the fly) are not checked; None when
    nothing is left to check.

    Raises:
        ValueError: no line would be trained on (every epoch would be empty).
    """
    datasets = [ds for ds in datasets if isinstance(ds, (LmdbDataset, FolderDataset))]
    if not datasets:
        return None
    report = check_data(datasets, collate, normalize_width=normalize_width,
                        model=describe_model(model_name, collate))
    for line in report.format().splitlines():
        logger.info("data check: %s", line)
    dropped = {k: v for k, v in report.dropped.items() if v}
    why = ", ".join(f"{k} {v}" for k, v in dropped.items())
    if not report.kept:
        raise ValueError(f"no training line survives the data check ({why}); see the "
                         "'data check' log lines or run `duguang-ocr check-data`")
    if dropped:
        logger.warning("%d of %d training lines will be dropped every epoch (%s); the "
                       "'data check' lines above say which", sum(dropped.values()),
                       report.samples, why)
    return report
