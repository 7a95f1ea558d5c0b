"""Chunk geometry: how a chunked model (ConvNextViT) sees a line, in one place.

A chunked model reads fixed-width windows ("chunks", 300 px) of a line's canvas, cut every
``stride`` px (252). Each chunk yields one CTC frame per :data:`FRAME_PX` px (75); two
neighbours overlap by 48 px = 12 frames, and merging keeps the inner half of each overlap:
it drops :attr:`ChunkGeometry.trim` (6) frames at every inner chunk edge::

    merged = first[:-6] + middle[6:-6] + ... + last[6:]

so merged frame ``j`` covers canvas pixels ``4j .. 4j + 3`` whatever chunk it came from.
ModelScope always runs three chunks (an 804-px canvas, 201 frames); here any count works.

Everything that needs these numbers asks a :class:`ChunkGeometry`: preprocessing (how many
chunks cover a line, where they are cut), the recognizer (merging, packing chunks into
forward passes with :func:`plan_passes`), training collate and evaluation (frames per line,
merging).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

FRAME_PX = 4  # every recognizer emits one CTC frame per 4 input columns


@dataclass(frozen=True)
class ChunkGeometry:
    """Chunk width and stride in pixels, and everything that follows from them.

    >>> g = ChunkGeometry()
    >>> g.frames, g.trim, g.chunks_needed(804), g.canvas_width(3), g.merged_frames(3)
    (75, 6, 3, 804, 201)
    """

    width: int = 300
    stride: int = 252

    def __post_init__(self) -> None:
        overlap = self.width - self.stride
        if self.width % FRAME_PX or self.stride % FRAME_PX or not 0 < self.stride <= self.width:
            raise ValueError(f"chunks of {self.width} px at stride {self.stride}: both must be "
                             f"multiples of {FRAME_PX} px, 0 < stride <= width")
        if overlap % (2 * FRAME_PX):
            raise ValueError(f"a {overlap}-px overlap cannot be split evenly into whole frames "
                             "between two chunks")

    @classmethod
    def of(cls, config: Any) -> ChunkGeometry | None:
        """The geometry of a model built from ``config`` (``model.config``), or None for a
        model that reads whole lines."""
        return cls(config.chunk_width, config.chunk_stride) if config.chunked else None

    @property
    def frames(self) -> int:
        """Frames of one full chunk."""
        return self.width // FRAME_PX

    @property
    def trim(self) -> int:
        """Frames dropped at each inner chunk edge: half the overlap."""
        return (self.width - self.stride) // (2 * FRAME_PX)

    def chunks_needed(self, px: int) -> int:
        """Fewest chunks that cover a canvas ``px`` wide."""
        return 1 if px <= self.width else 1 + math.ceil((px - self.width) / self.stride)

    def canvas_width(self, num_chunks: int) -> int:
        """Width covered by ``num_chunks`` full chunks."""
        return self.width + self.stride * (num_chunks - 1)

    def start(self, index: int) -> int:
        """Canvas x where chunk ``index`` begins."""
        return self.stride * index

    def merged_frames(self, num_chunks: int) -> int:
        """Frames a line of ``num_chunks`` full chunks yields after merging."""
        return self.canvas_width(num_chunks) // FRAME_PX

    def merge(self, chunk_logits: torch.Tensor, num_chunks: int) -> torch.Tensor:
        """Merge per-chunk frames of lines that all have ``num_chunks`` full chunks.

        Args:
            chunk_logits: (B * num_chunks, F, C), the chunks of each line consecutive.
            num_chunks: chunks per line.

        Returns:
            (B, :meth:`merged_frames`, C).
        """
        n, f, c = chunk_logits.shape
        if n % num_chunks:
            raise ValueError(f"{n} chunks cannot be split into lines of {num_chunks}")
        x = chunk_logits.view(n // num_chunks, num_chunks, f, c)
        if num_chunks == 1:
            return x[:, 0]
        t = self.trim
        parts = [x[:, 0, : f - t]]
        if num_chunks > 2:
            parts.append(x[:, 1:-1, t : f - t].reshape(x.shape[0], -1, c))
        parts.append(x[:, -1, t:])
        return torch.cat(parts, dim=1)

    def merge_ragged(self, chunks: Sequence[torch.Tensor]) -> torch.Tensor:
        """Merge one line's chunks when the last may be narrower (``mode="fast"``).

        Args:
            chunks: (F_i, C) logits of the line's chunks in order; all but the last full.

        Returns:
            (T, C) by the same rule as :meth:`merge`.
        """
        if len(chunks) == 1:
            return chunks[0]
        t = self.trim
        parts = [chunks[0][: chunks[0].shape[0] - t]]
        parts += [c[t : c.shape[0] - t] for c in chunks[1:-1]]
        parts.append(chunks[-1][t:])
        return torch.cat(parts)


def plan_passes(shapes: Sequence[tuple[int, int]], *, batch_size: int, max_chunks: int,
                chunked: bool) -> list[list[int]]:
    """Pack lines into forward passes; returns the line indices of each pass.

    Args:
        shapes: per line ``(num_chunks, width)``: for chunked models the width of a narrower
            last chunk (0 when every chunk is full), for whole-line models the canvas width.
        batch_size: most lines per pass.
        max_chunks: most chunks per pass for chunked models; a longer line runs alone (the
            caller feeds it to the model in slices).
        chunked: chunked models take lines of any mix of shapes in one pass (their chunks are
            independent); whole-line models need one canvas width per pass.

    Lines are sorted by ``(width, num_chunks)``, so narrow last chunks of one width run in
    few calls (small calls cost ~1.4x more per pixel on a CPU) and whole-line canvases of one
    width sit together. The sort is stable: ties keep input order.

    >>> plan_passes([(1, 0), (3, 0), (1, 0)], batch_size=8, max_chunks=4, chunked=True)
    [[0, 2], [1]]
    """
    order = sorted(range(len(shapes)), key=lambda i: (shapes[i][1], shapes[i][0]))
    passes: list[list[int]] = []
    chunks = 0
    for i in order:
        n, width = shapes[i]
        full = bool(passes) and (
            len(passes[-1]) == batch_size
            or (chunked and chunks + n > max_chunks)
            or (not chunked and shapes[passes[-1][0]][1] != width))
        if not passes or full:
            passes.append([])
            chunks = 0
        passes[-1].append(i)
        chunks += n
    return passes


__all__ = ["FRAME_PX", "ChunkGeometry", "plan_passes"]


def pad_rows(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """``x`` with zero rows appended so that ``len(x)`` is a multiple of ``multiple``.

    A chunked batch's row count (its lines' chunks) changes with every batch, and cuDNN
    finalises an execution plan for every new input shape: over a second for a depthwise
    convolution in some cuDNN 9 releases, paid again for each row count not seen before, so
    a GPU run spent its first minutes (and a new server its first calls) building plans.
    Rounded up, the row counts fall into a few shapes. The caller drops the extra rows'
    outputs; they change nothing else, since a recognizer reads each row on its own (layer
    norms, attention within a chunk, batch norm only from running statistics in eval mode).
    """
    extra = -len(x) % max(1, multiple)
    if not extra:
        return x
    return torch.cat([x, x.new_zeros((extra, *x.shape[1:]))])
