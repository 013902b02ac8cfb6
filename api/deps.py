"""``Annotated`` dependency aliases, so route signatures read like sentences."""

from __future__ import annotations

from typing import Annotated, cast

import redis.asyncio as aioredis
from fastapi import Depends, Request

__all__ = ["RedisDep"]


def _redis(request: Request) -> aioredis.Redis:
    # Set by the lifespan in api.main; one client (and connection pool) per process.
    return cast(aioredis.Redis, request.app.state.redis)


RedisDep = Annotated[aioredis.Redis, Depends(_redis)]
