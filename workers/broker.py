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
        url=url, middleware=middleware, namespace=f"{settings.key_prefix}dramatiq"
    )
