"""Inference-only CPU kernels: oneDNN linear layers with GELU fused in, in float32 or bf16.

Why this exists: ConvNextViT spends ~75% of its CPU time in ``nn.Linear`` (the ConvNeXt
point-wise MLPs, the transformer blocks, the CTC head) and another ~8% in the GELU between
each MLP's two layers. Stock ``F.linear`` goes through MKL's sgemm, which on AMD CPUs does
not take its AVX-512 path; oneDNN's linear op does, and it applies the GELU while the output
tile is still in registers instead of in a second pass over a 4x-wide activation. On this
project's 2-core AMD EPYC build machine that is ~1.2x per chunk in float32 (logits move by
~2e-6), and with bf16 weights on a CPU with AVX512-BF16 or AMX ~2x more.

:func:`fuse_linears` turns a model's Linear layers into :class:`FusedLinear` in place (the
backend applies it to its own copy, see :func:`duguang_ocr.backends.make_backend`). Where an
activation follows a Linear, the block that holds the pair offers the fused form itself
(``fuse_for_inference(fused_linear)``, timm's ``reparameterize`` pattern), so this module
never reaches into other classes' attributes. The op is private to torch
(``torch.ops.mkldnn._linear_pointwise``); where a build lacks it the module falls back to
``F.linear`` (+ ``F.gelu``), so results never depend on its presence.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def onednn_linear_available() -> bool:
    """True if this torch build has oneDNN and its pointwise linear op."""
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def cpu_has_native_bf16() -> bool:
    """True if oneDNN reports native bf16 math on this CPU (AVX512-BF16 or AMX).

    Without it bf16 is emulated and slower than float32.
    """
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class FusedLinear(nn.Module):
    """``activation(x @ W^T + b)`` in one oneDNN call; inference only (no autograd).

    Args:
        linear: the layer whose weights are used (shared, not copied, in float32).
        activation: ``"none"`` or ``"gelu"`` (exact, erf-based, like ``nn.GELU()``).
        dtype: compute dtype, float32 or bfloat16 (then the input is cast and the output is
            bfloat16).

    ``weight`` and ``bias`` are buffers under nn.Linear's names, so a fused model's
    ``state_dict()`` has the original's keys and (in float32) values.
    """

    def __init__(self, linear: nn.Linear, activation: str = "none",
                 dtype: torch.dtype = torch.float32):
        super().__init__()
        if activation not in ("none", "gelu"):
            raise ValueError(f"activation must be 'none' or 'gelu', got {activation!r}")
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.activation = activation
        self.register_buffer("weight", linear.weight.detach().to(dtype))
        self.register_buffer(
            "bias", None if linear.bias is None else linear.bias.detach().to(dtype))
        self.use_onednn = onednn_linear_available()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.weight.dtype)
        if self.use_onednn and x.device.type == "cpu":
            algorithm = "none" if self.activation == "gelu" else ""
            return torch.ops.mkldnn._linear_pointwise(
                x, self.weight, self.bias, self.activation, [], algorithm
            )
        y = F.linear(x, self.weight, self.bias)
        return F.gelu(y) if self.activation == "gelu" else y

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"activation={self.activation}, dtype={self.weight.dtype}")


def fuse_linears(model: nn.Module, dtype: torch.dtype = torch.float32) -> nn.Module:
    """Replace every ``nn.Linear`` in ``model`` by a :class:`FusedLinear`, in place.

    First each block that offers a fused form (``fuse_for_inference``) folds its activation
    into the Linear before it (ConvNeXt's ``pwconv1``, a transformer MLP's ``fc1``); then
    every other Linear becomes a plain :class:`FusedLinear`. Float32 layers keep the original
    weight tensors; ``dtype=torch.bfloat16`` stores bf16 copies (run the model under
    ``torch.autocast("cpu", dtype=torch.bfloat16)`` so convolutions and attention use bf16
    too while normalisations stay in float32). Fusing twice changes nothing.

    Returns:
        ``model``, in eval mode (the fused layers have no backward).
    """
    if dtype not in (torch.float32, torch.bfloat16):
        raise ValueError(f"dtype must be float32 or bfloat16, got {dtype}")

    def fused_linear(linear: nn.Module, activation: str) -> nn.Module:
        return FusedLinear(linear, activation, dtype) if isinstance(linear, nn.Linear) else linear

    for module in list(model.modules()):
        if hasattr(module, "fuse_for_inference"):
            module.fuse_for_inference(fused_linear)
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, nn.Linear):
                setattr(module, name, FusedLinear(child, "none", dtype))
    return model.eval()


__all__ = ["FusedLinear", "cpu_has_native_bf16", "fuse_linears", "onednn_linear_available"]
