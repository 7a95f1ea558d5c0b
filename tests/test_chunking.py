"""Chunk geometry, merging and pass planning against an oracle: merged frame ``j`` must come
from canvas pixels ``4j .. 4j + 3``, whatever chunk produced it.

The recognizer-level tests run a stand-in model that echoes the pixel under each frame, on
images whose pixels encode their own x coordinate, so any slip in cutting, ordering or
merging chunks (a wrong trim, a narrow last chunk placed first) shows up as a wrong
position. No ModelScope venv needed.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from duguang_ocr import Recognizer
from duguang_ocr.chunking import FRAME_PX, ChunkGeometry, plan_passes
from duguang_ocr.hub.modelscope import ModelSpec
from duguang_ocr.models import ConvNextViTConfig
from duguang_ocr.vocab import Vocab

GEOMETRIES = [ChunkGeometry(), ChunkGeometry(64, 48), ChunkGeometry(40, 40)]


def _chunk_frames(start: int, width: int) -> torch.Tensor:
    """What an ideal model emits for a chunk at canvas x ``start``: each frame's x."""
    return torch.arange(start, start + width, FRAME_PX, dtype=torch.float32)[:, None]


@pytest.mark.parametrize("g", GEOMETRIES, ids=lambda g: f"{g.width}/{g.stride}")
@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_merge_puts_every_frame_at_its_canvas_position(g, n):
    chunks = torch.stack([_chunk_frames(g.start(k), g.width) for k in range(n)])
    lines = g.merge(torch.cat([chunks, chunks + 10_000]), n)  # two lines, chunks consecutive
    want = torch.arange(0, g.canvas_width(n), FRAME_PX, dtype=torch.float32)[:, None]
    assert lines.shape == (2, g.merged_frames(n), 1)
    assert torch.equal(lines[0], want) and torch.equal(lines[1], want + 10_000)
    assert torch.equal(g.merge_ragged(list(chunks)), want)


@pytest.mark.parametrize("g", GEOMETRIES, ids=lambda g: f"{g.width}/{g.stride}")
@pytest.mark.parametrize("n", [1, 2, 4])
def test_ragged_merge_of_a_narrow_last_chunk(g, n):
    last = g.width - 2 * FRAME_PX * g.trim - FRAME_PX if g.trim else g.width - FRAME_PX
    chunks = [_chunk_frames(g.start(k), g.width) for k in range(n - 1)]
    chunks.append(_chunk_frames(g.start(n - 1), last))
    want = torch.arange(0, g.start(n - 1) + last, FRAME_PX, dtype=torch.float32)[:, None]
    assert torch.equal(g.merge_ragged(chunks), want)


def test_geometry_numbers_and_validation():
    g = ChunkGeometry()
    assert (g.frames, g.trim) == (75, 6)
    assert [g.chunks_needed(w) for w in (1, 300, 301, 552, 553, 804, 805)] == [1, 1, 2, 2, 3, 3, 4]
    assert all(g.canvas_width(g.chunks_needed(w)) >= w for w in range(1, 3000, 7))
    assert ChunkGeometry.of(ConvNextViTConfig(chunk_width=64, chunk_stride=48)) == \
        ChunkGeometry(64, 48)
    for bad in ((300, 250), (300, 0), (300, 304), (302, 254), (300, 256)):
        with pytest.raises(ValueError):
            ChunkGeometry(*bad)
    with pytest.raises(ValueError, match="cannot be split into lines of 3"):
        g.merge(torch.zeros(5, 75, 1), 3)


def test_plan_passes_packs_by_lines_and_chunks():
    shapes = [(1, 0), (5, 0), (2, 0), (1, 0), (9, 0), (2, 0)]
    passes = plan_passes(shapes, batch_size=3, max_chunks=6, chunked=True)
    assert sorted(i for p in passes for i in p) == list(range(len(shapes)))
    for p in passes:
        assert len(p) <= 3
        assert sum(shapes[i][0] for i in p) <= 6 or len(p) == 1  # a long line runs alone
    assert [4] in passes
    # Narrow last chunks of one width sit together; whole-line canvases never mix widths.
    fast = [(2, 96), (1, 64), (2, 0), (1, 96), (3, 64)]
    assert plan_passes(fast, batch_size=8, max_chunks=16, chunked=True) == [[2, 1, 4, 3, 0]]
    lines = [(1, 128), (1, 64), (1, 128), (1, 64), (1, 128)]
    assert plan_passes(lines, batch_size=2, max_chunks=1, chunked=False) == [
        [1, 3], [0, 2], [4]]


class PositionEcho(nn.Module):
    """Stands in for a chunked model: frame ``f`` of a chunk holds the two position channels
    of the pixel at column ``4f``."""

    def __init__(self, config: ConvNextViTConfig):
        super().__init__()
        self.config = config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x[:, :2, 0, ::FRAME_PX] * 255).round().transpose(1, 2)


def _position_image(width: int) -> Image.Image:
    """A 32-px-high line whose pixel at x holds (x % 256, x // 256 + 1, 0): at the model's
    height, so the resize keeps every pixel, and never black, so padding is told apart."""
    x = np.arange(width)
    row = np.stack([x % 256, x // 256 + 1, np.zeros_like(x)], axis=-1).astype(np.uint8)
    return Image.fromarray(np.repeat(row[None], 32, axis=0))


def _expected(frames: int, width: int) -> torch.Tensor:
    x = torch.arange(frames) * FRAME_PX
    out = torch.stack([x % 256, x // 256 + 1], dim=1).float()
    out[x >= width] = 0
    return out


@pytest.mark.parametrize("mode", ["default", "fast"])
def test_recognizer_merges_chunks_into_canvas_order(mode):
    config = ConvNextViTConfig(num_classes=2)
    spec = ModelSpec("convnextvit_test", "ConvNextViT", {})
    rec = Recognizer(PositionEcho(config), Vocab(["a"]), spec, device="cpu", mode=mode,
                     max_chunks=4)
    widths = [60, 300, 301, 700, 804, 1500, 2203]  # 1 to 9 chunks, narrow and full ends
    items = [rec._prepare(i, _position_image(w)) for i, w in enumerate(widths)]
    assert {it.plan.num_chunks for it in items} >= {1, 2, 3, 9}
    if mode == "fast":
        assert any(it.tail is not None for it in items)
    # One pass holding every line (the real packing), and each line on its own.
    batched = rec._line_logits(items)
    for width, item, got, (alone,) in zip(widths, items, batched,
                                           map(rec.forward_logits, [[_position_image(w)]
                                                                    for w in widths])):
        want = _expected(item.plan.canvas_width // FRAME_PX, width)
        assert torch.equal(got, want), (mode, width)
        assert torch.equal(alone, want), (mode, width)


@pytest.mark.parametrize("rows, multiple, padded", [(5, 8, 8), (8, 8, 8), (9, 8, 16), (0, 8, 0),
                                                    (5, 1, 5), (5, 0, 5)])
def test_pad_rows_appends_zero_rows_up_to_the_multiple(rows, multiple, padded):
    from duguang_ocr.chunking import pad_rows

    x = torch.rand(rows, 3, 4, 6)
    out = pad_rows(x, multiple)
    assert out.shape == (padded, 3, 4, 6) and out.dtype == x.dtype
    assert torch.equal(out[:rows], x) and not out[rows:].any()
