"""Read and write text-line data sets in ModelScope's LMDB layout.

Layout (shared with ModelScope / deep-text-recognition-benchmark):
``num-samples`` -> decimal count, ``image-%09d`` -> encoded image bytes, ``label-%09d`` ->
UTF-8 text, with indices starting at 1.

Writers go to ``OUT.tmp-<pid>`` and are renamed onto ``OUT`` only after ``num-samples`` is
committed, so an interrupted run never leaves a data set that looks complete; an existing
``OUT`` being overwritten is first renamed to ``OUT.old-<pid>`` (restored after a crash by
:func:`duguang_ocr.data.make_lmdb.remove_stale_tmp`).

Every reader in the package goes through one read-only handle per LMDB file and process
(:func:`open_env` for data sets, :func:`reading` for one-off reads): LMDB refuses to open one
environment twice in a process (py-lmdb raises "already open"), so a data set being trained
on, ``duguang-ocr eval`` over the same path and a ``read_count`` must all share it. Handles are keyed by the data file's identity
(device, inode), so a data set rewritten at the same path gets a fresh handle, never a stale
one; when py-lmdb still calls the new files "already open" (it also keys on ``lock.mdb``,
whose inode number a copied-in data set can inherit), handles on replaced files are closed
(a data set object still holding one then fails instead of reading deleted data). ``fork``-ed DataLoader workers inherit the parent's handle,
which is safe for a read-only, lock-free environment (each worker runs its own read
transactions on its own copy of the mapping); ``spawn``-ed ones open their own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import lmdb

from ..atomic import dir_temp, replace_dir

IMAGE_KEY = "image-%09d"
LABEL_KEY = "label-%09d"
COUNT_KEY = b"num-samples"

class _Handle:
    """One open environment, the transient readers using it, and whether a data set holds
    it open beyond them."""

    def __init__(self, env: lmdb.Environment):
        self.env, self.readers, self.pinned = env, 0, False


_ENVS: dict[tuple[int, int], _Handle] = {}
_LOCK = threading.Lock()


def _identity(path: str | os.PathLike) -> tuple[int, int]:
    try:
        st = os.stat(Path(path) / "data.mdb")
    except FileNotFoundError:
        raise ValueError(f"{path}: not an LMDB data set (no data.mdb)") from None
    return st.st_dev, st.st_ino


def _open(path: str | os.PathLike) -> lmdb.Environment:
    return lmdb.open(str(path), readonly=True, lock=False, readahead=False, meminit=False,
                     max_readers=512)


def _close_stale() -> None:
    """Close the handles (no reader inside) whose data file is no longer the one at their
    path: the data set was deleted or replaced since. Caller holds ``_LOCK``."""
    for key, h in list(_ENVS.items()):
        try:
            current = _identity(h.env.path())
        except ValueError:
            current = None
        if current != key and h.readers == 0:
            del _ENVS[key]
            h.env.close()


def _handle(path: str | os.PathLike) -> tuple[tuple[int, int], _Handle]:
    key = _identity(path)  # outside the lock: a stat, not a shared-state read
    with _LOCK:
        h = _ENVS.get(key)
        if h is None:
            try:
                env = _open(path)
            except lmdb.Error as e:
                # py-lmdb also keys on lock.mdb, which our lock-free handles never hold
                # open: a data set replaced by copying (rmtree + copytree) can get the old
                # lock file's inode number back and look "already open" while a handle on
                # the replaced files lives. Such stale handles give way to the new files.
                if "already open" not in str(e):
                    raise
                _close_stale()
                env = _open(path)
            h = _ENVS[key] = _Handle(env)
        return key, h


def _drop_if_unused(key: tuple[int, int], h: _Handle) -> None:
    if h.readers == 0 and not h.pinned and _ENVS.get(key) is h:
        del _ENVS[key]
        h.env.close()


def open_env(path: str | os.PathLike) -> lmdb.Environment:
    """The process's shared read-only handle on the LMDB at ``path``, kept open until
    :func:`close_env` (what a data set read many times holds; see the module docstring).

    Raises:
        ValueError: ``path`` holds no LMDB data file.
        lmdb.Error: the file is not a readable LMDB.
    """
    _, h = _handle(path)
    h.pinned = True
    return h.env


@contextlib.contextmanager
def reading(path: str | os.PathLike) -> Iterator[lmdb.Environment]:
    """The shared handle for the duration of the block; closed afterwards unless a data set
    (:func:`open_env`) or another reader still uses it, so a one-off read leaves nothing
    open."""
    key, h = _handle(path)
    with _LOCK:
        h.readers += 1
    try:
        yield h.env
    finally:
        with _LOCK:
            h.readers -= 1
            _drop_if_unused(key, h)


def close_env(path: str | os.PathLike) -> None:
    """Release the process's handle on the LMDB at ``path`` (also one whose files were
    replaced or deleted since); readers still inside :func:`reading` keep it until they end.
    """
    real = os.path.realpath(path)
    with _LOCK:
        for key, h in list(_ENVS.items()):
            if os.path.realpath(h.env.path()) == real:
                h.pinned = False
                _drop_if_unused(key, h)


def read_records(path: str | os.PathLike) -> Iterator[tuple[int, bytes | None, bytes | None]]:
    """``(index, image bytes, label bytes)`` for indices 1 .. ``num-samples``, None where a
    key is missing. One short read transaction per record, so a long scan pins no old pages.
    """
    with reading(path) as env:
        for i in range(1, read_count(path) + 1):
            with env.begin() as txn:
                yield i, txn.get((IMAGE_KEY % i).encode()), txn.get((LABEL_KEY % i).encode())


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
    map grows as needed; missing parent folders are made. Returns the number of samples
    written.

    >>> n = write_lmdb([(png_bytes, "hello")], "train.lmdb")  # doctest: +SKIP
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} already exists (pass overwrite=True to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = dir_temp(out)
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
    close_env(out)  # this process's readers of the old data set move to the new one
    replace_dir(tmp, out)
    return count


def read_count(path: str | os.PathLike) -> int:
    """Number of samples recorded in an LMDB data set (raises if ``num-samples`` is missing)."""
    with reading(path) as env, env.begin() as txn:
        raw = txn.get(COUNT_KEY)
    if raw is None:
        raise ValueError(f"{path}: not a complete LMDB data set (no 'num-samples' key)")
    return int(raw)
