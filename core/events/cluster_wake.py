"""What wakes an idle relay on a Redis Cluster as soon as an event is appended.

On one Redis the relay blocks in one XREADGROUP over every quiet project's stream
(:mod:`core.events.relay`). On a cluster it cannot: a command naming keys of several slots is
refused (CROSSSLOT), even when one node serves them all, and a blocking read per project would
take a connection each. What a cluster offers instead is keyspace notifications: a node whose
``notify-keyspace-events`` holds ``E`` (key-event channels) and ``t`` (stream commands), or
``A``, publishes the stream's name on its own channel ``__keyevent@0__:xadd`` on every XADD, to
its own subscribers only (no traffic on the cluster bus). :class:`ClusterWaker` keeps one
subscriber per master (a thread each) and sets an event on every such message; the idle relay
waits on it (``block_s`` at most), then reads a round at once.

Notifications are the operator's setting (docker-compose.cluster.yml sets them; managed Redis
services let one set them too). When a master does not publish them (``CONFIG GET`` says so, or
is refused), the waker says so in the log and the relay sleeps instead, doubling from
``idle_sleep_min_s`` up to ``idle_sleep_max_s`` (10 to 250 ms), as before. After a failover the
new masters are subscribed to on the next :meth:`ClusterWaker.refresh` (the relay calls it with
every discovery of projects); an XADD in between is seen by the relay's next round.
"""

from __future__ import annotations

import threading
from typing import Any

import redis
import structlog

__all__ = ["XADD_CHANNEL", "ClusterWaker", "notifies_xadd"]

log = structlog.get_logger(__name__)

#: The key-event channel of XADD on database 0 (the only one a cluster has).
XADD_CHANNEL = "__keyevent@0__:xadd"
#: How often a subscriber thread looks up from its socket (to notice it should stop).
_POLL_S = 0.5


def notifies_xadd(flags: str) -> bool:
    """Whether ``notify-keyspace-events`` flags publish XADD on the key-event channel."""
    return "E" in flags and ("t" in flags or "A" in flags)


class _Subscriber:
    """One master's key-event subscriber thread."""

    def __init__(self, name: str, node_client: redis.Redis, wake: threading.Event) -> None:
        self.name = name
        self._client = node_client
        self._wake = wake
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"relay-wake-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                pubsub: Any = self._client.pubsub(ignore_subscribe_messages=True)
                try:
                    pubsub.subscribe(XADD_CHANNEL)
                    self._wake.set()  # whatever came while not subscribed: a round now
                    while not self._stop.is_set():
                        if pubsub.get_message(timeout=_POLL_S) is not None:
                            self._wake.set()
                finally:
                    pubsub.close()
            except (redis.RedisError, OSError) as failed:
                log.warning("relay.wake_lost", node=self.name, error_type=type(failed).__name__)
                self._wake.set()
                self._stop.wait(_POLL_S)

    def stop(self) -> None:
        self._stop.set()


class ClusterWaker:
    """One key-event subscriber per master of ``client`` (a ``RedisCluster``): :meth:`wait`
    returns as soon as any master appended to a stream."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._wake = threading.Event()
        self.waiting = threading.Event()  # set while the relay waits here (tests look)
        self._subscribers: dict[str, _Subscriber] = {}
        self.active = False  # every master publishes XADD notifications and is subscribed to
        self._warned = False

    def refresh(self) -> bool:
        """Subscribe to the masters of now (after a failover, the new ones); returns whether
        every master notifies (else the relay sleeps)."""
        masters = {node.name: node for node in self._client.get_primaries()}
        for name in set(self._subscribers) - set(masters):
            self._subscribers.pop(name).stop()
        notifying = True
        for name, node in masters.items():
            connection = node.redis_connection
            says = self._notifies(connection) if connection is not None else False
            if says is False:
                notifying = False
                continue
            # None: the master did not answer (it died, and the client's slot map does not know
            # yet). Not a reason to sleep: its subscriber, retrying, wakes the relay every
            # _POLL_S, whose rounds refresh the slot map; the next refresh drops the dead node
            # and subscribes to the replica that took over.
            if name not in self._subscribers and connection is not None:
                self._subscribers[name] = _Subscriber(name, connection, self._wake)
        if not notifying and not self._warned:
            log.warning(
                "relay.sleeps_on_cluster",
                hint="set notify-keyspace-events Et on every node for events handed on at once",
            )
            self._warned = True
        self.active = notifying
        return notifying

    @staticmethod
    def _notifies(connection: redis.Redis) -> bool | None:
        """Whether the node publishes XADD; None when it could not be reached."""
        try:
            flags: Any = connection.config_get("notify-keyspace-events")
        except (redis.ConnectionError, redis.TimeoutError):
            return None
        except redis.RedisError:  # CONFIG refused (a managed service): assume it does not
            return False
        return notifies_xadd(str(flags.get("notify-keyspace-events", "")))

    def wait(self, timeout_s: float) -> bool:
        """Wait until a stream was appended to (True) or ``timeout_s`` passed (False)."""
        self.waiting.set()
        try:
            woken = self._wake.wait(timeout_s)
        finally:
            self.waiting.clear()
        self._wake.clear()
        return woken

    def close(self) -> None:
        for subscriber in self._subscribers.values():
            subscriber.stop()
        self._subscribers.clear()
