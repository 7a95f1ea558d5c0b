import numpy as np
import pytest
import torch

from duguang_ocr.chunking import ChunkGeometry
from duguang_ocr.preprocess import canvas_to_chunks, plan_line, render_canvas, resized_width

G = ChunkGeometry()  # ModelScope's ConvNextViT chunks: 300 px every 252 px


def test_resized_width_matches_modelscope_rule():
    assert resized_width(64, 100) == 50
    assert resized_width(30, 100) == int(32 * 100 / 30)
    assert resized_width(32, 5000, max_width=804) == 804  # parity squashes long lines
    assert resized_width(32, 5000) == 5000
    assert resized_width(1000, 3) == 1  # never zero


def test_parity_plan_is_always_three_chunks():
    for w in (10, 300, 804, 5000):
        plan = plan_line(32, w, parity=True, geometry=G)
        assert (plan.num_chunks, plan.canvas_width) == (3, 804)
    assert plan_line(32, 100, geometry=G).num_chunks == 1
    assert plan_line(32, 2000, geometry=G).canvas_width == 300 + 252 * 7


def test_crnn_plans():
    # Parity: ModelScope's fixed canvas, squashing longer lines into it.
    assert plan_line(32, 100, geometry=None, parity=True, img_width=640).canvas_width == 640
    assert plan_line(32, 1001, geometry=None, parity=True, img_width=640).resized_width == 640
    # Default: the line's own width rounded up to a 32-px bucket, whatever img_width says.
    assert plan_line(32, 100, geometry=None, img_width=640).canvas_width == 128
    assert plan_line(32, 1001, geometry=None, img_width=640).canvas_width == 1024
    assert plan_line(32, 1024, geometry=None).canvas_width == 1024
    assert plan_line(64, 1, geometry=None).canvas_width == 32  # never narrower than a bucket


def test_crnn_canvas_does_not_depend_on_the_batch():
    """Every width in a bucket shares one canvas, so lines batch together and a line's
    logits are those it gets alone (the canvas is a function of the line only)."""
    widths = {plan_line(32, w, geometry=None).canvas_width for w in range(97, 129)}
    assert widths == {128}


def test_canvas_and_chunks_follow_modelscope_layout():
    img = np.random.default_rng(0).integers(0, 256, (32, 804, 3), dtype=np.uint8)
    plan = plan_line(32, 804, parity=True, geometry=G)
    canvas = render_canvas(img, plan)
    chunks = canvas_to_chunks(canvas, plan.num_chunks, G)
    assert chunks.shape == (3, 3, 32, 300) and chunks.dtype == torch.float32
    ref = torch.from_numpy(img.astype(np.float32))
    for i in range(3):
        expected = ref[:, 252 * i : 252 * i + 300].permute(2, 0, 1) / 255.0
        assert torch.equal(chunks[i], expected)


def test_frame_to_x_stays_inside_the_image():
    plan = plan_line(64, 400, geometry=G)  # resized to 200 px wide
    assert plan.frame_to_x(0) == pytest.approx(4.0)
    assert 0 <= plan.frame_to_x(74) <= 400


def test_fit_plans_cut_the_last_chunk_to_the_line():
    from duguang_ocr.preprocess import FIT_MARGIN, WIDTH_BUCKET

    assert (FIT_MARGIN, WIDTH_BUCKET) == (32, 32)
    # (resized width, chunks, canvas): the last chunk ends >= 32 px after the line, on a
    # 32-px step, never beyond where a full chunk would end.
    for w, n, canvas in ((20, 1, 64), (100, 1, 160), (268, 1, 300), (300, 1, 300),
                         (301, 2, 348), (552, 2, 552), (553, 3, 600), (900, 4, 948)):
        plan = plan_line(32, w, fit=True, geometry=G)
        assert (plan.num_chunks, plan.canvas_width) == (n, canvas), w
        # Same chunks as without fit, the last one narrower.
        assert plan.num_chunks == plan_line(32, w, geometry=G).num_chunks
        last = canvas - 252 * (n - 1)
        assert last % WIDTH_BUCKET == 0 or last == 300
        assert last >= min(300, w - 252 * (n - 1) + FIT_MARGIN)
    with pytest.raises(ValueError, match="parity"):
        plan_line(32, 100, parity=True, fit=True, geometry=G)


def test_chunk_groups_split_full_chunks_from_the_narrow_last_one():
    from duguang_ocr.preprocess import canvas_to_chunk_groups

    img = np.random.default_rng(1).integers(0, 256, (32, 350, 3), dtype=np.uint8)
    plan = plan_line(32, 350, fit=True, geometry=G)
    canvas = render_canvas(img, plan)
    full, last = canvas_to_chunk_groups(canvas, plan.num_chunks, G)
    assert full.shape == (1, 3, 32, 300) and last.shape == (1, 3, 32, 160)
    as_float = torch.from_numpy(canvas).permute(2, 0, 1).float() / 255
    torch.testing.assert_close(full[0], as_float[:, :, :300])
    torch.testing.assert_close(last[0], as_float[:, :, 252:])
    # A one-chunk line: no full chunks at all; a full-width plan: no narrow chunk.
    short_plan = plan_line(32, 90, fit=True, geometry=G)
    short = canvas_to_chunk_groups(render_canvas(img[:, :90], short_plan), 1, G)
    assert short[0].shape == (0, 3, 32, 300) and short[1].shape == (1, 3, 32, 128)
    full_plan = plan_line(32, 350, geometry=G)
    assert canvas_to_chunk_groups(render_canvas(img, full_plan), 2, G)[1] is None
    with pytest.raises(ValueError, match="not 2 chunks"):
        canvas_to_chunk_groups(np.zeros((32, 200, 3), np.uint8), 2, G)


def _page(h: int, w: int, box: tuple[int, int, int, int] | None, bg: int = 255) -> np.ndarray:
    img = np.full((h, w, 3), bg, np.uint8)
    if box is not None:
        x0, y0, x1, y1 = box
        img[y0:y1, x0:x1:3] = 0  # vertical strokes: ink with gaps, like glyphs
    return img


def test_text_band_cuts_loose_crops_and_leaves_snug_line_crops_alone():
    from duguang_ocr.preprocess import text_band

    # A 30-px line in the middle of a 300 x 800 page: cut, with a quarter-height margin.
    assert text_band(_page(300, 800, (100, 140, 400, 170))) == (93, 133, 405, 177)
    # Light text on a dark page too.
    assert text_band(255 - _page(300, 800, (100, 140, 400, 170))) is not None
    # A word cut from a screenshot with generous margins: ink fills 16 of 40 px.
    assert text_band(_page(40, 200, (20, 12, 180, 28))) == (16, 8, 184, 32)
    assert text_band(_page(48, 300, (10, 10, 290, 38))) is None  # ink fills 28 of 48 px
    assert text_band(_page(100, 300, (10, 20, 290, 80))) is None  # the ink fills the height
    assert text_band(_page(300, 800, (100, 140, 104, 146))) is None  # a speck, not a line
    assert text_band(_page(300, 800, None)) is None  # blank
    textured = _page(300, 800, (100, 140, 400, 170))
    textured[:, :, 0] = np.random.default_rng(0).integers(0, 255, (300, 800))
    assert text_band(textured) is None  # a scene crop: its border is not plain


def test_cut_to_text_is_idempotent_and_says_where_it_cut():
    from duguang_ocr.preprocess import cut_to_text

    page = _page(300, 800, (100, 140, 400, 170))
    cut, origin = cut_to_text(page)
    assert origin == (93, 133) and cut.shape[:2] == (44, 312)
    assert np.array_equal(cut, page[133:177, 93:405])
    again, origin2 = cut_to_text(cut)  # the ink now fills 2/3 of the height: left alone
    assert again is cut and origin2 == (0, 0)
    snug = _page(48, 300, (10, 10, 290, 38))
    assert cut_to_text(snug)[0] is snug
