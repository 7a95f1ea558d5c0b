"""CRNN: ModelScope's ``cv_crnn_ocr-recognition-general_damo`` recognizer.

VGG-style conv stack (height 32 -> 1, width /4), two bidirectional LSTMs and a bias-free
linear classifier. Unlike ConvNextViT it reads a whole line at once, so the line width is
free (any multiple of 4); parameter names follow ModelScope's checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from .base import ArchConfig
from .layers import rgb_to_gray


@dataclass
class CRNNConfig(ArchConfig):
    """Architecture hyper-parameters; the defaults are ModelScope's CRNN."""

    modelscope_name: ClassVar[str] = "CRNN"
    vocab_offset: ClassVar[int] = 1
    head_prefix: ClassVar[str] = "cls."
    default_width: ClassVar[int] = 640  # ModelScope's ONNX exporter's width
    pipeline: ClassVar[str] = "crnn-ocr-recognition"

    num_classes: int = 7644
    height: int = 32
    hidden: int = 256  # 0: no LSTMs (a purely convolutional variant)
    # Conv widths of the four stages (ModelScope's: 64, 128, 256, 512); narrower variants
    # keep the same layers and parameter names.
    channels: tuple[int, ...] = (64, 128, 256, 512)


def _conv(cin: int, cout: int, kernel=(3, 3), padding=(1, 1), stride=(1, 1)) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, kernel_size=kernel, padding=padding, stride=stride),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    ]


class BidirectionalLSTM(nn.Module):
    """(T, N, in) -> BiLSTM -> Linear -> (T, N, out); keys ``rnn``, ``embedding``."""

    def __init__(self, n_in: int, hidden: int, n_out: int):
        super().__init__()
        self.rnn = nn.LSTM(n_in, hidden, bidirectional=True)
        self.embedding = nn.Linear(hidden * 2, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.rnn(x)
        return self.embedding(y)


class CRNN(nn.Module):
    """(N, 3, 32, W) RGB in [0, 1] -> (N, W / 4, num_classes) CTC logits."""

    def __init__(self, config: CRNNConfig | None = None):
        super().__init__()
        self.config = config = config or CRNNConfig()
        if len(config.channels) != 4:
            raise ValueError(f"CRNN needs 4 stage widths, got {config.channels}")
        c0, c1, c2, c3 = config.channels
        self.conv0 = nn.Sequential(*_conv(1, c0))
        self.p0 = nn.MaxPool2d((2, 2), (2, 2))
        self.conv1 = nn.Sequential(*_conv(c0, c1))
        self.p1 = nn.MaxPool2d((2, 2), (2, 2))
        self.conv2 = nn.Sequential(*_conv(c1, c2), *_conv(c2, c2))
        self.p2 = nn.MaxPool2d((2, 1), (2, 1))
        self.conv3 = nn.Sequential(*_conv(c2, c3), *_conv(c3, c3))
        self.p3 = nn.MaxPool2d((2, 1), (2, 1))
        self.conv4 = nn.Sequential(*_conv(c3, c3, kernel=(2, 1), padding=(0, 0), stride=(2, 1)))
        h = config.hidden
        if h:
            self.rnn = nn.Sequential(BidirectionalLSTM(c3, h, h), BidirectionalLSTM(h, h, 2 * h))
        else:  # hidden=0: a purely convolutional variant, frames classified directly
            self.rnn = nn.Identity()
        self.cls = nn.Linear(2 * h if h else c3, config.num_classes, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = rgb_to_gray(x)
        for conv, pool in (
            (self.conv0, self.p0),
            (self.conv1, self.p1),
            (self.conv2, self.p2),
            (self.conv3, self.p3),
        ):
            x = pool(conv(x))
        x = self.conv4(x)
        if x.shape[2] != 1:
            raise ValueError(f"CRNN needs 32-px-high input; feature height is {x.shape[2]}")
        x = x.squeeze(2).permute(2, 0, 1)  # (T, N, C) for the LSTMs
        return self.cls(self.rnn(x)).permute(1, 0, 2)
