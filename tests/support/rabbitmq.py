"""The RabbitMQ the broker tests use: the one of the machine (``amqp://guest:guest@127.0.0.1:5672``,
or ``RUCHE_TEST_AMQP_URL``), shared by parallel runs, each behind a key prefix of its own
(``workers.broker`` puts every queue behind it), its queues deleted afterwards.

RabbitMQ is a requirement of these tests, not an option: where none answers, they fail saying
what they need (CI runs them; they never skip).
"""

from __future__ import annotations

import contextlib
import os
import secrets

import pika
import pika.exceptions

from workers.delivery.deliverer import QUEUE as RESULTS_QUEUE
from workers.routing import PROJECTS_QUEUE, QUALITY_QUEUE, REVIEWS_QUEUE, STATS_QUEUE, TASKS_QUEUE

__all__ = ["AMQP_ENV", "consumers", "delete_queues", "rabbitmq_url", "unique_prefix"]

AMQP_ENV = "RUCHE_TEST_AMQP_URL"
DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
#: Every queue Ruche's actors use (workers.actors.system's included).
QUEUES = (
    "system",
    RESULTS_QUEUE,
    TASKS_QUEUE,
    REVIEWS_QUEUE,
    STATS_QUEUE,
    PROJECTS_QUEUE,
    QUALITY_QUEUE,
)


def rabbitmq_url() -> str:
    """The URL of a RabbitMQ that answers; an error saying what is needed when none does."""
    url = os.environ.get(AMQP_ENV, DEFAULT_URL)
    try:
        connection = pika.BlockingConnection(pika.URLParameters(url))
    except pika.exceptions.AMQPError as error:
        raise RuntimeError(
            f"the RabbitMQ broker tests need a RabbitMQ server at {url} (user guest/guest on "
            f"loopback; e.g. Debian's rabbitmq-server package, or the rabbitmq image with port "
            f"5672 published), or {AMQP_ENV} naming one; connecting failed: {error!r}"
        ) from error
    connection.close()
    return url


def unique_prefix() -> str:
    """A key prefix of the test's own: its Redis keys and its RabbitMQ queues."""
    return f"t{secrets.token_hex(4)}:"


def consumers(url: str, queue: str) -> int:
    """How many consumers ``queue`` has now (0 when it does not exist yet)."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        try:
            declared = channel.queue_declare(queue, passive=True)
        except pika.exceptions.ChannelClosedByBroker:
            return 0
        return int(declared.method.consumer_count)
    finally:
        connection.close()


def delete_queues(url: str, prefix: str, more: tuple[str, ...] = ()) -> None:
    """Delete the queues (with their delay and dead-letter queues) a run made behind ``prefix``."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        for queue in (*QUEUES, *more):
            for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
                channel = connection.channel()
                with contextlib.suppress(pika.exceptions.ChannelClosedByBroker):
                    channel.queue_delete(prefix + name)  # a queue never declared: 404
                if channel.is_open:
                    channel.close()
    finally:
        connection.close()
