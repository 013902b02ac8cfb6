"""Helpers for tests that run real processes (API, workers, relay, scheduler) and wait on them."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable

__all__ = ["default_signal_handling", "stop_group", "wait_until"]


def default_signal_handling() -> None:
    """Give this process, and so every process it starts, the default SIGINT and SIGTERM.

    A process started with a signal ignored (a script's background job: ``cmd &`` makes SIGINT
    ignored, ``nohup`` SIGHUP) passes that on to its children: an ignored signal stays ignored
    across ``exec``, while a handler is reset to the default. The tests stop ``ruche`` commands
    with Ctrl-C and SIGTERM as a terminal or a supervisor does, so the test session puts both
    back (tests/conftest.py): SIGINT raises KeyboardInterrupt as in any Python started normally,
    and every child gets the default disposition whatever the shell that started pytest did.
    Done once for the whole process rather than per child: ``preexec_fn`` is not safe while
    threads run, and the tests start processes while their local servers' threads run.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


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
