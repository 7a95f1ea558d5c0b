"""ConvNeXt backbone shaped for text lines.

A 4x4/4 stem followed by three (2, 1)-stride downsamplings: a 32-px-high line collapses to
height 1 while the width keeps W/4 columns, one CTC frame per 4 input pixels. Parameter
names follow ModelScope's ``cnn_model.*`` keys (``downsample_layers``, ``stages``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from .layers import DropPath, LayerNorm2d


class ConvNeXtBlock(nn.Module):
    """Depthwise 7x7 conv -> LayerNorm -> MLP (x4) -> layer scale, plus the residual."""

    def __init__(self, dim: int, drop_path: float = 0.0, layer_scale_init: float = 1e-6):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale_init))
        self.drop_path = DropPath(drop_path)

    def fuse_for_inference(self, fused_linear: Callable[[nn.Linear, str], nn.Module]) -> None:
        """Take the inference form: ``pwconv1`` and the GELU after it as one layer built by
        ``fused_linear(pwconv1, "gelu")`` (see :mod:`duguang_ocr.fused`); a no-op once done."""
        if isinstance(self.act, nn.GELU):
            self.pwconv1, self.act = fused_linear(self.pwconv1, "gelu"), nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)  # (N, H, W, C): Linear layers act on channels
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        y = (self.gamma * y).permute(0, 3, 1, 2)
        return x + self.drop_path(y)


class ConvNeXtLine(nn.Module):
    """The backbone: (N, in_chans, 32, W) -> (N, dims[-1], 1, W / 4)."""

    def __init__(
        self,
        in_chans: int = 1,
        depths: Sequence[int] = (3, 3, 8, 3),
        dims: Sequence[int] = (96, 192, 256, 512),
        drop_path_rate: float = 0.0,
        layer_scale_init: float = 1e-6,
    ):
        super().__init__()
        if len(depths) != 4 or len(dims) != 4:
            raise ValueError("ConvNeXtLine needs exactly 4 stages (depths and dims of length 4)")
        stem = nn.Sequential(nn.Conv2d(in_chans, dims[0], 4, stride=4), LayerNorm2d(dims[0]))
        self.downsample_layers = nn.ModuleList([stem])
        for i in range(3):
            self.downsample_layers.append(
                nn.Sequential(
                    LayerNorm2d(dims[i]),
                    nn.Conv2d(dims[i], dims[i + 1], kernel_size=(2, 1), stride=(2, 1)),
                )
            )
        rates = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        self.stages = nn.ModuleList()
        for i, depth in enumerate(depths):
            first = sum(depths[:i])
            self.stages.append(
                nn.Sequential(
                    *[
                        ConvNeXtBlock(dims[i], rates[first + j], layer_scale_init)
                        for j in range(depth)
                    ]
                )
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for down, stage in zip(self.downsample_layers, self.stages):
            x = stage(down(x))
        return x
