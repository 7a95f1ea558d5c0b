"""Local cache layout, offline switch and file digests.

Every file that lands in the cache is written through :func:`duguang_ocr.atomic.atomic_path`,
so a reader (or a later run) sees either the previous content or the complete new content,
never a half-written file. That guarantee is what lets
:func:`duguang_ocr.hub.download.snapshot_download` trust that a file present at its final
name is whole.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

CACHE_ENV = "DUGUANG_OCR_CACHE"
OFFLINE_ENV = "DUGUANG_OCR_OFFLINE"
_TRUTHY = frozenset({"1", "true", "yes", "on"})


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the cache root (models, the font index), creating it if needed.

    Precedence is argument, then ``$DUGUANG_OCR_CACHE``, then ``$XDG_CACHE_HOME/duguang_ocr``,
    then ``~/.cache/duguang_ocr``, so a caller can pin a directory for one call while
    deployments configure it once via the environment.

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
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path("~") / ".cache") / "duguang_ocr"
    root = root.expanduser().absolute()
    root.mkdir(parents=True, exist_ok=True)
    return root


def is_offline() -> bool:
    """Whether ``$DUGUANG_OCR_OFFLINE`` forbids network access.

    Air-gapped and CI machines set this so a missing model fails fast with an actionable
    message instead of hanging on connection timeouts.
    """
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in _TRUTHY


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks so multi-hundred-MB checkpoints stay cheap."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()
