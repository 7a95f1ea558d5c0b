"""Find installed fonts, learn which characters each can draw, and pick one per text line.

A font that lacks a glyph draws a box ("tofu") or nothing, and a training line whose label
says "的" over a box teaches the model to hallucinate. So every face is probed once for the
charset symbols it really covers and a line is only ever drawn with a face that covers all
of its characters. Coverage comes from the font's cmap (fontTools, when installed) or from
Pillow by comparing each glyph's bitmap with the face's ``.notdef`` box; both also require a
visible glyph, so characters mapped to empty outlines do not count.

Fonts are searched in ``/usr/share/fonts`` (Debian packages: ``scripts/install_fonts.sh``),
``/usr/local/share/fonts`` and the directories listed in ``DUGUANG_OCR_FONTS``
(``os.pathsep``-separated). Results are cached per process and, keyed by file size and
mtime, on disk in the package's cache directory (:func:`~duguang_ocr.hub.cache.cache_dir`),
so worker processes start instantly.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import ImageFont, features

from ..atomic import atomic_write_text
from ..hub.cache import cache_dir
from .charset import load_charset

logger = logging.getLogger(__name__)

FONT_DIRS_ENV = "DUGUANG_OCR_FONTS"
SYSTEM_FONTS_ENV = "DUGUANG_OCR_SYSTEM_FONTS"
SYSTEM_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")
FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")
CJK_PROBE = "的一国"  # a face that draws these is treated as a CJK (Chinese) font
_TEXT_FONT_PROBE = frozenset("0aA" + CJK_PROBE)  # probed for every face, whatever the charset

# Faces that are not text fonts or only duplicate another face's glyphs for other regions
# (AR PL U* TW/HK/MBE are the same design as the CN face with Traditional glyph forms).
# URW's D050000L is Zapf Dingbats under a code name: it maps ASCII code points to ornaments,
# so it passes the "0aA" probe and would draw a label's letters as pictures; Linux Biolinum
# Keyboard draws each letter inside a key cap.
_SKIP_FAMILY_WORDS = ("Math", "Symbol", "Dingbat", "Emoji", "Icons", "D050000L", "Keyboard")
_REGIONAL_SUFFIXES = (" TW", " HK", " TW MBE", " JP", " KR")

CATEGORIES = (
    "cjk-sans", "cjk-serif", "cjk-kai",
    "latin-sans", "latin-serif", "latin-mono", "latin-hand",
)
# How often each style is drawn when several cover a text. CJK text can only use cjk-*;
# Latin-only text can use every category (CJK fonts carry their own Latin glyphs).
DEFAULT_CATEGORY_WEIGHTS: Mapping[str, float] = {
    "cjk-sans": 0.45, "cjk-serif": 0.3, "cjk-kai": 0.25,
    "latin-sans": 0.3, "latin-serif": 0.25, "latin-mono": 0.12, "latin-hand": 0.08,
}
LATIN_TEXT_CJK_SHARE = 0.25  # share of Latin-only lines drawn with a CJK font's Latin glyphs


@dataclass(frozen=True)
class FontFace:
    """One face of a font file and the symbols it can draw.

    Attributes:
        path: font file (.ttf/.otf/.ttc/.otc).
        index: face index inside a collection (0 for single-face files).
        family: family name reported by the font.
        style: style name ("Regular", "Bold Italic", ...).
        category: one of ``CATEGORIES``.
        coverage: the probed symbols (a subset of the charset it was probed with) it draws.
    """

    path: str
    index: int
    family: str
    style: str
    category: str
    coverage: frozenset[str] = field(repr=False)

    @property
    def is_cjk(self) -> bool:
        return self.category.startswith("cjk")

    def covers(self, text: str) -> bool:
        """True if every character of ``text`` is drawable (spaces always are)."""
        cov = self.coverage
        return all(ch in cov or ch == " " for ch in text)

    def load(self, size: int) -> ImageFont.FreeTypeFont:
        """The face at ``size`` px (cached per process)."""
        return load_font(self.path, self.index, size)


@lru_cache(maxsize=512)
def load_font(path: str, index: int, size: int, shaped: bool = False) -> ImageFont.FreeTypeFont:
    """``ImageFont.truetype`` with a per-process cache: loading a 20 MB CJK collection for
    every line would cost more than drawing it. The basic layout engine by default (the
    same pixels on every Pillow build); ``shaped`` asks for HarfBuzz shaping (raqm) where
    Pillow has it: kerning and ligatures (fi, fl) as typeset documents and browsers draw
    them, which the basic engine never shows."""
    engine = ImageFont.Layout.BASIC
    if shaped and features.check("raqm"):
        engine = ImageFont.Layout.RAQM
    return ImageFont.truetype(path, size, index=index, layout_engine=engine)


def font_dirs(extra: Iterable[str | os.PathLike] | None = None) -> list[Path]:
    """Directories searched for fonts: ``extra``, then ``$DUGUANG_OCR_FONTS``, then the
    system font directories (only those that exist) unless ``$DUGUANG_OCR_SYSTEM_FONTS`` is
    ``0``: a training machine may hold fonts that a held-out check set uses."""
    dirs: list[Path] = [Path(d) for d in (extra or [])]
    env = os.environ.get(FONT_DIRS_ENV, "")
    dirs += [Path(d) for d in env.split(os.pathsep) if d]
    if os.environ.get(SYSTEM_FONTS_ENV, "1") != "0":
        dirs += [Path(d) for d in SYSTEM_FONT_DIRS]
    seen: set[Path] = set()
    out = []
    for d in dirs:
        d = d.expanduser()
        if d.is_dir() and d.resolve() not in seen:
            seen.add(d.resolve())
            out.append(d)
    return out


def find_font_files(dirs: Iterable[str | os.PathLike]) -> list[Path]:
    """All font files below ``dirs``, sorted so discovery order (and hence which face a
    seed picks) does not depend on the file system's listing order."""
    files: set[Path] = set()
    for d in dirs:
        for root, _, names in os.walk(d, followlinks=True):
            for name in names:
                if name.lower().endswith(FONT_SUFFIXES):
                    files.add(Path(root, name).resolve())
    return sorted(files)


def face_names(path: Path) -> list[tuple[int, str, str]]:
    """``(index, family, style)`` of every face in a font file (collections have several)."""
    faces = []
    index = 0
    while True:
        try:
            font = ImageFont.truetype(str(path), 16, index=index)
        except OSError:
            if index == 0:
                logger.debug("cannot open font %s", path)
            break
        family, style = font.getname()
        faces.append((index, family or path.stem, style or "Regular"))
        if path.suffix.lower() not in (".ttc", ".otc"):
            break
        index += 1
    return faces


def _probe_pillow(path: str, index: int, chars: Sequence[str]) -> set[str]:
    """Characters whose glyph is visible and differs from the face's ``.notdef`` box.

    Probed at 48 px, large enough that a real glyph (say 口) never coincides with the box.
    """
    font = ImageFont.truetype(path, 48, index=index, layout_engine=ImageFont.Layout.BASIC)
    notdef = font.getmask("\U0010fffd")
    notdef_key = (notdef.size, bytes(notdef))
    out = set()
    for ch in chars:
        if ch.isspace():
            if font.getlength(ch) > 0:
                out.add(ch)
            continue
        mask = font.getmask(ch)
        if mask.getbbox() is not None and (mask.size, bytes(mask)) != notdef_key:
            out.add(ch)
    return out


def _probe_cmap(path: str, index: int, chars: Sequence[str]) -> set[str] | None:
    """Characters in the face's cmap, or None when fontTools is not installed."""
    try:
        from fontTools.ttLib import TTFont
    except ImportError:
        return None
    try:
        font = TTFont(path, fontNumber=index, lazy=True)
        cmap = font.getBestCmap() or {}
        font.close()
    except Exception as e:  # a font fontTools cannot parse: let Pillow decide alone
        logger.debug("fontTools cannot read %s#%d: %s", path, index, e)
        return None
    return {ch for ch in chars if ord(ch) in cmap}


def probe_coverage(path: str | os.PathLike, index: int, chars: Iterable[str]) -> frozenset[str]:
    """The subset of ``chars`` (single characters) that face ``index`` of ``path`` draws.

    A Latin face that cannot draw ``CJK_PROBE`` is not probed for CJK ideographs at all
    (they are most of the charset and none would be found), which keeps discovery fast.
    """
    path = str(path)
    chars = sorted(set(chars))
    if not _probe_pillow(path, index, CJK_PROBE) >= set(CJK_PROBE):
        chars = [c for c in chars if not "\u3400" <= c <= "\u9fff"]
    found = _probe_pillow(path, index, chars)
    in_cmap = _probe_cmap(path, index, chars)
    if in_cmap is not None:
        # cmap is exact about presence; the bitmap test rejects empty or .notdef-like glyphs.
        found &= in_cmap | {c for c in chars if c.isspace()}
    return frozenset(found)


def classify(family: str, style: str, is_cjk: bool) -> str:
    """Category of a face from its names: CJK sans/serif(ming, song)/kai, Latin
    sans/serif/mono/handwriting-like."""
    name = f"{family} {style}".lower()
    if is_cjk:
        if "kai" in name or "kaiti" in name:
            return "cjk-kai"
        # HanaMin (Hanazono Mincho) and BabelStone Han are Ming/Song designs.
        if any(w in name for w in ("ming", "song", "sung", "serif", "mincho", "hanamin",
                                   "babelstone han")):
            return "cjk-serif"
        return "cjk-sans"
    if any(w in name for w in ("comic", "hand", "script", "marker", "brush", "chancery",
                               "z003", "lobster", "kristi")):
        return "latin-hand"
    if "mono" in name or "courier" in name or "code" in name:
        return "latin-mono"
    # URW's clones go by code names: C059 = Century Schoolbook, P052 = Palatino.
    if "serif" in name.replace("sans serif", "").replace("sans-serif", "") or any(
        w in name for w in ("times", "roman", "georgia", "garamond", "bookman", "libertine",
                            "c059", "p052", "century", "palatino", "slab")
    ):
        return "latin-serif"
    return "latin-sans"


def _cache_key(files: Sequence[Path], charset: Sequence[str]) -> str:
    h = hashlib.sha256()
    h.update(b"v5\n")  # v5: HanaMin, BabelStone Han: Song; Lobster, Kristi: hand; slabs
    h.update("\n".join(sorted(set(charset))).encode("utf-8"))
    for f in files:
        st = f.stat()
        h.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


@dataclass(frozen=True)
class FontSet:
    """The usable faces, in a fixed order, with a coverage-aware picker.

    Pickles cheaply (paths and coverage sets), so a parent process can discover once and
    hand the set to its worker processes.
    """

    faces: tuple[FontFace, ...]

    def __len__(self) -> int:
        return len(self.faces)

    @property
    def cjk(self) -> tuple[FontFace, ...]:
        return tuple(f for f in self.faces if f.is_cjk)

    @property
    def latin(self) -> tuple[FontFace, ...]:
        return tuple(f for f in self.faces if not f.is_cjk)

    def covering(self, text: str) -> list[FontFace]:
        """Faces that can draw every character of ``text``."""
        return [f for f in self.faces if f.covers(text)]

    def coverage(self) -> frozenset[str]:
        """Symbols at least one face can draw."""
        out: set[str] = set()
        for f in self.faces:
            out |= f.coverage
        return frozenset(out)

    def pick(
        self,
        text: str,
        rng: np.random.Generator,
        weights: Mapping[str, float] | None = None,
        latin_cjk_share: float = LATIN_TEXT_CJK_SHARE,
    ) -> FontFace | None:
        """A random face that covers ``text``, or None if no face does (resample the text).

        A style category is drawn first (``weights``, renormalised over the categories that
        have a covering face), then a family within it and then one of its faces, so a family
        with many weights (DejaVu has 21 faces) does not crowd out one with few.
        Latin-only text goes to a CJK face with probability ``latin_cjk_share``: CJK
        documents set their digits and Latin words in the CJK font.
        """
        weights = DEFAULT_CATEGORY_WEIGHTS if weights is None else weights
        candidates = self.covering(text)
        if not candidates:
            return None
        if not any(f.is_cjk for f in candidates) or not any(not f.is_cjk for f in candidates):
            pool = candidates
        elif rng.random() < latin_cjk_share:
            pool = [f for f in candidates if f.is_cjk]
        else:
            pool = [f for f in candidates if not f.is_cjk]
        by_cat: dict[str, list[FontFace]] = {}
        for f in pool:
            by_cat.setdefault(f.category, []).append(f)
        cats = sorted(by_cat)
        w = np.array([max(0.0, float(weights.get(c, 0.0))) for c in cats])
        if w.sum() <= 0:
            w = np.ones(len(cats))
        cat = cats[int(rng.choice(len(cats), p=w / w.sum()))]
        # Then a family, then one of its faces: Lato's 18 weights must not crowd out the
        # one face of Carlito any more than DejaVu's did a single Kai face.
        families = sorted({f.family for f in by_cat[cat]})
        family = families[int(rng.integers(len(families)))]
        group = [f for f in by_cat[cat] if f.family == family]
        return group[int(rng.integers(len(group)))]

    def subset(self, *, cjk: bool | None = None, categories: Iterable[str] | None = None,
               families: Iterable[str] | None = None) -> FontSet:
        """A FontSet restricted by CJK-ness, categories and/or family names."""
        faces = self.faces
        if cjk is not None:
            faces = tuple(f for f in faces if f.is_cjk == cjk)
        if categories is not None:
            cats = set(categories)
            faces = tuple(f for f in faces if f.category in cats)
        if families is not None:
            fams = set(families)
            faces = tuple(f for f in faces if f.family in fams)
        return FontSet(faces)


def _font_cache(key: str) -> Path | None:
    """The coverage cache file in the package's cache directory, or None where that
    directory cannot be created (a read-only home): discovery then just runs uncached."""
    try:
        return cache_dir() / f"fonts-{key}.json"
    except OSError as e:
        logger.debug("no font cache: %s", e)
        return None


def _discover(files: Sequence[Path], charset: Sequence[str], include_regional: bool,
              use_disk_cache: bool) -> FontSet:
    key = _cache_key(files, charset) + ("-r" if include_regional else "")
    cache_file = _font_cache(key) if use_disk_cache else None
    if cache_file is not None and cache_file.is_file():
        try:
            raw = json.loads(cache_file.read_text(encoding="utf-8"))
            return FontSet(tuple(
                FontFace(r["path"], r["index"], r["family"], r["style"], r["category"],
                         frozenset(r["coverage"]))
                for r in raw
            ))
        except (OSError, ValueError, KeyError, TypeError):
            logger.debug("ignoring unreadable font cache %s", cache_file)
    faces = []
    wanted = frozenset(charset)
    for path in files:
        for index, family, style in face_names(path):
            if any(w.lower() in family.lower() for w in _SKIP_FAMILY_WORDS):
                continue
            if not include_regional and family.endswith(_REGIONAL_SUFFIXES):
                continue
            try:
                # The text-font and CJK tests probe their own characters, so they work
                # for a charset without them (e.g. hanzi only); coverage keeps the charset's.
                probed = probe_coverage(path, index, wanted | _TEXT_FONT_PROBE)
            except OSError as e:
                logger.debug("cannot probe %s#%d: %s", path, index, e)
                continue
            if not set("0aA") <= probed:  # symbol or pictograph fonts: not for text lines
                continue
            is_cjk = set(CJK_PROBE) <= probed
            faces.append(FontFace(str(path), index, family, style,
                                  classify(family, style, is_cjk), probed & wanted))
    result = FontSet(tuple(faces))
    if cache_file is not None:
        try:
            atomic_write_text(cache_file, json.dumps([
                {"path": f.path, "index": f.index, "family": f.family, "style": f.style,
                 "category": f.category, "coverage": "".join(sorted(f.coverage))}
                for f in faces
            ], ensure_ascii=False))
        except OSError as e:
            logger.debug("cannot write font cache %s: %s", cache_file, e)
    return result


_MEMO: dict[tuple, FontSet] = {}


def discover_fonts(
    charset: Sequence[str] | None = None,
    dirs: Iterable[str | os.PathLike] | None = None,
    *,
    include_regional: bool = False,
    use_disk_cache: bool = True,
) -> FontSet:
    """Every usable installed face with its coverage of ``charset``.

    Args:
        charset: symbols to probe (default: the shipped synth charset).
        dirs: extra directories searched before ``$DUGUANG_OCR_FONTS`` and the system ones.
        include_regional: keep the TW/HK variants of CJK collections (off: for Simplified
            Chinese they only repeat the CN face with different glyph forms).
        use_disk_cache: read/write the coverage cache in
            :func:`~duguang_ocr.hub.cache.cache_dir`.

    Faces that cannot draw ``0``, ``a`` and ``A`` (symbol fonts) and math/emoji families
    are skipped. Results are memoised per process.
    """
    if charset is None:
        charset = load_charset()
    files = find_font_files(font_dirs(dirs))
    memo_key = (tuple(files), hashlib.sha256("\n".join(charset).encode()).hexdigest(),
                include_regional)
    if memo_key not in _MEMO:
        _MEMO[memo_key] = _discover(files, list(charset), include_regional, use_disk_cache)
    return _MEMO[memo_key]
