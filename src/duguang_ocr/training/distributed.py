"""Process-group setup for ``torchrun`` and the seeded, sharded, resumable batch sampler.

One process per device; ``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``.
Without them (or with ``WORLD_SIZE=1``) everything here is a no-op, so the trainer has a
single code path.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

logger = logging.getLogger(__name__)


@dataclass
class DistInfo:
    """Where this process sits: rank, world size, local rank and its device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes files and logs progress."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    try:
        return default if raw in (None, "") else int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r} is not an integer") from None


def setup(device: str | None = None) -> DistInfo:
    """Read the torchrun environment, pick the device, join the process group.

    NCCL on CUDA, gloo on CPU. ``device="cuda"`` under torchrun means ``cuda:LOCAL_RANK``.
    """
    world = _env_int("WORLD_SIZE", 1)
    rank, local_rank = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {device!r} requested but CUDA is not available")
        if dev.index is None:
            dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
        logger.info("rank %d/%d joined the %s process group on %s", rank, world, backend, dev)
    return DistInfo(rank, world, local_rank, dev)


def teardown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(values: list[float], info: DistInfo) -> list[float]:
    """Sum a list of numbers over all ranks (float64, on the process-group device)."""
    if not info.enabled:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=info.device)
    dist.all_reduce(t)
    return t.tolist()


def gather_objects(obj: Any, info: DistInfo) -> list[Any]:
    """Every rank's ``obj`` (picklable), in rank order, on every rank."""
    if not info.enabled:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def freeze_unused(model: torch.nn.Module, example: torch.Tensor) -> list[str]:
    """Stop training parameters the forward pass never uses (e.g. ConvNextViT's
    ``cls_token``, kept for checkpoint compatibility): DDP requires every trained
    parameter to receive a gradient. Runs one eval-mode pass, which uses no RNG."""
    was_training = model.training
    model.eval()
    model.zero_grad(set_to_none=True)
    model(example).float().sum().backward()
    unused = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    for name, p in model.named_parameters():
        p.grad = None
        if name in unused:
            p.requires_grad_(False)
    model.train(was_training)
    return unused


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: seed numpy and ``random`` from torch's per-worker seed
    (which the loader derives from its own generator), so workers never share a stream."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


class ShardedBatchSampler:
    """Batches of ``(index, key)`` for this rank; seeded per epoch, resumable mid-epoch.

    Training order is a permutation drawn from ``(seed, epoch)`` alone, padded by wrapping
    to a multiple of ``world_size`` so every rank runs the same number of batches (DDP needs
    that), then sharded ``rank::world_size``. ``set_epoch(e, start_batch=k)`` skips the first
    ``k`` batches without loading them: a resumed run sees exactly the batches it has not
    trained on. ``key`` is ``(seed, epoch, index, position)`` when shuffling (the sample's
    augmentation seed; ``position`` counts samples over the whole run) and ``index``
    otherwise.

    Args:
        size: number of samples in the data set.
        batch_size: samples per batch (the last batch of an epoch may be smaller).
        rank, world_size: this process's shard.
        seed: run seed.
        shuffle: False for evaluation: data set order, no padding (no sample scored twice).
        limit: use only the first ``limit`` samples (before shuffling).
        repeat: iterate epoch after epoch without end (training): one DataLoader iterator
            then serves the whole run, and its workers render the next epoch's first
            batches while the last ones train, instead of idling at every epoch boundary.
    """

    def __init__(self, size: int, batch_size: int, *, rank: int = 0, world_size: int = 1,
                 seed: int = 0, shuffle: bool = True, limit: int | None = None,
                 repeat: bool = False) -> None:
        if batch_size < 1 or world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"bad sampler settings: batch_size={batch_size}, rank={rank}, "
                             f"world_size={world_size}")
        self.size = size if limit is None else min(size, limit)
        self.batch_size, self.rank, self.world_size = batch_size, rank, world_size
        self.seed, self.shuffle, self.repeat = seed, shuffle, repeat
        self.epoch, self.start_batch = 0, 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def _shard(self, epoch: int) -> list[int]:
        if not self.shuffle:
            return list(range(self.rank, self.size, self.world_size))
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        order = torch.randperm(self.size, generator=g).tolist()
        pad = -len(order) % self.world_size
        order += (order * (pad // max(1, len(order)) + 1))[:pad]
        return order[self.rank :: self.world_size]

    def __len__(self) -> int:
        """Batches in a full epoch on this rank (ignores ``start_batch``)."""
        shard = (-(-self.size // self.world_size) if self.shuffle
                 else len(range(self.rank, self.size, self.world_size)))
        return -(-shard // self.batch_size)

    def __iter__(self) -> Iterator[list[tuple[int, Any]]]:
        epoch, start = self.epoch, self.start_batch
        while True:
            yield from self._epoch_batches(epoch, start)
            if not self.repeat:
                return
            epoch, start = epoch + 1, 0

    def _epoch_batches(self, epoch: int, start: int) -> Iterator[list[tuple[int, Any]]]:
        shard = self._shard(epoch)
        bs = self.batch_size
        # Position of a sample in the whole run (all ranks, all epochs): synthetic sources
        # render from it and curricula follow it.
        base = epoch * len(shard) * self.world_size
        for b in range(start, -(-len(shard) // bs)):
            yield [(i, (self.seed, epoch, i, base + p * self.world_size + self.rank)
                    if self.shuffle else i)
                   for p, i in enumerate(shard[b * bs : (b + 1) * bs], b * bs)]
