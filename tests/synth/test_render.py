"""render_line: image format, size limits, determinism and legibility."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from duguang_ocr.synth import LineTooWide, RenderConfig, render_line

TEXTS = ["读光文字识别", "Hello, World 2024", "发票号码：No.12345678", "一", "...", "i"]


def ink_mask(img: np.ndarray, thresh: float = 60.0) -> np.ndarray:
    """Pixels clearly darker than the (light, flat) background of a plain rendering."""
    gray = img.astype(np.float32).mean(axis=2)
    return gray < np.median(gray) - thresh


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("height", [32, 48])
def test_output_is_uint8_rgb_at_the_requested_height(cjk_face, text, height):
    for seed in range(8):
        img = render_line(text, cjk_face, np.random.default_rng([seed, height]), height=height)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
        assert img.shape[0] == height and img.shape[1] >= 1
        assert img.flags["C_CONTIGUOUS"]


def test_height_none_keeps_the_rendering_resolution(latin_face):
    cfg = RenderConfig.plain(font_size=(40, 40))
    img = render_line("Height", latin_face, np.random.default_rng(0), height=None, config=cfg)
    assert img.shape[0] > 40  # em + margins, not resized to 32


def test_font_path_and_index_work_like_a_face(cjk_face):
    # A bare path has no category, so the CJK emboldening share must not single it out.
    cfg = RenderConfig(cjk_bold_p=RenderConfig().bold_p)
    a = render_line("中文", cjk_face, np.random.default_rng(3), config=cfg)
    b = render_line("中文", cjk_face.path, np.random.default_rng(3), font_index=cjk_face.index,
                    config=cfg)
    assert np.array_equal(a, b)


def test_cjk_faces_are_emboldened_at_their_own_rate(cjk_face, latin_face):
    def ink(face, text, **kw):
        imgs = [render_line(text, face, np.random.default_rng(s), height=None,
                            config=RenderConfig.plain(font_size=(64, 64), **kw))
                for s in range(3)]
        return np.mean([ink_mask(img).sum() for img in imgs])  # ink area, whatever margins

    regular, bold = ink(cjk_face, "读光文字"), ink(cjk_face, "读光文字", cjk_bold_p=1.0)
    assert bold > 1.1 * regular  # one weight in the font, a heavier one drawn
    # Latin faces have real bold weights to pick: the CJK share leaves them alone.
    assert ink(latin_face, "Bold", cjk_bold_p=1.0) == ink(latin_face, "Bold")


def test_deterministic_for_a_seed(cjk_face, latin_face):
    for face, text in ((cjk_face, "读光 OCR 识别率 99.5%"), (latin_face, "Total: $1,234.50")):
        for seed in range(10):
            a = render_line(text, face, np.random.default_rng(seed))
            b = render_line(text, face, np.random.default_rng(seed))
            assert np.array_equal(a, b)
        outs = {render_line(text, face, np.random.default_rng(s)).tobytes() for s in range(10)}
        assert len(outs) == 10  # and different seeds give different images


def test_max_width_ratio(cjk_face):
    long_text = "这是一行很长的文字，用来检查宽度限制是否有效" * 2
    with pytest.raises(LineTooWide) as exc:
        render_line(long_text, cjk_face, np.random.default_rng(0), max_width_ratio=300 / 32)
    assert exc.value.ratio > exc.value.limit == pytest.approx(300 / 32)
    assert isinstance(exc.value, ValueError)
    widths = []
    for seed in range(40):
        try:
            img = render_line("读光识别 OCR", cjk_face, np.random.default_rng(seed),
                              max_width_ratio=4.0)
        except LineTooWide as e:
            assert e.ratio > 4.0
            continue
        assert img.shape[1] <= 4.0 * 32
        widths.append(img.shape[1])
    assert widths  # some fit, some do not: the limit is applied per rendering


def test_empty_text_and_bad_config_raise(latin_face):
    with pytest.raises(ValueError, match="empty"):
        render_line("", latin_face, np.random.default_rng(0))
    with pytest.raises(ValueError, match="probability"):
        RenderConfig(blur_p=1.5)
    with pytest.raises(ValueError, match="low <= high"):
        RenderConfig(font_size=(40, 30))


def test_plain_config_switches_every_effect_off():
    cfg = RenderConfig.plain()
    assert all(getattr(cfg, f.name) == 0.0 for f in dataclasses.fields(cfg)
               if f.name.endswith("_p"))
    assert cfg.background_weights == (1.0, 0.0, 0.0, 0.0)
    assert RenderConfig.plain(blur_p=0.5).blur_p == 0.5


@pytest.mark.parametrize("text, face", [
    ("读光文字识别系统", "cjk"), ("Hello World 2024", "latin"), ("合计：￥1,280.00元", "cjk"),
])
def test_plain_rendering_is_legible(text, face, cjk_face, latin_face):
    """Dark text on a light page, ink spanning the line, glyphs of the expected size."""
    face = cjk_face if face == "cjk" else latin_face
    for seed in range(5):
        img = render_line(text, face, np.random.default_rng(seed), config=RenderConfig.plain())
        h, w = img.shape[:2]
        gray = img.astype(np.float32).mean(axis=2)
        assert np.median(gray) > 170 and gray.min() < 90  # light background, dark ink
        ink = ink_mask(img)
        assert 0.03 < ink.mean() < 0.6  # neither blank nor a filled box
        cols, rows = np.flatnonzero(ink.any(axis=0)), np.flatnonzero(ink.any(axis=1))
        assert (cols[-1] - cols[0] + 1) / w > 0.75  # the text spans most of the width
        assert cols[0] > 0 and cols[-1] < w - 1  # with a margin: nothing cut off
        assert (rows[-1] - rows[0] + 1) / h > 0.45  # and most of the height
        # glyphs are separated by background: many ink/background transitions along the line
        profile = ink.any(axis=0).astype(np.int8)
        runs = int((np.diff(profile) == 1).sum()) + int(profile[0])
        assert runs >= len(text.replace(" ", "")) * 0.6


def test_plain_rendering_width_grows_with_the_text(cjk_face):
    cfg = RenderConfig.plain(font_size=(32, 32), margin_x=(0.1, 0.1), margin_y=(0.1, 0.1))
    w = [render_line("读" * n, cjk_face, np.random.default_rng(0), config=cfg).shape[1]
         for n in (2, 4, 8)]
    assert w[0] < w[1] < w[2]
    assert w[2] == pytest.approx(4 * w[0], rel=0.35)  # square glyphs: width ~ characters


def test_default_config_keeps_contrast(cjk_face):
    """Degradations vary the image but the text stays distinguishable from its background."""
    for seed in range(30):
        img = render_line("识别率", cjk_face, np.random.default_rng(seed))
        gray = img.astype(np.float32).mean(axis=2)
        assert np.percentile(gray, 98) - np.percentile(gray, 2) > 40, seed


@pytest.mark.parametrize("text", ["你好，", "是泰国、", "“引号开头", "chal-"])
def test_the_crop_hugs_the_ink_of_edge_punctuation(text, cjk_face):
    """Margins are measured from the ink, not from advance widths: a full-width comma's
    advance leaves ~2/3 em of blank after its ink, which real crops (cut by ink) never
    show; trained on that blank, the model dropped trailing commas of tight crops."""
    cfg = RenderConfig.plain(font_size=(32, 32), margin_x=(0.1, 0.1), margin_y=(0.1, 0.1))
    img = render_line(text, cjk_face, np.random.default_rng(0), config=cfg, height=None)
    cols = np.flatnonzero(ink_mask(img).any(axis=0))
    h = img.shape[0]
    # 0.1 x the box height of margin each side, a pixel or two of anti-aliasing aside.
    assert cols[0] <= 0.1 * h + 3 and img.shape[1] - 1 - cols[-1] <= 0.1 * h + 3


@pytest.mark.parametrize("text", ["charac-", "problems.", "rithms:"])
def test_flush_crops_end_at_the_ink(text, latin_face):
    """flush_x_p: one side cut at the ink, as page segmenters cut lines, so the model sees a
    trailing `-` or `.` touching the black canvas it is read on (en_print lost them)."""
    cfg = RenderConfig.plain(font_size=(32, 32), margin_x=(0.4, 0.4), margin_y=(0.1, 0.1),
                             flush_x_p=1.0)
    gaps = set()
    for seed in range(8):
        img = render_line(text, latin_face, np.random.default_rng(seed), config=cfg,
                          height=None)
        cols = np.flatnonzero(ink_mask(img).any(axis=0))
        left, right = cols[0], img.shape[1] - 1 - cols[-1]
        h = img.shape[0]
        assert min(left, right) <= 2  # flush, a pixel or two of anti-aliasing aside
        assert max(left, right) >= 0.4 * h - 3  # the other side keeps its margin
        gaps.add("left" if left <= 2 else "right")
    assert gaps == {"left", "right"}  # either side


def test_shaped_lines_draw_ligatures_where_pillow_has_raqm():
    """Typeset documents join fi/fl; the basic layout engine never does, so the model read
    UW3's "find" as "fnd". shaping_p lays lines out with HarfBuzz (raqm) when available."""
    from pathlib import Path

    from PIL import ImageFont, features

    from duguang_ocr.synth.fonts import load_font

    font = "/usr/share/fonts/opentype/linux-libertine/LinLibertine_R.otf"
    if not features.check("raqm") or not Path(font).is_file():
        pytest.skip("needs Pillow with raqm and fonts-linuxlibertine")
    assert load_font(font, 0, 40, shaped=True).layout_engine == ImageFont.Layout.RAQM
    assert load_font(font, 0, 40).layout_engine == ImageFont.Layout.BASIC
    cfg = RenderConfig.plain(font_size=(40, 40))
    shaped = render_line("fifi", font, np.random.default_rng(0), config=cfg.replace(shaping_p=1.0),
                         height=None)
    basic = render_line("fifi", font, np.random.default_rng(0), config=cfg, height=None)
    # The same seed and layout box, but the ligature glyph replaces f and i's own.
    assert shaped.shape == basic.shape and not np.array_equal(shaped, basic)
    again = render_line("fifi", font, np.random.default_rng(0), config=cfg, height=None)
    assert np.array_equal(basic, again)  # (so the difference is the shaping, not chance)


def test_tight_crops_clip_edge_letters_but_never_punctuation_or_hanzi(cjk_face, latin_face):
    """IC15's detector boxes often clip the last letter (MONACO read MONACC): tight_x_p cuts
    a sliver off an edge letter or digit; a comma or hanzi, which would stop being one,
    keeps its margin."""
    cfg = RenderConfig.plain(font_size=(40, 40), margin_x=(0.1, 0.1), margin_y=(0.1, 0.1),
                             tight_x_p=1.0, tight_x_cut=0.3)

    def touches_edge(text, face, seed):
        cols = ink_mask(render_line(text, face, np.random.default_rng(seed), config=cfg,
                                    height=None)).any(axis=0)
        return bool(cols[0] or cols[-1])

    assert sum(touches_edge("MONACO", latin_face, s) for s in range(10)) >= 8
    assert not any(touches_edge("读光，", cjk_face, s) for s in range(10))
    assert not any(touches_edge("，识别", cjk_face, s) for s in range(10))


def test_arcs_bend_the_line_without_cutting_it(latin_face):
    """arc_p sets a word along a circle (IIIT5K's arched house names): the ends sit about
    the sagitta below or above the middle, in both directions across seeds, and the crop
    grows to keep every glyph whole; with arc_p=0 the same word lies straight."""
    def bend(arc_p, seed):
        cfg = RenderConfig.plain(font_size=(40, 40), margin_x=(0.3, 0.3), margin_y=(0.3, 0.3),
                                 arc_p=arc_p, arc_sagitta=(1.0, 1.0))
        ink = ink_mask(render_line("HHHHHHH", latin_face, np.random.default_rng(seed),
                                   config=cfg, height=None))
        assert not (ink[0].any() or ink[-1].any() or ink[:, 0].any() or ink[:, -1].any())
        cols = np.flatnonzero(ink.any(axis=0))
        rows = np.arange(ink.shape[0])[:, None]
        centre = (ink * rows).sum(0) / np.maximum(ink.sum(0), 1)  # ink's mean row per column
        fifth = max(1, len(cols) // 5)
        ends = [centre[cols[:fifth]].mean(), centre[cols[-fifth:]].mean()]
        middle = centre[cols[2 * fifth:3 * fifth]].mean()
        height = np.ptp(np.flatnonzero(ink[:, cols[2 * fifth:3 * fifth]].any(axis=1))) + 1
        return [(end - middle) / height for end in ends]

    bends = [bend(1.0, seed) for seed in range(8)]
    for left, right in bends:
        assert 0.25 < abs(left) < 1.2 and 0.25 < abs(right) < 1.2
        assert np.sign(left) == np.sign(right)
    assert {np.sign(left) for left, _ in bends} == {-1.0, 1.0}
    for left, right in (bend(0.0, seed) for seed in range(4)):
        assert abs(left) < 0.1 and abs(right) < 0.1


def test_binarize_splits_at_otsu_and_offset_thins_dark_strokes():
    from duguang_ocr.synth.render import binarize

    # A dark stroke with soft edges on paper: 40 / 100 / 160 / 220 columns.
    img = np.repeat(np.array([[40.0, 100.0, 160.0, 220.0]] * 4, np.float32)[..., None], 3, 2)
    out = binarize(img)
    assert set(np.unique(out)) == {0.0, 255.0} and out.shape == img.shape
    dark = (out[..., 0] == 0).sum()
    assert (binarize(img, -0.3)[..., 0] == 0).sum() < dark  # lower threshold: thinner ink
    assert (binarize(img, 0.6)[..., 0] == 0).sum() > dark
    flat = np.full((4, 6, 3), 200.0, np.float32)  # one grey level: no crash, one colour
    assert len(np.unique(binarize(flat))) == 1


def test_bilevel_scan_has_two_levels(latin_face):
    cfg = RenderConfig.plain(binarize_p=1.0)
    img = render_line("Hello, world.", latin_face, np.random.default_rng(0), config=cfg,
                      height=None)
    assert set(np.unique(img)) == {0, 255}  # no noise, no grey edges before the resize
    assert RenderConfig.scene().binarize_p == 0.0  # street signs are photographed
