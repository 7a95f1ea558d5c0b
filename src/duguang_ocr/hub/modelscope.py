"""ModelScope-format model directories: read, convert and write.

A directory holds ``configuration.json`` (``model.recognizer`` and
``model.inference_kwargs.{img_height, img_width, do_chunking}``), ``pytorch_model.pt`` (a
state dict; ``model.safetensors`` is accepted too) and ``vocab.txt``. Directories written by
duguang_ocr add ``model.duguang_ocr = {"variant": ..., "config": {...}}`` so smaller
variants round-trip; ModelScope ignores that key.

Weights are read with ``torch.load(weights_only=True)``: a checkpoint can carry tensors but
never runs code.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..atomic import atomic_path, atomic_write_text
from ..models import (
    ARCHITECTURES,
    MODELS,
    RECOGNIZER_TO_VARIANT,
    VARIANT_TO_RECOGNIZER,
    create_model,
    variant_config,
)
from ..vocab import Vocab
from . import safetensors

CONFIG_FILE = "configuration.json"
WEIGHTS_FILES = ("pytorch_model.pt", "model.safetensors")
VOCAB_FILE = "vocab.txt"


class CheckpointError(ValueError):
    """A model directory or state dict does not fit the architecture it claims."""


@dataclass
class ModelSpec:
    """Everything needed to rebuild a recognizer, read from ``configuration.json``."""

    variant: str
    recognizer: str  # ModelScope's name (``ArchConfig.modelscope_name``)
    config_overrides: dict
    img_height: int = 32
    img_width: int = 804
    do_chunking: bool = True
    # How the model was trained to see lines: "keep_ratio" (the recognizer's default mode),
    # "squash" (ModelScope's fixed canvas: parity mode) or None (not recorded, e.g. official
    # ModelScope checkpoints, which the default mode reads best).
    preprocess: str | None = None
    raw: dict = field(default_factory=dict)

    @property
    def lines_seen(self) -> int:
        """Training lines behind these weights, over every run that led to them, as the
        trainer recorded them (0: not recorded, e.g. official ModelScope checkpoints)."""
        ours = (self.raw.get("model") or {}).get("duguang_ocr") or {}
        return int(ours.get("lines_seen") or 0)

    @property
    def inference_mode(self) -> str:
        """The recognizer mode that reads lines the way the model was trained."""
        return "parity" if self.preprocess == "squash" else "default"


def read_spec(model_dir: str | os.PathLike) -> ModelSpec:
    """Parse ``configuration.json`` into a :class:`ModelSpec` with clear errors."""
    path = Path(model_dir) / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{model_dir}: no {CONFIG_FILE}; not a ModelScope model directory")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        model = raw["model"]
        recognizer = model["recognizer"]
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{path}: cannot read model.recognizer ({e})") from None
    ours = model.get("duguang_ocr") or {}
    variant = ours.get("variant") or RECOGNIZER_TO_VARIANT.get(recognizer)
    if variant is None:
        raise CheckpointError(f"{path}: unsupported recognizer {recognizer!r} (supported: "
                              f"{', '.join(sorted(ARCHITECTURES))})")
    if variant not in MODELS:
        raise CheckpointError(f"{path}: unknown duguang_ocr variant {variant!r}")
    if VARIANT_TO_RECOGNIZER[variant] != recognizer:
        raise CheckpointError(
            f"{path}: variant {variant!r} is a {VARIANT_TO_RECOGNIZER[variant]}, "
            f"but model.recognizer says {recognizer!r}"
        )
    kw = model.get("inference_kwargs") or {}
    arch = ARCHITECTURES[recognizer]
    return ModelSpec(
        variant=variant,
        recognizer=recognizer,
        config_overrides=dict(ours.get("config") or {}),
        img_height=int(kw.get("img_height", 32)),
        img_width=int(kw.get("img_width", arch.default_width)),
        do_chunking=bool(kw.get("do_chunking", arch.chunked)),
        preprocess=ours.get("preprocess"),
        raw=raw,
    )


def clean_state_dict(state: dict) -> dict[str, torch.Tensor]:
    """Strip the ``recognizer.`` / ``module.`` prefixes that fine-tuned ModelScope
    checkpoints (and DDP) add, as ModelScope's loader does; drop non-tensor entries."""
    if "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    out = {}
    for k, v in state.items():
        if not isinstance(v, torch.Tensor):
            continue
        out[k.replace("recognizer.", "").replace("module.", "")] = v
    return out


def read_weights(model_dir: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Load the state dict from ``pytorch_model.pt`` or ``model.safetensors``."""
    for name in WEIGHTS_FILES:
        path = Path(model_dir) / name
        if not path.is_file():
            continue
        try:
            if name.endswith(".safetensors"):
                state = safetensors.load_file(path)
            else:
                state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # torch raises many types for a damaged file
            raise CheckpointError(f"{path}: cannot read weights ({type(e).__name__}: {e})") from e
        if not isinstance(state, dict):
            raise CheckpointError(f"{path}: expected a state dict, found {type(state).__name__}")
        return clean_state_dict(state)
    raise CheckpointError(f"{model_dir}: no weights file (looked for {', '.join(WEIGHTS_FILES)})")


def check_state_dict(model: nn.Module, state: dict[str, torch.Tensor], source: str = "") -> None:
    """Raise :class:`CheckpointError` listing missing, unexpected and mis-shaped keys."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    if not (missing or unexpected or shapes):
        return

    def show(items: list[str]) -> str:
        return ", ".join(items[:8]) + (f" ... (+{len(items) - 8} more)" if len(items) > 8 else "")

    lines = [f"weights{(' in ' + source) if source else ''} do not fit the architecture:"]
    if missing:
        lines.append(f"  missing keys ({len(missing)}): {show(missing)}")
    if unexpected:
        lines.append(f"  unexpected keys ({len(unexpected)}): {show(unexpected)}")
    if shapes:
        lines.append(f"  shape mismatches ({len(shapes)}): {show(shapes)}")
    raise CheckpointError("\n".join(lines))


def load_model_dir(model_dir: str | os.PathLike) -> tuple[nn.Module, Vocab, ModelSpec]:
    """Build the model described by a ModelScope-format directory and load its weights.

    The class count follows the vocabulary (``len(vocab) + offset``); a head of a different
    size is reported as a shape mismatch naming both numbers.
    """
    spec = read_spec(model_dir)
    vocab_path = Path(model_dir) / VOCAB_FILE
    if not vocab_path.is_file():
        raise CheckpointError(f"{model_dir}: no {VOCAB_FILE}")
    vocab = Vocab.from_file(vocab_path, offset=variant_config(spec.variant).vocab_offset)
    state = read_weights(model_dir)
    overrides = dict(spec.config_overrides)
    overrides["num_classes"] = vocab.num_classes
    model = create_model(spec.variant, **overrides)
    head = model.config.head_prefix + "weight"
    if head in state and state[head].shape[0] != vocab.num_classes:
        raise CheckpointError(
            f"{model_dir}: vocab.txt has {len(vocab)} symbols -> {vocab.num_classes} classes, "
            f"but the checkpoint's head has {state[head].shape[0]} outputs"
        )
    check_state_dict(model, state, str(model_dir))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model.eval(), vocab, spec


def save_model_dir(
    model_dir: str | os.PathLike,
    model: nn.Module,
    vocab: Vocab,
    variant: str,
    *,
    img_width: int | None = None,
    half: bool = False,
    extra: dict | None = None,
) -> Path:
    """Write a directory that both ModelScope and :func:`load_model_dir` can load.

    ``half=True`` stores float weights as fp16 (loading casts them back to fp32).
    """
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    arch = variant_config(variant)
    base = arch.to_dict()
    cfg = model.config.to_dict()
    overrides = {k: v for k, v in cfg.items() if base.get(k) != v and k != "num_classes"}
    config = {
        "framework": "pytorch",
        "task": "ocr-recognition",
        "pipeline": {"type": arch.pipeline},
        "model": {
            "type": "OCRRecognition",
            "recognizer": arch.modelscope_name,
            "inference_kwargs": {
                "img_height": 32,
                "img_width": img_width or arch.default_width,
                "do_chunking": arch.chunked,
            },
            "duguang_ocr": {"variant": variant, "config": overrides, **(extra or {})},
        },
        "preprocessor": {"type": "ocr-recognition"},
    }
    state = {
        k: (v.half() if half and v.is_floating_point() else v).detach().cpu().clone()
        for k, v in model.state_dict().items()
    }
    with atomic_path(model_dir / "pytorch_model.pt") as tmp:
        torch.save(state, tmp)
    with atomic_path(model_dir / VOCAB_FILE) as tmp:
        vocab.save(tmp)
    atomic_write_text(model_dir / CONFIG_FILE,
                      json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    return model_dir
