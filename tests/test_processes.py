"""The test session's own process handling (tests/support/processes.py)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.processes import default_signal_handling

# What a child Python says of its SIGINT and SIGTERM: "handler" (KeyboardInterrupt, as Python
# installs it when it starts with the default), "ignored" or "default".
PROBE = """
import signal
def name(handler):
    if handler is signal.default_int_handler:
        return "handler"
    return "ignored" if handler is signal.SIG_IGN else "default"
print(name(signal.getsignal(signal.SIGINT)), name(signal.getsignal(signal.SIGTERM)))
"""


def child_signals() -> list[str]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    return run.stdout.split()


@pytest.fixture
def signals_ignored() -> Iterator[None]:
    """This process with SIGINT and SIGTERM ignored, as pytest is when a script starts it in the
    background; restored afterwards."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@pytest.mark.usefixtures("signals_ignored")
def test_processes_started_by_the_tests_get_the_default_signal_handling() -> None:
    assert child_signals() == ["ignored", "ignored"]  # what a child inherits unless put back
    default_signal_handling()
    assert child_signals() == ["handler", "default"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
