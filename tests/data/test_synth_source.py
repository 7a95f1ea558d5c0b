import numpy as np
import pytest

from duguang_ocr.data.synth_source import SynthLines, check_curriculum, stage_at
from duguang_ocr.synth.fonts import discover_fonts

SYMBOLS = list("0123456789abcdefghijklmnopqrstuvwxyz ")


def test_stage_at_and_curriculum_checks():
    cur = {"digits": 10, "mixed": 30}
    assert [stage_at(p, cur) for p in (0, 9, 10, 29, 30, 10**9)] == [
        "digits", "digits", "mixed", "mixed", "full", "full"]
    assert stage_at(0, {}) == "full"
    with pytest.raises(ValueError, match="unknown curriculum stage"):
        check_curriculum({"letters": 5})
    with pytest.raises(ValueError, match="above 10"):
        check_curriculum({"digits": 10, "mixed": 10})


@pytest.fixture(scope="module")
def have_fonts():
    if not discover_fonts(SYMBOLS).faces:
        pytest.skip("no fonts installed (scripts/install_fonts.sh)")


def test_samples_follow_the_key_and_the_curriculum(have_fonts):
    src = SynthLines(100, SYMBOLS, seed=5, max_chars=12, curriculum={"digits": 50})
    img, text = src.sample(3, (0, 1, 3, 7))
    again, text2 = src.sample(99, (0, 1, 99, 7))  # same position: same line, any index
    assert np.array_equal(img, again) and text == text2
    assert set(text) <= set("0123456789") and img.shape[0] == 32  # digits stage
    _, late = src.sample(3, (0, 1, 3, 5000))
    _, other_run = src.sample(3, (1, 1, 3, 5000))  # another run seed renders another line
    assert late != other_run and set(late) <= set(SYMBOLS)
    assert len(src) == 100 and src[4][1] == src.sample(4, None)[1]


def test_plates_share_draws_plate_numbers(have_fonts):
    from duguang_ocr.synth import load_charset
    from duguang_ocr.synth.plates import PROVINCES

    src = SynthLines(10, load_charset(), plates=1.0)
    texts = [src.sample(i, (0, 0, i, i))[1] for i in range(3)]
    assert all(t[0] in PROVINCES and len(t) in (7, 8) for t in texts), texts
    ascii_only = SynthLines(10, SYMBOLS, plates=1.0)  # no hanzi: plates cannot be labelled
    assert ascii_only.sample(0, (0, 0, 0, 0))[1][0] not in PROVINCES


def test_scene_share_draws_short_words_and_signs_under_the_harsh_capture(have_fonts):
    """Half ASCII words, half texts over every symbol (Chinese shop signs: the mixed
    fixtures' scene lines got worse when only English words had the harsh capture)."""
    from duguang_ocr.data.synth_source import SCENE_MAX_CHARS
    from duguang_ocr.synth import RenderConfig, load_charset

    src = SynthLines(10, load_charset(), scene=1.0)
    texts = [src.sample(i, (0, 0, i, i))[1] for i in range(40)]
    assert all(0 < len(t) <= SCENE_MAX_CHARS for t in texts), texts
    assert 8 < sum(t.isascii() for t in texts) < 32  # both kinds, about half each
    assert any(not t.isascii() for t in texts)
    gens = src._generators()
    assert gens["scene"].config == gens["scene_zh"].config == RenderConfig.scene()
    plain = SynthLines(10, load_charset())  # no share: no scene generator is even built
    assert "scene" not in plain._generators()
    assert RenderConfig.scene().max_angle > RenderConfig().max_angle
