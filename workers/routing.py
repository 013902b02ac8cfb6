"""Which actors react to which events: the relay's ``dispatch``.

Actor and queue names are stable dotted constants (messages already in Redis keep finding
their actor after a refactor); the actor modules take their names from here, and this module
imports none of them: it finds them on the broker at run time. An event type with no route, or
whose actors are not installed in this process, is simply acknowledged: the stream keeps it as
the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import dramatiq
import structlog
from dramatiq import Broker
from dramatiq.errors import ActorNotFound

__all__ = [
    "QUALITY_GOLD",
    "QUALITY_QUEUE",
    "QUALITY_REFIT",
    "RESULTS_DELIVER",
    "REVIEWS_QUEUE",
    "REVIEWS_SETTLE",
    "ROUTES",
    "STATS_QUEUE",
    "STATS_RECORD",
    "TASKS_AGGREGATE",
    "TASKS_QUEUE",
    "TASKS_REVIEW_STALLED",
    "Route",
    "Router",
]

log = structlog.get_logger(__name__)

TASKS_AGGREGATE = "tasks.aggregate"
TASKS_QUEUE = "tasks"
TASKS_REVIEW_STALLED = "tasks.review_stalled"
REVIEWS_SETTLE = "reviews.settle"
REVIEWS_QUEUE = "reviews"
STATS_RECORD = "stats.record"
STATS_QUEUE = "stats"
RESULTS_DELIVER = "results.deliver"  # workers.actors.deliver (queue "results")
PROJECTS_REEVALUATE = "projects.reevaluate"
PROJECTS_QUEUE = "projects"
QUALITY_GOLD = "quality.gold"  # workers.actors.gold: feedback and reputation of a gold answer
QUALITY_QUEUE = "quality"
#: workers.actors.quality: a project's periodic refit, sent by tasks.aggregate (no event route).
QUALITY_REFIT = "quality.refit"

Fields = Mapping[str, str]


def _has_all_answers(fields: Fields) -> bool:
    try:
        return int(fields["answers"]) >= int(fields["need"])
    except (KeyError, ValueError):
        return True  # let the actor look at the task itself


def _policy_may_have_changed(fields: Fields) -> bool:
    """A project edit that wrote its document or its redundancy (not a mere pause/resume)."""
    written = set(fields.get("fields", "").split(","))
    return bool(written & {"doc", "redundancy"})


@dataclass(frozen=True, slots=True)
class Route:
    actor: str
    when: Callable[[Fields], bool] | None = None  # None: every event of the type

    def wants(self, fields: Fields) -> bool:
        return self.when is None or self.when(fields)


ROUTES: Mapping[str, tuple[Route, ...]] = {
    "answer.submitted": (Route(TASKS_AGGREGATE, _has_all_answers), Route(STATS_RECORD)),
    "review.decided": (Route(REVIEWS_SETTLE), Route(STATS_RECORD)),
    "task.stalled": (Route(TASKS_REVIEW_STALLED),),
    "gold.answered": (Route(QUALITY_GOLD),),
    "result.published": (Route(RESULTS_DELIVER), Route(STATS_RECORD)),
    "project.updated": (Route(PROJECTS_REEVALUATE, _policy_may_have_changed),),
    # A policy change closed a task's collection: decide it like one whose last answer came.
    "task.collection_closed": (Route(TASKS_AGGREGATE),),
}


class Router:
    """``dispatch(project_id, event_id, fields)``: one message per interested actor.

    Each message's arguments are the event itself (project id, stream entry id, fields), and
    its ``correlation_id`` is ``<project>/<event id>``, so the log lines of every piece of work
    one event caused can be found together; its ``request_id`` is the event's, the HTTP request
    that caused it. A send that fails raises: the relay then leaves
    the event unacknowledged and dispatches it again later (actors are idempotent).
    """

    def __init__(self, broker: Broker, routes: Mapping[str, tuple[Route, ...]] = ROUTES):
        self.broker = broker
        self.routes = routes
        self._missing: set[str] = set()

    def actors_for(self, fields: Fields) -> list[str]:
        return [r.actor for r in self.routes.get(fields.get("type", ""), ()) if r.wants(fields)]

    def __call__(self, project_id: str, event_id: str, fields: dict[str, str]) -> None:
        for name in self.actors_for(fields):
            actor = self._actor(name)
            if actor is not None:
                actor.send_with_options(
                    args=(project_id, event_id, dict(fields)),
                    correlation_id=f"{project_id}/{event_id}",
                    # The HTTP request the event came from, if any (workers.middleware binds it).
                    request_id=fields.get("request_id") or None,
                )

    def _actor(self, name: str) -> dramatiq.Actor[..., None] | None:
        try:
            actor: dramatiq.Actor[..., None] = self.broker.get_actor(name)
        except ActorNotFound:
            if name not in self._missing:
                self._missing.add(name)
                log.warning("relay.actor_missing", actor=name)
            return None
        return actor
