"""Read and write text-line data sets in ModelScope's LMDB layout.

Layout (shared with ModelScope / deep-text-recognition-benchmark):
``num-samples`` -> decimal count, ``image-%09d`` -> encoded image bytes, ``label-%09d`` ->
UTF-8 text, with indices starting at 1.

Writers go to ``OUT.tmp-<pid>`` and are renamed onto ``OUT`` only after ``num-samples`` is
committed, so an interrupted run never leaves a data set that looks complete; an existing
``OUT`` being overwritten is first renamed to ``OUT.old-<pid>`` (restored after a crash by
:func:`duguang_ocr.data.make_lmdb.remove_stale_tmp`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import lmdb

IMAGE_KEY = "image-%09d"
LABEL_KEY = "label-%09d"
COUNT_KEY = b"num-samples"


def _put_all(env: lmdb.Environment, items: list[tuple[bytes, bytes]]) -> lmdb.Environment:
    """Write ``items`` in one transaction, doubling the map size whenever it is full."""
    while True:
        try:
            with env.begin(write=True) as txn:
                for key, value in items:
                    txn.put(key, value)
            return env
        except lmdb.MapFullError:
            env.set_mapsize(env.info()["map_size"] * 2)


def write_lmdb(
    samples: Iterable[tuple[bytes, str]],
    out: str | os.PathLike,
    *,
    map_size: int = 64 << 20,
    commit_every: int = 1000,
    overwrite: bool = False,
) -> int:
    """Write ``(encoded_image_bytes, label)`` pairs to an LMDB data set at ``out``.

    The data set is built under a temporary name and renamed into place at the end; the
    map grows as needed. Returns the number of samples written.

    >>> n = write_lmdb([(png_bytes, "hello")], "train.lmdb")  # doctest: +SKIP
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} already exists (pass overwrite=True to replace it)")
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    env = lmdb.open(str(tmp), map_size=map_size, subdir=True, lock=True)
    count = 0
    pending: list[tuple[bytes, bytes]] = []
    try:
        for image_bytes, label in samples:
            count += 1
            pending.append(((IMAGE_KEY % count).encode(), bytes(image_bytes)))
            pending.append(((LABEL_KEY % count).encode(), label.encode("utf-8")))
            if len(pending) >= 2 * commit_every:
                env = _put_all(env, pending)
                pending = []
        pending.append((COUNT_KEY, str(count).encode()))
        env = _put_all(env, pending)
        env.sync(True)
    finally:
        env.close()
    # Swap by renames, never deleting the old data set first: a crash between the two
    # renames leaves OUT.old-<pid> complete, and make_lmdb.remove_stale_tmp() puts it back.
    old = out.with_name(f"{out.name}.old-{os.getpid()}")
    if out.exists():
        os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)
    return count


def read_count(path: str | os.PathLike) -> int:
    """Number of samples recorded in an LMDB data set (raises if ``num-samples`` is missing)."""
    env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, meminit=False)
    try:
        with env.begin() as txn:
            raw = txn.get(COUNT_KEY)
    finally:
        env.close()
    if raw is None:
        raise ValueError(f"{path}: not a complete LMDB data set (no 'num-samples' key)")
    return int(raw)
