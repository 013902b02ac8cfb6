"""An actor for crash tests, loaded by real dramatiq processes next to Ruche's own:
``dramatiq workers.app:setup tests.support.worker_modules.crash_actor``.

Its first run of a token records where it runs, then holds on (long enough to be killed); any
later run of the same token — the message redelivered after that worker died — records itself
and returns at once.
"""

from __future__ import annotations

import os
import time

import dramatiq
import redis

PROBE = "test.crash_probe"
QUEUE = "test_crash"


@dramatiq.actor(actor_name=PROBE, queue_name=QUEUE, max_retries=0, time_limit=120_000)
def probe(token: str) -> None:
    client = redis.Redis.from_url(os.environ["RUCHE_REDIS_URL"], decode_responses=True)
    try:
        runs = client.rpush(f"test:crash:{token}", f"{os.getpid()} {time.time():.3f}")
        if runs == 1:
            time.sleep(60)
    finally:
        client.close()
