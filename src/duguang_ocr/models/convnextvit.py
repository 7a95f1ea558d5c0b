"""ConvNextViT: ModelScope's DuGuang line recognizer (ConvNeXt + ViTSTR context + CTC head).

The model works on fixed 32x300 **chunks** of a line (75 frames each, one per 4 px), cut
every 252 px; how chunks are cut and their frames merged back into one sequence per line is
:mod:`duguang_ocr.chunking`'s (``ChunkGeometry.of(config)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn

from .base import ArchConfig
from .context import ContextHead
from .convnext import ConvNeXtLine
from .layers import rgb_to_gray


@dataclass
class ConvNextViTConfig(ArchConfig):
    """Architecture hyper-parameters; the defaults are ModelScope's ConvNextViT-tiny."""

    modelscope_name: ClassVar[str] = "ConvNextViT"
    vocab_offset: ClassVar[int] = 2
    head_prefix: ClassVar[str] = "vitstr.head."
    chunked: ClassVar[bool] = True
    default_width: ClassVar[int] = 804  # three chunks
    pipeline: ClassVar[str] = "convnextTiny-ocr-recognition"

    depths: tuple[int, ...] = (3, 3, 8, 3)
    dims: tuple[int, ...] = (96, 192, 256, 512)
    embed_dim: int = 192
    context_depth: int = 12
    num_heads: int = 3
    mlp_ratio: float = 4.0
    num_classes: int = 7644
    height: int = 32
    chunk_width: int = 300
    chunk_stride: int = 252
    drop_rate: float = 0.1
    attn_drop_rate: float = 0.1
    drop_path_rate: float = 0.0
    layer_scale_init: float = 1e-6
    extra: dict = field(default_factory=dict)

    @property
    def trace_width(self) -> int:  # type: ignore[override]
        """ONNX exports are traced on one full chunk."""
        return self.chunk_width

    @property
    def frames_per_chunk(self) -> int:
        return self.chunk_width // 4  # the stem's /4: one frame per 4 px


class ConvNextViT(nn.Module):
    """(N, 3, 32, 300) RGB chunks in [0, 1] -> (N, 75, num_classes) CTC logits per chunk.

    Narrower chunks (any multiple of 4 px up to 300) give W / 4 frames; ModelScope only
    ever runs full ones, ``mode="fast"`` runs a line's last chunk cut to the line's width.

    >>> m = ConvNextViT(ConvNextViTConfig(depths=(1, 1, 1, 1), dims=(8, 8, 8, 16),
    ...     embed_dim=8, context_depth=1, num_heads=2, num_classes=10))
    >>> m(torch.zeros(2, 3, 32, 300)).shape
    torch.Size([2, 75, 10])
    """

    def __init__(self, config: ConvNextViTConfig | None = None):
        super().__init__()
        self.config = config = config or ConvNextViTConfig()
        if config.height != 32:
            raise ValueError("ConvNextViT needs 32-px-high input (stem /4 then three /2)")
        self.cnn_model = ConvNeXtLine(
            1, config.depths, config.dims, config.drop_path_rate, config.layer_scale_init
        )
        self.vitstr = ContextHead(
            in_chans=config.dims[-1],
            embed_dim=config.embed_dim,
            depth=config.context_depth,
            num_heads=config.num_heads,
            mlp_ratio=config.mlp_ratio,
            num_frames=config.frames_per_chunk,
            num_classes=config.num_classes,
            drop_rate=config.drop_rate,
            attn_drop_rate=config.attn_drop_rate,
            drop_path_rate=config.drop_path_rate,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.vitstr(self.cnn_model(rgb_to_gray(x)))
