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
