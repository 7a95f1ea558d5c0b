"""Training and fine-tuning recognizers on LMDB (or folder) line data sets.

Two entry points share one :class:`Trainer`:

* Python: ``train(model="convnextvit_small", train_data=..., eval_data=..., work_dir=...,
  max_epochs=15)``;
* command line: ``duguang-ocr train --config tiny_test --set train.max_epochs=15
  --work-dir runs/x [--resume]`` (:func:`train_from_config`); under ``torchrun`` either one
  trains with DDP.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import distributed
from .config import (
    ConfigError,
    TrainConfig,
    apply_explicit,
    flat_overrides,
    from_dict,
    load_config,
    parse_overrides,
    read_yaml,
)
from .trainer import Trainer


def train(model: str | os.PathLike | None = None,
          train_data: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
          eval_data: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
          work_dir: str | os.PathLike = "work_dirs/run", *, config: str | None = None,
          vocab: str | None = None, resume: bool = False, overrides: Sequence[str] = (),
          log: bool = True, **settings: Any) -> dict[str, Any]:
    """Train or fine-tune a recognizer and return ``{"step", "best", "eval"}``.

    Args:
        model: a variant to train from scratch (``convnextvit_small``, ...) or a model dir,
            alias or ModelScope id to fine-tune (``model.init``).
        train_data, eval_data: LMDB dirs or folders with ``labels.tsv`` (one or a list).
        work_dir: output directory (``best/`` loads with ``Recognizer.from_pretrained``).
        config: a YAML config (path or packaged name) to start from; default: base.yaml's
            defaults.
        vocab: ``model.vocab`` (a vocab.txt, a model name/dir, or ``from_data``).
        resume: continue from ``work_dir/train_state.pt`` if present.
        overrides: ``"section.key=value"`` strings. These and ``**settings`` beat the
            config file; so ``max_epochs=15`` trains 15 epochs even when the file sets
            ``max_steps`` (:func:`~.config.apply_explicit`).
        log: print the run's log (INFO) to stderr, unless logging is configured already.
            Progress shows as a tqdm bar in a terminal or notebook either way.
        **settings: any config key by name, e.g. ``max_epochs=15``, ``lr=3e-4``,
            ``num_chunks=3``; ``section__key=...`` when a name is in two sections
            (``train__batch_size``, ``eval__batch_size``).

    >>> train("convnextvit_small", "train.lmdb", "val.lmdb", "runs/small",
    ...       vocab="default", max_epochs=15)  # doctest: +SKIP
    """
    with _console_log(log):
        values = read_yaml(config) if config is not None else {}
        direct: dict[str, Any] = {}
        if model is not None:
            direct["model.init"] = str(model)
        if vocab is not None:
            direct["model.vocab"] = vocab
        for key, data in (("data.train", train_data), ("data.eval", eval_data)):
            if data is not None:
                direct[key] = [str(data)] if isinstance(data, (str, os.PathLike)) else [
                    str(d) for d in data]
        explicit = {**parse_overrides(list(overrides)), **direct, **flat_overrides(settings)}
        return _run(from_dict(apply_explicit(values, explicit)), work_dir, resume)


@contextmanager
def _console_log(enabled: bool) -> Iterator[None]:
    """Show the package's INFO log on stderr while ``train()`` runs, unless the program
    has configured logging itself (any root or package handler): a notebook user sees the
    run's progress, an application keeps control of its own logging."""
    pkg = logging.getLogger("duguang_ocr")
    if not enabled or logging.getLogger().handlers or pkg.handlers:
        yield
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    level = pkg.level
    pkg.addHandler(handler)
    main_rank = os.environ.get("RANK", "0") == "0"
    pkg.setLevel(logging.INFO if main_rank else logging.WARNING)
    try:
        yield
    finally:
        pkg.removeHandler(handler)
        pkg.setLevel(level)


def train_from_config(config: str | os.PathLike | None, overrides: Sequence[str] = (),
                      work_dir: str | os.PathLike | None = None,
                      resume: bool = False) -> dict[str, Any]:
    """What ``duguang-ocr train`` runs.

    ``work_dir`` defaults to ``work_dirs/<config name>``. With ``resume`` and no config, the
    run's own ``work_dir/config.yaml`` is used.
    """
    if config is None:
        if not (resume and work_dir is not None):
            raise ConfigError("pass --config (or --resume with --work-dir of an earlier run)")
        saved = Path(work_dir) / "config.yaml"
        if not saved.is_file():
            raise FileNotFoundError(f"{saved} not found: pass --config")
        config = saved
    if work_dir is None:
        work_dir = Path("work_dirs") / Path(config).stem
    return _run(load_config(config, list(overrides)), work_dir, resume)


def _run(cfg: TrainConfig, work_dir: str | os.PathLike, resume: bool) -> dict[str, Any]:
    try:
        return Trainer(cfg, work_dir, resume=resume).fit()
    finally:
        distributed.teardown()


__all__ = ["ConfigError", "TrainConfig", "Trainer", "load_config", "train", "train_from_config"]
