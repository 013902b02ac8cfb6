"""``Annotated`` dependency aliases, so route signatures read like sentences.

- The process's shared clients and settings (``RedisDep``, ``BoardDep``, ``KeysDep``, …), set
  by the lifespan in :mod:`api.main`.
- Who calls (``CurrentAdmin``, ``CurrentOrg``, ``CurrentVolunteer``, ``CurrentProfile``).
  Authentication: ``Authorization: Bearer <token>`` only (never a query string). A missing,
  unknown or revoked token gets one identical 401; a token of the wrong kind a 403. The hot
  routes check it themselves (``authenticated``, marked ``checks_own_token``); ``token_kind``
  tells the OpenAPI document which routes want which kind.
- The services: the NGO-facing ones built per request from the shared clients
  (``ProjectsDep``, ``WebhooksDep``, ``IdempotencyDep``), the volunteer- and reviewer-facing
  ones built once per process (``ClaimsDep``, ``ReviewsDep``).
- ``OwnedProjectId``: the path's ``project_id`` after the ownership check: the organisation's
  token is checked first (401/403), then the project must be one of its own; a malformed id, an
  unknown one and another organisation's all get the same 404.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar, cast

import redis.asyncio as aioredis
from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext

from api.ratelimit import address_of, limits_of
from core.accounts.quotas import Quotas
from core.accounts.store import Accounts, Principal, VolunteerProfile
from core.board.claims import Claims
from core.board.runner import AsyncBoard
from core.delivery.webhooks import Webhooks
from core.errors import RucheError
from core.idempotency import Idempotency
from core.projects.store import Projects
from core.redis.keys import Keys
from core.review.reviewers import Reviews
from core.settings import Settings

__all__ = [
    "AccountsDep",
    "BoardDep",
    "ClaimsDep",
    "CurrentAdmin",
    "CurrentAdminOrOrg",
    "CurrentOrg",
    "CurrentProfile",
    "CurrentVolunteer",
    "IdempotencyDep",
    "KeysDep",
    "OwnedProjectId",
    "ProjectsDep",
    "QuotasDep",
    "RedisDep",
    "ReviewsDep",
    "SettingsDep",
    "Unauthenticated",
    "WebhooksDep",
    "WrongKindOfToken",
    "auth_refusal",
    "authenticated",
    "checks_own_token",
    "token_identity",
    "token_kind",
]


class Unauthenticated(RucheError):
    status = 401
    code = "unauthenticated"

    def __init__(self) -> None:
        # One message for missing, malformed, unknown and revoked tokens: nothing to probe.
        super().__init__("a valid bearer token is required")


#: How a refusal names each kind of token (in this order), so the caller learns which to use.
_TOKEN_NAMES = {
    "admin": "the operator token (rk_admin_…)",
    "org": "an organisation's API key (rk_org_…)",
    "vol": "a volunteer's token (rk_vol_…)",
}


class WrongKindOfToken(RucheError):
    status = 403
    code = "forbidden"

    def __init__(self, wanted: Iterable[str] = ()) -> None:
        # Names the kinds the route takes (public knowledge: the OpenAPI document says it too),
        # never anything about the token presented.
        names = [name for kind, name in _TOKEN_NAMES.items() if kind in wanted]
        if names:
            super().__init__(f"this route needs {' or '.join(names)}")
        else:
            super().__init__("this token is not allowed to do that")


async def _redis(request: Request) -> aioredis.Redis:
    # Set by the lifespan in api.main; one client (and connection pool) per process.
    return cast(aioredis.Redis, request.app.state.redis)


async def _board(request: Request) -> AsyncBoard:
    return cast(AsyncBoard, request.app.state.board)


async def _accounts(request: Request) -> Accounts:
    return cast(Accounts, request.app.state.accounts)


async def _settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def _keys(request: Request) -> Keys:
    return cast(Keys, request.app.state.keys)


RedisDep = Annotated[aioredis.Redis, Depends(_redis)]
BoardDep = Annotated[AsyncBoard, Depends(_board)]
AccountsDep = Annotated[Accounts, Depends(_accounts)]
SettingsDep = Annotated[Settings, Depends(_settings)]
KeysDep = Annotated[Keys, Depends(_keys)]


async def _refused(request: Request) -> Unauthenticated:
    """The 401 for this request, once it is counted against the caller's address: past the
    ``unauthenticated`` limit, the 429 is raised instead (guessing tokens costs time)."""
    await limits_of(request).enforce("unauthenticated", address_of(request))
    return Unauthenticated()


def token_identity(principal: Principal) -> str:
    """What the ``token`` limit counts: an organisation's key, a volunteer."""
    return f"{principal.kind}:{principal.key_id or principal.id}"


async def _principal(request: Request, *, also: tuple[str, str] | None = None) -> Principal:
    """The caller, their request counted against their token's limit; the operator's token is
    not limited. ``also``: (kind of token, limit): when the caller's token is of that kind,
    that limit of theirs (e.g. ``claims``) is counted too, in the same round trip."""
    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal):
        return known
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise await _refused(request)
    principal = await cast(Accounts, request.app.state.accounts).authenticate(token.strip())
    if principal is None:
        raise await _refused(request)
    request.state.principal = principal
    if principal.kind != "admin":
        hits = [("token", token_identity(principal))]
        if also is not None and also[0] == principal.kind:
            hits.append((also[1], principal.id))
        await limits_of(request).enforce_all(hits)
    return principal


async def _principal_dependency(request: Request) -> Principal:
    return await _principal(request)


async def authenticated(request: Request, kind: str, *, also: str | None = None) -> Principal:
    """The caller, whose token must be of ``kind``: what ``CurrentVolunteer`` & co. check, for
    the hot routes that check it themselves (``api.routes.assignments``). ``also``: a limit of
    the caller's (``claims``) counted along with their token's, in the same round trip."""
    principal = await _principal(request, also=(kind, also) if also else None)
    if principal.kind != kind:
        raise WrongKindOfToken((kind,))
    return principal


# Each token check below, with the kinds of token it takes (read by ``auth_refusal``).
_TOKEN_CHECKS: dict[Callable[..., Any], tuple[str, ...]] = {}
# The endpoints that call ``authenticated`` themselves, with the kind they pass it (read when the
# OpenAPI document is rendered: ``token_kind``).
_SELF_CHECKED: dict[Callable[..., Any], str] = {}

_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])


def checks_own_token(kind: str) -> Callable[[_Endpoint], _Endpoint]:
    """Marks an endpoint that calls ``authenticated(request, kind)`` itself instead of taking a
    ``Current…`` dependency, so that its OpenAPI operation says it needs a token all the same.
    Nothing is added to its requests: the mark is read only when the document is rendered."""

    def mark(endpoint: _Endpoint) -> _Endpoint:
        _SELF_CHECKED[endpoint] = kind
        return endpoint

    return mark


def _require(*kinds: str) -> object:
    async def check(principal: Annotated[Principal, Depends(_principal_dependency)]) -> Principal:
        if principal.kind not in kinds:
            raise WrongKindOfToken(kinds)
        return principal

    _TOKEN_CHECKS[check] = kinds
    return Depends(check)


def _wanted_kind(dependant: Dependant) -> tuple[str, ...] | None:
    for sub in dependant.dependencies:
        kind = _TOKEN_CHECKS.get(sub.call) if sub.call is not None else None
        if kind is None:
            kind = _wanted_kind(sub)
        if kind is not None:
            return kind
    return None


def token_kind(route: APIRoute | RouteContext) -> tuple[str, ...] | None:
    """The kinds of token the route takes (``admin``, ``org``, ``vol``), or None for a route
    anyone may call: from its ``Current…`` dependencies, however deep, or its own mark
    (``checks_own_token``)."""
    own = _SELF_CHECKED.get(route.endpoint) if route.endpoint is not None else None
    return (own,) if own else _wanted_kind(route.dependant)


async def auth_refusal(request: Request) -> RucheError | None:
    """The 401/403 the request's route would give its token, or None (the token passes, or the
    route wants none).

    FastAPI decodes a JSON body before it runs any dependency, so a body that is not JSON
    would be refused (422) before the token is looked at: its handler asks this first, and a
    caller without a valid token of the right kind learns nothing but the 401/403.
    """
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if not isinstance(dependant, Dependant):
        return None
    kind = _wanted_kind(dependant)
    if kind is None:
        return None
    try:
        principal = await _principal(request)
    except Unauthenticated as refusal:
        return refusal
    return WrongKindOfToken(kind) if principal.kind not in kind else None


CurrentAdmin = Annotated[Principal, _require("admin")]
CurrentOrg = Annotated[Principal, _require("org")]
CurrentVolunteer = Annotated[Principal, _require("vol")]
#: The operator or an organisation (what may issue volunteer invitations).
CurrentAdminOrOrg = Annotated[Principal, _require("admin", "org")]


# -- the services ------------------------------------------------------------------------------


async def _projects(board: BoardDep, client: RedisDep, keys: KeysDep) -> Projects:
    return Projects(board, client, keys)


async def _webhooks(client: RedisDep, keys: KeysDep) -> Webhooks:
    return Webhooks(client, keys)


async def _idempotency(client: RedisDep, keys: KeysDep) -> Idempotency:
    return Idempotency(client, keys)


async def _quotas(client: RedisDep, keys: KeysDep, settings: SettingsDep) -> Quotas:
    return Quotas(client, keys, settings)


async def _claims(request: Request) -> Claims:
    # Built once in the lifespan (api.main): it holds the process's project catalogue.
    return cast(Claims, request.app.state.claims)


async def _reviews(request: Request) -> Reviews:
    return cast(Reviews, request.app.state.reviews)


ProjectsDep = Annotated[Projects, Depends(_projects)]
WebhooksDep = Annotated[Webhooks, Depends(_webhooks)]
IdempotencyDep = Annotated[Idempotency, Depends(_idempotency)]
QuotasDep = Annotated[Quotas, Depends(_quotas)]
ClaimsDep = Annotated[Claims, Depends(_claims)]
ReviewsDep = Annotated[Reviews, Depends(_reviews)]


async def _profile(me: CurrentVolunteer, accounts: AccountsDep) -> VolunteerProfile:
    return await accounts.volunteer(me.id)


#: The calling volunteer's profile (401/403 for a missing or non-volunteer token first).
CurrentProfile = Annotated[VolunteerProfile, Depends(_profile)]


async def _owned_project(project_id: str, org: CurrentOrg, projects: ProjectsDep) -> str:
    return await projects.require_owned(org.id, project_id)


OwnedProjectId = Annotated[str, Depends(_owned_project)]
