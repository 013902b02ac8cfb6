"""The workers' Prometheus metrics, served by dramatiq's own Prometheus middleware.

dramatiq's middleware (``dramatiq.middleware.prometheus``) counts messages per queue and actor
(processed, errors, retries, dead-lettered, in progress, durations) and serves them on a port of
its own, from a process dramatiq forks beside the worker processes. It uses prometheus_client's
multiprocess mode: every worker process writes its figures to files in one directory, and the
serving process adds them up on each scrape. Ruche's own worker-side figures join the same files:
:data:`DELIVERIES`, webhook delivery outcomes.

On with ``RUCHE_WORKER_METRICS_PORT``. prometheus_client picks its multiprocess mode when it is
first imported and dramatiq reads its port and directory from the environment when its module
is, so ``ruche worker`` calls :func:`environment` and exports the result *before* dramatiq
starts; ``workers.app.setup`` then adds the middleware (:func:`middleware`). The directory is
emptied at each start, so figures restart from zero with the workers, as counters should.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from dramatiq.middleware import Middleware
from prometheus_client import CollectorRegistry, Counter

from core.logging import configure_logging
from core.settings import Settings, load_settings

__all__ = [
    "DELIVERIES",
    "DELIVERY_OUTCOMES",
    "environment",
    "metrics_directory",
    "middleware",
    "serve",
]

#: delivered (2xx); retrying (an attempt failed, another is scheduled); failed (retries used
#: up, or nothing could be sent); disabled (410 Gone, or sent to a disabled endpoint).
DELIVERY_OUTCOMES = ("delivered", "retrying", "failed", "disabled")

# A registry of our own: in multiprocess mode the values live in the shared files anyway, and
# this keeps them off prometheus_client's global registry (tests import this module freely).
_REGISTRY = CollectorRegistry()

DELIVERIES = Counter(
    "ruche_webhook_deliveries",
    "Webhook delivery attempts (and deliveries ended without one), by outcome.",
    ["outcome"],
    registry=_REGISTRY,
)
for _outcome in DELIVERY_OUTCOMES:
    DELIVERIES.labels(_outcome)  # every outcome shows from the start, at 0


def metrics_directory(settings: Settings) -> Path:
    """Where the worker processes of one metrics port keep their figures (one group per port:
    a second group on the same port could not serve them anyway)."""
    return (settings.data_dir / "worker-metrics" / str(settings.worker_metrics_port)).resolve()


def environment(settings: Settings) -> dict[str, str]:
    """The variables dramatiq and prometheus_client need, with an emptied directory; nothing
    when the workers serve no metrics."""
    if settings.worker_metrics_port is None:
        return {}
    directory = metrics_directory(settings)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return {
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "dramatiq_prom_db": str(directory),
        "dramatiq_prom_host": settings.host,
        "dramatiq_prom_port": str(settings.worker_metrics_port),
    }


def middleware() -> Middleware:
    """dramatiq's Prometheus middleware, its server process logging like the rest of Ruche."""
    # Imported here: the module reads the environment above when it is imported.
    from dramatiq.middleware.prometheus import Prometheus

    class LoggingPrometheus(Prometheus):
        @property
        def forks(self) -> list[Callable[[], int]]:
            return [serve]

    return LoggingPrometheus()


def serve() -> int:
    """The metrics server process (forked by dramatiq beside the workers). dramatiq leaves its
    logging unconfigured (``--skip-logging``), which would let its last words out as plain text;
    here it gets Ruche's, as every other process."""
    configure_logging(load_settings())
    from dramatiq.middleware.prometheus import _run_exposition_server  # the serving loop itself

    return int(_run_exposition_server())  # type: ignore[no-untyped-call]
