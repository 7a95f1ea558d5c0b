"""Export recognizers to ONNX.

What is exported is the network only, the part that costs the FLOPs: ConvNextViT as its
per-chunk model (N, 3, 32, W) -> (N, W / 4, C) for chunks up to 300 px wide (full chunks,
and the narrower last chunks of ``mode="fast"``), CRNN as (N, 3, 32, W) -> (N, W / 4, C),
both with dynamic batch and width. Loading, chunking, merging and
decoding stay in Python (:class:`~duguang_ocr.recognizer.Recognizer` with
``backend="onnxruntime"``), so a deployment gets the same strings as the torch path.

:func:`export_model_dir` writes a self-describing directory: ``model.onnx`` beside the
source's ``configuration.json`` and ``vocab.txt``, which ``Recognizer.from_pretrained(dir,
backend="onnxruntime")`` opens without torch weights.
"""

from __future__ import annotations

import io
import os
import shutil
import warnings
from pathlib import Path

import torch
from torch import nn

from . import hub
from .atomic import atomic_path
from .hub.modelscope import CONFIG_FILE, VOCAB_FILE, load_model_dir
from .inference import inference_copy, set_attention
from .models import ArchConfig

ONNX_FILE = "model.onnx"  # beside configuration.json and vocab.txt in an exported dir

def example_input(model: nn.Module, batch: int = 2) -> torch.Tensor:
    """A tracing input of the shape the model takes (``config.trace_width`` px wide: one
    chunk for chunked models)."""
    cfg = model.config
    return torch.rand(batch, 3, cfg.height, cfg.trace_width)


def _export(model: nn.Module, f, opset: int, dynamic_batch: bool, dynamic_width: bool) -> None:
    if not isinstance(getattr(model, "config", None), ArchConfig):
        raise TypeError(f"cannot export {type(model).__name__}: not one of duguang_ocr's "
                        "recognizers (list_models())")
    axes: dict[str, dict[int, str]] = {"images": {}, "logits": {}}
    if dynamic_batch:
        axes["images"][0] = axes["logits"][0] = "batch"
    if dynamic_width:  # chunked models: any multiple of 4 px up to one chunk
        axes["images"][3], axes["logits"][1] = "width", "frames"
    # Export a copy in eval mode with fused attention (one SDPA node per block): the
    # caller's module is left exactly as it was.
    model = set_attention(inference_copy(model, torch.device("cpu")), exact=False)
    with warnings.catch_warnings():
        # Shape checks inside forward() trace as constants; the exported shapes are fixed
        # by the axes above, so the tracer's warnings about them say nothing new.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (example_input(model),), f, opset_version=opset,
            input_names=["images"], output_names=["logits"], dynamic_axes=axes,
            do_constant_folding=True, dynamo=False,
        )


def export_onnx(model: nn.Module, out: str | os.PathLike | None = None, *, opset: int = 17,
                dynamic_batch: bool = True, dynamic_width: bool = True) -> Path | bytes:
    """Export ``model``'s per-chunk (chunked models) or whole-line network to ONNX.

    Args:
        model: one of :func:`~duguang_ocr.models.list_models`' modules (not modified).
        out: the ``.onnx`` file to write; None returns the serialised model as bytes.
        opset: ONNX opset (17 has LayerNormalization; attention exports as MatMul/Softmax).
        dynamic_batch: leave the batch axis free (the recognizer sends any number of chunks).
        dynamic_width: leave the width axis free; False fixes it at the tracing width (300 px
            for ConvNextViT, which then cannot run ``mode="fast"``; 160 px for whole-line
            models).

    Returns:
        The path written, or the bytes when ``out`` is None.
    """
    if out is None:
        buf = io.BytesIO()
        _export(model, buf, opset, dynamic_batch, dynamic_width)
        return buf.getvalue()
    out = Path(out)
    with atomic_path(out) as tmp:
        _export(model, tmp, opset, dynamic_batch, dynamic_width)
    return out


def export_model_dir(model: str | os.PathLike | None, out_dir: str | os.PathLike, *,
                     opset: int = 17) -> Path:
    """Export a model directory (or alias/id, see :func:`hub.resolve`) to an ONNX directory.

    ``out_dir`` receives ``model.onnx``, ``configuration.json`` and ``vocab.txt``, so it
    describes itself: the recognizer reads the chunk geometry and vocabulary from it.
    """
    src = hub.resolve(model)
    net, _, _ = load_model_dir(src)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    export_onnx(net, out_dir / ONNX_FILE, opset=opset)
    for name in (CONFIG_FILE, VOCAB_FILE):
        shutil.copyfile(src / name, out_dir / name)
    return out_dir


__all__ = ["ONNX_FILE", "example_input", "export_model_dir", "export_onnx"]
