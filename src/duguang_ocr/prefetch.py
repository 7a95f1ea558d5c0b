"""Windows of inputs prepared in worker threads while the model runs the previous window.

Why threads and why one: decoding a line image and resizing it cost well under a millisecond
(PIL and cv2 release the GIL meanwhile), against tens of milliseconds of model time per
chunk, so one worker keeps the model fed; more would only take cores from the model's own
intra-op threads. At most two windows' pixels are held at any time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from typing import Any

DEFAULT_WORKERS = 1


def default_num_workers() -> int:
    """Threads that prepare the next window while the model runs this one (see above)."""
    return DEFAULT_WORKERS


class Prefetcher:
    """Cuts an input stream into windows and starts preparing each next window early.

    Args:
        workers: preparing threads; 0 prepares inline (the caller calls ``prepare`` itself
            when a window's futures are None).
    """

    def __init__(self, workers: int):
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None

    def windows(self, inputs: Iterable[Any], window: int, prepare: Callable[[int, Any], Any],
                ) -> Iterator[tuple[list, list[Future] | None]]:
        """``(window of inputs, futures of prepare(index, input) or None)``, in order; the
        next window is submitted before this one is yielded, so it loads meanwhile."""
        it = iter(inputs)
        block = list(islice(it, window))
        pending = self._submit(block, prepare)
        while block:
            next_block = list(islice(it, window))
            next_pending = self._submit(next_block, prepare)
            yield block, pending
            block, pending = next_block, next_pending

    def _submit(self, block: list, prepare: Callable[[int, Any], Any]) -> list[Future] | None:
        if not block or not self.workers:
            return None
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="duguang-prep")
        return [self._pool.submit(prepare, i, src) for i, src in enumerate(block)]


__all__ = ["DEFAULT_WORKERS", "Prefetcher", "default_num_workers"]
