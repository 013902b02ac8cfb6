"""Liveness and readiness probes for load balancers and orchestrators.

``/healthz`` says the process answers; ``/readyz`` says it can do useful work (Redis answers).
"""

from __future__ import annotations

from typing import Literal

import redis
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import RedisDep
from api.errors import ErrorResponse, error_response

__all__ = ["router"]

router = APIRouter(tags=["operations"])


class Healthy(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    status: Literal["ready"] = "ready"


@router.get(
    "/healthz",
    response_model=Healthy,
    summary="The process is up",
)
async def healthz() -> Healthy:
    return Healthy()


@router.get(
    "/readyz",
    response_model=Ready,
    summary="Redis is reachable",
    responses={503: {"model": ErrorResponse, "description": "Redis does not answer"}},
)
async def readyz(client: RedisDep) -> Ready | JSONResponse:
    try:
        await client.ping()
    except (redis.RedisError, OSError):
        return error_response(
            503,
            "redis_unavailable",
            "Redis does not answer; retry shortly.",
            headers={"Retry-After": "1"},
        )
    return Ready()
