"""Property-based checks (hypothesis): preprocessing accepts any line shape, frame <-> pixel
maps stay inside the image, greedy CTC output never holds blanks or run duplicates."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from duguang_ocr.chunking import ChunkGeometry
from duguang_ocr.decoding import ctc_greedy
from duguang_ocr.preprocess import canvas_to_chunks, canvas_to_tensor, plan_line, render_canvas

sizes = st.tuples(st.integers(1, 300), st.integers(1, 4000))


@settings(max_examples=60, deadline=None)
@given(size=sizes, parity=st.booleans(), chunked=st.booleans())
def test_any_image_size_gives_a_valid_tensor(size, parity, chunked):
    h, w = size
    img = np.full((h, w, 3), 200, np.uint8)
    g = ChunkGeometry() if chunked else None
    plan = plan_line(h, w, parity=parity, geometry=g, img_width=804 if chunked else 640)
    canvas = render_canvas(img, plan)
    assert canvas.shape == (32, plan.canvas_width, 3)
    if chunked:
        x = canvas_to_chunks(canvas, plan.num_chunks, g)
        assert x.shape == (plan.num_chunks, 3, 32, 300)
        assert plan.canvas_width == 300 + 252 * (plan.num_chunks - 1)
        assert parity or plan.resized_width <= plan.canvas_width  # default never squashes
        frames = g.merged_frames(plan.num_chunks)
    else:
        x = canvas_to_tensor(canvas)
        assert x.shape == (1, 3, 32, plan.canvas_width) and plan.canvas_width % 4 == 0
        frames = plan.canvas_width // 4
    assert torch.isfinite(x).all() and 0 <= x.min() and x.max() <= 1
    for f in (0, frames // 2, frames - 1):
        assert 0 <= plan.frame_to_x(f) <= w


@settings(max_examples=80, deadline=None)
@given(data=st.data(), n=st.integers(1, 4), t=st.integers(1, 40), c=st.integers(2, 6))
def test_greedy_has_no_blanks_or_run_duplicates(data, n, t, c):
    ids = data.draw(st.lists(st.lists(st.integers(0, c - 1), min_size=t, max_size=t),
                             min_size=n, max_size=n))
    probs = torch.full((n, t, c), 0.01)
    for b, row in enumerate(ids):
        for f, k in enumerate(row):
            probs[b, f, k] = 1.0
    itos = [""] + [chr(97 + i) for i in range(c - 1)]
    for row, line in zip(ids, ctc_greedy(probs, itos)):
        assert 0 not in line.ids
        runs = [k for i, k in enumerate(row) if i == 0 or row[i - 1] != k]
        assert line.ids == [k for k in runs if k != 0]
        assert all(0 <= f < t for f in line.char_frames)
        assert line.char_frames == sorted(line.char_frames)
