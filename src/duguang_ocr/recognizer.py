"""The :class:`Recognizer` facade: load a model once, read lines of text from images.

It composes the pieces and owns none of their logic: :mod:`.hub` finds the model directory,
:mod:`.io` turns inputs into RGB arrays, :mod:`.preprocess` plans and cuts chunks, the model
produces CTC logits, and :mod:`.decoding` turns them into text.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import torch
from torch import nn

from . import hub, io, preprocess
from .decoding import DecodedLine, ctc_beam_search_batch, ctc_greedy
from .hub.modelscope import ModelSpec, load_model_dir
from .models import merge_chunks
from .models.layers import set_fused_attention
from .vocab import Vocab


@dataclass
class RecognitionResult:
    """One line's result.

    Attributes:
        text: the recognised string ('' when ``error`` is set).
        confidence: mean per-character confidence in [0, 1].
        char_confidences: one probability per character of ``text``.
        char_positions: x-centre of each character in the original image, in pixels.
        error: why this item could not be read (only with ``errors="skip"``), else None.
    """

    text: str
    confidence: float = 0.0
    char_confidences: list[float] = field(default_factory=list)
    char_positions: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _Item:
    index: int
    plan: preprocess.LinePlan
    tensor: torch.Tensor  # (chunks, 3, 32, 300) or (1, 3, 32, canvas)


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


class Recognizer:
    """Text-line recognizer around a loaded model.

    Args:
        model: a model name or directory (see :meth:`from_pretrained`; None is the embedded
            default model), or an already built module returning CTC logits, in which
            case ``vocab`` and ``spec`` are required.
        vocab: the module's vocabulary (only with a module).
        spec: how the module wants its input (only with a module).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or None for CUDA when available.
        mode: ``"default"`` (lines of any length, only the chunks each line needs) or
            ``"parity"`` (ModelScope's exact preprocessing: 804-px canvas, 3 chunks).
        batch_size: lines per forward pass.
        beam_width: 1 for greedy CTC decoding, > 1 for prefix beam search.
        dtype: None (fp32), ``torch.float16`` or ``torch.bfloat16`` (GPU only).
        errors: what a bad item in a list does: ``"skip"`` gives an error result and the
            rest completes, ``"raise"`` raises. A single input always raises.

    >>> rec = Recognizer()                                # embedded default, offline
    >>> rec("examples/en_hello.png")                      # doctest: +SKIP
    'Hello, world!'
    """

    def __init__(
        self,
        model: nn.Module | str | os.PathLike | None = None,
        vocab: Vocab | None = None,
        spec: ModelSpec | None = None,
        *,
        device: str | torch.device | None = None,
        mode: str = "default",
        batch_size: int = 32,
        beam_width: int = 1,
        dtype: torch.dtype | None = None,
        errors: str = "skip",
    ):
        if mode not in ("default", "parity"):
            raise ValueError(f"mode must be 'default' or 'parity', got {mode!r}")
        if errors not in ("skip", "raise"):
            raise ValueError(f"errors must be 'skip' or 'raise', got {errors!r}")
        if batch_size < 1 or beam_width < 1:
            raise ValueError("batch_size and beam_width must be >= 1")
        if not isinstance(model, nn.Module):
            model, vocab, spec = load_model_dir(hub.resolve(model))
        elif vocab is None or spec is None:
            raise ValueError("a model module needs its vocab and spec")
        self.device = torch.device(device or default_device())
        if dtype not in (None, torch.float32) and self.device.type == "cpu":
            raise ValueError("fp16/bf16 inference is for GPUs; use dtype=None on CPU")
        self.model = model.eval().to(self.device, dtype=dtype or torch.float32)
        self.dtype = dtype or torch.float32
        self.vocab, self.spec = vocab, spec
        self.mode, self.batch_size, self.beam_width, self.errors = mode, batch_size, beam_width, errors
        self.chunked = spec.recognizer == "ConvNextViT"
        # Parity mode reproduces ModelScope's logits bit for bit, so it skips fused attention.
        set_fused_attention(self.model, fused=mode != "parity")

    @classmethod
    def from_pretrained(
        cls,
        name_or_dir: str | os.PathLike | None = None,
        device: str | torch.device | None = None,
        revision: str = "master",
        cache_dir: str | os.PathLike | None = None,
        **kwargs: Any,
    ) -> Recognizer:
        """Load a recognizer: the embedded default (None), a local ModelScope-format dir,
        an alias (``general``, ``handwritten``, ``scene``, ``document``, ``licenseplate``,
        ``crnn``) or a ModelScope id (``damo/...``/``iic/...``). Extra keyword arguments go
        to :class:`Recognizer` (``mode``, ``batch_size``, ``beam_width``, ``dtype``,
        ``errors``)."""
        model, vocab, spec = load_model_dir(
            hub.resolve(name_or_dir, revision=revision, cache_dir=cache_dir)
        )
        return cls(model, vocab, spec, device=device, **kwargs)

    def __repr__(self) -> str:
        return (
            f"Recognizer({self.spec.variant}, {self.vocab!r}, device={self.device}, "
            f"mode={self.mode!r})"
        )

    def __call__(self, inputs: Any, **kwargs: Any) -> str | list[str]:
        """Text for one input, or a list of texts for a list (``''`` for skipped items)."""
        out = self.recognize(inputs, **kwargs)
        return [r.text for r in out] if isinstance(out, list) else out.text

    def recognize(
        self, inputs: Any, *, return_details: bool = True, **kwargs: Any
    ) -> RecognitionResult | list[RecognitionResult] | str | list[str]:
        """Like ``__call__`` but returns :class:`RecognitionResult` objects by default."""
        single = not isinstance(inputs, (list, tuple))
        if single:
            kwargs["errors"] = "raise"
        results = list(self.iter_recognize([inputs] if single else inputs, **kwargs))
        if not return_details:
            results = [r.text for r in results]
        return results[0] if single else results

    def iter_recognize(
        self,
        inputs: Iterable[Any],
        *,
        batch_size: int | None = None,
        beam_width: int | None = None,
        errors: str | None = None,
        window: int | None = None,
    ) -> Iterator[RecognitionResult]:
        """Stream results in input order with bounded memory.

        Inputs are read ``window`` at a time (default 8 batches), grouped by chunk count so
        every forward pass is dense, and yielded in the order given.
        """
        batch_size = batch_size or self.batch_size
        errors = errors or self.errors
        window = window or 8 * batch_size
        it = iter(inputs)
        while True:
            block = list(islice(it, window))
            if not block:
                return
            yield from self._recognize_block(block, batch_size, beam_width or self.beam_width,
                                             errors)

    @torch.inference_mode()
    def _recognize_block(self, block: list, batch_size: int, beam_width: int,
                         errors: str) -> list[RecognitionResult]:
        results: list[RecognitionResult | None] = [None] * len(block)
        items = []
        for i, src in enumerate(block):
            try:
                items.append(self._prepare(i, src))
            except (io.ImageLoadError, TypeError, ValueError) as e:
                if errors == "raise":
                    raise
                results[i] = RecognitionResult("", error=f"{type(e).__name__}: {e}")
        # Lines with the same chunk count / canvas share a forward pass.
        groups: dict[tuple[int, int], list[_Item]] = {}
        for item in items:
            key = (item.tensor.shape[0], item.tensor.shape[-1])  # (chunks, width)
            groups.setdefault(key, []).append(item)
        for group in groups.values():
            for start in range(0, len(group), batch_size):
                batch = group[start : start + batch_size]
                for item, line in zip(batch, self._run(batch, beam_width)):
                    results[item.index] = self._result(line, item.plan)
        return results  # type: ignore[return-value]

    def _prepare(self, index: int, src: Any) -> _Item:
        parity = self.mode == "parity"
        img = io.load_image(src, composite_alpha=not parity)
        cfg = self.model.config
        plan = preprocess.plan_line(
            img.shape[0], img.shape[1], chunked=self.chunked, parity=parity,
            img_width=self.spec.img_width,
            chunk_width=getattr(cfg, "chunk_width", 300),
            chunk_stride=getattr(cfg, "chunk_stride", 252),
        )
        canvas = preprocess.render_canvas(img, plan)
        if self.chunked:
            tensor = preprocess.canvas_to_chunks(canvas, plan.num_chunks, cfg.chunk_width,
                                                 cfg.chunk_stride)
        else:
            tensor = preprocess.canvas_to_tensor(canvas)
        return _Item(index, plan, tensor)

    def logits(self, batch: torch.Tensor, num_chunks: int = 1) -> torch.Tensor:
        """Merged CTC logits (B, T, C) for a (B * num_chunks, 3, 32, W) input batch."""
        out = self.model(batch.to(self.device, self.dtype)).float()
        if self.chunked:
            out = merge_chunks(out, num_chunks, self.model.config.trim)
        return out

    @torch.inference_mode()
    def forward_logits(self, inputs: list) -> list[torch.Tensor]:
        """Merged CTC logits (T, C) per input, one forward pass each (for debugging/tests)."""
        out = []
        for src in inputs:
            item = self._prepare(0, src)
            out.append(self.logits(item.tensor, item.plan.num_chunks if self.chunked else 1)[0].cpu())
        return out

    def _run(self, batch: list[_Item], beam_width: int) -> list[DecodedLine]:
        x = torch.cat([item.tensor for item in batch])
        logits = self.logits(x, batch[0].plan.num_chunks if self.chunked else 1)
        if beam_width > 1:
            return ctc_beam_search_batch(logits.log_softmax(-1).cpu(), self.vocab.itos,
                                         beam_width=beam_width)
        return ctc_greedy(logits.softmax(-1), self.vocab.itos)

    @staticmethod
    def _result(line: DecodedLine, plan: preprocess.LinePlan) -> RecognitionResult:
        return RecognitionResult(
            text=line.text,
            confidence=float(line.confidence),
            char_confidences=[float(c) for c in line.char_confidences],
            char_positions=[plan.frame_to_x(f) for f in line.char_frames],
        )


def results_to_json(results: list[RecognitionResult]) -> list[dict]:
    """Plain dicts for JSON output (CLI ``--json``)."""
    return [
        {
            "text": r.text,
            "confidence": round(r.confidence, 6),
            "char_confidences": [round(c, 6) for c in r.char_confidences],
            "char_positions": [round(x, 2) for x in r.char_positions],
            **({"error": r.error} if r.error else {}),
        }
        for r in results
    ]


__all__ = ["Recognizer", "RecognitionResult", "default_device", "results_to_json"]
