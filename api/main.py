"""The FastAPI application: ``create_app()`` assembles routers and shared resources, nothing else.

Serve it with ``ruche api`` (or ``uvicorn --factory api.main:create_app``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

import redis.asyncio as aioredis
from fastapi import FastAPI

from api.routes import health
from core.settings import Settings, load_settings

__all__ = ["create_app"]

# Short timeouts: a probe or request should fail fast and say so, not hang on a dead Redis.
_REDIS_TIMEOUT_SECONDS = 2.0


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings if settings is not None else load_settings()
    redis_url = settings.redis_url
    if redis_url is None:
        raise RuntimeError(
            "RUCHE_REDIS_URL is not set: the API needs a Redis server "
            "(`ruche up` starts one for you)"
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = aioredis.Redis.from_url(
            redis_url,
            decode_responses=True,
            socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
            socket_timeout=_REDIS_TIMEOUT_SECONDS,
        )
        app.state.redis = client
        try:
            yield
        finally:
            await client.aclose()

    app = FastAPI(
        title="Ruche",
        summary="Event-driven micro-task crowdsourcing queue for NGOs",
        version=version("ruche"),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.include_router(health.router)
    return app
