"""Recognizer architectures and their named variants.

``MODELS`` is the one place that lists what can be built: ``name -> (class, config)``.
Models know nothing about images on disk, vocabularies or decoding: they map
(N, 3, 32, W) tensors in [0, 1] to CTC logits. What differs between architectures outside
the network (vocabulary numbering, chunking, head keys, ModelScope's name) is declared on
each config class (:class:`~.base.ArchConfig`); the maps below are derived from it.
"""

from __future__ import annotations

import dataclasses

from torch import nn

from .base import ArchConfig
from .convnextvit import ConvNextViT, ConvNextViTConfig
from .crnn import CRNN, CRNNConfig
from .lightweight_edge import LightweightEdge, LightweightEdgeConfig

MODELS: dict[str, tuple[type[nn.Module], ArchConfig]] = {
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
    # The previous embedded default: CRNN's conv stack at 1/4..1/3 width, no LSTMs. It left
    # CTC's all-blank plateau within a few hundred steps from scratch; convnextvit_nano, which
    # replaced it, needed ~420 once dropout was off (docs/DEFAULT_MODEL.md).
    "crnn_lite": (CRNN, CRNNConfig(channels=(32, 64, 128, 160), hidden=0)),
    # ModelScope's architecture-searched mobile recognizer (whole line, 2M parameters).
    "lightweight_edge": (LightweightEdge, LightweightEdgeConfig()),
}

#: ModelScope's ``model.recognizer`` name -> the config class that declares it.
ARCHITECTURES: dict[str, type[ArchConfig]] = {
    type(cfg).modelscope_name: type(cfg) for _, cfg in MODELS.values()
}
#: ModelScope's name -> our variant for checkpoints that name no variant: the variant whose
#: config is its class's defaults, which are ModelScope's own architecture.
RECOGNIZER_TO_VARIANT = {
    cfg.modelscope_name: name for name, (_, cfg) in MODELS.items() if cfg == type(cfg)()
}
VARIANT_TO_RECOGNIZER = {name: cfg.modelscope_name for name, (_, cfg) in MODELS.items()}
#: Class id of the first vocab line, by ModelScope name (see ``ArchConfig.vocab_offset``).
VOCAB_OFFSET = {name: arch.vocab_offset for name, arch in ARCHITECTURES.items()}


def list_models() -> list[str]:
    """Names accepted by :func:`create_model`."""
    return sorted(MODELS)


def variant_config(name: str) -> ArchConfig:
    """The config of variant ``name``; its class-level facts describe the architecture.

    >>> variant_config("crnn").vocab_offset, variant_config("convnextvit_tiny").chunked
    (1, True)
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(list_models())}")
    return MODELS[name][1]


def architecture(modelscope_name: str) -> type[ArchConfig]:
    """The config class ModelScope's ``model.recognizer`` value names.

    Raises:
        ValueError: no architecture here has that name.
    """
    if modelscope_name not in ARCHITECTURES:
        raise ValueError(f"unsupported recognizer {modelscope_name!r}; supported: "
                         f"{', '.join(sorted(ARCHITECTURES))}")
    return ARCHITECTURES[modelscope_name]


def create_model(name: str, **overrides) -> nn.Module:
    """Build a randomly initialised variant, optionally overriding config fields.

    >>> create_model("convnextvit_test", num_classes=20).config.num_classes
    20
    """
    config = variant_config(name)
    cls = MODELS[name][0]
    fields = {f.name for f in dataclasses.fields(config)}
    unknown = set(overrides) - fields
    if unknown:
        raise ValueError(f"{name}: unknown config fields {sorted(unknown)}; known: {sorted(fields)}")
    overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    return cls(dataclasses.replace(config, **overrides))


__all__ = [
    "ARCHITECTURES",
    "ArchConfig",
    "CRNN",
    "CRNNConfig",
    "ConvNextViT",
    "ConvNextViTConfig",
    "LightweightEdge",
    "LightweightEdgeConfig",
    "MODELS",
    "RECOGNIZER_TO_VARIANT",
    "VARIANT_TO_RECOGNIZER",
    "VOCAB_OFFSET",
    "architecture",
    "create_model",
    "list_models",
    "variant_config",
]
