"""Batching text lines for CTC training, prepared exactly as the recognizer reads them.

Two preprocessing contracts (``model.preprocess`` in the training config, recorded in every
checkpoint's ``configuration.json`` so ``Recognizer.from_pretrained`` reads the same way):

* ``keep_ratio`` (default): the recognizer's default mode. Each line keeps its aspect ratio
  at height 32; chunked models (ConvNextViT) get as many 300-px chunks at stride 252 as the
  line needs, whole-line models (CRNN) a canvas of the line's width rounded up to 32 px.
  Lines in a batch differ in chunk count and frame count: the batch holds every line's
  chunks, sorted by chunk count (as inference packs its passes), and each line's own CTC
  frame count.
* ``squash``: ModelScope's training and ``mode="parity"`` inference: a fixed canvas
  (``300 + 252 * (num_chunks - 1)`` px for chunked models, ``img_width`` for CRNN); wider
  lines are squashed onto it, narrower ones zero-padded. For fine-tuning official weights,
  which were trained that way.

Every tensor comes from :func:`..preprocess.plan_line` and :func:`..preprocess.line_tensors`,
the functions the recognizer uses, so training and inference cannot drift apart (a model
trained on squashed 300-px canvases read wide lines as garbage in default mode).

Collate runs in DataLoader workers, so it cannot update counters in the parent process:
what it dropped and why travels with the batch in ``batch["stats"]``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from .. import preprocess as preprocess_mod
from ..chunking import FRAME_PX, ChunkGeometry
from ..vocab import Vocab

logger = logging.getLogger(__name__)

Augment = Callable[[np.ndarray, np.random.Generator], np.ndarray]
UNKNOWN_POLICIES = ("skip", "drop_chars")
PREPROCESSING = ("keep_ratio", "squash")
STAT_KEYS = ("bad", "unknown_skipped", "unknown_chars_dropped", "too_long")


class Keyed:
    """Wrap data sets so ``ds[(index, key)]`` returns ``(rgb, text, key)``.

    In training the key is the sample's seed, ``(seed, epoch, index, position)``: it comes
    from the sampler, so a resumed run re-augments (and re-renders, for synthetic sources)
    every line exactly as the uninterrupted run would, whatever the number of workers. In
    evaluation the key is the sample index, which names the line in ``errors.tsv``.

    ``parts`` are concatenated like ``ConcatDataset``; a part with a ``sample(index, key)``
    method (a synthetic source) receives the key, the others are indexed. ``fold_case``
    names the parts (by position) whose labels' letter case is unreliable: their items come
    as ``(rgb, text, key, True)`` and the collator scores them case-insensitively.
    """

    def __init__(self, *parts: Any, fold_case: Sequence[int] = ()) -> None:
        self.parts = parts
        self.offsets = np.cumsum([0] + [len(p) for p in parts])
        self.fold_case = frozenset(fold_case)

    @property
    def dataset(self) -> Any:
        return self.parts[0]

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, item: tuple[int, Any]) -> tuple[np.ndarray, str, Any] | None:
        index, key = item
        if not 0 <= index < len(self):
            raise IndexError(index)
        k = int(np.searchsorted(self.offsets, index, side="right")) - 1
        part, local = self.parts[k], index - int(self.offsets[k])
        sample = part.sample(local, key) if hasattr(part, "sample") else part[local]
        if sample is None:
            return None
        return (sample[0], sample[1], key) + ((True,) if k in self.fold_case else ())


def ctc_frames_needed(ids: Sequence[int]) -> int:
    """Fewest CTC frames that can emit ``ids``: one per symbol plus a blank between repeats."""
    return len(ids) + sum(1 for a, b in zip(ids, ids[1:]) if a == b)


class LineCollator:
    """Turn ``[(rgb, text[, key[, fold_case]]) | None, ...]`` into a training batch.

    Args:
        vocab: the model's vocabulary (targets are its class ids).
        geometry: a chunked model's chunks (``ChunkGeometry.of(model.config)``), or None
            for a model that reads whole lines.
        preprocess: ``"keep_ratio"`` or ``"squash"`` (see the module docstring).
        num_chunks: ``squash`` only: chunks per line for chunked models.
        img_width: ``squash`` only: canvas width for whole-line models (a multiple of 4).
        augment: ``augment(rgb, rng) -> rgb`` applied before resizing, or None; ``rng`` is
            seeded from the sample's key (see :class:`Keyed`) when it has one.
        unknown: labels holding symbols outside ``vocab``: ``"skip"`` drops the sample,
            ``"drop_chars"`` removes those characters (a label left empty is dropped, since
            it would teach the model to see nothing in an image with text).
        drop_too_long: drop labels that need more CTC frames than their line yields (their
            loss would be infinite).
        raw_pixels: ``images`` as uint8 pixels instead of floats in [0, 1]: a quarter of the
            bytes between DataLoader workers, pinned memory and the GPU; the trainer turns
            them into the same floats with :func:`..preprocess.scale_pixels` on the device.

    Returns (from ``__call__``) a dict: ``images`` (every kept line's chunks, lines sorted by
    chunk count, (sum of chunks, 3, 32, chunk_width)) or, for whole-line models, the lines'
    canvases right-padded to the widest (B, 3, 32, W), in [0, 1] (uint8 with ``raw_pixels``); ``chunk_counts`` (B,);
    ``frames`` (B,), each line's CTC frame count; ``targets`` (concatenated ids, int64);
    ``target_lengths`` (B,); ``fold_case`` (B,) bool, the lines to score case-insensitively
    (their targets are :meth:`Vocab.fold_case` of the label); ``texts`` (B labels, unknown
    characters kept); ``keys`` (each kept sample's key, or None); ``stats`` (counts of
    dropped samples by reason).
    """

    def __init__(self, vocab: Vocab, geometry: ChunkGeometry | None, *,
                 preprocess: str = "keep_ratio", num_chunks: int = 1, img_width: int = 640,
                 augment: Augment | None = None, unknown: str = "skip",
                 drop_too_long: bool = True, raw_pixels: bool = False) -> None:
        if preprocess not in PREPROCESSING:
            raise ValueError(f"preprocess must be one of {PREPROCESSING}, got {preprocess!r}")
        if unknown not in UNKNOWN_POLICIES:
            raise ValueError(f"unknown must be one of {UNKNOWN_POLICIES}, got {unknown!r}")
        if num_chunks < 1:
            raise ValueError(f"num_chunks must be >= 1, got {num_chunks}")
        if img_width < FRAME_PX or img_width % FRAME_PX:
            raise ValueError(f"img_width must be a positive multiple of 4, got {img_width}")
        self.vocab, self.geometry, self.augment, self.unknown = vocab, geometry, augment, unknown
        self.preprocess, self.drop_too_long = preprocess, drop_too_long
        self.raw_pixels = raw_pixels
        self.chunked = geometry is not None
        self.squash = preprocess == "squash"
        self.canvas_width = geometry.canvas_width(num_chunks) if geometry else img_width
        self._rng: np.random.Generator | None = None

    def _fallback_rng(self) -> np.random.Generator:
        # Items without a seed: one generator per process, seeded from torch's per-worker
        # seed so workers do not repeat each other's augmentations.
        if self._rng is None:
            self._rng = np.random.default_rng(torch.initial_seed())
        return self._rng

    def cut(self, img: np.ndarray) -> np.ndarray:
        """A loose crop cut to its text as the recognizer cuts it (keep_ratio; squash is
        ModelScope's parity contract, which reads the crop whole)."""
        return img if self.squash else preprocess_mod.cut_to_text(img)[0]

    def plan(self, height: int, width: int) -> preprocess_mod.LinePlan:
        """How a ``height`` x ``width`` line is laid out (the recognizer's own planning)."""
        return preprocess_mod.plan_line(height, width, geometry=self.geometry,
                                        parity=self.squash, img_width=self.canvas_width)

    def frames(self, plan: preprocess_mod.LinePlan) -> int:
        """CTC frames the model emits for a line laid out by ``plan``."""
        if self.geometry:
            return self.geometry.merged_frames(plan.num_chunks)
        return plan.canvas_width // FRAME_PX

    def encode(self, text: str, frames: int, stats: dict[str, int]) -> list[int] | None:
        """Target ids for ``text`` under the unknown/too-long policies, or None to drop it."""
        ids = self.vocab.encode(text, unknown="skip")
        if len(ids) != len(text):
            if self.unknown == "skip" or not ids:
                stats["unknown_skipped"] += 1
                return None
            stats["unknown_chars_dropped"] += len(text) - len(ids)
        if self.drop_too_long and ctc_frames_needed(ids) > frames:
            stats["too_long"] += 1
            return None
        return ids

    def image_tensor(self, img: np.ndarray) -> torch.Tensor:
        """(num_chunks, 3, 32, 300) or (1, 3, 32, canvas) input for one RGB line."""
        img = self.cut(img)
        plan = self.plan(img.shape[0], img.shape[1])
        return preprocess_mod.line_tensors(img, plan, self.geometry)[0]

    def __call__(self, samples: Sequence[tuple | None]) -> dict[str, Any]:
        stats = dict.fromkeys(STAT_KEYS, 0)
        kept = []  # (chunk count: the sort key, tensor, ids, text, key, frames, fold)
        for sample in samples:
            if sample is None:
                stats["bad"] += 1
                continue
            img, text = sample[0], sample[1]
            key = sample[2] if len(sample) > 2 else None
            fold = len(sample) > 3 and bool(sample[3])
            if self.augment is not None:
                rng = np.random.default_rng(key) if key is not None else self._fallback_rng()
                img = self.augment(img, rng)
            img = self.cut(img)
            plan = self.plan(img.shape[0], img.shape[1])
            frames = self.frames(plan)
            ids = self.encode(self.vocab.fold_case(text) if fold else text, frames, stats)
            if ids is None:
                continue
            x = preprocess_mod.line_tensors(img, plan, self.geometry, raw=self.raw_pixels)[0]
            kept.append((plan.num_chunks, x, ids, text, key, frames, fold))
        # Stable sort by chunk count: equal counts merge together, as in inference.
        kept.sort(key=lambda k: k[0])
        return {
            "images": self._stack([k[1] for k in kept]),
            "chunk_counts": torch.tensor([k[0] for k in kept], dtype=torch.long),
            "frames": torch.tensor([k[5] for k in kept], dtype=torch.long),
            "targets": torch.tensor([i for k in kept for i in k[2]], dtype=torch.long),
            "target_lengths": torch.tensor([len(k[2]) for k in kept], dtype=torch.long),
            "fold_case": torch.tensor([k[6] for k in kept], dtype=torch.bool),
            "texts": [k[3] for k in kept],
            "keys": [k[4] for k in kept],
            "stats": stats,
        }

    def _stack(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        if not tensors:  # every sample dropped: an empty batch of the right shape
            width = self.geometry.width if self.geometry else preprocess_mod.WIDTH_BUCKET
            return torch.zeros(0, 3, 32, width,
                               dtype=torch.uint8 if self.raw_pixels else torch.float32)
        if self.chunked:
            return torch.cat(tensors)
        width = max(t.shape[-1] for t in tensors)
        return torch.cat([torch.nn.functional.pad(t, (0, width - t.shape[-1])) for t in tensors])
