"""What the ``dramatiq`` command loads: ``dramatiq workers.app:setup``.

``setup()`` reads the settings, configures logging, installs the broker as dramatiq's global one
and only then imports the actor modules, which bind to it. It runs once in every worker process.
"""

from __future__ import annotations

import importlib

import dramatiq
from dramatiq import Broker

from core.logging import configure_logging
from core.settings import Settings, load_settings
from workers import metrics
from workers.broker import build_broker

__all__ = ["ACTOR_MODULES", "setup"]

ACTOR_MODULES = (
    "workers.actors.system",
    "workers.actors.deliver",  # results.deliver, results.deliver_due (webhooks)
    "workers.actors.tasks",  # tasks.aggregate
    "workers.actors.reviews",  # reviews.settle
    "workers.actors.stats",  # stats.record
    "workers.actors.gold",  # quality.gold
    "workers.actors.quality",  # quality.refit
    "workers.actors.projects",  # projects.reevaluate
)


def setup(settings: Settings | None = None) -> Broker:
    settings = settings if settings is not None else load_settings()
    configure_logging(settings)
    broker = build_broker(settings)
    if settings.worker_metrics_port is not None:
        broker.add_middleware(metrics.middleware())  # serves on its own port (workers.metrics)
    dramatiq.set_broker(broker)
    for name in ACTOR_MODULES:
        importlib.import_module(name)
    return broker
