"""Hammering the store from threads, each with its own Redis connection and board."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import redis

from core.clock import Clock
from tests.support.board import TestBoard

__all__ = ["on_own_boards"]


def on_own_boards(
    redis_url: str, clock: Clock, threads: int, work: Callable[[TestBoard, int], None]
) -> None:
    """``work(board, worker)`` in ``threads`` threads at once, each on its own client and
    board (the same clock); the first failure in any of them is raised here."""

    def run(worker: int) -> None:
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        try:
            work(TestBoard(client, clock=clock), worker)
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for done in [pool.submit(run, worker) for worker in range(threads)]:
            done.result()
