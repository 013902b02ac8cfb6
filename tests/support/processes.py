"""Helpers for tests that run real processes (API, workers, relay, scheduler) and wait on them."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable

__all__ = ["stop_group", "wait_until"]


def stop_group(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """Stop a process started in a session of its own, and its children: SIGTERM to the group,
    SIGKILL if it has not exited within ``timeout`` seconds."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until(
    condition: Callable[[], bool], what: str, timeout: float, poll: float = 0.02
) -> None:
    """Poll ``condition`` until it holds; fail, naming ``what``, after ``timeout`` seconds
    (generous: the machines are shared and noisy; it is a bound, not a measure)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(poll)
