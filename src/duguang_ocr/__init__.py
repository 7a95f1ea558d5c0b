"""duguang_ocr: text-line OCR (Chinese and English) with ModelScope's DuGuang recognizers.

>>> from duguang_ocr import Recognizer
>>> rec = Recognizer()       # embedded default model, works offline
>>> rec("line.png")          # doctest: +SKIP

``Recognizer`` and ``RecognitionResult`` are imported on first use, so that
``import duguang_ocr.models`` (e.g. in data-loader workers) stays light.
"""

from .models import create_model, list_models
from .vocab import Vocab

__version__ = "0.1.0"

__all__ = ["RecognitionResult", "Recognizer", "Vocab", "__version__", "create_model", "list_models"]


def __getattr__(name: str):
    if name in ("Recognizer", "RecognitionResult"):
        from . import recognizer

        return getattr(recognizer, name)
    raise AttributeError(f"module 'duguang_ocr' has no attribute {name!r}")
