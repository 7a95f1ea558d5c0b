"""Inference backends: how a loaded model runs, and what turns a batch into CTC logits.

The :class:`~duguang_ocr.recognizer.Recognizer` owns loading, preprocessing, chunk merging
and decoding; a backend only maps an (N, 3, 32, W) float tensor to (N, F, C) logits. Keeping
that seam this narrow is what lets the ONNX Runtime path reuse every other step unchanged:
its strings can differ from the torch path only through the network's float rounding.

:func:`make_backend` is the one place that decides how a module runs: device and dtype
(validated by :func:`check_runtime`), exact or fused attention, oneDNN-fused linear layers
(:mod:`.fused`), int8 quantisation (:mod:`.quantize`) or an ONNX Runtime session. It always
works on a copy, so the caller's module is never changed (float32 CPU copies share its
weight tensors, so they cost no memory).

onnxruntime is an optional dependency (the ``duguang-ocr[onnx]`` extra); it is imported
only when an ONNX backend is built.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .chunking import pad_rows
from .devices import resolve_device
from .export import ONNX_FILE, export_onnx
from .fused import cpu_has_native_bf16, fuse_linears
from .hub.modelscope import VOCAB_FILE, WEIGHTS_FILES, ModelSpec, read_spec
from .inference import inference_copy, set_attention
from .models import variant_config
from .quantize import quantize_model
from .vocab import Vocab

BACKENDS = ("torch", "onnxruntime")
# On a GPU the model's input rows are padded to a multiple of this (chunking.pad_rows): a
# new server then builds cuDNN plans for a handful of row counts, not for every one.
GPU_ROW_MULTIPLE = 8
DTYPES = {"fp32": torch.float32, "float32": torch.float32, "bf16": torch.bfloat16,
          "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16}


def parse_dtype(dtype: torch.dtype | str | None) -> torch.dtype:
    """None, a torch float dtype or one of :data:`DTYPES`' names -> a torch dtype."""
    if dtype is None:
        return torch.float32
    if isinstance(dtype, str):
        if dtype.lower() not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}")
        return DTYPES[dtype.lower()]
    if dtype not in (torch.float32, torch.bfloat16, torch.float16):
        raise ValueError(f"dtype must be float32, bfloat16 or float16, got {dtype}")
    return dtype


def choose_backend(model_dir: str | os.PathLike | None, backend: str | None) -> str:
    """The backend for ``model_dir`` (None: an in-memory module): ``backend`` when given,
    else onnxruntime for an exported directory with no torch weights, else torch.

    Raises:
        ValueError: torch was asked for a directory that has only an ONNX graph.
    """
    onnx_only = model_dir is not None and is_onnx_dir(model_dir) and not any(
        (Path(model_dir) / name).is_file() for name in WEIGHTS_FILES)
    if backend is None:
        return "onnxruntime" if onnx_only else "torch"
    if backend == "torch" and onnx_only:
        raise ValueError(f"{model_dir} holds an exported ONNX graph ({ONNX_FILE}) and no torch "
                         f"weights ({', '.join(WEIGHTS_FILES)}): run it with the onnxruntime "
                         "backend (the default for such a directory)")
    return backend


def check_runtime(backend: str | None, device: str | torch.device | None,
                  dtype: torch.dtype | str | None, quantize: str | None,
                  model_dir: str | os.PathLike | None = None,
                  ) -> tuple[str, torch.device, torch.dtype]:
    """Validate a backend/device/dtype/quantize combination before any weights are loaded.

    Returns:
        (backend, device, dtype) resolved: backend by :func:`choose_backend`, device by
        :func:`~.devices.resolve_device` (None: CUDA when available), dtype float32 for None.

    Raises:
        ValueError: a combination that cannot run, naming the fix.
    """
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    device = resolve_device(device)
    dtype = parse_dtype(dtype)
    on_cpu = device.type == "cpu"
    if dtype == torch.float16 and on_cpu:
        raise ValueError("float16 inference is for GPUs; on the CPU use float32 (the "
                         "default) or bfloat16 (bf16)")
    if dtype == torch.bfloat16 and on_cpu and not cpu_has_native_bf16():
        warnings.warn("this CPU has no native bf16 (AVX512-BF16 or AMX): bf16 inference "
                      "is emulated and slower than float32", RuntimeWarning, stacklevel=3)
    backend = choose_backend(model_dir, backend)
    if quantize is not None and (backend != "torch" or not on_cpu or dtype != torch.float32):
        raise ValueError("quantize='int8' is for the torch backend on the CPU in float32")
    if backend == "onnxruntime" and dtype != torch.float32:
        raise ValueError("the onnxruntime backend runs float32 models only (the default "
                         "dtype)")
    return backend, device, dtype


def require_onnxruntime() -> Any:
    """Import onnxruntime or say how to install it.

    Raises:
        ImportError: onnxruntime is not installed; the message names the extra.
    """
    try:
        import onnxruntime
    except ImportError as e:
        raise ImportError(
            "backend='onnxruntime' needs the onnxruntime package: "
            "pip install 'duguang-ocr[onnx]'"
        ) from e
    return onnxruntime


class TorchBackend:
    """Runs a torch module on ``device`` in ``dtype``; logits come back as float32.

    With ``autocast=True`` the input stays float32 and the module runs under
    ``torch.autocast(device, dtype)``: how CPU bf16 runs, so that layer norms keep float32
    while matrix products and convolutions use bf16.
    """

    name = "torch"

    def __init__(self, model: nn.Module, device: torch.device, dtype: torch.dtype,
                 autocast: bool = False, row_multiple: int = 1):
        self.model, self.device, self.dtype, self.autocast = model, device, dtype, autocast
        self.row_multiple = row_multiple  # see chunking.pad_rows

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        rows = len(x)
        x = pad_rows(x, self.row_multiple)
        if not self.autocast:
            return self.model(x.to(self.device, self.dtype)).float()[:rows]
        with torch.autocast(self.device.type, dtype=self.dtype):
            return self.model(x.to(self.device, torch.float32)).float()[:rows]


class OnnxBackend:
    """Runs an exported ONNX model (see :mod:`.export`) in an onnxruntime session.

    Args:
        model: path of a ``.onnx`` file, or its serialised bytes.
        device: ``cuda`` uses the CUDA execution provider when onnxruntime has it.
        num_threads: intra-op threads (None: torch's current setting, so one knob,
            ``torch.set_num_threads``, sizes both backends).
    """

    name = "onnxruntime"

    def __init__(self, model: str | os.PathLike | bytes, device: torch.device | None = None,
                 num_threads: int | None = None):
        ort = require_onnxruntime()
        options = ort.SessionOptions()
        options.inter_op_num_threads = 1  # the graph is a chain; parallelism is intra-op
        options.intra_op_num_threads = num_threads or torch.get_num_threads()
        providers = ["CPUExecutionProvider"]
        if device is not None and device.type == "cuda":
            if "CUDAExecutionProvider" in ort.get_available_providers():
                providers.insert(0, "CUDAExecutionProvider")
        source = model if isinstance(model, bytes) else str(model)
        self.session = ort.InferenceSession(source, options, providers=providers)
        graph_input = self.session.get_inputs()[0]
        self.input_name = graph_input.name
        # None when the graph takes any width; exports before width was made dynamic for
        # ConvNextViT fix it at 300 px.
        width = graph_input.shape[-1]
        self.fixed_width: int | None = width if isinstance(width, int) else None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        feed = {self.input_name: x.detach().to("cpu", torch.float32).contiguous().numpy()}
        return torch.from_numpy(self.session.run(None, feed)[0])


def make_backend(model: nn.Module, *, backend: str | None = "torch",
                 device: str | torch.device | None = None, dtype: torch.dtype | str | None = None,
                 exact: bool = False, quantize: str | None = None) -> TorchBackend | OnnxBackend:
    """The backend that runs ``model`` as asked, built on a copy of it.

    Args:
        model: a recognizer module (see :func:`~duguang_ocr.models.create_model`).
        backend: ``"torch"`` or ``"onnxruntime"`` (the module is exported in memory).
        device, dtype: where and in what precision (see :func:`check_runtime`).
        exact: ModelScope's exact arithmetic (parity mode): the module's own layers and
            exact attention. Otherwise, on the CPU, oneDNN-fused linear layers
            (:mod:`.fused`) and the fused attention kernel.
        quantize: None, or ``"int8"`` for dynamic int8 Linear layers (CPU, float32).
    """
    backend, device, dtype = check_runtime(backend, device, dtype, quantize)
    if backend == "onnxruntime":
        return OnnxBackend(export_onnx(model), device)
    on_cpu = device.type == "cpu"
    if quantize is not None:
        net = quantize_model(model, quantize)  # a CPU float32 copy
    elif on_cpu and (not exact or dtype != torch.float32):
        net = fuse_linears(inference_copy(model, device), dtype)
    else:
        net = inference_copy(model, device, dtype)
    set_attention(net, exact=exact)
    return TorchBackend(net, device, dtype, autocast=on_cpu and dtype != torch.float32,
                        row_multiple=1 if on_cpu else GPU_ROW_MULTIPLE)


def check_widths(backend: TorchBackend | OnnxBackend, narrow_chunks: bool) -> None:
    """Refuse an ONNX graph of fixed width when chunks narrower than one are needed
    (``mode="fast"``)."""
    fixed = getattr(backend, "fixed_width", None)
    if narrow_chunks and fixed is not None:
        raise ValueError(f"mode='fast' runs chunks narrower than {fixed} px, which this ONNX "
                         f"graph (fixed {fixed}-px width) cannot take; re-export it with "
                         "`duguang-ocr export` or use mode='default'")


def model_config(spec: ModelSpec, num_classes: int) -> Any:
    """The architecture config a model directory describes, without building the model.

    An ONNX directory has no torch weights, yet preprocessing still needs the chunk
    geometry (width, stride, trim) that the config carries.
    """
    base = variant_config(spec.variant)
    names = {f.name for f in dataclasses.fields(base)}
    overrides = {k: tuple(v) if isinstance(v, list) else v
                 for k, v in spec.config_overrides.items() if k in names}
    return dataclasses.replace(base, **overrides, num_classes=num_classes)


def is_onnx_dir(model_dir: str | os.PathLike) -> bool:
    return (Path(model_dir) / ONNX_FILE).is_file()


def load_onnx_dir(model_dir: str | os.PathLike, device: torch.device | None = None,
                  num_threads: int | None = None) -> tuple[OnnxBackend, Vocab, ModelSpec, Any]:
    """Open a directory written by :func:`~duguang_ocr.export.export_model_dir`.

    Returns:
        (backend, vocab, spec, config): everything the recognizer needs besides torch weights.
    """
    spec = read_spec(model_dir)
    offset = variant_config(spec.variant).vocab_offset
    vocab = Vocab.from_file(Path(model_dir) / VOCAB_FILE, offset=offset)
    backend = OnnxBackend(Path(model_dir) / ONNX_FILE, device, num_threads)
    return backend, vocab, spec, model_config(spec, vocab.num_classes)


__all__ = [
    "BACKENDS",
    "DTYPES",
    "ONNX_FILE",
    "OnnxBackend",
    "TorchBackend",
    "check_runtime",
    "check_widths",
    "choose_backend",
    "is_onnx_dir",
    "load_onnx_dir",
    "make_backend",
    "model_config",
    "parse_dtype",
    "require_onnxruntime",
]
