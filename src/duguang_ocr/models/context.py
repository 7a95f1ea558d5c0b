"""ViTSTR-style context blocks over the backbone's frame sequence.

Parameter names follow ModelScope's ``vitstr.*`` keys: a 1x1 ``patch_embed.proj``, learned
``pos_embed`` for a fixed number of frames, pre-norm transformer ``blocks``, a final ``norm``
and the CTC ``head``. ``cls_token`` is kept only so official checkpoints load strictly; the
model never uses it.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import Attention, DropPath, Mlp


class TransformerBlock(nn.Module):
    """Pre-norm block: x + attn(norm1(x)); x + mlp(norm2(x))."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path: float = 0.0,
    ):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads, attn_drop=attn_drop, proj_drop=drop)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PatchEmbed(nn.Module):
    """1x1 conv from backbone channels to the context width; (N, C, 1, T) -> (N, T, D)."""

    def __init__(self, in_chans: int, embed_dim: int):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class ContextHead(nn.Module):
    """Transformer context over a chunk's frames followed by a linear CTC classifier."""

    def __init__(
        self,
        in_chans: int = 512,
        embed_dim: int = 192,
        depth: int = 12,
        num_heads: int = 3,
        mlp_ratio: float = 4.0,
        num_frames: int = 75,
        num_classes: int = 7644,
        drop_rate: float = 0.1,
        attn_drop_rate: float = 0.1,
        drop_path_rate: float = 0.0,
    ):
        super().__init__()
        self.num_frames = num_frames
        self.patch_embed = PatchEmbed(in_chans, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))  # unused; checkpoint compat
        self.pos_embed = nn.Parameter(torch.zeros(1, num_frames, embed_dim))
        self.pos_drop = nn.Dropout(drop_rate)
        rates = torch.linspace(0, drop_path_rate, depth).tolist()
        self.blocks = nn.Sequential(
            *[
                TransformerBlock(embed_dim, num_heads, mlp_ratio, drop_rate, attn_drop_rate, r)
                for r in rates
            ]
        )
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        frames = x.shape[1]
        if frames > self.num_frames:
            raise ValueError(
                f"context blocks take at most {self.num_frames} frames per chunk "
                f"({self.num_frames * 4} px wide), got {frames}"
            )
        # A narrower chunk (the last one of a line in mode="fast") uses the first position
        # embeddings: its frames sit where they would at the left of a full chunk. (Always
        # sliced, a no-op for full chunks, so an ONNX export keeps the width dynamic.)
        x = self.pos_drop(x + self.pos_embed[:, :frames])
        return self.norm(self.blocks(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))
