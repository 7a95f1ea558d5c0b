"""The training loop: CTC on LMDB/folder line data sets, resumable, single process or DDP.

One optimizer step = ``optim.accumulate`` micro-batches of ``train.batch_size`` lines per
process. The learning rate follows a per-step linear warm-up and cosine decay. Evaluation
runs every ``eval.every_steps`` steps, at every epoch end and after the final step;
``last/`` and ``train_state.pt`` are saved every ``train.save_every`` steps, at every epoch
end and at the end (see :mod:`.checkpoint` for the crash-safety rules); with
``train.keep_every``, every N-th step's weights also stay in ``steps/step_NNNNNNN/``.

Reproducibility: the data order is a permutation seeded by ``(seed, epoch)``, augmentation
is seeded per sample, and the state holds every RNG, so ``resume=True`` continues exactly
where the run stopped (same batches, same remaining steps).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ..chunking import ChunkGeometry, pad_rows
from ..data.check import check_training_data
from ..data.collate import STAT_KEYS, Keyed, LineCollator
from ..data.lmdb_dataset import iter_labels, open_dataset
from ..data.synth_source import SynthLines
from ..devices import set_cudnn_benchmark
from ..evaluate import evaluate
from ..hub.modelscope import ModelSpec
from ..models import MODELS
from ..preprocess import scale_pixels
from ..vocab import Vocab
from . import checkpoint, class_subset, distributed
from .config import ConfigError, TrainConfig, run_length, save_config, validate
from .evaluate import ctc_per_line, line_logits
from .metrics import EvalTotals, RunLog, forget_records_after, write_errors
from .params import freeze_body, param_groups, train_only_rows

# Recognizer mode that reads lines the way each training preprocessing prepared them.
INFERENCE_MODE = {"keep_ratio": "default", "squash": "parity"}

logger = logging.getLogger(__name__)


def lr_factor(step: int, warmup: int, total: int, min_ratio: float,
              time_fraction: float = 0.0) -> float:
    """Multiplier of the peak learning rate at optimizer step ``step`` (0-based).

    ``time_fraction`` (the share of ``train.time_limit`` used) moves the cosine as far as the
    step count does when it is further along: a time-budgeted run anneals by its deadline.
    """
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, max(time_fraction, (step - warmup) / max(1, total - warmup)))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


class Trainer:
    """Train a recognizer as ``config`` says, writing into ``work_dir``.

    Args:
        config: the run's settings (see :mod:`.config`).
        work_dir: where ``last/``, ``best/``, ``train_state.pt``, ``metrics.jsonl``,
            ``errors.tsv`` and ``config.yaml`` go.
        resume: continue from ``work_dir/train_state.pt`` when it exists.

    >>> Trainer(load_config("tiny_test", ["data.train=[t.lmdb]"]), "runs/t").fit()  # doctest: +SKIP
    """

    def __init__(self, config: TrainConfig, work_dir: str | Path, *, resume: bool = False):
        self.cfg = cfg = validate(config)
        if not cfg.data.train and not cfg.data.synth.lines:
            raise ConfigError("data.train is empty and data.synth.lines is 0: name at least "
                              "one LMDB data set or set data.synth.lines")
        self.work_dir = Path(work_dir)
        self.info = distributed.setup(cfg.train.device)
        self.device = self.info.device
        if cfg.train.precision == "fp16" and self.device.type != "cuda":
            raise ConfigError("train.precision=fp16 needs CUDA; use fp32 or bf16 on CPU")
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        set_cudnn_benchmark(self.device, cfg.train.cudnn_benchmark)
        if self.info.is_main:
            self.work_dir.mkdir(parents=True, exist_ok=True)
            checkpoint.recover_dirs(self.work_dir)
        distributed.barrier(self.info)
        self.state_path = self.work_dir / checkpoint.STATE_FILE
        state = checkpoint.load_state(self.state_path) if resume and self.state_path.exists() \
            else None
        if resume and state is None:
            logger.info("no %s yet: starting a new run", self.state_path)
            if self.info.is_main:  # records of a run killed before its first save
                forget_records_after(self.work_dir / "metrics.jsonl", 0)
        checkpoint.seed_everything(cfg.train.seed)
        self._open_data()
        self._build_model(state)
        if cfg.data.check and self.info.is_main:  # what every epoch will see, drop and why
            check_training_data(self.train_parts, self.collate, self.variant,
                                cfg.data.normalize_width)
        self._add_synth()
        self._build_optim()
        self.step = self.epoch = self.batch_in_epoch = 0
        self.echo_done = 0  # steps already taken on the current batch (data.echo)
        # Lines trained on, over every run behind the weights: model.init's own count plus
        # each loaded batch once (an echoed batch is not new data). Saved with the weights.
        self.lines_seen = self._init_lines_seen() if state is None else 0
        self.best = -math.inf
        self.start_scores: dict | None = None  # eval.at_start's scores
        self.dropped = dict.fromkeys(STAT_KEYS, 0)
        if state is not None:
            self._restore(state)
        else:
            # Different dropout streams per rank; the data order is seeded separately.
            torch.manual_seed(cfg.train.seed * 1_000_003 + self.info.rank)
        self.ddp_model = self._wrap_ddp()

    # -- setup ------------------------------------------------------------------------------

    def _open_data(self) -> None:
        d = self.cfg.data
        self.train_parts = [open_dataset(p, normalize_width=d.normalize_width) for p in d.train]
        self.eval_sets = [(Path(p).name, p) for p in d.eval]
        if not self.eval_sets:
            logger.warning("no data.eval: best/ will not be written")

    def _labels(self):
        for part in self.train_parts:
            yield from iter_labels(part)

    def _add_synth(self) -> None:
        """Append the on-the-fly synthetic source (over the model's vocabulary)."""
        s = self.cfg.data.synth
        if s.lines:
            self.train_parts.append(SynthLines(
                s.lines, self.vocab.symbols, seed=s.seed, max_chars=s.max_chars,
                max_width=s.max_width, curriculum=s.curriculum, plates=s.plates,
                scene=s.scene))
        if self.cfg.data.replay:
            self.train_parts.append(self._replay_source())
        # data.train's parts come first, in order, so their positions are the entries'.
        folded = self.cfg.data.case_insensitive_parts()
        self.train_set = Keyed(*self.train_parts, fold_case=folded)
        if folded:
            logger.info("letter case ignored in the labels of %s (%d lines)",
                        ", ".join(self.cfg.data.train[i] for i in folded),
                        sum(len(self.train_parts[i]) for i in folded))
        logger.info("training data: %s (%d lines per epoch)",
                    ", ".join(map(repr, self.train_parts)), len(self.train_set))

    def _init_vocab(self, why: str) -> Vocab:
        """``model.init``'s own vocabulary (without reading its weights), for a setting that
        ``why`` needs it; a fresh variant has none."""
        init = self.cfg.model.init
        if init in MODELS:
            raise ConfigError(f"{why}; model.init={init!r} is a fresh variant")
        return checkpoint.base_model(init)[1]

    def _replay_source(self) -> SynthLines:
        """``data.replay``: lines over ``model.init``'s own charset, that share of each epoch."""
        d = self.cfg.data
        old = self._init_vocab("data.replay rehearses the charset of the checkpoint being "
                               "fine-tuned")
        lines = sum(map(len, self.train_parts))
        n = max(1, round(lines * d.replay / (1 - d.replay)))
        logger.info("replay: %d lines per epoch over model.init's %d symbols", n, len(old))
        return SynthLines(n, old.symbols, seed=d.synth.seed + 1, max_chars=d.synth.max_chars,
                          max_width=d.synth.max_width)

    def _init_lines_seen(self) -> int:
        init = self.cfg.model.init
        return 0 if init in MODELS else checkpoint.base_model(init)[0].lines_seen

    def _build_model(self, state: dict | None) -> None:
        m = self.cfg.model
        if state is not None:
            model, vocab, variant = checkpoint.model_from_spec(state["model_spec"])
        else:
            model, vocab, variant = checkpoint.init_model(m, self._labels)
        model = model.to(self.device).train()
        if self.cfg.train.channels_last:
            model = model.to(memory_format=torch.channels_last)
        if self.cfg.train.row_multiple > 1 and any(
                isinstance(mod, nn.modules.batchnorm._BatchNorm) for mod in model.modules()):
            raise ConfigError(f"train.row_multiple={self.cfg.train.row_multiple} pads batches "
                              f"with blank rows, which {variant}'s batch norm would count; "
                              "use 1 for this model")
        self.model, self.vocab, self.variant = model, vocab, variant
        self.geometry = ChunkGeometry.of(model.config)
        if self.cfg.optim.body_lr_scale == 0:
            frozen = freeze_body(model)
            logger.info("optim.body_lr_scale=0: training the CTC head only (%d tensors frozen)",
                        frozen)
        if self.cfg.optim.head_rows == "new":
            old = self._init_vocab("optim.head_rows=new trains the rows of symbols that "
                                   "model.init lacks")
            rows = [vocab.char_id(c) for c in vocab.symbols if c not in old]
            train_only_rows(model, rows)
            logger.info("optim.head_rows=new: %d head rows learn, the other %d stay as trained",
                        len(rows), vocab.num_classes - len(rows))
        self.subset_head = None
        if self.cfg.train.softmax_top:
            t = self.cfg.train
            self.subset_head = class_subset.install(model, model.config.head_prefix,
                                                    t.softmax_top, t.softmax_random)
            logger.info("CTC softmax per step over blank, the batch's characters, the %d "
                        "best classes of every frame and %d drawn at random (of %d)",
                        t.softmax_top, t.softmax_random, vocab.num_classes)
        self.chunked = self.geometry is not None
        self.case_pairs = torch.tensor(vocab.case_pairs(), dtype=torch.long,
                                       device=self.device).reshape(-1, 2)
        augment = None
        if self.cfg.data.augment > 0:
            from ..data.augment import augment_line

            augment = functools.partial(augment_line, p=self.cfg.data.augment)
        self.collate = LineCollator(vocab, self.geometry, augment=augment,
                                    unknown=self.cfg.data.unknown, preprocess=m.preprocess,
                                    num_chunks=m.num_chunks, img_width=m.img_width,
                                    raw_pixels=True)
        self.canvas_width = self.collate.canvas_width
        logger.info("model %s (%.2fM params), %s, preprocessing %s%s", variant,
                    sum(p.numel() for p in model.parameters()) / 1e6, vocab, m.preprocess,
                    f" onto a {self.canvas_width}-px canvas" if m.preprocess == "squash" else
                    " (as many chunks as each line needs)" if self.chunked else
                    " (each line's own width)")

    def _build_optim(self) -> None:
        c, t, info = self.cfg, self.cfg.train, self.info
        self.sampler = distributed.ShardedBatchSampler(
            len(self.train_set), t.batch_size, rank=info.rank, world_size=info.world_size,
            seed=t.seed, repeat=True)
        self.steps_per_epoch = -(-len(self.sampler) // c.optim.accumulate) * c.data.echo
        self.total_steps = run_length(t, self.steps_per_epoch, log=info.is_main)
        self.optimizer = torch.optim.AdamW(
            param_groups(self.model, c.optim.weight_decay, c.optim.lr, c.optim.body_lr_scale,
                         head_decay=c.optim.head_rows == "all"),
            lr=c.optim.lr,
            betas=tuple(c.optim.betas))
        self.elapsed, self._t_resumed = 0.0, time.monotonic()
        self.time_used = 0.0  # last time_fraction(); 0 without train.time_limit
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: lr_factor(
                step, c.optim.warmup_steps, self.total_steps, c.optim.min_lr_ratio,
                self.time_fraction()))
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=t.precision == "fp16")
        if c.data.num_workers:
            # A worker forked while OpenCV's thread pool has threads (this process resized
            # images before, e.g. checking the data) hangs in its first cv2 call.
            import cv2

            cv2.setNumThreads(1)
        self.loader = DataLoader(
            self.train_set, batch_sampler=self.sampler, collate_fn=self.collate,
            num_workers=c.data.num_workers, worker_init_fn=distributed.seed_worker,
            persistent_workers=c.data.num_workers > 0, pin_memory=self.device.type == "cuda",
            # Own generator: the loader must not draw from the global RNG (exact resume).
            generator=torch.Generator().manual_seed(t.seed))

    def _wrap_ddp(self) -> nn.Module:
        if not self.info.enabled:
            return self.model
        example = self.collate.image_tensor(np.full((32, 400, 3), 255, np.uint8))
        unused = distributed.freeze_unused(self.model, example.to(self.device))
        if unused:
            logger.info("not training unused parameters: %s", ", ".join(unused))
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(self.model, device_ids=ids)

    def _restore(self, s: dict) -> None:
        t, info = self.cfg.train, self.info
        self.model.load_state_dict(s["model"])
        self.optimizer.load_state_dict(s["optimizer"])
        self.scheduler.load_state_dict(s["scheduler"])
        self.elapsed = float(s.get("elapsed", 0.0))
        self.scaler.load_state_dict(s["scaler"])
        self.step, self.epoch, self.batch_in_epoch = s["step"], s["epoch"], s["batch_in_epoch"]
        self.echo_done = int(s.get("echo_done", 0))
        self.lines_seen = int(s["lines_seen"] if "lines_seen" in s else self._init_lines_seen())
        self.best, self.dropped = s["best"], dict(s["dropped"])
        self.start_scores = s.get("start_scores")
        same = (s["world_size"], s["batch_size"], s["accumulate"], s["seed"], s["train_size"],
                s.get("echo", 1)) == (info.world_size, t.batch_size, self.cfg.optim.accumulate,
                                      t.seed, len(self.train_set), self.cfg.data.echo)
        if not same:
            logger.warning("resuming with a different world size, batch size, accumulation, "
                           "seed, data set size or data.echo: the data order will not match the "
                           "original run")
        self.echo_done = min(self.echo_done, self.cfg.data.echo - 1)
        if s["total_steps"] != self.total_steps:
            logger.info("the schedule now ends at step %d (was %d)", self.total_steps,
                        s["total_steps"])
        rng = s["rng"]
        checkpoint.restore_rng(rng[info.rank] if len(rng) == info.world_size else rng[0])
        if info.is_main:
            forget_records_after(self.work_dir / "metrics.jsonl", self.step)
        logger.info("resumed at step %d/%d (epoch %d, batch %d)", self.step, self.total_steps,
                    self.epoch, self.batch_in_epoch)

    # -- loop -------------------------------------------------------------------------------

    def fit(self, stop_at: int | None = None) -> dict[str, Any]:
        """Train until ``total_steps``; returns ``{"step", "best", "eval"}`` (last scores).

        ``stop_at`` pauses earlier (saving the state there) without changing the schedule,
        so a later ``resume=True`` run continues as if never stopped.
        """
        info = self.info
        last_eval: dict = {}
        self.until = min(self.total_steps, stop_at or self.total_steps)
        self._t_resumed = time.monotonic()
        if self.step >= self.until:
            logger.info("nothing to do: the run is at step %d of %d", self.step, self.total_steps)
            return self._summary(last_eval)
        if info.is_main:
            save_config(self.cfg, self.work_dir / "config.yaml")
        self.log = RunLog(self.work_dir, self.total_steps, self.step, enabled=info.is_main)
        try:
            if self.cfg.eval.at_start and self.step == 0 and self.eval_sets:
                self.start_scores = self._evaluate(at_start=True)
            # One iterator for the whole run: the sampler repeats epochs, so the workers
            # prefetch across epoch boundaries (see ShardedBatchSampler's ``repeat``).
            self.sampler.set_epoch(self.epoch, self.batch_in_epoch)
            self._batches = iter(self.loader)
            while self.step < self.until:
                last_eval = self._train_epoch() or last_eval
            self._log_change(last_eval)
        finally:
            self.log.close()
            self.close()
        return self._summary(last_eval)

    def _log_change(self, last_eval: dict) -> None:
        """``eval.at_start``: each eval set's character accuracy before training -> now."""
        for name, now in last_eval.items():
            before = (self.start_scores or {}).get(name)
            if before is not None and self.info.is_main:
                self.log.message(
                    f"eval {name}: char acc {before['char_acc']:.4f} before training -> "
                    f"{now['char_acc']:.4f} at step {self.step} "
                    f"({100 * (now['char_acc'] - before['char_acc']):+.2f} points)")

    def _summary(self, last_eval: dict) -> dict[str, Any]:
        best = self.best if math.isfinite(self.best) else None
        out = {"step": self.step, "best": best, "eval": last_eval}
        return out | ({"eval_at_start": self.start_scores} if self.start_scores else {})

    def close(self) -> None:
        """Release the LMDB handles, so other code in this process may open those files."""
        for ds in self.train_parts:
            if hasattr(ds, "close"):
                ds.close()

    def _train_epoch(self) -> dict:
        n_batches = len(self.sampler)
        batches = self._batches
        last_eval: dict = {}
        self._window = self._new_window()
        epoch_end = False
        while not epoch_end and self.step < self.until:
            group = min(self.cfg.optim.accumulate, n_batches - self.batch_in_epoch)
            micro = []
            for _ in range(group):
                t_wait = time.perf_counter()
                micro.append(next(batches))
                self._window["wait"] += time.perf_counter() - t_wait
            # data.echo steps on these batches; a run stopped between them resumes there.
            for _ in range(self.echo_done, self.cfg.data.echo):
                first = self.echo_done == 0  # drop counts: once per batch, not per echo
                for i, batch in enumerate(micro):
                    self._micro_batch(batch, 1.0 / group, sync=i == group - 1,
                                      count_drops=first, index=i)
                grad_norm = self._optimizer_step()
                self.step += 1
                # The scheduler's lambda has just measured the time used (one DDP reduce a
                # step).
                if self.time_used >= 1.0 and self.step < self.until:
                    logger.info("train.time_limit reached at step %d: finishing", self.step)
                    self.until = self.total_steps = self.step
                self.echo_done += 1
                if self.echo_done == self.cfg.data.echo:
                    self.echo_done = 0
                    self.batch_in_epoch += group
                    epoch_end = self.batch_in_epoch >= n_batches
                    if epoch_end:
                        self.epoch, self.batch_in_epoch = self.epoch + 1, 0
                last_eval = self._after_step(epoch_end, grad_norm) or last_eval
                if self.step >= self.until:
                    break
        return last_eval

    def _new_window(self) -> dict:
        """Counters between two train log lines; ``wait``: seconds blocked on the DataLoader
        (logged as ``data_wait``, the share of the time the data, not the model, set the pace)."""
        return {"loss": torch.zeros((), device=self.device), "lines": 0, "wait": 0.0,
                "t0": time.perf_counter(), **dict.fromkeys(STAT_KEYS, 0)}

    def _micro_batch(self, batch: dict, scale: float, sync: bool,
                     count_drops: bool = True, index: int = 0) -> None:
        w = self._window
        if count_drops:
            for k in STAT_KEYS:
                w[k] += batch["stats"][k]
            self.lines_seen += len(batch["target_lengths"]) * self.info.world_size
        x = scale_pixels(batch["images"].to(self.device, non_blocking=True))
        if self.cfg.train.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        empty = x.shape[0] == 0
        if empty:  # every line dropped: a zero-loss pass keeps DDP ranks in step
            x = torch.zeros(1, *x.shape[1:], device=self.device)
        rows = len(x)
        x = pad_rows(x, self.cfg.train.row_multiple)
        no_sync = self.info.enabled and not sync
        targets, pairs, subset = batch["targets"].to(self.device), self.case_pairs, None
        with self.ddp_model.no_sync() if no_sync else nullcontext():
            if self.subset_head is not None:
                self.subset_head.arm(targets, pairs, self._subset_generator(index))
            try:
                with self._autocast():
                    out = self.ddp_model(x)[:rows]
            finally:
                if self.subset_head is not None:
                    subset = self.subset_head.disarm()
            if subset is not None:
                targets, pairs = subset.positions(targets), subset.positions(pairs)
            if empty:
                loss = out.float().sum() * 0.0
            else:
                logits = line_logits(out.float(), batch["chunk_counts"], self.geometry)
                losses = ctc_per_line(logits, targets,
                                      batch["target_lengths"].to(self.device), batch["frames"],
                                      fold_rows=batch["fold_case"], case_pairs=pairs)
                loss = losses.mean()
                w["loss"] += losses.detach().sum()
                w["lines"] += len(losses)
            self.scaler.scale(loss * scale).backward()

    def _subset_generator(self, index: int) -> torch.Generator:
        """The uniform class draws of micro-batch ``index`` of this step: seeded by run seed,
        step, echo, micro-batch and rank, so a resumed run draws the same classes."""
        key = (self.cfg.train.seed, self.step, self.echo_done, index, self.info.rank)
        seed = int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=8).digest(),
                              "little")
        return torch.Generator().manual_seed(seed)

    def _optimizer_step(self) -> float:
        clip = self.cfg.optim.grad_clip
        self.scaler.unscale_(self.optimizer)
        params = [p for p in self.model.parameters() if p.requires_grad]
        norm = float(nn.utils.clip_grad_norm_(params, clip if clip > 0 else math.inf))
        if self.scaler.is_enabled():
            self.scaler.step(self.optimizer)  # skips the update itself on inf/nan grads
        elif math.isfinite(norm):
            self.optimizer.step()
        else:
            logger.warning("step %d: non-finite gradient norm; update skipped", self.step + 1)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        return norm

    def time_fraction(self) -> float:
        """Share of ``train.time_limit`` used by this run (resumed runs included); 0 without
        a limit. Rank 0's clock decides for every rank, so DDP ranks stop together."""
        limit = self.cfg.train.time_limit
        if not limit:
            return 0.0
        used = self.elapsed + time.monotonic() - self._t_resumed
        self.time_used = distributed.all_reduce_sum([used if self.info.is_main else 0.0],
                                                    self.info)[0] / (limit * 60)
        return self.time_used

    def _autocast(self):
        p = self.cfg.train.precision
        if p == "fp32":
            return nullcontext()
        dtype = torch.bfloat16 if p == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def _after_step(self, epoch_end: bool, grad_norm: float) -> dict:
        t, step = self.cfg.train, self.step
        self.log.update(step)
        if step % t.log_every == 0 or step == self.total_steps:
            self._log_train(grad_norm)
        last_eval: dict = {}
        # Every N steps when set, else at epoch ends; always after the last step. (Both, as
        # before, cost a GPU run a quarter of its time: its epochs of ~190 steps ended more
        # often than it needed a score.)
        every = self.cfg.eval.every_steps
        due = step % every == 0 if every else epoch_end
        if self.eval_sets and (due or step == self.total_steps):
            last_eval = self._evaluate()
        if step % t.save_every == 0 or epoch_end or step == self.until:
            self._save()
        if t.keep_every and step % t.keep_every == 0 and self.info.is_main:
            self._save_model(checkpoint.kept_step_name(step), {})
        return last_eval

    # -- logging, evaluation, saving ----------------------------------------------------------

    def _flush_dropped(self) -> None:
        """Add every rank's drop counts since the last flush to ``self.dropped``."""
        w = self._window
        for k, v in zip(STAT_KEYS, distributed.all_reduce_sum([w[k] for k in STAT_KEYS],
                                                              self.info)):
            self.dropped[k] += int(v)
            w[k] = 0

    def _log_train(self, grad_norm: float) -> None:
        self._flush_dropped()
        w = self._window
        sums = distributed.all_reduce_sum([float(w["loss"]), w["lines"]], self.info)
        elapsed = time.perf_counter() - w["t0"]
        rec = {"step": self.step, "epoch": self.epoch, "loss": sums[0] / max(1, sums[1]),
               "lr": max(g["lr"] for g in self.optimizer.param_groups), "grad_norm": grad_norm,
               "lines_per_s": sums[1] / max(elapsed, 1e-9),
               "data_wait": w["wait"] / max(elapsed, 1e-9), "dropped": dict(self.dropped)}
        self._window = self._new_window()
        if self.info.is_main:
            self.log.record(rec, "train")
            dropped = ", ".join(f"{k} {v}" for k, v in self.dropped.items() if v)
            self.log.message(f"step {self.step}/{self.total_steps} epoch {self.epoch} "
                             f"loss {rec['loss']:.4f} lr {rec['lr']:.2e} "
                             f"{rec['lines_per_s']:.1f} lines/s "
                             f"(waiting for data {100 * rec['data_wait']:.0f}%)"
                             + (f" (dropped so far: {dropped})" if dropped else ""))

    def inference_spec(self) -> ModelSpec:
        """How a recognizer should read this model: what ``configuration.json`` records."""
        m = self.cfg.model
        return ModelSpec(variant=self.variant, recognizer=self.model.config.modelscope_name,
                         config_overrides={}, img_width=self.canvas_width,
                         do_chunking=self.chunked, preprocess=m.preprocess)

    def _recognizer(self):
        """A :class:`~duguang_ocr.Recognizer` around the model being trained, reading the way
        ``Recognizer.from_pretrained(WORK/best)`` will (same mode, float32)."""
        from ..recognizer import Recognizer

        return Recognizer(self.model, self.vocab, self.inference_spec(), device=self.device,
                          mode=INFERENCE_MODE[self.cfg.model.preprocess],
                          batch_size=self.cfg.eval.batch_size, num_workers=0)

    def _evaluate(self, at_start: bool = False) -> dict:
        """Score every eval set; ``at_start``: the model before training, which does not
        compete for ``best/``."""
        info, e = self.info, self.cfg.eval
        results: list[EvalTotals] = []
        try:
            rec = self._recognizer()
            for name, path in self.eval_sets:
                totals = EvalTotals(name)
                # No bar: the trainer logs its own metrics, and every rank would draw one.
                totals.report = evaluate(rec, path, "exact", name=name, limit=e.max_samples,
                                         shard=(info.rank, info.world_size), progress=False)
                results.append(totals.reduce(info, e.num_errors))
        finally:
            self.model.train()
        scores = {t.name: t.to_dict() for t in results}
        score = float(np.mean([t.report.char_acc for t in results]))
        improved = score > self.best and not at_start
        if improved:
            self.best = score
        if info.is_main:
            write_errors(self.work_dir / "errors.tsv", results)
            if improved:
                self._save_model("best", {"char_acc": score})
            best = self.best if math.isfinite(self.best) else None  # JSON has no -inf
            self.log.record({"step": self.step, "epoch": self.epoch, "eval": scores,
                             "score": score, "best": best}
                            | ({"at_start": True} if at_start else {}), "eval")
            for name, s in scores.items():
                self.log.message(f"eval {name} @ step {self.step}: line acc {s['line_acc']:.4f} "
                                 f"char acc {s['char_acc']:.4f} NED {s['ned']:.4f}"
                                 + (" (best)" if improved else ""))
        return scores

    def _save_model(self, name: str | Path, extra: dict) -> None:
        checkpoint.save_model_atomic(
            self.work_dir / name, self.model, self.vocab, self.variant,
            img_width=self.canvas_width,
            extra={"preprocess": self.cfg.model.preprocess, "trained_steps": self.step,
                   "epoch": self.epoch, "lines_seen": self.lines_seen, **extra})

    def _save(self) -> None:
        self._flush_dropped()  # so a resumed run neither loses nor recounts them
        rng = distributed.gather_objects(checkpoint.capture_rng(), self.info)
        if not self.info.is_main:
            return
        self._save_model("last", {})
        t = self.cfg.train
        checkpoint.save_state(self.state_path, {
            "version": checkpoint.STATE_VERSION, "step": self.step, "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch, "echo_done": self.echo_done,
            "echo": self.cfg.data.echo, "total_steps": self.total_steps,
            "lines_seen": self.lines_seen,
            "elapsed": self.elapsed + time.monotonic() - self._t_resumed,
            "best": self.best, "dropped": dict(self.dropped), "rng": rng,
            "start_scores": self.start_scores,
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
            "model_spec": checkpoint.model_spec(self.model, self.vocab, self.variant),
            "world_size": self.info.world_size, "batch_size": t.batch_size,
            "accumulate": self.cfg.optim.accumulate, "seed": t.seed,
            "train_size": len(self.train_set), "config": self.cfg.to_dict(),
        })
