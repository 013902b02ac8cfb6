"""Hammering the store from threads, each with its own Redis connection and board."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import redis

from core.clock import Clock
from tests.support.board import TestBoard

__all__ = ["ThreadCrew", "on_own_boards"]


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


@dataclass
class ThreadCrew:
    """Threads playing people against a running Ruche: the first error stops them all (``done``),
    and :meth:`check` / :meth:`join` raise what went wrong. Subclasses add what they count."""

    done: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def spawn(self, name: str, work: Callable[[], None]) -> None:
        def run() -> None:
            try:
                work()
            except BaseException as error:
                with self.lock:
                    self.errors.append(f"{name}: {type(error).__name__}: {error}")
                self.done.set()

        thread = threading.Thread(target=run, name=name, daemon=True)
        self.threads.append(thread)
        thread.start()

    def check(self) -> None:
        with self.lock:
            assert not self.errors, self.errors

    def join(self) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(timeout=60)
            assert not thread.is_alive(), f"{thread.name} did not finish"
