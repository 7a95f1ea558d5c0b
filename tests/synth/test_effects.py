import numpy as np
import pytest

from duguang_ocr.synth import RenderConfig, effects, render_line
from duguang_ocr.synth.effects import luma


def glyph_mask(h=40, w=120):
    """A thick bar with a hole: text-like coverage with inner and outer edges."""
    a = np.zeros((h, w), np.float32)
    a[10:30, 20:100] = 1.0
    a[16:24, 40:80] = 0.0
    return a


BG, FG = np.array([230.0, 225.0, 210.0]), np.array([20.0, 30.0, 120.0])


def test_outline_rings_the_glyphs_in_a_colour_that_stands_out_from_the_text():
    alpha = glyph_mask()
    for seed in range(20):
        under, fg = effects.layers("outline", alpha, BG, FG, np.random.default_rng(seed))
        ring, colour = under[-1]
        assert np.array_equal(fg, FG)
        outside = (alpha == 0) & (ring > 0.5)
        assert outside.sum() > 100  # reaches beyond the glyph, inside the hole too
        assert ring[16, 60] > 0.5 and ring[9, 60] > 0.5  # inside the hole, above the bar
        assert abs(luma(colour) - luma(FG)) >= 90


def test_shadow_and_extrusion_fall_beside_the_glyphs():
    alpha = glyph_mask()
    for kind in ("shadow", "extrude"):
        for seed in range(10):
            under, _ = effects.layers(kind, alpha, BG, FG, np.random.default_rng(seed))
            cover = under[0][0]
            assert ((cover > 0.3) & (alpha == 0)).sum() > 20, (kind, seed)
            assert cover.shape == alpha.shape and cover.max() <= 1.0 + 1e-6


def test_emboss_draws_the_face_near_its_background_between_a_light_and_a_dark_edge():
    under, face = effects.layers("emboss", glyph_mask(), BG, FG, np.random.default_rng(0))
    (_, light), (_, dark) = under
    assert luma(dark) < luma(BG) < luma(light) + 1e-6
    assert luma(FG) < luma(face) < luma(BG)  # the relief, not the colour, carries it


def test_two_tone_fill_varies_down_the_line_and_keeps_to_the_text_side():
    tone = effects.fill("two_tone", FG, 40, 10, np.random.default_rng(1))
    assert tone.shape == (40, 10, 3)
    assert np.ptp(tone[:, 0, :]) > 1 and np.allclose(tone[:, 0], tone[:, 9])
    assert max(abs(luma(px) - luma(FG)) for px in tone[:, 0]) <= 60 + 1e-3
    assert effects.fill("outline", FG, 40, 10, np.random.default_rng(1)) is None


def test_glow_surrounds_a_pale_core_with_a_soft_halo():
    alpha = glyph_mask()
    [(halo, colour)], core = effects.layers("glow", alpha, BG * 0.1, FG, np.random.default_rng(2))
    assert luma(core) > luma(colour)  # the lit core is paler than its halo
    assert 0 < halo[6, 60] < halo[9, 60] <= 1.0  # fading away from the glyph
    assert halo[2, 60] < 0.05


def test_unknown_effect_is_refused():
    with pytest.raises(ValueError, match="unknown effect"):
        effects.layers("glitter", glyph_mask(), BG, FG, np.random.default_rng(0))


def test_rendered_effects_are_reproducible_and_change_the_line(latin_face):
    plain = RenderConfig.plain()
    a = render_line("Sale", latin_face, np.random.default_rng(5), config=plain.replace(
        effect_p=1.0))
    b = render_line("Sale", latin_face, np.random.default_rng(5), config=plain.replace(
        effect_p=1.0))
    c = render_line("Sale", latin_face, np.random.default_rng(5), config=plain)
    assert np.array_equal(a, b) and a.shape == c.shape and not np.array_equal(a, c)
    assert RenderConfig.scene().effect_p > RenderConfig().effect_p > 0
