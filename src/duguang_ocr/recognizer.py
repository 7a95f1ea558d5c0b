"""The :class:`Recognizer` facade: load a model once, read lines of text from images.

It composes the pieces and owns none of their logic: :mod:`.hub` finds the model directory,
:mod:`.io` turns inputs into RGB arrays, :mod:`.preprocess` plans and cuts chunks, the model
produces CTC logits, and :mod:`.decoding` turns them into text.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from . import hub, io, preprocess, vertical
from .backends import (
    TorchBackend,
    check_runtime,
    check_widths,
    is_onnx_dir,
    load_onnx_dir,
    make_backend,
)
from .calibration import read_calibration
from .chunking import ChunkGeometry, plan_passes
from .devices import resolve_device
from .hub.modelscope import ModelSpec, load_model_dir
from .prefetch import Prefetcher, default_num_workers
from .readout import Reader, ReadOptions
from .results import RecognitionResult, results_to_json
from .vocab import Vocab


@dataclass
class _Item:
    index: int
    plan: preprocess.LinePlan
    tensor: torch.Tensor  # (full chunks, 3, 32, 300) or (1, 3, 32, canvas)
    tail: torch.Tensor | None = None  # mode="fast": the narrower last chunk (1, 3, 32, w)
    view: vertical.View | None = None  # a tall crop read as a column
    views: list[_Item] = field(default_factory=list)  # the column readings of a tall crop
    origin: tuple[int, int] = (0, 0)  # where the part read (preprocess.cut_to_text) starts

    def to_pixels(self, frame: float) -> float:
        """CTC frame -> coordinate in the original image (y for a column view)."""
        x = self.plan.frame_to_x(frame)
        if self.view is None:
            return x + self.origin[0]
        return self.view.to_original(x) + self.origin[1]


def _groups(keys: list) -> dict[Any, list[int]]:
    """Indices of equal keys, keys in first-seen order."""
    out: dict[Any, list[int]] = {}
    for i, key in enumerate(keys):
        out.setdefault(key, []).append(i)
    return out


MODES = ("default", "parity", "fast")


class Recognizer:
    """Text-line recognizer around a loaded model.

    Args:
        model: a model name or directory (see :meth:`from_pretrained`; None is the embedded
            default model), or an already built module returning CTC logits, in which
            case ``vocab`` and ``spec`` are required.
        vocab: the module's vocabulary (only with a module).
        spec: how the module wants its input (only with a module).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or None for CUDA when available; one
            this machine lacks raises :class:`~duguang_ocr.devices.DeviceError` (a
            ``ValueError``) naming the devices it has.
        mode: None (the mode recorded in the model's ``configuration.json``: ``"parity"``
            after ``model.preprocess=squash`` training, else ``"default"``), ``"default"``
            (lines of any length, only the chunks each line needs), ``"parity"``
            (ModelScope's preprocessing and strings: ``spaces="model"``,
            ``punctuation="keep"`` unless given) or ``"fast"`` (the last chunk cut to the
            line; measured effect in the README). See :mod:`.preprocess` for each mode.
        batch_size: lines per forward pass.
        beam_width: 1 for greedy CTC decoding, > 1 for prefix beam search.
        dtype: None or float32; ``torch.bfloat16`` (or ``"bf16"``) on GPUs and on CPUs
            with AVX512-BF16/AMX (~2x faster per chunk there, logits move by ~1e-2);
            ``torch.float16`` (``"fp16"``) on GPUs only.
        errors: what a bad item in a list does: ``"skip"`` gives an error result and the
            rest completes, ``"raise"`` raises. A single input always raises.
        backend: ``"torch"`` or ``"onnxruntime"`` (an ONNX directory from
            ``duguang-ocr export`` is used as is; a torch model is exported in memory);
            None picks onnxruntime for a directory that holds only ``model.onnx`` and
            torch otherwise.
        quantize: None, or ``"int8"`` for dynamic int8 Linear layers (CPU, torch backend;
            about 2x faster per chunk, logits move by ~1e-2).
        num_workers: threads that prepare the next window of inputs while the model runs
            (0: inline; None: :func:`~.prefetch.default_num_workers`).
        max_chunks: chunks per forward pass for chunked models (see
            :func:`~.chunking.plan_passes`; a longer line runs in slices of this many, so
            memory stays bounded). None: 16 on CPU, where bigger passes only fall out of
            cache, and ``4 * batch_size`` on GPUs.
        **options: decoding and output options of :meth:`recognize` (``alternatives``,
            ``allowed_chars``, ``pattern``, ``lexicon``, ``spaces``, ...) as this
            recognizer's defaults; each call may override them.

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
        mode: str | None = None,
        batch_size: int = 32,
        beam_width: int = 1,
        dtype: torch.dtype | str | None = None,
        errors: str = "skip",
        backend: str | None = None,
        quantize: str | None = None,
        num_workers: int | None = None,
        max_chunks: int | None = None,
        **options: Any,
    ):
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
        if errors not in ("skip", "raise"):
            raise ValueError(f"errors must be 'skip' or 'raise', got {errors!r}")
        if batch_size < 1 or beam_width < 1 or (max_chunks is not None and max_chunks < 1):
            raise ValueError("batch_size, beam_width and max_chunks must be >= 1")
        if num_workers is not None and num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
        resolve_device(device)  # a missing GPU fails before any download
        model_dir = None if isinstance(model, nn.Module) else hub.resolve(model)
        backend, self.device, self.dtype = check_runtime(backend, device, dtype, quantize,
                                                         model_dir)
        if model_dir is None:
            if vocab is None or spec is None:
                raise ValueError("a model module needs its vocab and spec")
        elif backend == "onnxruntime" and is_onnx_dir(model_dir):
            self._backend, vocab, spec, self.config = load_onnx_dir(model_dir, self.device)
            model = None
        else:
            model, vocab, spec = load_model_dir(model_dir)
        mode = mode or spec.inference_mode
        if model is not None:
            self.config = model.config
            self._backend = make_backend(model, backend=backend, device=self.device,
                                         dtype=self.dtype, exact=mode == "parity",
                                         quantize=quantize)
        # The module that runs (a copy of the loaded one), or None for an ONNX graph.
        self.model: nn.Module | None = (
            self._backend.model if isinstance(self._backend, TorchBackend) else model)
        self.vocab, self.spec = vocab, spec
        self.mode, self.batch_size, self.beam_width, self.errors = mode, batch_size, beam_width, errors
        self.backend, self.quantize = backend, quantize
        self.geometry = ChunkGeometry.of(self.config)
        self.chunked = self.geometry is not None
        check_widths(self._backend, narrow_chunks=self.chunked and mode == "fast")
        self.num_workers = default_num_workers() if num_workers is None else num_workers
        self._prefetch = Prefetcher(self.num_workers)
        self.max_chunks = max_chunks or (16 if self.device.type == "cpu" else 4 * batch_size)
        # Parity mode promises ModelScope's strings, so its output policies default to the
        # model's own reading (spaces and punctuation widths as decoded).
        policies = {"spaces": "model", "punctuation": "keep"} if mode == "parity" else {}
        self.options = ReadOptions().updated(beam_width=beam_width, **(policies | options))
        # The model's calibration map (None: confidences are raw scores); see calibration.py.
        self.calibration = read_calibration(spec.raw)
        self._reader = Reader(vocab.itos)

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
        ``crnn``) or a ModelScope id (``damo/...``/``iic/...``); with
        ``backend="onnxruntime"`` also a directory from ``duguang-ocr export``. Extra keyword
        arguments go to :class:`Recognizer` (``mode``, ``batch_size``, ``beam_width``,
        ``dtype``, ``errors``, ``backend``, ``quantize``, ``num_workers``, ``max_chunks``)."""
        model_dir = hub.resolve(name_or_dir, revision=revision, cache_dir=cache_dir)
        return cls(model_dir, device=device, **kwargs)

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
        """Like ``__call__`` but returns :class:`RecognitionResult` objects by default.

        Keyword options (``beam_width``, ``alternatives``, ``allowed_chars``,
        ``blocked_chars``, ``pattern``, ``lexicon``, ``lexicon_mode``, ``ignore_case``,
        ``spaces``, ``punctuation``, ``vertical``; each also a :class:`Recognizer` default)
        are the fields of :class:`~duguang_ocr.readout.ReadOptions`, documented there and in
        README "Decoding and output options".
        """
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
        **options: Any,
    ) -> Iterator[RecognitionResult]:
        """Stream results in input order with bounded memory.

        Inputs are read ``window`` at a time (default 8 batches), sorted by chunk count so
        every forward pass is dense, and yielded in the order given. With ``num_workers``
        threads, the next window is loaded and preprocessed while the model runs this one;
        at most two windows' pixels are held at any time. ``options`` are those of
        :meth:`recognize`.
        """
        batch_size = batch_size or self.batch_size
        errors = errors or self.errors
        opts = self.options.updated(beam_width=beam_width or self.options.beam_width,
                                    **options)
        self._reader.automaton(opts)  # a bad pattern fails here, before any image is read
        prepare = functools.partial(self._prepare, columns=opts.vertical)
        for block, pending in self._prefetch.windows(inputs, window or 8 * batch_size, prepare):
            yield from self._recognize_block(block, batch_size, opts, errors, pending)

    @torch.inference_mode()
    def _recognize_block(self, block: list, batch_size: int, opts: ReadOptions, errors: str,
                         pending: list[Future] | None = None) -> list[RecognitionResult]:
        results: list[RecognitionResult | None] = [None] * len(block)
        items = []
        for i, src in enumerate(block):
            try:
                item = pending[i].result() if pending else self._prepare(i, src, opts.vertical)
                items += [item, *item.views]
            except (io.ImageLoadError, TypeError, ValueError) as e:
                if errors == "raise":
                    raise
                results[i] = RecognitionResult("", error=f"{type(e).__name__}: {e}")
        shapes = [(it.plan.num_chunks, it.tail.shape[-1] if it.tail is not None
                   else 0 if self.chunked else it.plan.canvas_width) for it in items]
        best: dict[int, float] = {}  # a tall crop's views compete: the best-read one wins
        for rows in plan_passes(shapes, batch_size=batch_size, max_chunks=self.max_chunks,
                                chunked=self.chunked):
            batch = [items[r] for r in rows]
            for item, line in zip(batch, self._reader.decode_lines(self._line_logits(batch),
                                                                     opts)):
                score = vertical.view_score(line.char_confidences)
                if score > best.get(item.index, -1.0):
                    best[item.index] = score
                    results[item.index] = self._reader.result(
                        line, opts, self.calibration, item.to_pixels, item.view is not None)
        return results  # type: ignore[return-value]

    def _prepare(self, index: int, src: Any, columns: bool = False) -> _Item:
        """Load ``src`` and cut it into model input; with ``columns``, a tall crop also
        gets its column readings (:mod:`.vertical`) as ``views``."""
        img = io.load_image(src, composite_alpha=self.mode != "parity")
        origin = (0, 0)
        if self.mode != "parity":  # a loose crop: read the line, not its blank surroundings
            img, origin = preprocess.cut_to_text(img)
        item = replace(self._item(index, img), origin=origin)
        if columns and vertical.is_tall(*img.shape[:2]):
            item.views = [replace(self._item(index, v.image), view=v, origin=origin)
                          for v in vertical.views(img)]
        return item

    def _item(self, index: int, img: np.ndarray) -> _Item:
        plan = preprocess.plan_line(img.shape[0], img.shape[1], geometry=self.geometry,
                                    parity=self.mode == "parity", img_width=self.spec.img_width,
                                    fit=self.chunked and self.mode == "fast")
        return _Item(index, plan, *preprocess.line_tensors(img, plan, self.geometry))

    def logits(self, batch: torch.Tensor, num_chunks: int = 1) -> torch.Tensor:
        """Merged CTC logits (B, T, C) for a (B * num_chunks, 3, 32, W) input batch."""
        out = self._backend(batch)
        return self.geometry.merge(out, num_chunks) if self.geometry else out

    @torch.inference_mode()
    def forward_logits(self, inputs: list) -> list[torch.Tensor]:
        """Merged CTC logits (T, C) per input, one forward pass each (for debugging/tests)."""
        return [self._line_logits([self._prepare(0, src)])[0].cpu() for src in inputs]

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """Backend logits for ``x``, at most ``max_chunks`` rows per call for chunked models,
        so activation memory does not grow with the number of chunks (a 100,000-px line has
        ~400)."""
        step = self.max_chunks if self.chunked else len(x)
        if len(x) <= step:
            return self._backend(x)
        return torch.cat([self._backend(x[i : i + step]) for i in range(0, len(x), step)])

    def _line_logits(self, batch: list[_Item]) -> list[torch.Tensor]:
        """One pass: merged (T, C) logits of each line of ``batch``.

        Full chunks (or whole-line canvases, one width per pass) of every line run
        together; narrower last chunks (``mode="fast"``) run in one call per width.
        """
        full = torch.cat([item.tensor for item in batch])
        out = self._forward(full) if len(full) else full
        tails: dict[int, torch.Tensor] = {}
        widths = [item.tail.shape[-1] if item.tail is not None else 0 for item in batch]
        for width, rows in _groups(widths).items():
            if width:
                tails.update(zip(rows, self._forward(torch.cat([batch[i].tail for i in rows]))))
        lines, start = [], 0
        for i, item in enumerate(batch):
            k = len(item.tensor)
            chunks = [*out[start : start + k], *([tails[i]] if i in tails else [])]
            start += k
            lines.append(self.geometry.merge_ragged(chunks) if self.geometry else chunks[0])
        return lines


__all__ = ["Recognizer", "RecognitionResult", "results_to_json"]
