"""Keeping running webhook attempts known to be alive, so that only a dead one is taken back.

An attempt made for a dramatiq message records its claim under the message's id
(:mod:`core.delivery.records`, ``webhook_claim.lua``), alive for ``alive_ms``. While it runs,
:class:`Renewals` — one daemon thread per deliverer, running only while there is something to
renew — extends that every ``every_s``. When the worker process dies, the renewals stop with
it; ``alive_ms`` later the claim counts as abandoned, and the message, which the broker hands
to another worker a few seconds after the death, takes its attempt back at once instead of
waiting for the attempt lease.
"""

from __future__ import annotations

import threading
import time

import structlog

from core.delivery.records import DeliveryStore

__all__ = ["Held", "Renewals"]

log = structlog.get_logger(__name__)


class Held:
    """One running attempt's claim (compared by identity: one per run)."""

    __slots__ = ("message_id", "token")

    def __init__(self, message_id: str, token: int) -> None:
        self.message_id = message_id
        self.token = token


class Renewals:
    """Renews the claims of this process's running attempts until they are dropped."""

    def __init__(self, store: DeliveryStore, *, every_s: float, alive_ms: int) -> None:
        self.store = store
        self.every_s = every_s
        self.alive_ms = alive_ms
        self._held: set[Held] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, message_id: str, token: int) -> Held:
        held = Held(message_id, token)
        with self._lock:
            self._held.add(held)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="webhook-attempt-renewals", daemon=True
                )
                self._thread.start()
        return held

    def drop(self, held: Held) -> None:
        with self._lock:
            self._held.discard(held)

    def _run(self) -> None:
        while True:
            time.sleep(self.every_s)
            with self._lock:
                if not self._held:
                    self._thread = None  # the next hold starts another
                    return
                running = list(self._held)
            for held in running:
                try:
                    self.store.renew(held.message_id, held.token, self.alive_ms)
                except Exception as error:  # Redis away: the claim may lapse, never crash here
                    log.warning(
                        "webhook.attempt_renewal_failed",
                        message_id=held.message_id,
                        error=repr(error),
                    )
