"""Loaded by real dramatiq processes after Ruche's actors, for the redelivery-after-kill test:
``dramatiq workers.app:setup tests.support.worker_modules.delivery_crash_worker``.

It gives this process's delivery actors a deliverer whose attempt lease is an hour: a delivery
held by a killed worker that reaches the receiver again during the test was taken back by its
redelivered message, not by the lease running out.
"""

from __future__ import annotations

from core.settings import load_settings
from workers.actors import deliver
from workers.delivery.deliverer import Deliverer

ATTEMPT_LEASE_MS = 3600 * 1000

_standard = Deliverer.from_settings(load_settings())
deliver.install(
    Deliverer(
        _standard.store,
        allow_private=_standard.allow_private,
        attempt_lease_ms=ATTEMPT_LEASE_MS,
    )
)
