"""Build a ModelScope-layout LMDB data set from a labels file, a folder or another LMDB.

Training reads LMDBs far faster than thousands of small files, and a damaged image found
at step 80,000 of a run is much more expensive than one found here: every image is
decoded in full before it is written, and anything unusable is skipped and reported with
its reason instead of aborting the build. The original encoded bytes are stored unchanged.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import NamedTuple

from ..atomic import recover_dir
from ..io import ImageLoadError, load_image
from ..progress import progress_bar
from .folder import read_labels
from .lmdb import IMAGE_KEY, read_count, read_records, write_lmdb

logger = logging.getLogger(__name__)


@dataclass
class MakeLmdbReport:
    """What ``make_lmdb`` did: samples written and ``(item, reason)`` for each one skipped."""

    out: Path
    written: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def summary(self, max_items: int = 50) -> str:
        """Human-readable report listing at most ``max_items`` skipped items."""
        if self.written:
            lines = [f"wrote {self.written} samples to {self.out}; skipped {len(self.skipped)}"]
        else:
            lines = [f"no usable samples ({len(self.skipped)} skipped): {self.out} was not "
                     "written"]
        lines += [f"  skipped {item}: {reason}" for item, reason in self.skipped[:max_items]]
        if len(self.skipped) > max_items:
            lines.append(f"  ... and {len(self.skipped) - max_items} more")
        return "\n".join(lines)


def image_problem(data: bytes) -> str | None:
    """Why the encoded image ``data`` cannot be used for training, or None if it decodes.

    The image is decoded in full (not just its header), so truncated files are caught.
    """
    if not data:
        return "empty file (0 bytes)"
    try:
        load_image(data)
    except ImageLoadError as e:
        return str(e).partition(": ")[2] or str(e)  # drop the "bytes (N B)" prefix
    return None


class _Candidate(NamedTuple):
    item: str  # how the report names it: a relative path or an LMDB key
    data: bytes | None
    text: str
    reason: str | None  # why it cannot be used, if already known


def _from_labels(labels: Path, root: Path) -> tuple[int, Iterator[_Candidate]]:
    items = read_labels(labels)

    def gen() -> Iterator[_Candidate]:
        for rel, text in items:
            try:
                yield _Candidate(rel, (root / rel).read_bytes(), text, None)
            except FileNotFoundError:
                yield _Candidate(rel, None, text, f"no such file: {root / rel}")
            except IsADirectoryError:
                yield _Candidate(rel, None, text, "is a directory")
            except OSError as e:
                yield _Candidate(rel, None, text, f"cannot read file ({e.strerror or e})")

    return len(items), gen()


def _from_lmdb(source: Path) -> tuple[int, Iterator[_Candidate]]:
    count = read_count(source)

    def gen() -> Iterator[_Candidate]:
        for i, image, label in read_records(source):
            item = IMAGE_KEY % i
            if image is None or label is None:
                missing = "image" if image is None else "label"
                yield _Candidate(item, None, "", f"{missing} key missing")
                continue
            try:
                text = label.decode("utf-8")
            except UnicodeDecodeError:
                yield _Candidate(item, None, "", "label is not valid UTF-8")
                continue
            yield _Candidate(item, image, text, None)

    return count, gen()


def _valid_samples(candidates: Iterator[_Candidate], report: MakeLmdbReport,
                   bar) -> Iterator[tuple[bytes, str]]:
    for item, data, text, reason in candidates:
        bar.update(1)
        if reason is None and not text.strip():
            reason = "empty label"
        if reason is None and data is not None:
            reason = image_problem(data)
        if reason is None and data is not None:
            yield data, text
        else:
            report.skipped.append((item, reason or "unreadable"))


def remove_stale_tmp(out: str | os.PathLike) -> list[Path]:
    """Delete ``OUT.tmp-<pid>`` directories left by killed writers whose process is gone,
    and put back ``OUT.old-<pid>`` (the previous data set) if a writer died mid-swap
    (:func:`~duguang_ocr.atomic.recover_dir`). A live process's directories (possibly
    another build of the same output) are kept. Returns what was moved or removed."""
    return recover_dir(out)


def make_lmdb(
    out: str | os.PathLike,
    *,
    labels: str | os.PathLike | None = None,
    root: str | os.PathLike | None = None,
    source_lmdb: str | os.PathLike | None = None,
    overwrite: bool = False,
    progress: bool | None = None,
) -> MakeLmdbReport:
    """Validate images and write them with their labels to an LMDB data set at ``out``.

    Sources (exactly one):

    * ``labels`` (a ``labels.tsv``) with ``root`` the folder its paths are relative to
      (default: the labels file's folder);
    * ``root`` alone: a folder data set, i.e. ``root/labels.tsv``;
    * ``source_lmdb``: another LMDB, re-validated and copied (it may equal ``out`` with
      ``overwrite=True``: the new data set replaces it only once complete).

    Items whose image is missing, empty, truncated, not an image or 0-sized, and items with
    an empty label, are skipped and listed in the report. Labels are stored verbatim
    (readers normalise them). The output appears only when complete (temporary directory
    plus rename), so an interrupted run leaves no half-written ``out``; stale temporary
    directories of earlier interrupted runs are removed. When no item is usable nothing is
    written (``report.written == 0``): an empty data set would only block the corrected
    rerun. ``progress``: a bar on stderr (None: when stderr is a terminal or in a notebook).

    Raises:
        ValueError: no source or more than one source was given.
        FileExistsError: ``out`` exists and ``overwrite`` is false.
        FileNotFoundError: the labels file, folder or source LMDB does not exist.
        LabelFileError: the labels file is malformed (the message names the line).
    """
    out = Path(out)
    if source_lmdb is not None and (labels is not None or root is not None):
        raise ValueError("give either source_lmdb or labels/root, not both")
    if source_lmdb is None and labels is None and root is None:
        raise ValueError("no source: give labels (and root), a folder (root) or source_lmdb")
    remove_stale_tmp(out)  # first: it may restore an OUT that a killed overwrite moved aside
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} already exists (pass overwrite=True to replace it)")
    if source_lmdb is not None:
        source = Path(source_lmdb)
        if not source.exists():
            raise FileNotFoundError(f"source LMDB {str(source)!r} not found")
        total, candidates = _from_lmdb(source)
    else:
        if root is not None and not Path(root).is_dir():
            raise FileNotFoundError(f"data set folder {str(root)!r} not found")
        labels_path = Path(labels) if labels is not None else Path(root) / "labels.tsv"
        total, candidates = _from_labels(labels_path, Path(root or labels_path.parent))
    report = MakeLmdbReport(out=out)
    with progress_bar(total=total, desc=f"make-lmdb {out.name}", unit="img",
                      progress=progress) as bar:
        samples = _valid_samples(candidates, report, bar)
        first = next(samples, None)  # nothing usable: leave ``out`` as it was
        if first is not None:
            report.written = write_lmdb(chain([first], samples), out, overwrite=overwrite)
    if report.skipped:
        logger.warning("%s: skipped %d of %d items", out, len(report.skipped), total)
    return report
