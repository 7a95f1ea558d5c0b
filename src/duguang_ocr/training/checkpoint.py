"""Model initialisation, crash-safe checkpoint directories and the resumable training state.

A work directory holds:

* ``last/`` and ``best/``: ModelScope-format model dirs (``Recognizer.from_pretrained`` loads
  them as they are). Each is written to ``<name>.tmp-<pid>/`` first, then swapped in: the
  old dir is renamed to ``<name>.old-<pid>/``, the new one renamed into place, the old one
  deleted. :func:`recover_dirs` undoes a swap a crash interrupted, so at every instant
  either the new or the old complete directory can be found.
* ``train_state.pt``: everything needed to continue exactly (weights, optimizer, scheduler,
  grad scaler, step/epoch/batch position, every rank's RNG states, best score), written to
  a temp file, fsynced and ``os.replace``-d. It is the source of truth for ``--resume``; it is
  written after ``last/``, so a crash between the two resumes from the previous state.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import hub
from ..atomic import atomic_path, dir_temp, recover_dir, replace_dir
from ..hub.modelscope import (
    VOCAB_FILE,
    ModelSpec,
    check_state_dict,
    load_model_dir,
    read_spec,
    save_model_dir,
)
from ..models import MODELS, create_model, variant_config
from ..vocab import Vocab
from .config import ConfigError, ModelSection

logger = logging.getLogger(__name__)

STATE_FILE = "train_state.pt"
STATE_VERSION = 1


def vocab_from_labels(labels: Iterable[str], offset: int, base: Vocab | None = None) -> Vocab:
    """``base``'s symbols followed by the labels' other characters (sorted by code point, so
    every rank and every rerun builds the same vocabulary)."""
    seen = set(base.symbols) if base else set()
    new = sorted({ch for text in labels for ch in text} - seen)
    symbols = (base.symbols if base else []) + new
    if not symbols:
        raise ConfigError("model.vocab=from_data: the training labels contain no characters")
    return Vocab(symbols, offset=offset)


def resolve_vocab(spec: str | None, offset: int, base: Vocab | None,
                  labels: Callable[[], Iterable[str]]) -> Vocab:
    """Vocabulary named by ``model.vocab`` (see :class:`~.config.ModelSection`)."""
    if spec is None:
        if base is None:
            raise ConfigError("model.vocab is required when training from scratch: a vocab.txt "
                              "path, a model whose vocabulary to use (e.g. default), or "
                              "from_data")
        return base
    if spec == "from_data":
        return vocab_from_labels(labels(), offset, base)
    if spec == "charset":  # the synthetic renderer's charset: what synth data can teach
        from ..synth import load_charset

        return Vocab(load_charset(), offset=offset)
    path = Path(spec).expanduser()
    if path.is_file():
        return Vocab.from_file(path, offset=offset)
    try:
        # "default": the embedded model's vocab.txt, even before its weights are shipped.
        model_dir = hub.DEFAULT_MODEL_DIR if spec == "default" else hub.resolve(spec)
    except ValueError:
        raise ConfigError(f"model.vocab={spec!r} is neither a file, from_data, nor a model "
                          "name/dir") from None
    return Vocab.from_file(model_dir / VOCAB_FILE, offset=offset)


def transfer_head(model: nn.Module, state: dict[str, torch.Tensor], old: Vocab, new: Vocab,
                  prefix: str) -> dict[str, torch.Tensor]:
    """``state`` with its CTC head rows rearranged for ``new``: the blank/reserved rows and
    every symbol both vocabularies share keep their trained rows.

    A new symbol's row starts as the mean of the old rows, so its logit is the mean of the
    old logits: below the frame's winner, so the extended model reads exactly as the old one
    did until training teaches the new rows. (A random row, as the fresh head has, wins
    frames at once: crnn_lite, the earlier default model, given 50 random rows fell from
    77.9% to 13.9% character accuracy on lines of its own vocabulary before a single step;
    zero rows still cost 42 points, since a bias-free head's winning logit can be negative.)"""
    out = dict(state)
    rows_new = list(range(new.offset)) + [new.char_id(s) for s in new.symbols if s in old]
    rows_old = list(range(old.offset)) + [old.char_id(s) for s in new.symbols if s in old]
    for key in (prefix + "weight", prefix + "bias"):
        if key not in state:
            continue
        trained = state[key].to(model.state_dict()[key].dtype)
        rows = trained[: old.num_classes].mean(0, keepdim=True)
        fresh = rows.repeat(new.num_classes, *[1] * (trained.ndim - 1))
        fresh[rows_new] = trained[rows_old]
        out[key] = fresh
    shared = len(rows_new) - new.offset
    logger.info("vocabulary changed: %d of %d symbols keep their head rows, %d start as their "
                "mean", shared, len(new), len(new) - shared)
    return out


def init_model(cfg: ModelSection,
               labels: Callable[[], Iterable[str]]) -> tuple[nn.Module, Vocab, str]:
    """Build ``(model, vocab, variant)`` from the config: a fresh variant, or a checkpoint
    (dir, alias or ModelScope id) whose head is remapped when the vocabulary changes."""
    if cfg.init in MODELS:
        offset = variant_config(cfg.init).vocab_offset
        vocab = resolve_vocab(cfg.vocab, offset, None, labels)
        return create_model(cfg.init, **cfg.arch, num_classes=vocab.num_classes), vocab, cfg.init
    if cfg.arch:
        raise ConfigError("model.arch applies only to a from-scratch variant, not to "
                          f"checkpoint {cfg.init!r}")
    try:
        model_dir = hub.resolve(cfg.init)
    except ValueError as e:
        raise ConfigError(f"model.init: {e}; or a variant: {', '.join(sorted(MODELS))}") from None
    model, old, spec = load_model_dir(model_dir)
    vocab = resolve_vocab(cfg.vocab, old.offset, old, labels)
    if vocab == old:
        return model.train(), vocab, spec.variant
    fresh = create_model(spec.variant, **spec.config_overrides, num_classes=vocab.num_classes)
    state = transfer_head(fresh, model.state_dict(), old, vocab, fresh.config.head_prefix)
    check_state_dict(fresh, state, str(model_dir))
    fresh.load_state_dict(state)
    return fresh, vocab, spec.variant


def peek_model(cfg: ModelSection,
               labels: Callable[[], Iterable[str]]) -> tuple[Any, Vocab, str]:
    """``(architecture config, vocabulary, name)`` that ``model.init`` and ``model.vocab``
    give a run, without building the model or reading weights (``check-data``). A fresh
    variant with no ``model.vocab`` gets ``from_data``'s (training would refuse to start)."""
    if cfg.init in MODELS:
        offset = variant_config(cfg.init).vocab_offset
        config = dataclasses.replace(variant_config(cfg.init), **cfg.arch)
        return config, resolve_vocab(cfg.vocab or "from_data", offset, None, labels), cfg.init
    spec, base = base_model(cfg.init)
    config = dataclasses.replace(variant_config(spec.variant), **spec.config_overrides)
    return config, resolve_vocab(cfg.vocab, base.offset, base, labels), cfg.init


def base_model(init: str) -> tuple[ModelSpec, Vocab]:
    """The spec and vocabulary of the checkpoint ``model.init`` names (dir, alias or id),
    without reading its weights: what a fine-tune starts from (``data.replay``'s charset)."""
    model_dir = hub.resolve(init)
    spec = read_spec(model_dir)
    offset = variant_config(spec.variant).vocab_offset
    return spec, Vocab.from_file(model_dir / VOCAB_FILE, offset=offset)


def model_spec(model: nn.Module, vocab: Vocab, variant: str) -> dict:
    """Plain description of the architecture, stored in ``train_state.pt``."""
    return {"variant": variant, "config": model.config.to_dict(), "vocab": vocab.symbols,
            "offset": vocab.offset}


def model_from_spec(spec: dict) -> tuple[nn.Module, Vocab, str]:
    """Rebuild the (untrained) model a training state describes."""
    vocab = Vocab(spec["vocab"], offset=spec["offset"])
    return create_model(spec["variant"], **spec["config"]), vocab, spec["variant"]


# train.keep_every: every N-th step's model dir, as KEPT_STEPS/step_NNNNNNN in the work dir.
KEPT_STEPS = "steps"


def kept_step_name(step: int) -> Path:
    """Where, in the work dir, train.keep_every keeps ``step``'s model dir."""
    return Path(KEPT_STEPS) / f"step_{step:07d}"


def recover_dirs(work_dir: Path, names: Iterable[str] = ("last", "best")) -> None:
    """Finish or undo directory swaps interrupted by a crash; drop half-written temps
    (directories and ``train_state.pt`` temp files). The run owns its work directory, so
    every leftover is stale, whatever process wrote it."""
    for name in names:
        recover_dir(work_dir / name, live_writers=False)
    for stale in (*work_dir.glob(f"{STATE_FILE}.tmp-*"), *work_dir.glob(f".{STATE_FILE}.tmp-*")):
        stale.unlink(missing_ok=True)  # a save_state() killed mid-write
    for stale in (work_dir / KEPT_STEPS).glob("*.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)  # a kept step's model dir killed mid-write


def save_model_atomic(dst: Path, model: nn.Module, vocab: Vocab, variant: str, *,
                      img_width: int, extra: dict) -> Path:
    """Write a ModelScope-format dir to ``dst`` via a temp dir and :func:`replace_dir`."""
    tmp = dir_temp(dst)
    shutil.rmtree(tmp, ignore_errors=True)
    save_model_dir(tmp, model, vocab, variant, img_width=img_width, extra=extra)
    replace_dir(tmp, dst)
    return dst


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and CUDA) for a reproducible start."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_rng() -> dict:
    """This process's RNG states as tensors and ints (loadable with ``weights_only``)."""
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(key.astype(np.int64)), pos, has_gauss, gauss],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng(state: dict) -> None:
    random.setstate(_as_tuple(state["python"]))
    kind, key, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, key.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuple(x: Any) -> Any:
    return tuple(_as_tuple(v) for v in x) if isinstance(x, (list, tuple)) else x


def save_state(path: Path, state: dict) -> None:
    """``torch.save`` to a temp file, fsync, then atomically replace ``path``."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_state(path: Path) -> dict:
    """Read a training state (tensors and plain values only; never runs code)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a damaged file
        raise RuntimeError(f"{path}: cannot read the training state ({type(e).__name__}: {e})"
                           ) from e
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        raise RuntimeError(f"{path}: not a duguang_ocr training state (version "
                           f"{STATE_VERSION})")
    return state
