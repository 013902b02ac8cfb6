"""Telling every API process at once that a project changed, so that what it remembers of
projects (the claim index and documents, :mod:`core.projects.catalogue`) is read afresh.

A process that writes a project (created, edited, paused, closed, deleted, a reviewer granted or
withdrawn) calls :func:`announce_project_change`: its own copies are dropped
(:func:`core.projects.index.index_changed`) and a message goes to the pub/sub channel
``G:changes:projects``. Each API process keeps one subscriber (:class:`ProjectChangeListener`);
a message drops that process's copies too. Redis hands the message to every subscriber's socket
before it answers the ``PUBLISH``, so before the person who made the change gets their answer:
their next request, on any process, finds it there (what ``tests/api/test_read_your_writes.py``
checks with two API processes). Nothing on the claim path is added: no round trip, no read.

Pub/sub is not a log: a process whose subscriber is disconnected (Redis restarting, a failover)
misses messages. It then drops its copies each time it subscribes again, and until then the
copies' TTL (one second) bounds what it may show, as before. On a Redis Cluster a classic
``PUBLISH`` reaches the subscribers of every node, so the subscriber connects to one node, and
to the next of ``RUCHE_REDIS_CLUSTER_NODES`` when that one fails.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio
import structlog

from core.projects.index import index_changed
from core.redis.clients import cluster_nodes, redis_url
from core.redis.keys import Keys
from core.settings import Settings

__all__ = ["ProjectChangeListener", "announce_project_change"]

log = structlog.get_logger(__name__)

#: How long a subscriber that lost its connection waits before it connects again.
RECONNECT_SECONDS = 0.5
#: How long the API's start waits for its subscription before serving anyway.
SUBSCRIBE_WAIT_SECONDS = 2.0


async def announce_project_change(
    client: redis.asyncio.Redis, keys: Keys, project_id: str = "*"
) -> None:
    """Drop this process's copies of projects, and tell every other API process to."""
    index_changed()
    try:
        await client.publish(keys.project_changes, project_id)
    except redis.RedisError as failed:
        # The change itself is written: the other processes' copies lapse within their TTL.
        log.warning("projects.change_not_announced", error_type=type(failed).__name__)


def _node_urls(settings: Settings) -> list[str]:
    """The settings' URL, then (on a cluster) the same URL at each other start-up node."""
    url = redis_url(settings, "the API")
    urls = [url]
    parts = urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    for host, port in cluster_nodes(settings) if settings.redis_cluster else []:
        netloc = f"{auth}@{host}:{port}" if auth else f"{host}:{port}"
        urls.append(urlunsplit(parts._replace(netloc=netloc)))
    return urls


class ProjectChangeListener:
    """One API process's subscriber to ``G:changes:projects`` (see the module docstring)."""

    def __init__(self, settings: Settings, keys: Keys) -> None:
        self._urls = _node_urls(settings)
        self._channel = keys.project_changes
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()
        self.received = 0  # messages handled (tests and metrics read it)

    async def start(self) -> None:
        """Subscribe in the background; wait (briefly) until the subscription holds."""
        self._task = asyncio.create_task(self._run(), name="project-changes")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.subscribed.wait(), SUBSCRIBE_WAIT_SECONDS)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        attempt = 0
        while True:
            url = self._urls[attempt % len(self._urls)]
            attempt += 1
            try:
                await self._listen(url)
            except (redis.RedisError, OSError) as failed:
                log.warning("projects.changes_disconnected", error_type=type(failed).__name__)
            self.subscribed.clear()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen(self, url: str) -> None:
        # No read timeout: the subscriber waits for messages as long as none comes.
        client = redis.asyncio.Redis.from_url(
            url, socket_connect_timeout=2.0, health_check_interval=30
        )
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(self._channel)
                async for message in pubsub.listen():
                    if message["type"] == "subscribe":
                        index_changed()  # what was missed while not subscribed
                        self.subscribed.set()
                    elif message["type"] == "message":
                        index_changed()
                        self.received += 1
        finally:
            await client.aclose()
