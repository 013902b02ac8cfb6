"""The FastAPI application: ``create_app()`` assembles routers and shared resources, nothing else.

Serve it with ``ruche api`` (or ``uvicorn --factory api.main:create_app``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from api import metrics
from api.errors import install_error_handlers
from api.interactive import PeopleFirst, PeopleFirstMiddleware
from api.limits import BodySizeLimit
from api.metrics import ApiMetrics, MetricsMiddleware
from api.openapi.document import openapi_with_examples
from api.remembered_refusals import RememberedRefusals
from api.request_context import RequestContext
from api.routes import (
    assignments,
    certificates,
    charter,
    health,
    invitations,
    org_limits,
    orgs,
    privacy,
    projects,
    reputation,
    results,
    reviewers,
    reviews,
    task_types,
    tasks,
    volunteers,
    webhooks,
)
from core.accounts.charter import Charters
from core.accounts.store import Accounts
from core.accounts.tokens import token_hash
from core.board.claims import Claims
from core.board.runner import AsyncBoard
from core.projects.catalogue import ProjectCatalogue
from core.projects.changes import ProjectChangeListener
from core.ratelimit import RateLimits
from core.redis.clients import (
    async_redis_client,
    batch_mux,
    hot_path_mux,
    limits_cluster_uri,
    redis_url,
)
from core.redis.keys import Keys
from core.redis.mux import MuxRedis
from core.review.reviewers import Reviews
from core.settings import Settings, load_settings
from web.app import install_web, start_web

__all__ = ["DOCS_ASSETS", "create_app"]

#: Where /docs and /redoc load their scripts, style sheet and icon from (this app).
DOCS_ASSETS = "/docs/assets"

# Short timeouts: a probe or request should fail fast and say so, not hang on a dead Redis.
_REDIS_TIMEOUT_SECONDS = 2.0


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings if settings is not None else load_settings()
    redis_url(settings, "the API (`ruche up` starts one for you)")  # fail at once if unset

    keys = Keys(settings.key_prefix)
    admin_hash = (
        token_hash(settings.admin_token.get_secret_value()) if settings.admin_token else None
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = async_redis_client(
            settings,
            "the API",
            connect_timeout_s=_REDIS_TIMEOUT_SECONDS,
            timeout_s=_REDIS_TIMEOUT_SECONDS,
        )
        # The hot path's script calls share one multiplexed connection (core.redis.mux); on a
        # cluster, one per master (core.redis.cluster_mux).
        mux = hot_path_mux(settings, timeout_s=_REDIS_TIMEOUT_SECONDS)
        # Bulk task creation's own connections on a cluster (core.redis.clients.batch_mux).
        batches = batch_mux(settings, timeout_s=_REDIS_TIMEOUT_SECONDS)
        app.state.redis = client
        app.state.board = AsyncBoard(client, keys=keys, mux=mux, batch_mux=batches)
        app.state.accounts = Accounts(client, keys, admin_hash)
        board = app.state.board
        app.state.claims = Claims(
            board,
            client,
            keys,
            max_live=settings.max_live_assignments,
            catalogue=ProjectCatalogue(client, keys, board),
        )
        app.state.bulk_lanes = asyncio.Semaphore(settings.bulk_lanes)
        app.state.limits = RateLimits(
            client,
            settings.rates,
            key_prefix=keys.rate_limits,
            mux=mux if isinstance(mux, MuxRedis) else None,
            cluster_uri=limits_cluster_uri(settings) if settings.redis_cluster else None,
            cluster_tls=(settings.redis_url or "").startswith("rediss:"),
        )
        app.state.charters = Charters(client, keys)
        app.state.reviews = Reviews(
            board, client, keys, lease_seconds=settings.review_lease_seconds
        )
        web = start_web(app, client, keys, app.state.accounts)
        # Projects changed by another process: this one's copies go at once.
        app.state.project_changes = changes = ProjectChangeListener(settings, keys)
        await changes.start()
        try:
            yield
        finally:
            await changes.aclose()
            await app.state.claims.aclose()  # hand-backs still pending: their leases expire
            await web.mailer.drain()  # the mails the pages are still sending
            await mux.aclose()
            if batches is not None:
                await batches.aclose()
            await client.aclose()

    # FastAPI's app, with /docs (Swagger UI) and /redoc served from assets shipped inside the
    # fastapi-offline package (under DOCS_ASSETS) instead of a CDN: they work offline.
    app = FastAPIOffline(
        title="Ruche",
        summary="Event-driven micro-task crowdsourcing queue for NGOs",
        version=version("ruche"),
        lifespan=lifespan,
        static_url=DOCS_ASSETS,
    )
    app.state.settings = settings
    app.state.keys = keys
    app.state.trusted_proxies = settings.trusted_proxy_networks
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit)
    # Outside the body limit and routing: a flood past its limit is refused before either.
    app.add_middleware(RememberedRefusals)
    app.state.metrics = ApiMetrics()
    # Outside the body limit and the error handlers: it also counts requests they refuse.
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    if settings.cors_origin_list:
        # A volunteer app on another origin (RUCHE_CORS_ORIGINS; none by default). Tokens go in
        # the Authorization header, never cookies: no credentials mode, so the pages' session
        # cookie is never sent by another origin's script.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After", "Location"],
            max_age=600,
        )
    # Outermost of all: every response gets its X-Request-ID, every log line its request id.
    app.add_middleware(RequestContext)
    # Other requests and bulk work wait while a person's request is served (api.interactive):
    # counted from the moment the request reaches the app.
    app.state.people_first = PeopleFirst()
    app.add_middleware(PeopleFirstMiddleware, people=app.state.people_first)
    # Routes are matched in order, one regular expression each: the volunteers' hot path goes
    # first, so it does not pay for trying every NGO route before it. Claim and submit are the
    # app's own routes, not an included router's (see the function).
    assignments.add_hot_routes(app.router)
    routers = [
        assignments.router,
        health.router,
        metrics.router,
        *(m.router for m in (orgs, org_limits, projects, tasks, results, webhooks, reviewers)),
        task_types.router,
        reputation.router,
        *(m.router for m in (volunteers, charter, reviews, invitations, privacy)),
        certificates.router,
    ]
    for router in routers:
        app.include_router(router)
    # The pages people use (web/), after every API route: the API's paths are matched first.
    install_web(app)
    # Every route's examples, one per registered task type, added as written (api.openapi).
    app.openapi = openapi_with_examples(app)  # type: ignore[method-assign]
    return app
