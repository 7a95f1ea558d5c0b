import math

import pytest

from duguang_ocr.training.distributed import ShardedBatchSampler
from duguang_ocr.training.trainer import lr_factor


def indices(sampler):
    return [i for batch in sampler for i, _ in batch]


def test_order_is_a_seeded_permutation_per_epoch():
    s = ShardedBatchSampler(10, 3, seed=1)
    first = indices(s)
    assert sorted(first) == list(range(10)) and len(s) == 4
    assert indices(ShardedBatchSampler(10, 3, seed=1)) == first
    s.set_epoch(1)
    assert indices(s) != first and sorted(indices(s)) == list(range(10))
    assert indices(ShardedBatchSampler(10, 3, seed=2)) != first


def test_skipping_batches_yields_exactly_the_rest():
    s = ShardedBatchSampler(11, 2, seed=3)
    s.set_epoch(4)
    full = list(s)
    s.set_epoch(4, start_batch=2)
    assert list(s) == full[2:]
    # key: (seed, epoch, index, position in the run): epoch 4 of 11 samples starts at 44.
    assert [key for batch in full for _, key in batch] == [
        (3, 4, i, 44 + p) for p, (i, _) in enumerate(x for batch in full for x in batch)]


def test_positions_count_samples_over_ranks_and_epochs():
    seen = []
    for epoch in (0, 1):
        for rank in (0, 1):
            s = ShardedBatchSampler(6, 2, rank=rank, world_size=2, seed=0)
            s.set_epoch(epoch)
            seen += [key[3] for batch in s for _, key in batch]
    assert sorted(seen) == list(range(12))  # every position once, no gaps


@pytest.mark.parametrize("size", [9, 10])
def test_ranks_get_disjoint_equal_shards(size):
    shards = [ShardedBatchSampler(size, 2, rank=r, world_size=2, seed=0) for r in (0, 1)]
    a, b = indices(shards[0]), indices(shards[1])
    assert len(a) == len(b) == math.ceil(size / 2) and len(shards[0]) == len(shards[1])
    assert set(a) | set(b) == set(range(size))
    assert len(set(a) & set(b)) == size % 2  # an odd set wraps around by one sample


def test_eval_order_has_no_padding_and_honours_limit():
    shards = [ShardedBatchSampler(5, 2, rank=r, world_size=2, shuffle=False) for r in (0, 1)]
    assert [indices(s) for s in shards] == [[0, 2, 4], [1, 3]]
    assert list(shards[0])[0] == [(0, 0), (2, 2)]  # key: the index
    assert indices(ShardedBatchSampler(5, 2, shuffle=False, limit=3)) == [0, 1, 2]


def test_warmup_then_cosine():
    f = [lr_factor(s, warmup=4, total=20, min_ratio=0.1) for s in range(21)]
    assert f[:4] == [0.25, 0.5, 0.75, 1.0] and f[4] == 1.0
    assert all(a >= b for a, b in zip(f[4:], f[5:]))
    assert f[12] == pytest.approx(0.1 + 0.9 * 0.5) and f[20] == pytest.approx(0.1)


def test_repeat_runs_epoch_after_epoch_exactly_as_set_epoch_would():
    """One iterator over a repeating sampler yields what per-epoch iterators would, starting
    mid-epoch where a resumed run starts, with the same augmentation keys."""
    def epoch(e: int, start: int = 0) -> list:
        s = ShardedBatchSampler(7, 3, seed=4)
        s.set_epoch(e, start)
        return list(s)

    s = ShardedBatchSampler(7, 3, seed=4, repeat=True)
    s.set_epoch(1, 2)
    it = iter(s)
    got = [next(it) for _ in range(1 + 3 + 3)]
    assert got == epoch(1, 2) + epoch(2) + epoch(3)
    assert len(s) == 3  # still the batches of one epoch
