"""Crash-safe writes of files and directories, in one place.

A reader (or a later run) sees either the previous complete content or the new complete
content, never a half-written one: files are written to a temporary sibling, fsync'd and
moved into place with :func:`os.replace`; directories are built under ``NAME.tmp-<pid>`` and
swapped in by two renames (the old one aside as ``NAME.old-<pid>``, the new one in), so a
crash between them leaves the old one complete, which :func:`recover_dir` puts back.

Everything that must never be seen half-written goes through here: downloads and the model
cache, model directories, training states and checkpoints, LMDB data sets, ONNX exports,
logs rewritten in place and the font cache.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)


def temp_name(path: str | os.PathLike[str]) -> Path:
    """A fresh temporary sibling of ``path``: ``.{name}.tmp-{pid}-{random}``.

    In the same directory, so the final :func:`os.replace` never crosses a filesystem (which
    would not be atomic); the pid lets a later run tell whether the writer still lives
    (:func:`remove_stale_temps`); the random part keeps threads of one process apart.
    """
    path = Path(path)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Flush a directory entry so a completed rename survives a power loss (POSIX only)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        # Some filesystems (e.g. certain network mounts) refuse fsync on directories; the
        # rename itself is still atomic, only its durability is weaker.
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path that replaces ``path`` only if the block succeeds.

    The caller writes the temp file however it likes (streaming, another library, ...). On a
    clean exit the file is fsync'd and moved onto ``path``; on any exception the temp file is
    removed and ``path`` is left untouched, so an interrupted write can never masquerade as a
    complete one.

    Args:
        path: final destination; its parent directory is created if missing.

    Yields:
        The temporary path to write to (it does not exist yet).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`); returns ``path``.

    >>> import tempfile; d = tempfile.mkdtemp()
    >>> atomic_write_bytes(Path(d) / "a.bin", b"ok").read_bytes()
    b'ok'
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically; returns ``path``."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def pid_alive(pid: int) -> bool:
    """Best-effort check whether process ``pid`` still exists (POSIX; True elsewhere, so
    nothing of a possibly live writer is ever removed)."""
    if pid == os.getpid() or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: someone else's live process
        return True
    return True


def _pid_of(name: str, marker: str) -> int | None:
    """The writer pid in ``...{marker}{pid}[-...]``, or None."""
    text = name.rpartition(marker)[2].split("-", 1)[0]
    return int(text) if text.isdigit() else None


def remove_stale_temps(path: str | os.PathLike[str]) -> list[Path]:
    """Delete :func:`temp_name` files of ``path`` whose writer process is gone (a download
    or save killed mid-write); a live writer's temp file is left alone."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    removed = []
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.tmp-*"):
        pid = _pid_of(tmp.name, ".tmp-")
        if pid is not None and not pid_alive(pid):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            removed.append(tmp)
    return removed


def dir_temp(dst: str | os.PathLike[str]) -> Path:
    """Where a new version of directory ``dst`` is built: ``{name}.tmp-{pid}`` beside it."""
    dst = Path(dst)
    return dst.with_name(f"{dst.name}.tmp-{os.getpid()}")


def replace_dir(tmp: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Move the complete directory ``tmp`` onto ``dst``: ``dst`` -> ``{name}.old-{pid}``,
    ``tmp`` -> ``dst``, then the old one is deleted. Never deletes before the new one is in
    place; :func:`recover_dir` finishes a swap a crash interrupted."""
    tmp, dst = Path(tmp), Path(dst)
    old = dst.with_name(f"{dst.name}.old-{os.getpid()}")
    if dst.exists():
        os.replace(dst, old)
    os.replace(tmp, dst)
    fsync_dir(dst.parent)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(dst: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield :func:`dir_temp` (absent) to build the new ``dst`` in; swapped in by
    :func:`replace_dir` if the block succeeds, removed if it fails."""
    tmp = dir_temp(dst)
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_dir(tmp, dst)


def recover_dir(dst: str | os.PathLike[str], *, live_writers: bool = True) -> list[Path]:
    """Undo what crashed directory writes of ``dst`` left behind; returns what it moved or
    removed.

    ``{name}.old-<pid>`` (the previous version, set aside by a writer killed mid-swap) is put
    back when ``dst`` is missing (the newest, if several), else deleted; ``{name}.tmp-<pid>``
    (a half-built new version) is deleted. With ``live_writers=True`` the leftovers of a
    process that is still running (perhaps writing ``dst`` right now) are kept; the sole
    owner of ``dst`` (a training run in its work directory) passes False.
    """
    dst = Path(dst)
    if not dst.parent.is_dir():
        return []

    def stale(marker: str) -> list[Path]:
        found = [p for p in dst.parent.glob(f"{glob.escape(dst.name)}{marker}*") if p.is_dir()]
        if live_writers:
            found = [p for p in found if (pid := _pid_of(p.name, marker)) is not None
                     and not pid_alive(pid)]
        return sorted(found, key=lambda p: p.stat().st_mtime)

    olds, done = stale(".old-"), []
    if olds and not dst.exists():
        logger.warning("restoring %s from %s (interrupted swap)", dst, olds[-1].name)
        os.replace(olds[-1], dst)
        done.append(olds.pop())
    for leftover in olds + stale(".tmp-"):
        logger.info("removing %s, left by an interrupted write", leftover)
        shutil.rmtree(leftover, ignore_errors=True)
        done.append(leftover)
    return done


__all__ = ["atomic_dir", "atomic_path", "atomic_write_bytes", "atomic_write_text", "dir_temp",
           "fsync_dir", "pid_alive", "recover_dir", "remove_stale_temps", "replace_dir",
           "temp_name"]
