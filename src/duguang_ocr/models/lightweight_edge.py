"""LightweightEdge: ModelScope's architecture-searched mobile line recognizer.

A 3x3/2 stem, then four stages of MobileNet-style cells that an architecture search picked
(inverted bottlenecks with one depthwise kernel, with kernels of several sizes on channel
groups ("mix"), or with parallel kernels summed ("rep")), squeeze-excitation between
stages, and a linear CTC head. A 32-px line ends at height 1 with one frame per 4 px, like
CRNN it reads the whole line at once. Parameter names follow ModelScope's checkpoint
(``our_nas_model.blocks.<i>.mobile_inverted_conv.*``); cells the search left empty
("zero") keep their index and pass their input through.

Each stage is written as one string of cells, e.g. ``"mb6_5 rep6_35 se8"``:

* ``mb<e>_<k>``: 1x1 expansion by ``e`` (none for ``e=1``), depthwise k x k, 1x1 projection;
* ``mix<e>_<ks>``: as ``mb`` with the expanded channels split into equal groups, one kernel
  size from ``ks`` (digits) per group;
* ``rep<e>_<ks>``: as ``mb`` with one depthwise conv per kernel size on all channels, summed
  before the activation;
* ``lin_<ks>``: no expansion; one depthwise conv per kernel size, concatenated, projected;
* ``se<r>``: squeeze-excitation with channel reduction ``r``; ``zero``: identity.

The first cell of a stage applies its stride (2x2, then 2x1 three times). Kernels are no
taller than the feature map they slide over (``min(k, h | 1)`` rows for height ``h``), and a
cell keeps a residual connection when its input and output shapes match.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from .base import ArchConfig
from .layers import rgb_to_gray

STRIDES = ((2, 2), (2, 1), (2, 1), (2, 1))


@dataclass
class LightweightEdgeConfig(ArchConfig):
    """Architecture hyper-parameters; the defaults are ModelScope's searched network."""

    modelscope_name: ClassVar[str] = "LightweightEdge"
    vocab_offset: ClassVar[int] = 2
    head_prefix: ClassVar[str] = "head."
    default_width: ClassVar[int] = 804
    pipeline: ClassVar[str] = "convnextTiny-ocr-recognition"  # ModelScope's only OCR pipeline

    num_classes: int = 7644
    height: int = 32
    stem: int = 24
    widths: tuple[int, ...] = (32, 64, 96, 128)
    stages: tuple[str, ...] = (
        "mb6_5 rep6_35 rep2_135 rep6_135 mb6_5 se8",
        "mix6_35 zero zero zero zero se8",
        "mb2_5 mb6_5 lin_35 mix4_35 zero se8",
        "mb6_5 mb6_5 rep4_35 mix4_35 zero zero",
    )


def _conv_bn(cin: int, cout: int, kernel: tuple[int, int] = (1, 1),
             stride: tuple[int, int] = (1, 1), groups: int = 1, act: bool = True) -> nn.Sequential:
    """Conv (no bias) -> BatchNorm [-> PReLU], children named ``conv``, ``bn``, ``act``."""
    layers: OrderedDict[str, nn.Module] = OrderedDict(
        conv=nn.Conv2d(cin, cout, kernel, stride, (kernel[0] // 2, kernel[1] // 2),
                       groups=groups, bias=False),
        bn=nn.BatchNorm2d(cout),
    )
    if act:
        layers["act"] = nn.PReLU()
    return nn.Sequential(layers)


def _depthwise(channels: int, k: int, height: int, stride: tuple[int, int],
               act: bool = True) -> nn.Sequential:
    kernel = (min(k, height | 1), k)  # an odd height, so padding stays symmetric
    return _conv_bn(channels, channels, kernel, stride, groups=channels, act=act)


class InvertedBottleneck(nn.Module):
    """1x1 expansion -> depthwise branches -> 1x1 projection (cells ``mb``, ``mix``, ``rep``).

    ``kind`` says how the branches share the expanded channels: ``"mb"`` one kernel on all,
    ``"mix"`` one kernel per channel group (concatenated), ``"rep"`` every kernel on all
    channels (summed, then one activation).
    """

    def __init__(self, kind: str, cin: int, cout: int, expand: int, kernels: list[int],
                 height: int, stride: tuple[int, int]):
        super().__init__()
        self.kind = kind
        mid = cin * expand
        if expand != 1 or kind != "mb":  # ModelScope skips it only in plain cells
            self.inverted_bottleneck = _conv_bn(cin, mid)
        if kind == "mb":
            self.depth_conv = _depthwise(mid, kernels[0], height, stride)
        elif kind == "mix":
            self.groups = [-(-mid // len(kernels))] * len(kernels)
            self.groups[-1] += mid - sum(self.groups)
            self.mix_conv = nn.ModuleList(
                _depthwise(c, k, height, stride) for c, k in zip(self.groups, kernels))
        else:
            self.rep_conv = nn.ModuleList(
                _depthwise(mid, k, height, stride, act=False) for k in kernels)
            self.act = nn.PReLU()
        self.point_conv = _conv_bn(mid, cout, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "inverted_bottleneck"):
            x = self.inverted_bottleneck(x)
        if self.kind == "mb":
            x = self.depth_conv(x)
        elif self.kind == "mix":
            parts = torch.split(x, self.groups, dim=1)
            x = torch.cat([conv(p) for conv, p in zip(self.mix_conv, parts)], dim=1)
        else:
            y = self.rep_conv[0](x)
            for conv in self.rep_conv[1:]:
                y = y + conv(x)
            x = self.act(y)
        return self.point_conv(x)


class LinearMix(nn.Module):
    """Cell ``lin``: depthwise convs of several sizes on the input, concatenated -> 1x1."""

    def __init__(self, cin: int, cout: int, kernels: list[int], height: int,
                 stride: tuple[int, int]):
        super().__init__()
        self.mix_conv = nn.ModuleList(_depthwise(cin, k, height, stride) for k in kernels)
        self.act = nn.PReLU()
        self.point_conv = _conv_bn(cin * len(kernels), cout, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(torch.cat([conv(x) for conv in self.mix_conv], dim=1))
        return self.point_conv(x)


class SqueezeExcite(nn.Module):
    """Cell ``se``: channels scaled by sigmoid(fc2(relu(fc1(mean over H, W))))."""

    def __init__(self, channels: int, reduction: int):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(x, 1))))
        return torch.sigmoid(scale) * x


class Cell(nn.Module):
    """One searched cell (key ``mobile_inverted_conv``), plus its input when shapes match."""

    def __init__(self, op: nn.Module, residual: bool):
        super().__init__()
        self.mobile_inverted_conv = op
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.mobile_inverted_conv(x)
        return x + y if self.residual else y


def build_cell(name: str, cin: int, cout: int, height: int,
               stride: tuple[int, int]) -> nn.Module:
    """The module for cell ``name`` (see the module docstring) between ``cin`` and ``cout``
    channels, on a feature map ``height`` rows high."""
    if name == "zero":
        return nn.Identity()
    if name.startswith("se"):
        return Cell(SqueezeExcite(cin, int(name[2:])), residual=False)
    kind, _, ks = name.partition("_")
    kernels = [int(k) for k in ks]
    residual = stride == (1, 1) and cin == cout
    if kind == "lin":
        return Cell(LinearMix(cin, cout, kernels, height, stride), residual)
    for prefix in ("mb", "mix", "rep"):
        if kind.startswith(prefix) and kind[len(prefix):].isdigit():
            op = InvertedBottleneck(prefix, cin, cout, int(kind[len(prefix):]), kernels,
                                    height, stride)
            return Cell(op, residual)
    raise ValueError(f"unknown LightweightEdge cell {name!r}")


class SearchedBackbone(nn.Module):
    """Stem and cells: (N, 1, 32, W) -> (N, widths[-1], 1, W / 4); keys ``first_conv``,
    ``blocks``."""

    def __init__(self, config: LightweightEdgeConfig):
        super().__init__()
        if len(config.stages) != len(STRIDES) or len(config.widths) != len(STRIDES):
            raise ValueError(f"LightweightEdge needs {len(STRIDES)} stages and widths")
        self.first_conv = nn.Sequential(
            nn.Conv2d(1, config.stem, 3, 2, 1, bias=False), nn.BatchNorm2d(config.stem),
            nn.PReLU())
        height, channels, blocks = config.height // 2, config.stem, []
        for cells, width, stride in zip(config.stages, config.widths, STRIDES):
            for i, name in enumerate(cells.split()):
                first = i == 0
                if first and (name == "zero" or name.startswith("se")):
                    raise ValueError(f"a stage must start with a convolution cell: {cells!r}")
                out = channels if name == "zero" or name.startswith("se") else width
                blocks.append(build_cell(name, channels, out, height, stride if first else (1, 1)))
                if first:
                    height //= stride[0]
                channels = out
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.first_conv(x)
        for block in self.blocks:
            x = block(x)
        return x


class LightweightEdge(nn.Module):
    """(N, 3, 32, W) RGB in [0, 1] -> (N, W / 4, num_classes) CTC logits.

    >>> m = LightweightEdge(LightweightEdgeConfig(num_classes=10)).eval()
    >>> m(torch.zeros(2, 3, 32, 160)).shape
    torch.Size([2, 40, 10])
    """

    def __init__(self, config: LightweightEdgeConfig | None = None):
        super().__init__()
        self.config = config = config or LightweightEdgeConfig()
        self.our_nas_model = SearchedBackbone(config)
        self.head = nn.Linear(self.our_nas_model.out_channels, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.our_nas_model(rgb_to_gray(x))
        if x.shape[2] != 1:
            raise ValueError(f"LightweightEdge needs 32-px-high input; feature height is "
                             f"{x.shape[2]}")
        b, c, _, t = x.shape
        # Frames as rows of one matrix, as ModelScope does, so the head's sums round alike.
        frames = x.squeeze(2).transpose(1, 2).reshape(b * t, c)
        return self.head(frames).view(b, t, -1)
