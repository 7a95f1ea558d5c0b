"""Recognizer architectures and their named variants.

``MODELS`` is the one place that lists what can be built: ``name -> (class, config)``.
Models know nothing about images on disk, vocabularies or decoding: they map
(N, 3, 32, W) tensors in [0, 1] to CTC logits.
"""

from __future__ import annotations

import dataclasses

from torch import nn

from .convnextvit import (
    ConvNextViT,
    ConvNextViTConfig,
    merge_chunk_list,
    merge_chunks,
    merged_frames,
)
from .crnn import CRNN, CRNNConfig

MODELS: dict[str, tuple[type[nn.Module], object]] = {
    # ModelScope's ConvNextViT-tiny (general/handwritten/scene/document/licenseplate weights).
    "convnextvit_tiny": (ConvNextViT, ConvNextViTConfig()),
    # A CPU-trainable middle size (~1/6 of tiny's FLOPs).
    # Layer scale starts at 0.1, not 1e-6: trained from scratch on a short budget, blocks
    # that start as near-identities stayed switched off for thousands of steps.
    "convnextvit_small": (
        ConvNextViT,
        ConvNextViTConfig(
            depths=(2, 2, 4, 2), dims=(48, 96, 128, 256), embed_dim=160, context_depth=3,
            num_heads=4, layer_scale_init=0.1,
        ),
    ),
    # The embedded default model: 0.25 GFLOP per chunk, trainable on a 2-core CPU.
    "convnextvit_nano": (
        ConvNextViT,
        ConvNextViTConfig(
            depths=(1, 1, 2, 1), dims=(32, 64, 96, 128), embed_dim=128, context_depth=2,
            num_heads=4, layer_scale_init=0.1,
        ),
    ),
    # A few-thousand-parameter model for tests and smoke training.
    "convnextvit_test": (
        ConvNextViT,
        ConvNextViTConfig(
            depths=(1, 1, 1, 1), dims=(8, 16, 16, 32), embed_dim=16, context_depth=1,
            num_heads=2, drop_rate=0.0, attn_drop_rate=0.0,
        ),
    ),
    # ModelScope's cv_crnn_ocr-recognition-general_damo.
    "crnn": (CRNN, CRNNConfig()),
    # The embedded default model: CRNN's conv stack at 1/4..1/3 width, no LSTMs. Chosen over
    # convnextvit_nano because, trained from scratch on a CPU budget, the ConvNeXt variants
    # (and CRNN with LSTMs) sat on CTC's all-blank plateau for thousands of steps while a
    # plain batch-normalised conv stack left it within a few hundred (README).
    "crnn_lite": (CRNN, CRNNConfig(channels=(32, 64, 128, 160), hidden=0)),
}

# ModelScope's `model.recognizer` value -> our variant for checkpoints that name no variant.
RECOGNIZER_TO_VARIANT = {"ConvNextViT": "convnextvit_tiny", "CRNN": "crnn"}
VARIANT_TO_RECOGNIZER = {
    name: "ConvNextViT" if cls is ConvNextViT else "CRNN" for name, (cls, _) in MODELS.items()
}
# Class id of the first vocab line: ConvNextViT reserves id 1, CRNN does not.
VOCAB_OFFSET = {"ConvNextViT": 2, "CRNN": 1}


def list_models() -> list[str]:
    """Names accepted by :func:`create_model`."""
    return sorted(MODELS)


def create_model(name: str, **overrides) -> nn.Module:
    """Build a randomly initialised variant, optionally overriding config fields.

    >>> create_model("convnextvit_test", num_classes=20).config.num_classes
    20
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(list_models())}")
    cls, config = MODELS[name]
    fields = {f.name for f in dataclasses.fields(config)}
    unknown = set(overrides) - fields
    if unknown:
        raise ValueError(f"{name}: unknown config fields {sorted(unknown)}; known: {sorted(fields)}")
    overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    return cls(dataclasses.replace(config, **overrides))


__all__ = [
    "CRNN",
    "CRNNConfig",
    "ConvNextViT",
    "ConvNextViTConfig",
    "MODELS",
    "RECOGNIZER_TO_VARIANT",
    "VARIANT_TO_RECOGNIZER",
    "VOCAB_OFFSET",
    "create_model",
    "list_models",
    "merge_chunk_list",
    "merge_chunks",
    "merged_frames",
]
