"""Int8 dynamic quantisation for CPU inference.

ConvNextViT spends about 80% of its CPU time in ``nn.Linear`` (the ConvNeXt point-wise
MLPs, the transformer blocks and the CTC head). Dynamic quantisation stores those weights as
int8 and quantises activations per batch on the fly, which roughly halves the time per chunk
on x86 with VNNI. It changes the numbers (logits move by ~1e-2), so it is an explicit
option (``Recognizer(..., quantize="int8")``), measured in ``benchmarks/bench_inference.py``.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

QUANTIZE_MODES = ("int8",)


def quantize_dynamic_int8(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every ``nn.Linear`` replaced by a dynamic int8 Linear.

    Convolutions and normalisations stay in float32. The copy keeps the model's attributes
    (``config``), so it drops into a :class:`~duguang_ocr.recognizer.Recognizer`.

    Raises:
        RuntimeError: this torch build has no quantised CPU engine.
    """
    if not torch.backends.quantized.supported_engines or (
        torch.backends.quantized.supported_engines == ["none"]
    ):
        raise RuntimeError("this torch build has no quantized CPU engine (fbgemm/x86/qnnpack)")
    model = copy.deepcopy(model).float().cpu().eval()
    with warnings.catch_warnings():
        # torch.ao.quantization warns that it will move to torchao; the eager dynamic API is
        # what runs on a stock torch install, so the warning is no news to the user.
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(
            model, {nn.Linear}, dtype=torch.qint8, inplace=True
        )


def quantize_model(model: nn.Module, mode: str) -> nn.Module:
    """Apply quantisation ``mode`` (only ``"int8"`` so far) to a copy of ``model``."""
    if mode not in QUANTIZE_MODES:
        raise ValueError(f"quantize must be one of {QUANTIZE_MODES} or None, got {mode!r}")
    return quantize_dynamic_int8(model)


__all__ = ["QUANTIZE_MODES", "quantize_dynamic_int8", "quantize_model"]
