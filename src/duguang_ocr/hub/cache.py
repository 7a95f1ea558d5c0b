"""Local cache layout, offline switch and crash-safe file writes.

Every file that lands in the cache goes through :func:`atomic_path`, so a reader (or a later
run) sees either the previous content or the complete new content, never a half-written file.
That guarantee is what lets :func:`duguang_ocr.hub.download.snapshot_download` trust that a
file present at its final name is whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

CACHE_ENV = "DUGUANG_OCR_CACHE"
OFFLINE_ENV = "DUGUANG_OCR_OFFLINE"
_TRUTHY = frozenset({"1", "true", "yes", "on"})


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the cache root, creating it if needed.

    Precedence is argument, then ``$DUGUANG_OCR_CACHE``, then ``~/.cache/duguang_ocr``, so a
    caller can pin a directory for one call while deployments configure it once via the
    environment.

    Args:
        override: explicit cache directory; ``~`` is expanded.

    Returns:
        The absolute cache directory (it exists on return).
    """
    if override is not None:
        root = Path(override)
    elif os.environ.get(CACHE_ENV):
        root = Path(os.environ[CACHE_ENV])
    else:
        root = Path("~") / ".cache" / "duguang_ocr"
    root = root.expanduser().absolute()
    root.mkdir(parents=True, exist_ok=True)
    return root


def is_offline() -> bool:
    """Whether ``$DUGUANG_OCR_OFFLINE`` forbids network access.

    Air-gapped and CI machines set this so a missing model fails fast with an actionable
    message instead of hanging on connection timeouts.
    """
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in _TRUTHY


def _fsync_dir(directory: Path) -> None:
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


def temp_name(path: str | os.PathLike[str]) -> Path:
    """Return a fresh temporary sibling of ``path``: ``.{name}.tmp-{pid}-{random}``.

    The temp file lives in the same directory so the final :func:`os.replace` never crosses a
    filesystem (which would not be atomic). The pid lets a later run tell whether the writer
    is still alive before cleaning up; the random suffix keeps threads of one process apart.
    """
    path = Path(path)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path that replaces ``path`` only if the block succeeds.

    The caller writes the temp file however it likes (streaming, another library, ...). On a
    clean exit the file is fsync'd and moved onto ``path`` with :func:`os.replace`; on any exception
    the temp file is removed and ``path`` is left untouched, so an interrupted write can never
    masquerade as a complete one.

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
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks so multi-hundred-MB checkpoints stay cheap."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()
