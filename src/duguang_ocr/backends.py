"""Inference backends: what turns a batch of model inputs into CTC logits.

The :class:`~duguang_ocr.recognizer.Recognizer` owns loading, preprocessing, chunk merging
and decoding; a backend only maps an (N, 3, 32, W) float tensor to (N, F, C) logits. Keeping
that seam this narrow is what lets the ONNX Runtime path reuse every other step unchanged:
its strings can differ from the torch path only through the network's float rounding.

onnxruntime is an optional dependency (the ``duguang-ocr[onnx]`` extra); it is imported
only when an ONNX backend is built.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .hub.modelscope import VOCAB_FILE, ModelSpec, read_spec
from .models import variant_config
from .vocab import Vocab

ONNX_FILE = "model.onnx"
BACKENDS = ("torch", "onnxruntime")


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
                 autocast: bool = False):
        self.model, self.device, self.dtype, self.autocast = model, device, dtype, autocast

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if not self.autocast:
            return self.model(x.to(self.device, self.dtype)).float()
        with torch.autocast(self.device.type, dtype=self.dtype):
            return self.model(x.to(self.device, torch.float32)).float()


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
    "ONNX_FILE",
    "OnnxBackend",
    "TorchBackend",
    "is_onnx_dir",
    "load_onnx_dir",
    "model_config",
    "require_onnxruntime",
]
