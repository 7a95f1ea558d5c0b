"""The dynamic batcher without HTTP: batch limits, FIFO, option groups, queue bound,
cancellation, and each job getting exactly its own results."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from duguang_ocr.serve.batcher import Batcher, QueueFull
from duguang_ocr.serve.metrics import Metrics

from .conftest import FakeRecognizer


def line(width: int, value: int = 0) -> np.ndarray:
    return np.full((8, width, 3), value, np.uint8)


def start(rec: FakeRecognizer, **kw) -> Batcher:
    b = Batcher(lambda: rec, **{"max_batch": 4, "max_wait": 0.05, "capacity": 64,
                                "metrics": Metrics(), **kw})
    b.start()
    assert b.ready.wait(10)
    return b


def test_each_job_gets_its_own_results_across_shared_batches():
    rec = FakeRecognizer(gate=threading.Event())
    b = start(rec, max_batch=8)

    async def main():
        blocker = b.submit([line(1)], {})  # holds the worker so the rest queue up
        assert await asyncio.to_thread(rec.entered.wait, 10)
        jobs = [b.submit([line(10 + i, v) for v in range(i % 3 + 1)], {}) for i in range(12)]
        rec.gate.set()
        return await blocker.future, [await j.future for j in jobs]

    first, outs = asyncio.run(main())
    b.stop(10)
    assert [r.text for r in first] == ["1x8:0"]
    for i, out in enumerate(outs):
        assert [r.text for r in out] == [f"{10 + i}x8:{v}" for v in range(i % 3 + 1)]
    sizes = [n for n, _ in rec.calls[1:]]
    assert max(sizes) <= 8 and sum(sizes) == sum(i % 3 + 1 for i in range(12))
    assert len(sizes) < 12  # jobs were batched together


def test_batch_waits_for_company_up_to_max_wait():
    rec = FakeRecognizer()
    b = start(rec, max_batch=4, max_wait=0.3)

    async def main():
        a = b.submit([line(5)], {})
        await asyncio.sleep(0.1)  # within max_wait: joins the same batch
        c = b.submit([line(6)], {})
        return await a.future, await c.future

    asyncio.run(main())
    b.stop(10)
    assert [n for n, _ in rec.calls] == [2]


def test_full_batch_starts_without_waiting():
    rec = FakeRecognizer()
    b = start(rec, max_batch=2, max_wait=30)  # only a full batch can start in time

    async def main():
        jobs = [b.submit([line(5)], {}), b.submit([line(6)], {})]
        return await asyncio.wait_for(asyncio.gather(*(j.future for j in jobs)), 10)

    asyncio.run(main())
    b.stop(10)
    assert [n for n, _ in rec.calls] == [2]


def test_different_options_run_in_separate_calls():
    rec = FakeRecognizer(gate=threading.Event())
    b = start(rec, max_batch=8)

    async def main():
        blocker = b.submit([line(1)], {})
        assert await asyncio.to_thread(rec.entered.wait, 10)
        jobs = [b.submit([line(2)], {"beam_width": 3}), b.submit([line(3)], {}),
                b.submit([line(4)], {"beam_width": 3})]
        rec.gate.set()
        await blocker.future
        return [(await j.future)[0].text for j in jobs]

    assert asyncio.run(main()) == ["2x8:0", "3x8:0", "4x8:0"]
    b.stop(10)
    assert sorted((n, o["beam_width"]) for n, o in rec.calls[1:]) == [(1, None), (2, 3)]


def test_queue_bound_and_cancel_free_room():
    rec = FakeRecognizer(gate=threading.Event())
    b = start(rec, max_batch=2, capacity=4)

    async def main():
        b.submit([line(1), line(1)], {})  # taken by the worker, blocked
        assert await asyncio.to_thread(rec.entered.wait, 10)
        waiting = b.submit([line(2)] * 3, {})
        with pytest.raises(QueueFull) as e:
            b.submit([line(3)] * 2, {})
        assert e.value.retry_after >= 1
        b.cancel(waiting)  # its client left: room again, and it never runs
        ok = b.submit([line(4)] * 4, {})
        rec.gate.set()
        return await ok.future

    out = asyncio.run(main())
    b.stop(10)
    assert [r.text for r in out] == ["4x8:0"] * 4
    assert [n for n, _ in rec.calls] == [2, 4]  # the cancelled 3-line job never ran
    assert b.metrics.cancelled._value.get() == 1


def test_failing_batch_fails_its_jobs_and_the_worker_goes_on():
    rec = FakeRecognizer(fail=True)
    b = start(rec)

    async def main():
        with pytest.raises(RuntimeError, match="MemoryError: out of memory"):
            await b.submit([line(1)], {}).future
        rec.fail = False
        return await b.submit([line(2)], {}).future

    assert [r.text for r in asyncio.run(main())] == ["2x8:0"]
    b.stop(10)


def test_load_failure_is_reported():
    def load():
        raise FileNotFoundError("no such model")

    b = Batcher(load, max_batch=4, max_wait=0.01, capacity=8)
    b.start()
    b.stop(10)
    assert not b.ready.is_set()
    assert b.load_error == "FileNotFoundError: no such model"
