"""The relay process (``ruche relay``): project event streams -> dramatiq messages.

It runs :class:`core.events.relay.Relay` with :class:`workers.routing.Router` as its dispatch, on
the data Redis (``RUCHE_REDIS_URL``) for the streams and the broker (``RUCHE_BROKER_URL``, or the
same Redis) for the messages. Run as many as you like: they share the consumer group, each
event goes to one of them, and a dead one's events are taken over after
``RUCHE_RELAY_CLAIM_IDLE_SECONDS``.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

from dramatiq import Broker

from core.events.relay import Relay, RelayConfig
from core.redis.clients import redis_client
from core.redis.keys import Keys
from core.settings import Settings
from workers.app import setup
from workers.routing import Router

__all__ = ["build_relay", "relay_config", "run_relay", "serve"]


def relay_config(settings: Settings) -> RelayConfig:
    return RelayConfig(claim_idle_ms=int(settings.relay_claim_idle_seconds * 1000))


def build_relay(settings: Settings, broker: Broker, config: RelayConfig | None = None) -> Relay:
    """A relay reading the settings' Redis and dispatching through ``broker``."""
    client = redis_client(settings, "the relay", connect_timeout_s=2, timeout_s=5)
    return Relay(
        client,
        Keys(settings.key_prefix),
        Router(broker),
        config=config or relay_config(settings),
    )


def run_relay(settings: Settings, stop: threading.Event) -> None:
    """Relay until ``stop`` is set (sets up the broker and actors of this process first)."""
    broker = setup(settings)
    relay = build_relay(settings, broker)
    try:
        relay.run(stop)
    finally:
        relay.client.close()


def serve(settings: Settings) -> None:
    """Run the relay in this process until SIGTERM or SIGINT."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    run_relay(settings, stop)
