"""Training configuration: typed dataclasses loaded from YAML, with dotted overrides.

A YAML file names sections and keys of :class:`TrainConfig`; anything else is an error that
names the bad key and lists the valid ones (a typo must not silently train with a default).
``base: other.yaml`` makes a file a small diff over another one: the base is loaded first
(relative to the file, then from the packaged configs) and nested sections merge key by key.
Overrides ``"section.key=value"`` apply last; values are parsed with ``yaml.safe_load``, so
``train.max_epochs=15``, ``data.train=[a.lmdb,b.lmdb]`` and ``model.vocab=null`` all work.

Config files ship inside the package (``duguang_ocr/configs/``, also reachable as
``configs/`` in a source checkout), so ``--config tiny_test``, ``--config tiny_test.yaml``
and ``--config configs/tiny_test.yaml`` work from any directory after ``pip install``; a path
that exists on disk always wins.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
PRECISIONS = ("fp32", "bf16", "fp16")


class ConfigError(ValueError):
    """A configuration file or override is invalid; the message names the key."""


@dataclass
class ModelSection:
    """What to train.

    ``init`` is a variant name (``convnextvit_small``...; trained from scratch) or a model
    directory, alias or ModelScope id (fine-tuning). ``vocab`` is a ``vocab.txt`` path, a
    model name/dir whose vocabulary to use (e.g. ``default``), ``charset`` (the synthetic
    renderer's charset, ``duguang_ocr/synth/data/charset.txt``), ``from_data`` (the training
    labels' characters; a fine-tuned checkpoint's vocabulary is extended by them), or null
    (the checkpoint's own vocabulary; required with a checkpoint ``init`` only).
    """

    init: str = "convnextvit_small"
    vocab: str | None = None
    # keep_ratio: as the recognizer reads by default (any width, as many chunks as the line
    # needs); squash: ModelScope's fixed canvas (wider lines squashed), read in parity mode.
    preprocess: str = "keep_ratio"
    num_chunks: int = 1  # squash, chunked models: canvas 300 + 252 * (num_chunks - 1) px
    img_width: int = 640  # squash, whole-line models (CRNN): canvas width in px
    arch: dict = field(default_factory=dict)  # variant config overrides (from scratch only)


@dataclass
class SynthSection:
    """Synthetic lines rendered on the fly (:mod:`duguang_ocr.data.synth_source`), a
    training source beside ``data.train``; their labels are never width-normalised (the
    renderer draws exactly the label, full-width punctuation included)."""

    lines: int = 0  # synthetic lines per epoch; 0: none
    seed: int = 1000
    max_chars: int = 40
    max_width: int | None = None  # px at height 32; None: any width
    curriculum: dict = field(default_factory=dict)  # {stage: lines seen when it ends}
    plates: float = 0.0  # share of (post-curriculum) lines drawn as Chinese licence plates
    scene: float = 0.0  # share of (post-curriculum) lines drawn as harshly captured scene words


def set_name(path: str) -> str:
    """A data set's name: its folder without ``.lmdb`` (``data/real/svt.lmdb`` -> ``svt``)."""
    name = Path(path.rstrip("/\\")).name
    return name[: -len(".lmdb")] if name.endswith(".lmdb") else name


@dataclass
class DataSection:
    # LMDB dirs or folders with labels.tsv; a set listed n times is read n times per epoch
    # (how a small set is oversampled).
    train: list[str] = field(default_factory=list)
    eval: list[str] = field(default_factory=list)
    synth: SynthSection = field(default_factory=SynthSection)
    normalize_width: bool = True  # full-width ASCII forms -> ASCII in labels
    unknown: str = "skip"  # labels with out-of-vocab symbols: skip | drop_chars
    augment: float = 0.5  # probability of augmenting a training line (0: off)
    num_workers: int = 2
    check: bool = True  # read the training sets once at the start and log data/check.py's report
    # Fine-tuning: this share of every epoch is synthetic lines over model.init's own charset
    # (rendered like data.synth), so a run that adds symbols keeps rehearsing the old ones.
    replay: float = 0.0
    # Data echoing: optimizer steps taken on each loaded batch. When rendering sets the pace
    # (the log's "waiting for data"), 2 lets the GPU learn from each batch twice instead of
    # idling. An epoch then holds echo times as many steps.
    echo: int = 1
    # Training sets whose labels' letter case is not the image's (IIIT5K, SVT: all upper case;
    # CUTE80: all lower case), by path or by name (data/real/svt.lmdb is "svt", so the entry
    # survives a data.train that moves the sets). Their lines are scored case-insensitively:
    # each letter's upper- and lower-case probabilities are merged before CTC, so they teach
    # the letter without pushing the model towards the wrong case.
    case_insensitive: list[str] = field(default_factory=list)

    def case_insensitive_parts(self) -> list[int]:
        """Positions in ``train`` of the sets ``case_insensitive`` names."""
        wanted = set(self.case_insensitive)
        return [i for i, p in enumerate(self.train) if p in wanted or set_name(p) in wanted]


@dataclass
class OptimSection:
    lr: float = 1e-3
    weight_decay: float = 0.05
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    warmup_steps: int = 500
    min_lr_ratio: float = 0.01  # cosine floor, as a fraction of lr
    grad_clip: float = 5.0  # max global grad norm; 0 disables clipping
    accumulate: int = 1  # micro-batches per optimizer step
    # Learning rate of everything but the CTC head, as a fraction of lr. Fine-tuning with new
    # symbols: e.g. 0.1 lets the new head rows learn at lr while the trained body moves
    # slowly, so it forgets less.
    body_lr_scale: float = 1.0
    # "new": only the head rows of symbols model.init lacks learn; the trained rows stay
    # exactly as they were (no gradient, no weight decay), so old symbols' logits hold.
    head_rows: str = "all"


@dataclass
class TrainSection:
    batch_size: int = 32  # per process and micro-batch
    max_epochs: int = 10
    max_steps: int | None = None  # optimizer steps; when set it wins over max_epochs (see run_length)
    # Minutes of training, resumed runs included: the cosine anneals by then (or by the step
    # limit, whichever comes first) and the run ends there. null: no limit.
    time_limit: float | None = None
    seed: int = 0
    precision: str = "fp32"  # fp32 | bf16 | fp16 (fp16 needs CUDA)
    device: str | None = None  # cpu, cuda, cuda:N; null: CUDA when available
    save_every: int = 500  # steps between last/ + train_state.pt saves (and every epoch end)
    # Also keep the weights of every N-th step in steps/step_NNNNNNN/ (a model dir, no
    # optimizer state; 0: off): last/ moves on, and the best point of a long run is chosen
    # afterwards on sets the run does not score (held-out real lines, other protocols).
    keep_every: int = 0
    log_every: int = 50
    threads: int | None = None  # torch CPU threads; null: torch's default
    # Keep conv weights and images channels-last (NHWC): ConvNeXt blocks then permute for
    # their LayerNorm/MLP without copies, and cuDNN's depthwise convolutions in bf16 run on
    # that layout. Same results either way; a speed setting for GPUs.
    channels_last: bool = False
    # Pad each step's model input with blank rows to a multiple of this (chunking.pad_rows):
    # a GPU then builds cuDNN plans for a few row counts instead of one per batch. Same
    # losses; needs a model without batch norm (its statistics would see the blank rows).
    row_multiple: int = 1
    # CUDA only: let cuDNN time its algorithms for each new input shape and keep the fastest
    # (torch.backends.cudnn.benchmark). Pays a few seconds per shape, so pair it with
    # row_multiple (a few shapes per run); benchmarks/profile_train_step.py
    # --cudnn-benchmark off,on measures whether it pays on a given GPU.
    cudnn_benchmark: bool = False
    # CTC softmax over a subset of the head's classes each step (training.class_subset):
    # blank, the batch's characters, the softmax_top best-scoring classes of every frame and
    # softmax_random others drawn at random standing in for the rest. 0: every class. The
    # default model's 6,928 classes at 4 + 1024: gradients within cosine 0.99 of the full
    # softmax's in half the step time on a 2-core CPU.
    softmax_top: int = 0
    softmax_random: int = 1024


@dataclass
class EvalSection:
    every_steps: int = 0  # evaluate every N steps, or at epoch ends when 0 (and after the last)
    batch_size: int = 32  # the recognizer's (and `duguang-ocr eval`'s) default
    max_samples: int | None = None  # per eval set, the first N
    num_errors: int = 100  # worst lines written to errors.tsv
    # Also score the eval sets before the first step, and log each one's change at the end
    # (e.g. an old-charset set while new symbols are learnt).
    at_start: bool = False


@dataclass
class TrainConfig:
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    optim: OptimSection = field(default_factory=OptimSection)
    train: TrainSection = field(default_factory=TrainSection)
    eval: EvalSection = field(default_factory=EvalSection)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


_SECTIONS = {c.__name__: c for c in (ModelSection, DataSection, SynthSection, OptimSection,
                                     TrainSection, EvalSection)}


_SCALARS = {"int": int, "float": float, "bool": bool, "str": str, "dict": dict}


def _coerce(value: Any, annotation: str, key: str) -> Any:
    """Check ``value`` against a field annotation (``int``, ``str | None``, ``list[float]``...).

    Ints become floats where a float is expected, and so do strings such as ``1e-3`` (YAML
    1.1 reads them as text). Annotations are parsed here rather than with
    ``typing.get_type_hints`` so ``X | None`` works on every supported Python.
    """
    optional = annotation.endswith(" | None")
    annotation = annotation.removesuffix(" | None")
    if value is None and optional:
        return None
    if annotation.startswith("list["):
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            value = [value]  # data.train=one.lmdb
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        return [_coerce(v, annotation[5:-1], f"{key}[{i}]") for i, v in enumerate(value)]
    tp = _SCALARS[annotation]
    if tp is float and not isinstance(value, bool):
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    elif tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    elif tp is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, tp) or (tp is not bool and isinstance(value, bool)):
        raise ConfigError(f"{key}: expected {annotation}, got {value!r}")
    return value


def _build(cls: type, values: dict, prefix: str = "") -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {values!r}")
    fields = {f.name: f.type for f in dataclasses.fields(cls)}
    for key in values:
        if key not in fields:
            where = f"section {prefix.rstrip('.')!r}" if prefix else "the top level"
            raise ConfigError(f"unknown key {prefix + str(key)!r} in {where}; valid keys: "
                              f"{', '.join(fields)}")
    kwargs = {}
    for name, annotation in fields.items():
        if name not in values:
            continue
        section = _SECTIONS.get(annotation)
        if section is not None:
            kwargs[name] = _build(section, values[name] or {}, f"{prefix}{name}.")
        else:
            kwargs[name] = _coerce(values[name], annotation, f"{prefix}{name}")
    return cls(**kwargs)


def validate(cfg: TrainConfig) -> TrainConfig:
    """Raise :class:`ConfigError` for values no run could use."""
    from ..data.collate import PREPROCESSING
    from ..data.synth_source import check_curriculum

    try:
        check_curriculum(cfg.data.synth.curriculum)
    except ValueError as e:
        raise ConfigError(f"data.synth.curriculum: {e}") from None
    synth = cfg.data.synth
    checks = [
        (cfg.model.preprocess in PREPROCESSING,
         f"model.preprocess must be one of {PREPROCESSING}"),
        (synth.lines >= 0 and synth.max_chars >= 1, "data.synth.lines must be >= 0 and "
         "data.synth.max_chars >= 1"),
        (synth.max_width is None or synth.max_width >= 32, "data.synth.max_width must be >= 32"),
        (0.0 <= synth.plates <= 1.0, "data.synth.plates must lie in [0, 1]"),
        (0.0 <= synth.scene <= 1.0 - synth.plates,
         "data.synth.scene must lie in [0, 1 - data.synth.plates]"),
        (cfg.model.num_chunks >= 1, "model.num_chunks must be >= 1"),
        (cfg.model.img_width >= 4 and cfg.model.img_width % 4 == 0,
         "model.img_width must be a positive multiple of 4"),
        (cfg.data.unknown in ("skip", "drop_chars"), "data.unknown must be skip or drop_chars"),
        (0.0 <= cfg.data.augment <= 1.0, "data.augment must lie in [0, 1]"),
        (0.0 <= cfg.data.replay < 1.0, "data.replay must lie in [0, 1)"),
        (cfg.data.num_workers >= 0, "data.num_workers must be >= 0"),
        (cfg.data.echo >= 1, "data.echo must be >= 1"),
        (set(cfg.data.case_insensitive) <= {n for p in cfg.data.train for n in (p, set_name(p))},
         "data.case_insensitive must name entries of data.train (paths or names)"),
        (cfg.optim.lr > 0, "optim.lr must be > 0"),
        (cfg.optim.body_lr_scale >= 0, "optim.body_lr_scale must be >= 0 (0 freezes the body)"),
        (cfg.optim.head_rows in ("all", "new"), "optim.head_rows must be all or new"),
        (len(cfg.optim.betas) == 2, "optim.betas must hold two numbers"),
        (cfg.optim.warmup_steps >= 0, "optim.warmup_steps must be >= 0"),
        (cfg.optim.accumulate >= 1, "optim.accumulate must be >= 1"),
        (cfg.optim.grad_clip >= 0, "optim.grad_clip must be >= 0"),
        (cfg.train.batch_size >= 1, "train.batch_size must be >= 1"),
        (cfg.train.max_epochs >= 1, "train.max_epochs must be >= 1"),
        (cfg.train.max_steps is None or cfg.train.max_steps >= 1, "train.max_steps must be >= 1"),
        (cfg.train.time_limit is None or cfg.train.time_limit > 0,
         "train.time_limit must be > 0 minutes"),
        (cfg.train.row_multiple >= 1, "train.row_multiple must be >= 1"),
        (cfg.train.softmax_top >= 0 and cfg.train.softmax_random >= 0,
         "train.softmax_top and train.softmax_random must be >= 0"),
        (cfg.train.precision in PRECISIONS, f"train.precision must be one of {PRECISIONS}"),
        (cfg.train.save_every >= 1 and cfg.train.log_every >= 1,
         "train.save_every and train.log_every must be >= 1"),
        (cfg.train.keep_every >= 0, "train.keep_every must be >= 0 (0: off)"),
        (cfg.eval.every_steps >= 0 and cfg.eval.batch_size >= 1 and cfg.eval.num_errors >= 0,
         "eval.every_steps/num_errors must be >= 0 and eval.batch_size >= 1"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
    return cfg


def from_dict(values: dict) -> TrainConfig:
    """Build and validate a config from nested plain values (unknown keys are errors)."""
    return validate(_build(TrainConfig, values))


def find_config(name: str | os.PathLike) -> Path:
    """Locate a config file: an existing path, else the packaged ``configs/`` by file name
    (``tiny_test``, ``tiny_test.yaml`` and ``configs/tiny_test.yaml`` are all found)."""
    path = Path(name).expanduser()
    if path.is_file():
        return path
    stem = path.name if path.suffix in (".yaml", ".yml") else f"{path.name}.yaml"
    packaged = CONFIG_DIR / stem
    if packaged.is_file():
        return packaged
    known = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
    raise FileNotFoundError(f"config {str(name)!r} not found (packaged configs: {known})")


def _merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def read_yaml(path: str | os.PathLike, _seen: tuple[Path, ...] = ()) -> dict:
    """Load a YAML config as plain values with its ``base:`` chain merged in."""
    path = find_config(path).resolve()
    if path in _seen:
        raise ConfigError(f"{path}: 'base:' chain loops ({' -> '.join(p.name for p in _seen)})")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML ({e})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(values).__name__}")
    base = values.pop("base", None)
    if base is None:
        return values
    local = path.parent / str(base)
    base_values = read_yaml(local if local.is_file() else base, (*_seen, path))
    return _merge(base_values, values)


def apply_overrides(values: dict, overrides: list[str] | dict[str, Any]) -> dict:
    """Apply ``"a.b=value"`` strings (YAML-parsed) or a ``{"a.b": value}`` dict."""
    items = overrides.items() if isinstance(overrides, dict) else map(_split, overrides)
    out = _merge(values, {})
    for dotted, value in items:
        keys = dotted.split(".")
        node = out
        for k in keys[:-1]:
            child = node.get(k)
            node[k] = child = dict(child) if isinstance(child, dict) else {}
            node = child
        node[keys[-1]] = value
    return out


def _split(item: str) -> tuple[str, Any]:
    key, eq, raw = item.partition("=")
    if not eq or not key.strip():
        raise ConfigError(f"override {item!r} is not of the form section.key=value")
    try:
        return key.strip(), yaml.safe_load(raw)
    except yaml.YAMLError as e:
        raise ConfigError(f"override {item!r}: cannot parse the value ({e})") from None


def parse_overrides(overrides: list[str] | dict[str, Any]) -> dict[str, Any]:
    """``["a.b=value", ...]`` (values YAML-parsed) as ``{"a.b": value}``; dicts pass through."""
    return dict(overrides) if isinstance(overrides, dict) else dict(map(_split, overrides))


def apply_explicit(values: dict, overrides: list[str] | dict[str, Any]) -> dict:
    """:func:`apply_overrides` for what the user passed explicitly (``--set``, ``train()``
    keywords), which beats the config file, also on how long the run is.

    The length is set by ``train.max_steps`` when it is set, else by ``train.max_epochs``
    (:func:`run_length`). So an explicit ``max_epochs`` with no explicit ``max_steps``
    clears the file's ``max_steps``: ``train(..., config="tiny_test", max_epochs=15)``
    trains 15 epochs although tiny_test says ``max_steps: 40``. A warning says so.
    """
    explicit = parse_overrides(overrides)
    file_steps = (values.get("train") or {}).get("max_steps")
    if ("train.max_epochs" in explicit and "train.max_steps" not in explicit
            and file_steps is not None):
        logger.warning("train.max_epochs=%s (passed explicitly) wins over the config file's "
                       "train.max_steps=%s: the run trains %s epochs",
                       explicit["train.max_epochs"], file_steps, explicit["train.max_epochs"])
        explicit["train.max_steps"] = None
    return apply_overrides(values, explicit)


def run_length(train: TrainSection, steps_per_epoch: int, *, log: bool = True) -> int:
    """Optimizer steps the run takes: ``max_steps`` when set, else ``max_epochs`` epochs.

    Logs the choice; warns when ``max_epochs`` is set too (differs from its default), since
    one of the two is then ignored.
    """
    if train.max_steps is None:
        total, why = train.max_epochs * steps_per_epoch, f"train.max_epochs={train.max_epochs}"
    else:
        total, why = train.max_steps, f"train.max_steps={train.max_steps}"
        if log and train.max_epochs != TrainSection.max_epochs:
            logger.warning("train.max_steps=%d and train.max_epochs=%d are both set: max_steps "
                           "wins (%d steps = %.1f epochs); set train.max_steps=null to train "
                           "by epochs", train.max_steps, train.max_epochs, total,
                           total / max(1, steps_per_epoch))
    if log:
        logger.info("run length: %d steps = %.1f epochs of %d steps (%s)", total,
                    total / max(1, steps_per_epoch), steps_per_epoch, why)
    return total


def load_config(path: str | os.PathLike | None = None,
                overrides: list[str] | dict[str, Any] = ()) -> TrainConfig:
    """Read a YAML config (None: the defaults), apply overrides (:func:`apply_explicit`),
    validate.

    >>> load_config("tiny_test", ["train.max_steps=5"]).train.max_steps
    5
    >>> load_config("tiny_test", ["train.max_epochs=15"]).train.max_steps is None
    True
    """
    values = read_yaml(path) if path is not None else {}
    return from_dict(apply_explicit(values, overrides))


def flat_overrides(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Map keyword arguments to dotted keys for :func:`apply_overrides`.

    ``max_epochs=15`` -> ``train.max_epochs`` when only one section has that key;
    ``eval__batch_size=128`` names the section explicitly.
    """
    owners: dict[str, list[str]] = {}
    for sec in dataclasses.fields(TrainConfig):
        for f in dataclasses.fields(_SECTIONS[sec.type]):
            owners.setdefault(f.name, []).append(sec.name)
    out = {}
    for key, value in kwargs.items():
        if "__" in key:
            out[key.replace("__", ".", 1)] = value
            continue
        found = owners.get(key, [])
        if len(found) != 1:
            what = "is ambiguous" if found else "is not a config key"
            hint = f" (use {' or '.join(f'{s}__{key}' for s in found)})" if found else ""
            raise ConfigError(f"{key!r} {what}{hint}; keys: {', '.join(sorted(owners))}")
        out[f"{found[0]}.{key}"] = value
    return out


def save_config(cfg: TrainConfig, path: str | os.PathLike) -> None:
    """Write the fully resolved config (every key) as YAML."""
    Path(path).write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False, allow_unicode=True),
                          encoding="utf-8")
