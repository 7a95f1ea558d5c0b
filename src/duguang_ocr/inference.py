"""A loaded model's inference copy: where and how it runs, never touching the original.

:func:`~duguang_ocr.backends.make_backend` and the ONNX export both start from such a copy,
so building a parity-mode recognizer or exporting never changes the caller's module (its
device, dtype, train/eval mode or attention path).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .models.layers import Attention


def set_attention(model: nn.Module, exact: bool) -> nn.Module:
    """Switch every attention block of ``model`` (in place) to ModelScope's exact arithmetic
    (``exact=True``, bit-for-bit logits) or to the fused SDPA kernel."""
    for m in model.modules():
        if isinstance(m, Attention):
            m.fused = not exact
    return model


def inference_copy(model: nn.Module, device: torch.device,
                   dtype: torch.dtype = torch.float32) -> nn.Module:
    """An eval-mode copy of ``model`` on ``device`` in ``dtype``; the caller's module is left
    exactly as it was.

    Tensors already on that device in that dtype are shared with ``model`` rather than
    duplicated; otherwise the copy gets its own (``Module.to`` assigns ``param.data`` in
    place, so a shared parameter must never be converted).
    """
    tensors = [*model.parameters(), *model.buffers()]
    here = all(t.device.type == device.type and (device.index is None
                                                 or t.device.index == device.index)
               and (not t.is_floating_point() or t.dtype == dtype) for t in tensors)
    memo = {id(t): t for t in tensors} if here else {}
    out = copy.deepcopy(model, memo).eval()
    return out if here else out.to(device, dtype)


__all__ = ["inference_copy", "set_attention"]
