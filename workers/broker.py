"""The dramatiq broker, built from the settings with every middleware listed on purpose: a
Redis of its own (the default: ``RUCHE_BROKER_URL`` unset means ``RUCHE_REDIS_URL``) or RabbitMQ
(``amqp://``, ``amqps://``).

RabbitMQ gives the same at-least-once delivery as the Redis broker by its own means: a message
is acknowledged only once its actor finished, and the messages of a worker whose connection
dies (kill -9, a lost machine) go back to their queue at once, with no heartbeat to wait for.
Publishing waits for RabbitMQ's confirmation (``confirm_delivery``), so a send that returned is
stored: the relay acknowledges an event only after that. The queues carry the key prefix, as
the Redis broker's keys do, so several instances (or test runs) share one RabbitMQ.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
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

__all__ = ["IDLE_POLL_MS", "PrefixedRabbitmqBroker", "build_broker", "build_redis_broker"]

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
# How long an idle consumer of the Redis broker waits between polls at most (dramatiq's
# worker_timeout, 1 s by default; `ruche worker` sets it through dramatiq_worker_timeout): a
# message sent to an idle worker waits up to that long. 100 ms costs an idle worker process a
# few hundred small Redis commands a second (one consumer per queue and delay queue) and takes
# most of a second off the last answer -> webhook tail (two hops). RabbitMQ pushes messages to
# its consumers: no polling there.
IDLE_POLL_MS = 100
MAINTENANCE_CHANCE = 500_000  # per million broker commands: every other one
DEAD_MESSAGE_TTL_MS = 7 * 24 * 3600 * 1000  # dead-lettered messages kept a week (inspectable)


class PrefixedRabbitmqBroker(RabbitmqBroker):
    """dramatiq's RabbitMQ broker with every queue name behind ``prefix`` (the actors keep
    theirs: the prefix is added where a queue is declared and where a message is sent)."""

    def __init__(self, *, prefix: str, **options: Any) -> None:
        self.prefix = prefix
        super().__init__(**options)

    def _named(self, queue_name: str) -> str:
        return queue_name if queue_name.startswith(self.prefix) else self.prefix + queue_name

    def declare_queue(self, queue_name: str, *, ensure: bool = False) -> None:
        super().declare_queue(self._named(queue_name), ensure=ensure)

    def enqueue(
        self, message: dramatiq.Message[Any], *, delay: int | None = None
    ) -> dramatiq.Message[Any]:
        if not message.queue_name.startswith(self.prefix):
            message = message.copy(queue_name=self._named(message.queue_name))
        return super().enqueue(message, delay=delay)

    def join(self, queue_name: str, *args: Any, **kwargs: Any) -> None:
        super().join(self._named(queue_name), *args, **kwargs)


def build_broker(settings: Settings) -> dramatiq.Broker:
    """RabbitMQ for an ``amqp://`` broker URL, else a Redis broker (:func:`build_redis_broker`)."""
    url = _broker_url(settings)
    if urlsplit(url).scheme in ("amqp", "amqps"):
        return PrefixedRabbitmqBroker(
            prefix=settings.key_prefix, url=url, middleware=_middleware(), confirm_delivery=True
        )
    return build_redis_broker(settings)


def _broker_url(settings: Settings) -> str:
    url = settings.effective_broker_url
    if url is None:
        raise RuntimeError("neither RUCHE_BROKER_URL nor RUCHE_REDIS_URL is set")
    return url


def _middleware() -> list[Middleware]:
    return [
        LogContext(),  # first, so the context is bound before other middleware log
        AgeLimit(),
        TimeLimit(time_limit=_DEFAULT_TIME_LIMIT_MS),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(max_retries=0, min_backoff=_MIN_BACKOFF_MS, max_backoff=_MAX_BACKOFF_MS),
        CurrentMessage(),
    ]


def build_redis_broker(settings: Settings) -> RedisBroker:
    """dramatiq's Redis broker on the settings' broker URL."""
    url = _broker_url(settings)
    # The namespace carries the key prefix, so the broker's keys sit beside Ruche's own.
    # RedisBroker.__init__ has no annotations (dramatiq 2.x), hence the ignore.
    return RedisBroker(  # type: ignore[no-untyped-call]
        url=url,
        middleware=_middleware(),
        namespace=f"{settings.key_prefix}dramatiq",
        heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
        maintenance_chance=MAINTENANCE_CHANCE,
        dead_message_ttl=DEAD_MESSAGE_TTL_MS,
    )
