"""A folder of text-line images described by a ``labels.tsv`` file.

``labels.tsv`` is UTF-8 with one ``path<TAB>text`` line per image, ``path`` relative to the
folder; blank lines and lines starting with ``#`` are ignored. This is the simplest format
to produce by hand or from another tool, and ``make_lmdb`` turns it into an LMDB for
faster training.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np

from ..io import ImageLoadError, load_image
from .text import to_halfwidth

logger = logging.getLogger(__name__)


class LabelFileError(ValueError):
    """A labels file is malformed; the message names the file and line number."""


def read_labels(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Parse a ``labels.tsv`` file into ``(relative_path, text)`` pairs, in file order.

    The text is everything after the first tab, kept verbatim (it may be empty; callers
    decide what to do with empty labels). A leading UTF-8 byte-order mark is ignored.

    Raises:
        FileNotFoundError: the file does not exist.
        LabelFileError: the file is not UTF-8, or a line has no tab, an empty path or an
            absolute path (paths are relative so a data set folder can be moved).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"labels file {str(path)!r} not found")
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        lineno = raw[: e.start].count(b"\n") + 1
        raise LabelFileError(f"{path}:{lineno}: not valid UTF-8 ({e.reason})") from None
    items = []
    # Split on "\n" only: str.splitlines() would also break labels at U+2028, U+0085 etc.
    for lineno, line in enumerate(content.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip() or line.startswith("#"):
            continue
        rel, tab, text = line.partition("\t")
        if not tab:
            raise LabelFileError(f"{path}:{lineno}: expected 'path<TAB>text', got {line!r}")
        if not rel.strip():
            raise LabelFileError(f"{path}:{lineno}: empty image path")
        if PurePosixPath(rel).is_absolute() or PureWindowsPath(rel).is_absolute():
            raise LabelFileError(
                f"{path}:{lineno}: image path {rel!r} must be relative to the data set folder")
        items.append((rel, text))
    return items


class FolderDataset:
    """Text lines stored as image files plus a ``labels.tsv``; indexable like a list.

    Items are ``(rgb, text)`` with ``rgb`` an H x W x 3 uint8 array. An unreadable image
    yields ``None`` (and a logged warning, counted in ``num_bad``) instead of raising, so one
    damaged file does not stop a training run; the collate function drops ``None`` items.

    Args:
        root: the folder; image paths in the labels file are relative to it.
        labels: the labels file, relative to ``root`` unless absolute.
        normalize_width: fold full-width ASCII variants and U+3000 in labels to ASCII
            (see ``to_halfwidth``); Chinese characters are never changed.

    Raises:
        FileNotFoundError: ``root`` or the labels file does not exist.
        LabelFileError: the labels file is malformed.
    """

    def __init__(self, root: str | os.PathLike, labels: str | os.PathLike = "labels.tsv",
                 normalize_width: bool = True) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"data set folder {str(self.root)!r} not found")
        self.labels_path = self.root / labels
        items = read_labels(self.labels_path)
        if normalize_width:
            items = [(rel, to_halfwidth(text)) for rel, text in items]
        self.items = items
        self.num_bad = 0

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[np.ndarray, str] | None:
        rel, text = self.items[index]
        try:
            return load_image(self.root / rel), text
        except (ImageLoadError, OSError) as e:  # OSError: e.g. permission denied
            self.num_bad += 1
            logger.warning("%s: skipping item %d (%s); %d unreadable image(s) so far",
                           self.labels_path, index, e, self.num_bad)
            return None

    def __repr__(self) -> str:
        return f"FolderDataset({str(self.root)!r}, {len(self)} items)"
