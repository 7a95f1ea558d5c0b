"""Map-style reader for text-line data sets in ModelScope's LMDB layout.

Layout (see :mod:`.lmdb`): ``num-samples`` -> count, ``image-%09d`` -> encoded image bytes,
``label-%09d`` -> UTF-8 text, 1-based. Items are addressed 0-based like any Python sequence.

The LMDB environment is the process's shared read-only handle (:func:`.lmdb.open_env`,
which every reader of the package uses, so a data set open for training and an evaluation
of the same path coexist). Datasets pickle without it, so ``spawn`` workers open their own
on first access and ``fork`` workers use the one inherited from the parent.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import lmdb
import numpy as np

from ..io import ImageLoadError, load_image
from .lmdb import COUNT_KEY, IMAGE_KEY, LABEL_KEY, close_env, open_env
from .text import to_halfwidth

logger = logging.getLogger(__name__)


def _count(path: Path, raw: bytes | None) -> int:
    if raw is None:
        raise ValueError(
            f"{path}: no 'num-samples' key, so this is not a complete ModelScope-style LMDB "
            "data set (interrupted write?); rebuild it with `duguang-ocr make-lmdb`")
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"{path}: 'num-samples' is not a number: {raw[:40]!r}") from None
    if n < 0:
        raise ValueError(f"{path}: negative 'num-samples' ({n})")
    return n


class LmdbDataset:
    """Text lines from an LMDB data set; ``ds[i]`` is ``(rgb, text)`` or ``None``.

    A corrupt or missing sample returns ``None`` (logged, counted in ``num_bad``) instead of
    raising: one damaged record must not end a long training epoch, and the collate function
    drops ``None`` items.

    Args:
        path: the LMDB directory (holding ``data.mdb``).
        normalize_width: fold full-width ASCII variants and U+3000 in labels to ASCII as
            ModelScope's data set does (Chinese characters are never changed).

    Raises:
        FileNotFoundError: ``path`` is not a directory.
        ValueError: ``path`` is not an LMDB data set or has no ``num-samples`` key (an
            interrupted or foreign write).

    >>> ds = LmdbDataset("train.lmdb")  # doctest: +SKIP
    >>> img, text = ds[0]               # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, *, normalize_width: bool = True) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise FileNotFoundError(f"LMDB data set {str(self.path)!r} not found")
        self.normalize_width = normalize_width
        self.num_bad = 0
        try:
            with self._txn() as txn:
                raw = txn.get(COUNT_KEY)
        except lmdb.Error as e:
            raise ValueError(f"{self.path}: not an LMDB data set ({e})") from None
        try:
            self._len = _count(self.path, raw)
        except ValueError:
            self.close()
            raise

    def _txn(self) -> lmdb.Transaction:
        return open_env(self.path).begin(write=False)

    def close(self) -> None:
        """Release the process's handle on this LMDB (see :func:`close_env`)."""
        close_env(self.path)

    def __len__(self) -> int:
        return self._len

    def __repr__(self) -> str:
        return f"LmdbDataset({str(self.path)!r}, {self._len} items)"

    def _bad(self, index: int, why: str) -> None:
        self.num_bad += 1
        logger.warning("%s: skipping sample %d (%s); %d bad sample(s) so far in this process",
                       self.path, index + 1, why, self.num_bad)

    def _label(self, raw: bytes) -> str:
        text = raw.decode("utf-8")
        return to_halfwidth(text) if self.normalize_width else text

    def __getitem__(self, index: int) -> tuple[np.ndarray, str] | None:
        if not -self._len <= index < self._len:
            raise IndexError(f"index {index} out of range for {self._len} samples")
        index %= self._len
        img, label = self.raw(index)
        if img is None or label is None:
            self._bad(index, "image missing" if img is None else "label missing")
            return None
        try:
            text = self._label(label)
        except UnicodeDecodeError as e:
            self._bad(index, f"label is not UTF-8: {e.reason}")
            return None
        try:
            return load_image(img), text
        except ImageLoadError as e:
            self._bad(index, str(e))
            return None

    def raw(self, index: int) -> tuple[bytes | None, bytes | None]:
        """Sample ``index``'s stored image and label bytes, undecoded (None where a key is
        missing): for checks that hash or sniff images without decoding them."""
        key = index + 1
        with self._txn() as txn:
            return txn.get((IMAGE_KEY % key).encode()), txn.get((LABEL_KEY % key).encode())

    def labels(self) -> Iterator[str]:
        """Every readable label in order (images are not decoded; for vocabulary building)."""
        with self._txn() as txn:
            for i in range(1, self._len + 1):
                raw = txn.get((LABEL_KEY % i).encode())
                if raw is None:
                    continue
                try:
                    yield self._label(raw)
                except UnicodeDecodeError:
                    continue


def open_dataset(path: str | os.PathLike, *, normalize_width: bool = True):
    """Open a training/eval data set by what ``path`` holds: an LMDB directory
    (:class:`LmdbDataset`), a folder with ``labels.tsv`` or a ``labels.tsv``-style file
    (:class:`~.folder.FolderDataset`).

    Raises:
        FileNotFoundError: nothing at ``path``, or a folder without ``labels.tsv``.
    """
    p = Path(path).expanduser()
    if (p / "data.mdb").is_file():
        return LmdbDataset(p, normalize_width=normalize_width)
    from .folder import FolderDataset

    if p.is_file():
        return FolderDataset(p.parent, p.name, normalize_width=normalize_width)
    if (p / "labels.tsv").is_file():
        return FolderDataset(p, normalize_width=normalize_width)
    raise FileNotFoundError(f"{str(p)!r} is neither an LMDB data set (no data.mdb) nor a folder "
                            "with labels.tsv")


def iter_labels(dataset) -> Iterator[str]:
    """Every label of an :func:`open_dataset` result, without decoding images."""
    if isinstance(dataset, LmdbDataset):
        yield from dataset.labels()
    else:
        yield from (text for _, text in dataset.items)
