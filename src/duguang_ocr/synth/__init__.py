"""Synthetic text-line generator (Chinese + English) for training recognizers.

Text comes from ``TextSampler`` (words, numbers, dates, codes, names, ... restricted to the
charset in ``data/charset.txt``), fonts from ``discover_fonts`` (installed fonts with their
probed coverage), pixels from ``render_line``; ``make_synth_lmdb`` writes data sets.
Rendering needs only numpy, Pillow and OpenCV; jieba and faker (extra ``synth``) are needed
only to rebuild the files in ``data/``.

    from duguang_ocr.synth import make_synth_lmdb
    make_synth_lmdb("train.lmdb", n=100_000, seed=0, workers=8, max_width_ratio=300 / 32)
"""

from .charset import load_charset
from .corpus import TextSampler
from .corpus_build import build_charset
from .fonts import FontFace, FontSet, discover_fonts
from .make import LineGenerator, iter_synth, make_synth_lmdb
from .render import LineTooWide, RenderConfig, render_line

__all__ = [
    "FontFace",
    "FontSet",
    "LineGenerator",
    "LineTooWide",
    "RenderConfig",
    "TextSampler",
    "build_charset",
    "discover_fonts",
    "iter_synth",
    "load_charset",
    "make_synth_lmdb",
    "render_line",
]
