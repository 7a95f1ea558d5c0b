"""Batching text lines for CTC training: fixed canvas, encoded targets, per-batch counts.

Every image goes through the same :mod:`..preprocess` functions the recognizer uses, with a
fixed canvas so a batch is one dense tensor:

* chunked models (ConvNextViT): ``num_chunks`` 300-px chunks at stride 252, i.e. a canvas
  of ``300 + 252 * (num_chunks - 1)`` px; wider lines are squashed to it (ModelScope's
  training does the same with its 804-px, 3-chunk canvas), narrower ones zero-padded;
* whole-line models (CRNN): an ``img_width`` canvas, squashed or padded the same way.

Collate runs in DataLoader workers, so it cannot update counters in the parent process:
what it dropped and why travels with the batch in ``batch["stats"]``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from .. import preprocess
from ..models import merged_frames
from ..vocab import Vocab

logger = logging.getLogger(__name__)

Augment = Callable[[np.ndarray, np.random.Generator], np.ndarray]
UNKNOWN_POLICIES = ("skip", "drop_chars")
STAT_KEYS = ("bad", "unknown_skipped", "unknown_chars_dropped", "too_long")


class Keyed:
    """Wrap a data set so ``ds[(index, key)]`` returns ``(rgb, text, key)``.

    In training the key is the sample's augmentation seed. Seeds come from the sampler (a
    function of run seed, epoch and index), so a resumed run re-augments every line exactly
    as the uninterrupted run would, whatever the number of workers. In evaluation the key is
    the sample index, which names the line in ``errors.tsv``.
    """

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item: tuple[int, Any]) -> tuple[np.ndarray, str, Any] | None:
        index, key = item
        sample = self.dataset[index]
        return None if sample is None else (sample[0], sample[1], key)


def ctc_frames_needed(ids: Sequence[int]) -> int:
    """Fewest CTC frames that can emit ``ids``: one per symbol plus a blank between repeats."""
    return len(ids) + sum(1 for a, b in zip(ids, ids[1:]) if a == b)


class LineCollator:
    """Turn ``[(rgb, text[, key]) | None, ...]`` into a training batch.

    Args:
        vocab: the model's vocabulary (targets are its class ids).
        model_kind: ``"ConvNextViT"`` (chunked) or ``"CRNN"`` (whole line).
        num_chunks: chunks per line for chunked models (canvas ``300 + 252 * (n - 1)`` px).
        img_width: canvas width for whole-line models (a multiple of 4).
        augment: ``augment(rgb, rng) -> rgb`` applied before resizing, or None; ``rng`` is
            seeded from the sample's key (see :class:`Keyed`) when it has one.
        unknown: labels holding symbols outside ``vocab``: ``"skip"`` drops the sample,
            ``"drop_chars"`` removes those characters (a label left empty is dropped, since
            it would teach the model to see nothing in an image with text).
        drop_too_long: drop labels that need more CTC frames than the canvas yields (their
            loss would be infinite). Evaluation keeps them and scores them as errors.
        chunk_width, chunk_stride: the chunked model's window geometry.

    Returns (from ``__call__``) a dict: ``images`` (B * num_chunks, 3, 32, 300) or
    (B, 3, 32, img_width) in [0, 1]; ``targets`` (concatenated ids, int64);
    ``target_lengths`` (B,); ``texts`` (B labels, unknown characters kept); ``num_chunks``;
    ``frames`` (CTC frames per line); ``keys`` (each kept sample's key, or None);
    ``stats`` (counts of dropped samples by reason).
    """

    def __init__(self, vocab: Vocab, model_kind: str, *, num_chunks: int = 1,
                 img_width: int = 640, augment: Augment | None = None, unknown: str = "skip",
                 drop_too_long: bool = True, chunk_width: int = 300,
                 chunk_stride: int = 252) -> None:
        if model_kind not in ("ConvNextViT", "CRNN"):
            raise ValueError(f"model_kind must be 'ConvNextViT' or 'CRNN', got {model_kind!r}")
        if unknown not in UNKNOWN_POLICIES:
            raise ValueError(f"unknown must be one of {UNKNOWN_POLICIES}, got {unknown!r}")
        if num_chunks < 1:
            raise ValueError(f"num_chunks must be >= 1, got {num_chunks}")
        if img_width < 4 or img_width % preprocess.FRAME_PX:
            raise ValueError(f"img_width must be a positive multiple of 4, got {img_width}")
        self.vocab, self.kind, self.augment, self.unknown = vocab, model_kind, augment, unknown
        self.drop_too_long = drop_too_long
        self.chunked = model_kind == "ConvNextViT"
        self.num_chunks = num_chunks if self.chunked else 1
        self.chunk_width, self.chunk_stride = chunk_width, chunk_stride
        if self.chunked:
            self.canvas_width = chunk_width + chunk_stride * (num_chunks - 1)
            trim = (chunk_width - chunk_stride) // 8
            self.frames = merged_frames(num_chunks, chunk_width // preprocess.FRAME_PX, trim)
        else:
            self.canvas_width = img_width
            self.frames = img_width // preprocess.FRAME_PX
        self._rng: np.random.Generator | None = None

    def _fallback_rng(self) -> np.random.Generator:
        # Items without a seed: one generator per process, seeded from torch's per-worker
        # seed so workers do not repeat each other's augmentations.
        if self._rng is None:
            self._rng = np.random.default_rng(torch.initial_seed())
        return self._rng

    def encode(self, text: str, stats: dict[str, int]) -> list[int] | None:
        """Target ids for ``text`` under the unknown/too-long policies, or None to drop it."""
        ids = self.vocab.encode(text, unknown="skip")
        if len(ids) != len(text):
            if self.unknown == "skip" or not ids:
                stats["unknown_skipped"] += 1
                return None
            stats["unknown_chars_dropped"] += len(text) - len(ids)
        if self.drop_too_long and ctc_frames_needed(ids) > self.frames:
            stats["too_long"] += 1
            return None
        return ids

    def image_tensor(self, img: np.ndarray) -> torch.Tensor:
        """(num_chunks, 3, 32, 300) or (1, 3, 32, img_width) input for one RGB line."""
        plan = preprocess.plan_line(
            img.shape[0], img.shape[1], chunked=self.chunked, parity=True,
            img_width=self.canvas_width, chunk_width=self.chunk_width,
            chunk_stride=self.chunk_stride)
        canvas = preprocess.render_canvas(img, plan)
        if self.chunked:
            return preprocess.canvas_to_chunks(canvas, plan.num_chunks, self.chunk_width,
                                               self.chunk_stride)
        return preprocess.canvas_to_tensor(canvas)

    def __call__(self, samples: Sequence[tuple | None]) -> dict[str, Any]:
        stats = dict.fromkeys(STAT_KEYS, 0)
        images, targets, lengths, texts, keys = [], [], [], [], []
        for sample in samples:
            if sample is None:
                stats["bad"] += 1
                continue
            img, text = sample[0], sample[1]
            ids = self.encode(text, stats)
            if ids is None:
                continue
            if self.augment is not None:
                rng = np.random.default_rng(sample[2]) if len(sample) > 2 else self._fallback_rng()
                img = self.augment(img, rng)
            images.append(self.image_tensor(img))
            targets.extend(ids)
            lengths.append(len(ids))
            texts.append(text)
            keys.append(sample[2] if len(sample) > 2 else None)
        if images:
            x = torch.cat(images)
        else:  # every sample dropped: an empty batch of the right shape
            x = torch.zeros(0, 3, 32, self.chunk_width if self.chunked else self.canvas_width)
        return {
            "images": x,
            "targets": torch.tensor(targets, dtype=torch.long),
            "target_lengths": torch.tensor(lengths, dtype=torch.long),
            "texts": texts,
            "keys": keys,
            "num_chunks": self.num_chunks,
            "frames": self.frames,
            "stats": stats,
        }
