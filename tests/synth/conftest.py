"""Shared fixtures for the synthetic-data tests: the shipped charset, one sampler and the
installed fonts (font-dependent tests skip when no CJK face is installed)."""

from __future__ import annotations

import pytest

from duguang_ocr.synth import corpus, corpus_build
from duguang_ocr.synth.charset import load_charset
from duguang_ocr.synth.fonts import discover_fonts

NO_CJK_FONT = ("no CJK font installed (run scripts/install_fonts.sh: fonts-wqy-microhei, "
               "fonts-arphic-ukai, ...)")


@pytest.fixture(scope="session")
def charset() -> list[str]:
    return load_charset()


@pytest.fixture(scope="session")
def sampler() -> corpus.TextSampler:
    return corpus.TextSampler(seed=0)


@pytest.fixture(scope="session")
def fonts():
    """Every installed face, probed for the shipped charset; skips without a CJK face."""
    fs = discover_fonts()
    if not fs.cjk:
        pytest.skip(NO_CJK_FONT)
    return fs


@pytest.fixture(scope="session")
def cjk_face(fonts):
    """A CJK face covering the whole charset's hanzi (WenQuanYi Micro Hei when installed)."""
    prefer = [f for f in fonts.cjk if f.family == corpus_build.REFERENCE_CJK_FAMILY]
    return (prefer or sorted(fonts.cjk, key=lambda f: -len(f.coverage)))[0]


@pytest.fixture(scope="session")
def latin_face(fonts):
    """A Latin-only face (no hanzi), DejaVu Sans Book when installed."""
    if not fonts.latin:
        pytest.skip("no Latin-only font installed (fonts-dejavu-core)")
    prefer = [f for f in fonts.latin if f.family == "DejaVu Sans" and f.style == "Book"]
    return (prefer or list(fonts.latin))[0]
