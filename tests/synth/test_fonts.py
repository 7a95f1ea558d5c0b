"""Font discovery, coverage probing and the coverage-aware face picker."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from duguang_ocr.synth import fonts as F
from duguang_ocr.synth.fonts import FontFace, FontSet, classify, discover_fonts, probe_coverage

HANZI = "中文的一国读光识别"


def test_discovery_finds_cjk_and_latin_faces(fonts):
    assert fonts.cjk and fonts.latin
    cats = {f.category for f in fonts.faces}
    assert cats <= set(F.CATEGORIES)
    assert any(c.startswith("cjk") for c in cats) and any(c.startswith("latin") for c in cats)
    # sorted, de-duplicated files: the face order (hence which face a seed picks) is fixed
    keys = [(f.path, f.index) for f in fonts.faces]
    assert len(set(keys)) == len(keys)
    assert [k[0] for k in keys] == sorted((k[0] for k in keys), key=Path)
    # every face is a text face and draws what it claims only from the charset
    for f in fonts.faces:
        assert set("0aA") <= f.coverage, f
        assert Path(f.path).is_file()


def test_cjk_face_coverage(cjk_face, charset):
    assert cjk_face.is_cjk
    assert cjk_face.covers("中") and cjk_face.covers("读光 OCR 2024，你好！")
    hanzi = [c for c in charset if "\u4e00" <= c <= "\u9fff"]
    assert sum(c in cjk_face.coverage for c in hanzi) / len(hanzi) > 0.99
    assert not cjk_face.covers("\U0001f600")  # emoji: never in the charset


def test_latin_face_coverage(latin_face):
    assert not latin_face.is_cjk
    assert latin_face.covers("Hello, World 0123!") and latin_face.covers(" ")
    assert not latin_face.covers("中")
    assert not any("\u4e00" <= c <= "\u9fff" for c in latin_face.coverage)


def test_probe_coverage_on_files(cjk_face, latin_face):
    assert probe_coverage(cjk_face.path, cjk_face.index, "中A") == frozenset("中A")
    assert probe_coverage(latin_face.path, latin_face.index, "中A") == frozenset("A")
    # a character beyond every font's cmap is never reported
    assert probe_coverage(cjk_face.path, cjk_face.index, "\U0010fffd") == frozenset()


def test_covering_and_pick(fonts, cjk_face, latin_face):
    rng = np.random.default_rng(0)
    zh = "发票号码：12345"
    assert cjk_face in fonts.covering(zh) and latin_face not in fonts.covering(zh)
    for _ in range(50):
        face = fonts.pick(zh, rng)
        assert face is not None and face.is_cjk and face.covers(zh)
    latin_picks = [fonts.pick("Invoice No. 12345", rng) for _ in range(400)]
    assert all(f is not None and f.covers("Invoice No. 12345") for f in latin_picks)
    share_cjk = sum(f.is_cjk for f in latin_picks) / len(latin_picks)
    assert 0.1 < share_cjk < 0.45  # LATIN_TEXT_CJK_SHARE = 0.25 of Latin lines in CJK faces
    assert len({f.category for f in latin_picks}) >= 3
    assert fonts.pick("\U0001f600", rng) is None


def test_pick_is_deterministic(fonts):
    a = [fonts.pick("Total: 42", np.random.default_rng([1, i])) for i in range(20)]
    b = [fonts.pick("Total: 42", np.random.default_rng([1, i])) for i in range(20)]
    assert a == b


def test_subset_and_pickle(fonts):
    cjk = fonts.subset(cjk=True)
    assert cjk.faces and all(f.is_cjk for f in cjk.faces)
    assert fonts.subset(categories=["latin-mono"]).faces == tuple(
        f for f in fonts.faces if f.category == "latin-mono")
    back = pickle.loads(pickle.dumps(fonts))
    assert back == fonts and back.coverage() == fonts.coverage()


def test_discovery_with_a_hanzi_only_charset(fonts):
    """The text-font and CJK tests do not depend on the charset holding 0/a/A or 的一国."""
    small = discover_fonts(list(HANZI), use_disk_cache=False)
    assert len(small) == len(fonts)
    assert small.cjk and all(f.coverage == frozenset(HANZI) for f in small.cjk)
    assert all(f.coverage == frozenset() for f in small.latin)
    assert [f.category for f in small.faces] == [f.category for f in fonts.faces]


def test_fonts_from_an_extra_directory(tmp_path, latin_face, monkeypatch):
    """DUGUANG_OCR_FONTS (and ``dirs``) add directories; symlinked files are followed."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "copy.ttf").symlink_to(latin_face.path)
    monkeypatch.setenv(F.FONT_DIRS_ENV, str(tmp_path))
    assert F.font_dirs()[0] == tmp_path
    files = F.find_font_files([tmp_path])
    assert files == [Path(latin_face.path).resolve()]  # the same file is found once
    monkeypatch.setenv(F.SYSTEM_FONTS_ENV, "0")  # only the named directories
    assert F.font_dirs() == [tmp_path]
    fs = discover_fonts(list("Aa0中"), dirs=[tmp_path], use_disk_cache=False)
    assert any(f.path == str(Path(latin_face.path).resolve()) for f in fs.faces)


def test_disk_cache_roundtrip(tmp_path, monkeypatch, latin_face):
    monkeypatch.setenv("DUGUANG_OCR_CACHE", str(tmp_path / "duguang_ocr"))
    files = [Path(latin_face.path)]
    a = F._discover(files, list("Aa0Zz中"), False, True)
    assert list((tmp_path / "duguang_ocr").glob("fonts-*.json"))
    b = F._discover(files, list("Aa0Zz中"), False, True)  # read back from the cache
    assert a == b and a.faces[0].coverage == frozenset("Aa0Zz")


@pytest.mark.parametrize("family, style, is_cjk, category", [
    ("AR PL UKai CN", "Book", True, "cjk-kai"),
    ("AR PL UMing CN", "Light", True, "cjk-serif"),
    ("Noto Serif CJK SC", "Regular", True, "cjk-serif"),
    ("WenQuanYi Micro Hei", "Regular", True, "cjk-sans"),
    ("DejaVu Sans Mono", "Book", False, "latin-mono"),
    ("DejaVu Serif", "Book", False, "latin-serif"),
    ("Liberation Sans", "Regular", False, "latin-sans"),
    ("Comic Neue", "Regular", False, "latin-hand"),
    ("Nimbus Roman", "Regular", False, "latin-serif"),
    ("AR PL SungtiL GB", "Regular", True, "cjk-serif"),
    ("AR PL KaitiM GB", "Regular", True, "cjk-kai"),
    ("C059", "Bold", False, "latin-serif"),
    ("P052", "Italic", False, "latin-serif"),
    ("URW Bookman", "Light", False, "latin-serif"),
    ("Linux Libertine O", "Regular", False, "latin-serif"),
    ("Linux Libertine Mono O", "Mono", False, "latin-mono"),
    ("Linux Biolinum O", "Regular", False, "latin-sans"),
    ("Z003", "Medium Italic", False, "latin-hand"),
    ("HanaMinA", "Regular", True, "cjk-serif"),
    ("BabelStone Han", "Regular", True, "cjk-serif"),
    ("Smiley Sans", "Oblique", True, "cjk-sans"),
    ("Roboto Slab", "Bold", False, "latin-serif"),
    ("Lobster Two", "Italic", False, "latin-hand"),
    ("Kristi", "Medium", False, "latin-hand"),
    ("Dancing Script", "Bold", False, "latin-hand"),
    ("League Spartan", "Black", False, "latin-sans"),
])
def test_classify(family, style, is_cjk, category):
    assert classify(family, style, is_cjk) == category


def _face(family: str, style: str = "Regular") -> FontFace:
    return FontFace(f"/f/{family}-{style}.ttf", 0, family, style, "latin-sans",
                    frozenset("abc"))


def test_pick_draws_a_family_before_a_face():
    """A family with many weights must not crowd out one with a single face."""
    many = [_face("Lato", f"W{i}") for i in range(18)]
    fs = FontSet(tuple(many + [_face("Carlito")]))
    rng = np.random.default_rng(0)
    picks = [fs.pick("abc", rng).family for _ in range(2000)]
    assert 0.4 < picks.count("Carlito") / len(picks) < 0.6
    assert len({f.style for f in (fs.pick("abc", rng) for _ in range(500))}) > 15


def test_code_named_ornament_and_keycap_fonts_are_skipped(fonts):
    """URW's D050000L (Zapf Dingbats) and Biolinum Keyboard cover "0aA" but draw ornaments
    and key caps; discovery must leave them out (scripts/install_fonts.sh installs both)."""
    files = [p for p in F.find_font_files(F.font_dirs()) if p.name.startswith(("D050000L", "LinBiolinum_K"))]
    if not files:
        pytest.skip("fonts-urw-base35 / fonts-linuxlibertine not installed")
    families = {f.family for f in fonts.faces}
    assert not any("D050000L" in f or "Keyboard" in f for f in families), families
    assert {"Nimbus Sans", "Linux Libertine O"} <= families  # their siblings stay


def test_empty_fontset():
    fs = FontSet(())
    assert len(fs) == 0 and fs.coverage() == frozenset()
    assert fs.pick("a", np.random.default_rng(0)) is None
