"""Dynamic micro-batching: concurrent requests are coalesced into one forward pass.

The first waiting request opens a batch; the batch closes when it holds `max_batch_size` texts or
`max_wait_ms` has passed, whichever comes first. The queue is bounded (in texts): when it is full,
`submit` raises `QueueFull` at once, and the service answers 503 with Retry-After instead of
letting latency grow without limit. The model runs on one worker thread, so the event loop keeps
accepting and answering while a batch computes. A batch that fails is run again request by
request, so that one request the model cannot score fails alone, not the others batched with it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..errors import QueueFull


@dataclass
class _Request:
    texts: Sequence[str]
    future: asyncio.Future


class MicroBatcher:
    def __init__(self, predict: Callable[[list[str]], np.ndarray], max_batch_size: int = 64,
                 max_wait_ms: float = 5.0, max_queue: int = 512,
                 on_batch: Callable[[int], None] | None = None):
        self.predict = predict
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000
        self.max_queue = max_queue
        self.on_batch = on_batch
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self.pending_texts = 0
        self._queue: asyncio.Queue[_Request] | None = None
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self.executor.shutdown(wait=True)

    async def submit(self, texts: Sequence[str]) -> np.ndarray:
        if self.pending_texts + len(texts) > self.max_queue:
            raise QueueFull
        future = asyncio.get_running_loop().create_future()
        self.pending_texts += len(texts)
        self._queue.put_nowait(_Request(texts, future))
        return await future

    async def _loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            size = len(batch[0].texts)
            deadline = time.monotonic() + self.max_wait
            while size < self.max_batch_size:
                if not self._queue.empty():  # take what is already waiting without yielding
                    request = self._queue.get_nowait()
                else:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    try:
                        request = await asyncio.wait_for(self._queue.get(), remaining)
                    except TimeoutError:
                        break
                batch.append(request)
                size += len(request.texts)
            live = [r for r in batch if not r.future.done()]  # a timed-out client no longer waits
            texts = [t for r in live for t in r.texts]
            try:
                if texts:
                    await self._answer(live, texts)
            finally:
                self.pending_texts -= size

    async def _answer(self, live: list[_Request], texts: list[str]) -> None:
        loop = asyncio.get_running_loop()
        try:
            proba = await loop.run_in_executor(self.executor, self.predict, texts)
        except Exception as exc:
            if len(live) == 1:
                if not live[0].future.done():
                    live[0].future.set_exception(exc)
                return
            for r in live:  # one at a time: only the request that fails gets the error
                if not r.future.done():
                    await self._answer([r], list(r.texts))
            return
        if self.on_batch:
            self.on_batch(len(texts))
        start = 0
        for r in live:
            if not r.future.done():
                r.future.set_result(proba[start:start + len(r.texts)])
            start += len(r.texts)
