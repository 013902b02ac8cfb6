"""``Annotated`` dependency aliases, so route signatures read like sentences.

Authentication: ``Authorization: Bearer <token>`` only (never a query string). A missing, unknown
or revoked token gets one identical 401; a token of the wrong kind a 403.
"""

from __future__ import annotations

from typing import Annotated, cast

import redis.asyncio as aioredis
from fastapi import Depends, Request

from core.accounts import Accounts, Principal
from core.board import AsyncBoard
from core.errors import RucheError
from core.keys import Keys
from core.settings import Settings

__all__ = [
    "AccountsDep",
    "BoardDep",
    "CurrentAdmin",
    "CurrentOrg",
    "CurrentVolunteer",
    "KeysDep",
    "RedisDep",
    "SettingsDep",
    "Unauthenticated",
    "WrongKindOfToken",
]


class Unauthenticated(RucheError):
    status = 401
    code = "unauthenticated"

    def __init__(self) -> None:
        # One message for missing, malformed, unknown and revoked tokens: nothing to probe.
        super().__init__("a valid bearer token is required")


class WrongKindOfToken(RucheError):
    status = 403
    code = "forbidden"

    def __init__(self) -> None:
        super().__init__("this token is not allowed to do that")


def _redis(request: Request) -> aioredis.Redis:
    # Set by the lifespan in api.main; one client (and connection pool) per process.
    return cast(aioredis.Redis, request.app.state.redis)


def _board(request: Request) -> AsyncBoard:
    return cast(AsyncBoard, request.app.state.board)


def _accounts(request: Request) -> Accounts:
    return cast(Accounts, request.app.state.accounts)


def _settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


def _keys(request: Request) -> Keys:
    return cast(Keys, request.app.state.keys)


RedisDep = Annotated[aioredis.Redis, Depends(_redis)]
BoardDep = Annotated[AsyncBoard, Depends(_board)]
AccountsDep = Annotated[Accounts, Depends(_accounts)]
SettingsDep = Annotated[Settings, Depends(_settings)]
KeysDep = Annotated[Keys, Depends(_keys)]


async def _principal(request: Request, accounts: AccountsDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated()
    principal = await accounts.authenticate(token.strip())
    if principal is None:
        raise Unauthenticated()
    request.state.principal = principal
    return principal


def _require(kind: str) -> object:
    async def check(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        if principal.kind != kind:
            raise WrongKindOfToken()
        return principal

    return Depends(check)


CurrentAdmin = Annotated[Principal, _require("admin")]
CurrentOrg = Annotated[Principal, _require("org")]
CurrentVolunteer = Annotated[Principal, _require("vol")]
