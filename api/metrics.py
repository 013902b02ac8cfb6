"""Prometheus metrics of the HTTP API: ``GET /metrics``.

Two kinds of figures, neither costing a request anything beyond in-memory counters:

- **Counted as requests are answered** (:class:`MetricsMiddleware`): requests and their latency
  per route *template* (``/v1/projects/{project_id}``), never per concrete path, so ids never
  become label values; claims by outcome (``claimed``, ``nothing`` when nothing fits,
  ``refused`` for any error) with their latency; answer submissions by outcome (``accepted``,
  ``refused``). The outcome is read off the status code the route answered, so no route code
  takes part.
- **Read from the board at scrape time** (:func:`read_board`, a handful of pipelined commands
  per scrape): tasks per project and state (the per-state counters the board scripts keep),
  claimable tasks and waiting review items per project, results published per project (the
  length of its results feed, which is never trimmed), and webhook deliveries waiting for an
  attempt. At most :data:`MAX_PROJECTS` projects are listed (``ruche_projects`` says how many
  there are). Project ids name tenants' objects, so only a scrape with the operator token
  (``Authorization: Bearer rk_admin_…``, which Prometheus can send) gets them as ``project``
  label values; any other scrape gets the same families summed, as ``project="_all"``.

Webhook delivery outcomes happen in the workers: they are counted there (``workers.metrics``)
and served by dramatiq's Prometheus middleware on the workers' own port. Each app gets its own
registry, so several apps in one process (tests) never collide.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import redis
import redis.asyncio
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.projects.models import TASK_STATES
from core.redis.keys import Keys
from core.settings import ADMIN_TOKEN_PREFIX

__all__ = [
    "MAX_PROJECTS",
    "ApiMetrics",
    "BoardSnapshot",
    "MetricsMiddleware",
    "ProjectFigures",
    "read_board",
    "router",
]

router = APIRouter(tags=["operations"])

#: Most projects listed per scrape: a bound on the scrape's cost and on label cardinality.
MAX_PROJECTS = 500
#: Every state a task can be in (``rejected`` comes from a review, outside TASK_STATES).
STATES = (*TASK_STATES, "rejected")

CLAIM_ROUTE = ("POST", "/v1/assignments")
SUBMIT_ROUTE = ("POST", "/v1/assignments/{assignment_id}/submit")
CLAIM_OUTCOMES = {201: "claimed", 204: "nothing"}  # any other status: refused
SUBMIT_OUTCOMES = {202: "accepted"}
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ruche_http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ruche_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            registry=self.registry,
            buckets=_LATENCY_BUCKETS,
        )
        self.claims = Counter(
            "ruche_claims",
            "Volunteer claims (POST /v1/assignments) by outcome: claimed, nothing (nothing "
            "fits, 204) or refused (any error).",
            ["outcome"],
            registry=self.registry,
        )
        self.claim_latency = Histogram(
            "ruche_claim_duration_seconds",
            "Time to answer a claim, by outcome.",
            ["outcome"],
            registry=self.registry,
            buckets=_LATENCY_BUCKETS,
        )
        self.submissions = Counter(
            "ruche_answer_submissions",
            "Answers submitted by volunteers, by outcome: accepted (202) or refused.",
            ["outcome"],
            registry=self.registry,
        )
        # Every outcome shows from the start (at 0), so rates work before the first of each; the
        # children are kept, sparing the hot path a labelled lookup under a lock.
        self._claims = {
            outcome: (self.claims.labels(outcome), self.claim_latency.labels(outcome))
            for outcome in (*CLAIM_OUTCOMES.values(), "refused")
        }
        self._submissions = {
            outcome: self.submissions.labels(outcome)
            for outcome in (*SUBMIT_OUTCOMES.values(), "refused")
        }

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        if route == CLAIM_ROUTE[1] and method == CLAIM_ROUTE[0]:
            claims, latency = self._claims[CLAIM_OUTCOMES.get(status, "refused")]
            claims.inc()
            latency.observe(seconds)
        elif route == SUBMIT_ROUTE[1] and method == SUBMIT_ROUTE[0]:
            self._submissions[SUBMIT_OUTCOMES.get(status, "refused")].inc()


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], template, status, time.perf_counter() - started)


# -- the board, read at scrape time --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProjectFigures:
    project_id: str
    tasks: dict[str, int]  # state -> count
    claimable: int
    reviews_waiting: int
    results: int


@dataclass(frozen=True, slots=True)
class BoardSnapshot:
    projects_total: int
    webhook_due: int
    projects: list[ProjectFigures] = field(default_factory=list)


async def read_board(
    client: redis.asyncio.Redis, keys: Keys, limit: int = MAX_PROJECTS
) -> BoardSnapshot:
    """The board's figures: at most ``limit`` projects, in a few round trips whatever the size."""
    project_ids: set[str] = set()
    cursor = 0
    while True:  # SSCAN returns about `limit` ids per call: the loop stops after a call or two
        cursor, batch = await client.sscan(keys.projects, cursor, count=limit)
        project_ids.update(str(member) for member in batch)
        if cursor == 0 or len(project_ids) >= limit:
            break
    listed = sorted(project_ids)[:limit]
    count_fields = [f"count:{state}" for state in STATES]
    pipe = client.pipeline(transaction=False)
    pipe.scard(keys.projects)
    pipe.zcard(keys.webhook_due)
    for project_id in listed:
        pk = keys.project(project_id)
        pipe.hmget(pk.project, count_fields)
        pipe.zcard(pk.ready)
        pipe.zcard(pk.review_queue)
        pipe.xlen(pk.results)
    replies = await pipe.execute()
    projects = []
    for index, project_id in enumerate(listed):
        counts, claimable, waiting, results = replies[2 + 4 * index : 6 + 4 * index]
        projects.append(
            ProjectFigures(
                project_id=project_id,
                tasks={state: int(n or 0) for state, n in zip(STATES, counts, strict=True)},
                claimable=int(claimable),
                reviews_waiting=int(waiting),
                results=int(results),
            )
        )
    return BoardSnapshot(int(replies[0]), int(replies[1]), projects)


class BoardCollector(Collector):
    """One scrape's board figures as Prometheus metric families (``None``: Redis unreadable)."""

    def __init__(self, snapshot: BoardSnapshot | None, *, per_project: bool = False) -> None:
        self.snapshot = snapshot
        self.per_project = per_project

    def collect(self) -> Iterator[Metric]:
        readable = GaugeMetricFamily(
            "ruche_board_readable", "1 when this scrape could read the board from Redis."
        )
        readable.add_metric([], 0 if self.snapshot is None else 1)
        yield readable
        if self.snapshot is None:
            return
        snapshot = self.snapshot
        projects = GaugeMetricFamily(
            "ruche_projects", f"Projects on the board (at most {MAX_PROJECTS} listed below)."
        )
        projects.add_metric([], snapshot.projects_total)
        due = GaugeMetricFamily(
            "ruche_webhook_deliveries_due",
            "Webhook deliveries waiting for an attempt (first, retry or redelivery).",
        )
        due.add_metric([], snapshot.webhook_due)
        tasks = GaugeMetricFamily(
            "ruche_tasks", "Tasks per project and state (queue depth).", labels=["project", "state"]
        )
        claimable = GaugeMetricFamily(
            "ruche_tasks_claimable",
            "Tasks a volunteer can claim right now, per project.",
            labels=["project"],
        )
        waiting = GaugeMetricFamily(
            "ruche_reviews_waiting", "Review items waiting for a reviewer.", labels=["project"]
        )
        results = CounterMetricFamily(
            "ruche_results_published", "Results published, per project.", labels=["project"]
        )
        for figures in snapshot.projects if self.per_project else [_summed(snapshot.projects)]:
            for state, count in figures.tasks.items():
                tasks.add_metric([figures.project_id, state], count)
            claimable.add_metric([figures.project_id], figures.claimable)
            waiting.add_metric([figures.project_id], figures.reviews_waiting)
            results.add_metric([figures.project_id], figures.results)
        yield from (projects, due, tasks, claimable, waiting, results)


#: The ``project`` label of figures summed over every listed project (an anonymous scrape).
ALL_PROJECTS = "_all"


def _summed(listed: list[ProjectFigures]) -> ProjectFigures:
    tasks = {state: sum(p.tasks.get(state, 0) for p in listed) for state in STATES}
    return ProjectFigures(
        project_id=ALL_PROJECTS,
        tasks=tasks,
        claimable=sum(p.claimable for p in listed),
        reviews_waiting=sum(p.reviews_waiting for p in listed),
        results=sum(p.results for p in listed),
    )


async def _operator(request: Request) -> bool:
    """Whether the request carries the operator token (checked in memory: no Redis read)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.startswith(ADMIN_TOKEN_PREFIX):
        return False
    principal = await request.app.state.accounts.authenticate(token.strip())
    return principal is not None and principal.kind == "admin"


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
async def metrics(request: Request) -> Response:
    operator = await _operator(request)
    if not operator and not request.app.state.settings.metrics_public:
        # RUCHE_METRICS_PUBLIC=false: the operator's scrape only (docker-compose.yml's default).
        from api.deps import Unauthenticated, WrongKindOfToken  # api.deps imports much more

        if "authorization" not in request.headers:
            raise Unauthenticated()
        raise WrongKindOfToken(("admin",))
    registry: CollectorRegistry = request.app.state.metrics.registry
    try:
        snapshot: BoardSnapshot | None = await read_board(
            request.app.state.redis, request.app.state.keys
        )
    except redis.RedisError:
        snapshot = None  # the API's own figures are still worth serving
    board = CollectorRegistry()
    # Project ids name tenants' objects: per project only for the operator (see the docstring).
    board.register(BoardCollector(snapshot, per_project=operator))
    return Response(
        generate_latest(registry) + generate_latest(board), media_type=CONTENT_TYPE_LATEST
    )
