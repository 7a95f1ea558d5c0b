"""Known ModelScope DuGuang recognition checkpoints and the names users may call them by."""

from __future__ import annotations

#: Short names for the published DuGuang text-line recognizers.
ALIASES: dict[str, str] = {
    "general": "damo/cv_convnextTiny_ocr-recognition-general_damo",
    "handwritten": "damo/cv_convnextTiny_ocr-recognition-handwritten_damo",
    "scene": "damo/cv_convnextTiny_ocr-recognition-scene_damo",
    "document": "damo/cv_convnextTiny_ocr-recognition-document_damo",
    "licenseplate": "damo/cv_convnextTiny_ocr-recognition-licenseplate_damo",
    "crnn": "damo/cv_crnn_ocr-recognition-general_damo",
}

#: ModelScope namespaces that host DuGuang models. ``damo/*`` was renamed to ``iic/*``; the
#: hub still answers for both, so both are accepted verbatim.
NAMESPACES: tuple[str, ...] = ("damo", "iic")

#: The files a recognition checkpoint needs: model config, weights and the character table.
MODEL_FILES: tuple[str, ...] = ("configuration.json", "pytorch_model.pt", "vocab.txt")


def resolve_model_id(name: str) -> str | None:
    """Map a user-supplied model name to a ModelScope model id, or ``None``.

    Only aliases and ``damo/<name>`` / ``iic/<name>`` ids count as hub ids. Anything else
    (``./weights``, ``models/foo``, ``user/model``) returns ``None`` so the caller treats it as
    a local path; guessing that an arbitrary ``a/b`` is a hub id would turn a typo in a local
    path into a surprise network download.

    Args:
        name: an alias (``"general"``), a hub id (``"iic/cv_..."``) or anything else.

    Returns:
        The model id, unchanged for ``damo/``/``iic/`` ids, or ``None``.

    >>> resolve_model_id("crnn")
    'damo/cv_crnn_ocr-recognition-general_damo'
    >>> resolve_model_id("iic/cv_convnextTiny_ocr-recognition-general_damo")
    'iic/cv_convnextTiny_ocr-recognition-general_damo'
    >>> resolve_model_id("./my_model") is None
    True
    """
    if name in ALIASES:
        return ALIASES[name]
    namespace, sep, model = name.partition("/")
    if (
        sep
        and namespace in NAMESPACES
        and model
        and "/" not in model
        and "\\" not in model
        and model not in (".", "..")
    ):
        return name
    return None
