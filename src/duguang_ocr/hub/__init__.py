"""Where model directories come from: the embedded default, a local dir, or ModelScope.

:func:`resolve` is the single resolution function, in this order:

1. ``None`` or ``"default"``: the model shipped inside the package (no network).
2. An existing local directory.
3. An alias (``general``, ``handwritten``, ``scene``, ``document``, ``licenseplate``,
   ``crnn``) or a ModelScope id (``damo/...``, ``iic/...``): the cache
   (``~/.cache/duguang_ocr`` or ``$DUGUANG_OCR_CACHE``), downloading what is missing unless
   ``DUGUANG_OCR_OFFLINE=1``.
"""

from __future__ import annotations

import os
from pathlib import Path

from .aliases import ALIASES, resolve_model_id

DEFAULT_MODEL_DIR = Path(__file__).parent / "default"


def resolve(
    name_or_dir: str | os.PathLike | None = None,
    *,
    revision: str = "master",
    cache_dir: str | os.PathLike | None = None,
    endpoint: str | None = None,
    progress: bool | None = None,
) -> Path:
    """Return a local ModelScope-format directory for ``name_or_dir``.

    >>> resolve().name  # the embedded default model
    'default'
    """
    if name_or_dir is None or str(name_or_dir) == "default":
        if not (DEFAULT_MODEL_DIR / "configuration.json").is_file():
            raise FileNotFoundError(
                f"the embedded default model is missing from {DEFAULT_MODEL_DIR}; "
                "reinstall duguang-ocr"
            )
        return DEFAULT_MODEL_DIR
    path = Path(name_or_dir).expanduser()
    if path.is_dir():
        return path
    model_id = resolve_model_id(str(name_or_dir))
    if model_id is None:
        raise ValueError(
            f"{str(name_or_dir)!r} is neither a local model directory nor a known model "
            f"(aliases: {', '.join(sorted(ALIASES))}; or a ModelScope id like "
            "'damo/cv_convnextTiny_ocr-recognition-general_damo')"
        )
    from .download import snapshot_download

    return snapshot_download(
        model_id, revision=revision, cache_dir=cache_dir, endpoint=endpoint, progress=progress
    )
