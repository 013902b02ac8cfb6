"""Loaded by real dramatiq processes after Ruche's actors, for the redelivery-after-kill test:
``dramatiq workers.app:setup tests.support.worker_modules.delivery_crash_worker``.

It gives this process's delivery actors a deliverer whose attempt lease is an hour: a delivery
held by a killed worker that reaches the receiver again during the test was taken back by its
redelivered message, not by the lease running out.

Its attempts also end a moment after their outcome is recorded: an attempt writes its record,
then lets go of the due set (``Deliverer._save``), and a loaded machine may put time between the
two. Here there always is, so the test cannot pass by reading the state in between as the end
(it once did, then failed on a busy machine: a "delivered" record whose due-set member was
still leased an hour ahead).
"""

from __future__ import annotations

import time

from core.delivery.records import DeliveryStore
from core.settings import load_settings
from workers.actors import deliver
from workers.delivery.deliverer import Deliverer

ATTEMPT_LEASE_MS = 3600 * 1000
FINISH_LAG_S = 0.5


class LaggingFinish(DeliveryStore):
    def finish(
        self,
        org_id: str,
        delivery_id: str,
        token: int,
        next_ms: int | None,
        *,
        message_id: str | None = None,
    ) -> bool:
        time.sleep(FINISH_LAG_S)
        return super().finish(org_id, delivery_id, token, next_ms, message_id=message_id)


_standard = Deliverer.from_settings(load_settings())
deliver.install(
    Deliverer(
        LaggingFinish(_standard.store.client, _standard.store.keys),
        allow_private=_standard.allow_private,
        attempt_lease_ms=ATTEMPT_LEASE_MS,
    )
)
