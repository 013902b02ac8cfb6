"""The dramatiq broker, built from the settings with every middleware listed on purpose."""

from __future__ import annotations

from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Middleware,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from core.settings import Settings
from workers.middleware import LogContext

__all__ = ["build_broker"]

# Defaults for actors that do not say otherwise; each actor states its own max_retries anyway.
_DEFAULT_TIME_LIMIT_MS = 5 * 60 * 1000
_MIN_BACKOFF_MS = 1_000
_MAX_BACKOFF_MS = 15 * 60 * 1000

# Worker death (kill -9, OOM, a lost machine). A worker process keeps the messages it fetched in
# an "acks" set under its broker id, and every broker command it sends (an idle consumer polls
# its queue at least once a second) refreshes its heartbeat. "Maintenance", run by a random
# share of the commands on a queue, gives the messages of workers silent for HEARTBEAT_TIMEOUT
# back to that queue. dramatiq's defaults (60 s, 0.1 % of commands) bring them back after
# minutes; these bring them back within seconds (tests/workers/test_worker_crash.py measured
# 5.4-7.2 s over 9 kills: HEARTBEAT_TIMEOUT plus one or two polls). A busy but living worker is
# never silent that long (its idle delay-queue consumers keep polling); if it ever were, its
# messages would run twice, which the actors tolerate (they are idempotent). Maintenance itself
# is cheap (two ZRANGEBYSCOREs) except when it finds a silent broker id: then it runs one KEYS
# over the broker's database, so on a big deployment give the broker a Redis of its own
# (RUCHE_BROKER_URL).
HEARTBEAT_TIMEOUT_MS = 5_000
MAINTENANCE_CHANCE = 500_000  # per million broker commands: every other one
DEAD_MESSAGE_TTL_MS = 7 * 24 * 3600 * 1000  # dead-lettered messages kept a week (inspectable)


def build_broker(settings: Settings) -> RedisBroker:
    url = settings.effective_broker_url
    if url is None:
        raise RuntimeError("neither RUCHE_BROKER_URL nor RUCHE_REDIS_URL is set")
    middleware: list[Middleware] = [
        LogContext(),  # first, so the context is bound before other middleware log
        AgeLimit(),
        TimeLimit(time_limit=_DEFAULT_TIME_LIMIT_MS),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(max_retries=0, min_backoff=_MIN_BACKOFF_MS, max_backoff=_MAX_BACKOFF_MS),
        CurrentMessage(),
    ]
    # The namespace carries the key prefix, so the broker's keys sit beside Ruche's own.
    # RedisBroker.__init__ has no annotations (dramatiq 2.x), hence the ignore.
    return RedisBroker(  # type: ignore[no-untyped-call]
        url=url,
        middleware=middleware,
        namespace=f"{settings.key_prefix}dramatiq",
        heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
        maintenance_chance=MAINTENANCE_CHANCE,
        dead_message_ttl=DEAD_MESSAGE_TTL_MS,
    )
