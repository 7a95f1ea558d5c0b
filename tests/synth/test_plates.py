import re

import numpy as np

from duguang_ocr.synth.plates import DIGITS, LETTERS, PROVINCES, plate_text, render_plate

PLATE = re.compile(f"[{PROVINCES}][{LETTERS}][{LETTERS}{DIGITS}]{{5,6}}")


def test_plate_numbers_follow_the_format_and_never_hold_the_dot():
    rng = np.random.default_rng(0)
    texts = [plate_text(rng) for _ in range(200)] + [plate_text(rng, green=True)]
    assert all(PLATE.fullmatch(t) for t in texts), texts
    assert all(len(t) == 7 for t in texts[:-1]) and len(texts[-1]) == 8
    assert not any(c in t for t in texts for c in "IO·")  # no I/O, no separator dot
    assert len({t[0] for t in texts}) > 10  # many provinces


def test_render_plate_is_a_reproducible_line_crop(cjk_face):
    text = plate_text(np.random.default_rng(1))
    a = render_plate(text, cjk_face, np.random.default_rng(2))
    b = render_plate(text, cjk_face, np.random.default_rng(2))
    assert a.dtype == np.uint8 and a.shape[0] == 32 and a.shape[2] == 3
    assert 2.0 < a.shape[1] / a.shape[0] < 5.0  # plate proportions, padding aside
    assert np.array_equal(a, b)
    assert a.std() > 10  # something was drawn


def test_plate_colors_vary_with_the_light_but_keep_the_style_contrast():
    from duguang_ocr.synth.plates import _plate_colors

    rng = np.random.default_rng(3)
    pairs = [_plate_colors(rng, "皖A12345") for _ in range(300)]
    blues = [bg for bg, fg in pairs if bg[2] > bg[0] and bg[2] > bg[1]]
    assert len(blues) > 150  # blue plates stay the common style
    assert min(sum(bg) for bg in blues) < 150 < max(sum(bg) for bg in blues)  # dim and bright
    # Text always stands out from its plate, however the light falls.
    assert all(abs(sum(fg) - sum(bg)) > 60 for bg, fg in pairs)
    green_bg, _ = _plate_colors(rng, "粤B123456")
    assert green_bg[1] > green_bg[0] and green_bg[1] > green_bg[2]


def test_surroundings_crop_loosely_or_to_the_characters_but_never_into_them():
    from PIL import Image, ImageDraw

    from duguang_ocr.synth.plates import _surroundings

    plate = Image.new("RGB", (451, 140), (18, 62, 168))
    ImageDraw.Draw(plate).rectangle((22, 25, 451 - 23, 114), fill=(250, 250, 250))  # characters
    band = 90 * (451 - 44)
    rng = np.random.default_rng(4)
    heights = []
    for _ in range(200):
        out = _surroundings(plate, rng)
        assert int((np.asarray(out) == 250).all(axis=2).sum()) == band  # the whole band is in
        heights.append(out.height)
        assert 451 * 0.9 <= out.width <= 451 * 1.17 and out.height <= 140 * 1.5
    # Half the crops cut the border off and stop near the characters, as LPRNet's do.
    assert sum(h < 0.92 * 140 for h in heights) > 60 and min(heights) >= 95
    assert sum(h > 140 for h in heights) > 40


def test_narrow_glyphs_stay_narrow_and_the_cell_keeps_its_size(cjk_face):
    from duguang_ocr.synth.plates import _glyph

    one = np.asarray(_glyph("1", cjk_face, 45, 90, (255, 255, 255), stroke=2))[..., 3]
    eight = np.asarray(_glyph("8", cjk_face, 45, 90, (255, 255, 255), stroke=2))[..., 3]
    assert one.shape == eight.shape == (90, 45)
    ink_cols = lambda a: int((a.max(axis=0) > 64).sum())  # noqa: E731
    # A '1' stretched to the full cell width would be a solid block, no plate's '1'.
    assert ink_cols(one) < 0.6 * 45
    cols = np.flatnonzero(one.max(axis=0) > 64)
    assert abs((cols[0] + cols[-1]) / 2 - 22) < 6  # centred in its cell
    assert ink_cols(eight) > ink_cols(one) + 8 and one.max() == 255


def test_plate_fonts_draw_the_province_in_cjk_and_letters_in_an_upright_sans(fonts):
    from duguang_ocr.synth.plates import plate_fonts

    rng = np.random.default_rng(3)
    picks = [plate_fonts(fonts, "皖A12C34", rng) for _ in range(200)]
    assert all(face.is_cjk and face.covers("皖") for face, _ in picks)
    latin = [lat for face, lat in picks if lat is not face]
    assert len(latin) > 100  # mostly a Latin face for the letters
    assert all(lat.category == "latin-sans" and "Italic" not in lat.style
               and "Oblique" not in lat.style and lat.covers("A12C34") for lat in latin)
    assert sum(face.category == "cjk-sans" for face, _ in picks) > 120
    assert plate_fonts(fonts.subset(cjk=False), "皖A12C34", rng) == (None, None)


def test_slant_leans_the_characters_and_tilts_the_rows_inside_a_grown_box():
    """Real plate crops are often shot from the side: a vertical stroke leans by ``lean`` x
    its height, a row climbs by ``climb`` x its length, and the box grows to hold it all."""
    from duguang_ocr.synth.plates import _slant

    img = np.zeros((100, 400, 3), np.uint8)
    img[:, 200:204] = 255  # a vertical stroke
    img[48:52, :] = 128  # a row
    out = _slant(img, lean=0.3, climb=0.1)
    assert out.shape[0] == 100 + 40 and out.shape[1] == 400 + 30
    stroke = out[..., 0] > 200
    top = np.flatnonzero(stroke[5]).mean()
    bottom = np.flatnonzero(stroke[-45]).mean()
    assert abs((top - bottom) - 0.3 * (out.shape[0] - 50)) < 3  # leans right as it rises
    row = np.abs(out[..., 0].astype(int) - 128) < 20
    left = np.flatnonzero(row[:, 20]).mean()
    right = np.flatnonzero(row[:, -20]).mean()
    assert abs((left - right) - 0.1 * (out.shape[1] - 40)) < 3  # climbs to the right
    assert np.array_equal(_slant(img, 0.0, 0.0), img)


def test_climb_is_mostly_a_few_degrees_and_a_third_of_the_time_steep_either_way():
    """Corner-shot plates (rows climbing 7-12 degrees) are a visible share of real crops; the
    draw covers them in both directions without making every plate steep."""
    from duguang_ocr.synth.plates import _climb

    rng = np.random.default_rng(0)
    climbs = np.array([_climb(rng) for _ in range(3000)])
    assert np.abs(climbs).max() <= 0.22
    steep = np.abs(climbs) > 0.12
    assert 0.28 < steep.mean() < 0.39
    assert 0.4 < (climbs[steep] > 0).mean() < 0.6
    assert (np.abs(climbs) < 0.06).mean() > 0.25
