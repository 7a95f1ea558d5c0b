"""Small building blocks shared by the recognizers (plain torch, no timm/torchvision)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


def rgb_to_gray(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 1] -> (N, 1, H, W) luma with ModelScope's weights.

    The recognizers are grayscale models; converting inside the model keeps checkpoints
    interchangeable with ModelScope, which feeds 3-channel tensors.
    """
    return x[:, 0:1] * 0.2989 + x[:, 1:2] * 0.5870 + x[:, 2:3] * 0.1140


class LayerNorm2d(nn.Module):
    """LayerNorm over the channel axis of an (N, C, H, W) tensor.

    Written out (mean/variance) the way ConvNeXt's reference does so the numbers match
    ModelScope's checkpoints to float precision; parameters are ``weight`` and ``bias``.
    """

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class DropPath(nn.Module):
    """Stochastic depth: drop the whole residual branch per sample while training."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Mlp(nn.Module):
    """Linear -> GELU -> dropout -> Linear -> dropout (keys ``fc1``, ``fc2``)."""

    def __init__(self, dim: int, hidden: int, drop: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def fuse_for_inference(self, fused_linear: Callable[[nn.Linear, str], nn.Module]) -> None:
        """Take the inference form: ``fc1`` and its GELU as one ``fused_linear(fc1, "gelu")``
        layer (dropout is a no-op in eval mode); a no-op once done."""
        if isinstance(self.act, nn.GELU):
            self.fc1, self.act = fused_linear(self.fc1, "gelu"), nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class Attention(nn.Module):
    """Multi-head self-attention with a fused qkv projection (keys ``qkv``, ``proj``).

    ``fused=True`` uses ``F.scaled_dot_product_attention`` (faster); ``fused=False`` spells
    out softmax(q k^T * scale) v in ModelScope's order, which reproduces its logits bit for
    bit (the fused kernel differs by float rounding, ~1e-6 relative). Which one runs is the
    backend's choice (:func:`duguang_ocr.inference.set_attention`, on its own copy).
    """

    def __init__(self, dim: int, num_heads: int, attn_drop: float = 0.0, proj_drop: float = 0.0):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)
        self.attn_drop = attn_drop
        self.proj_drop = nn.Dropout(proj_drop)
        self.fused = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        # (B, N, 3, heads, head_dim) -> 3 x (B, heads, N, head_dim)
        q, k, v = self.qkv(x).view(b, n, 3, self.num_heads, c // self.num_heads).unbind(2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        drop = self.attn_drop if self.training else 0.0
        if self.fused:
            x = F.scaled_dot_product_attention(q, k, v, dropout_p=drop)
        else:
            attn = (q @ k.transpose(-2, -1)) * (c // self.num_heads) ** -0.5
            x = F.dropout(attn.softmax(dim=-1), drop, training=self.training) @ v
        return self.proj_drop(self.proj(x.transpose(1, 2).reshape(b, n, c)))

