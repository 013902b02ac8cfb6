"""The app's routes, read from its own OpenAPI document, and the tables every route needs.

``ROUTES`` is generated: every (method, path) of ``create_app(settings).openapi()``, plus the
routes FastAPI serves outside the document (``/docs``, ``/openapi.json``…). The tables below are
written by hand, and the generated checks (``test_role_matrix.py``, ``test_tenant_isolation.py``)
fail for any route missing from them, naming it, so a new route cannot ship without saying who
may call it, with which body, and what its path parameters name.

- ``ALLOWED``: which roles may call each route (default deny: no entry, the check fails).
- ``REFUSALS``: refused (route, role) pairs that do not get the default refusal (anonymous:
  401 ``unauthenticated``; a token of the wrong kind: 403 ``forbidden``).
- ``CASES``: per route, a minimal valid body (and query, and what must happen first for the
  call to succeed).
- ``PARAMS``: per path parameter name, the ids of a tenant it can name, well-formed ids naming
  nothing, and malformed ones.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import httpx
from fastapi import FastAPI

from api.main import create_app
from core import ids
from core.settings import Settings
from core.volunteers.certificates import new_certificate_id
from tests.support.api.client import ADMIN
from tests.support.api.tenants import ANSWER, Headers, Tenant

# Where the tables are, for failure messages that say what to edit.
ROUTE_TABLES = "tests/support/api/route_cases.py"
Route = tuple[str, str]  # (METHOD, path template), e.g. ("GET", "/v1/projects/{project_id}")
Role = Literal["anonymous", "admin", "org", "volunteer", "reviewer"]
ROLES: tuple[Role, ...] = ("anonymous", "admin", "org", "volunteer", "reviewer")
# Roles acting for a tenant (an organisation and its people), in the order their ids are used.
TENANT_ROLES: tuple[Role, ...] = ("org", "volunteer", "reviewer")

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def read_routes(app: FastAPI) -> tuple[dict[Route, dict[str, Any]], list[Route]]:
    """The app's documented routes (with their OpenAPI operation) and the ones left out of the
    document (FastAPI's own ``/docs``, ``/openapi.json``…)."""
    document = app.openapi()
    operations = {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in _METHODS
    }
    undocumented = sorted(
        ("GET", str(route.path))
        for route in app.routes
        if getattr(route, "include_in_schema", True) is False and hasattr(route, "path")
    )
    return operations, undocumented


def build_app() -> FastAPI:
    # No Redis is touched: the document is built from the routes alone.
    return create_app(Settings(redis_url="redis://127.0.0.1:9/0"))


#: The OpenAPI operation object of every documented route, and the undocumented routes.
OPERATIONS, UNDOCUMENTED = read_routes(build_app())
#: Every route the app serves: the OpenAPI document's, then the ones left out of it (docs).
ROUTES: list[Route] = sorted(OPERATIONS) + UNDOCUMENTED


def route_id(route: Route) -> str:
    return f"{route[0]} {route[1]}"


def path_params(route: Route) -> list[str]:
    return re.findall(r"{(\w+)}", route[1])


def success_statuses(route: Route) -> set[int]:
    """The 2xx statuses the document promises for the route (200 for the undocumented ones)."""
    operation = OPERATIONS.get(route)
    if operation is None:
        return {200}
    return {int(s) for s in operation["responses"] if s.startswith("2")}


# -- who may call what ---------------------------------------------------------------------

PUBLIC: frozenset[Role] = frozenset(ROLES)  # no token needed; a token changes nothing
OPERATOR: frozenset[Role] = frozenset({"admin"})
ORG: frozenset[Role] = frozenset({"org"})
VOLUNTEERS: frozenset[Role] = frozenset({"volunteer", "reviewer"})
REVIEWERS: frozenset[Role] = frozenset({"reviewer"})

ALLOWED: dict[Route, frozenset[Role]] = {
    # operations and documentation
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/v1/task-types"): PUBLIC,
    # operators
    ("POST", "/v1/orgs"): OPERATOR,
    ("DELETE", "/v1/certificates/{certificate_id}"): OPERATOR,
    ("GET", "/v1/orgs/{org_id}/limits"): OPERATOR,
    ("PUT", "/v1/orgs/{org_id}/limits"): OPERATOR,
    ("DELETE", "/v1/orgs/{org_id}"): OPERATOR,
    ("DELETE", "/v1/orgs/{org_id}/projects/{project_id}"): OPERATOR,
    ("GET", "/v1/volunteers/{volunteer_id}/export"): OPERATOR,
    ("DELETE", "/v1/volunteers/{volunteer_id}"): OPERATOR,
    ("PUT", "/v1/charter"): OPERATOR,
    # organisations
    ("GET", "/v1/org"): ORG,
    ("PUT", "/v1/org/charter"): ORG,
    ("GET", "/v1/org/keys"): ORG,
    ("GET", "/v1/org/limits"): ORG,
    ("POST", "/v1/org/keys"): ORG,
    ("DELETE", "/v1/org/keys/{key_id}"): ORG,
    ("GET", "/v1/projects"): ORG,
    ("POST", "/v1/projects"): ORG,
    ("GET", "/v1/projects/{project_id}"): ORG,
    ("PATCH", "/v1/projects/{project_id}"): ORG,
    ("POST", "/v1/projects/{project_id}/tasks"): ORG,
    ("GET", "/v1/projects/{project_id}/tasks/{task_id}"): ORG,
    ("DELETE", "/v1/projects/{project_id}"): ORG,
    ("DELETE", "/v1/projects/{project_id}/tasks/{task_id}"): ORG,
    ("GET", "/v1/projects/{project_id}/results"): ORG,
    ("GET", "/v1/projects/{project_id}/export"): ORG,
    ("POST", "/v1/projects/{project_id}/reviewers"): ORG,
    ("GET", "/v1/projects/{project_id}/reviewers"): ORG,
    ("DELETE", "/v1/projects/{project_id}/reviewers/{volunteer_id}"): ORG,
    ("GET", "/v1/projects/{project_id}/volunteers/{volunteer_id}/reputation"): ORG,
    ("GET", "/v1/webhook"): ORG,
    ("PUT", "/v1/webhook"): ORG,
    ("DELETE", "/v1/webhook"): ORG,
    ("GET", "/v1/webhook/deliveries"): ORG,
    ("POST", "/v1/webhook/deliveries/{delivery_id}/redeliver"): ORG,
    # invitations (the operator's and each organisation's own)
    ("POST", "/v1/invitations"): OPERATOR | ORG,
    ("GET", "/v1/invitations"): OPERATOR | ORG,
    ("DELETE", "/v1/invitations/{invitation_id}"): OPERATOR | ORG,
    # volunteers (open sign-up, then a volunteer token; reviewers are volunteers too)
    ("POST", "/v1/volunteers"): PUBLIC,
    ("POST", "/v1/me/charter"): VOLUNTEERS,
    ("GET", "/v1/me"): VOLUNTEERS,
    ("PATCH", "/v1/me"): VOLUNTEERS,
    ("PUT", "/v1/me/goal"): VOLUNTEERS,
    ("GET", "/v1/me/projects"): VOLUNTEERS,
    ("GET", "/v1/me/charter"): VOLUNTEERS,
    ("GET", "/v1/me/export"): VOLUNTEERS,
    ("DELETE", "/v1/me"): VOLUNTEERS,
    ("POST", "/v1/assignments"): VOLUNTEERS,
    ("GET", "/v1/me/assignments"): VOLUNTEERS,
    ("GET", "/v1/assignments/{assignment_id}"): VOLUNTEERS,
    ("POST", "/v1/assignments/{assignment_id}/heartbeat"): VOLUNTEERS,
    ("POST", "/v1/assignments/{assignment_id}/submit"): VOLUNTEERS,
    ("POST", "/v1/assignments/{assignment_id}/release"): VOLUNTEERS,
    # reviewers (a volunteer token with review rights)
    ("POST", "/v1/reviews"): REVIEWERS,
    ("POST", "/v1/reviews/{review_id}/decision"): REVIEWERS,
}

#: Refusals other than the default (401 for anonymous, 403 ``forbidden`` for a wrong kind).
#: A volunteer token is the right kind for the review routes; what it lacks is review rights,
#: or (for a decision) the review itself, which is then not found, as API.md allows.
REFUSALS: dict[tuple[Route, Role], tuple[int, str]] = {
    (("POST", "/v1/reviews"), "volunteer"): (403, "not_a_reviewer"),
    (("POST", "/v1/reviews/{review_id}/decision"), "volunteer"): (404, "review_not_found"),
}


def expected_refusal(route: Route, role: Role) -> tuple[int, str]:
    default = (401, "unauthenticated") if role == "anonymous" else (403, "forbidden")
    return REFUSALS.get((route, role), default)


def headers_of(tenant: Tenant, role: Role) -> Headers:
    return {
        "anonymous": {},
        "admin": ADMIN,
        "org": tenant.org,
        "volunteer": tenant.volunteer.headers,
        "reviewer": tenant.reviewer.headers,
    }[role]


def target_role(route: Route, role: Role) -> Role:
    """Whose ids a call by ``role`` names: its own when it may call the route, else those of
    the first tenant role that may (a refused token aims at a real object)."""
    allowed = ALLOWED[route]
    if role in allowed and role in TENANT_ROLES:
        return role
    return next((r for r in TENANT_ROLES if r in allowed), "org")


# -- bodies --------------------------------------------------------------------------------

BodyFn = Callable[[Tenant], Any]
Prepare = Callable[[httpx.AsyncClient, Tenant], Awaitable[None]]


@dataclass(frozen=True)
class Case:
    """How to call a route successfully: a minimal valid body (built for the calling tenant),
    a query, and what must happen first (run only before the allowed calls)."""

    body: BodyFn | None = None
    query: Mapping[str, str] = field(default_factory=dict)
    prepare: Prepare | None = None


def _const(value: Any) -> BodyFn:
    return lambda _tenant: value


async def _revoke_spare_key(api: httpx.AsyncClient, tenant: Tenant) -> None:
    # An organisation holds at most two live keys; the tenant has two, so free a place.
    revoked = await api.delete(f"/v1/org/keys/{tenant.spare_key_id}", headers=tenant.org)
    assert revoked.status_code == 204, revoked.text


NO_BODY = Case()
BOIL = {"source_text": "Boil the water.", "source_lang": "en", "target_lang": "fr"}

CASES: dict[Route, Case] = {
    ("GET", "/healthz"): NO_BODY,
    ("GET", "/readyz"): NO_BODY,
    ("GET", "/metrics"): NO_BODY,
    ("GET", "/openapi.json"): NO_BODY,
    ("GET", "/docs"): NO_BODY,
    ("GET", "/docs/oauth2-redirect"): NO_BODY,
    ("GET", "/redoc"): NO_BODY,
    ("GET", "/v1/task-types"): NO_BODY,
    ("POST", "/v1/orgs"): Case(_const({"name": "Water for all", "contact_email": "a@b.org"})),
    ("DELETE", "/v1/certificates/{certificate_id}"): NO_BODY,
    ("DELETE", "/v1/orgs/{org_id}"): NO_BODY,
    ("DELETE", "/v1/orgs/{org_id}/projects/{project_id}"): NO_BODY,
    ("GET", "/v1/volunteers/{volunteer_id}/export"): NO_BODY,
    ("DELETE", "/v1/volunteers/{volunteer_id}"): NO_BODY,
    ("DELETE", "/v1/projects/{project_id}"): NO_BODY,
    ("DELETE", "/v1/projects/{project_id}/tasks/{task_id}"): NO_BODY,
    ("GET", "/v1/me/export"): NO_BODY,
    ("DELETE", "/v1/me"): NO_BODY,
    ("GET", "/v1/org"): NO_BODY,
    ("PUT", "/v1/org/charter"): Case(_const({"text": "Our own charter: be kind."})),
    ("PUT", "/v1/charter"): Case(_const({"text": "The operator's charter, version two."})),
    ("GET", "/v1/org/keys"): NO_BODY,
    ("GET", "/v1/org/limits"): NO_BODY,
    ("GET", "/v1/orgs/{org_id}/limits"): NO_BODY,
    ("PUT", "/v1/orgs/{org_id}/limits"): Case(_const({"quota_tasks": 50_000})),
    ("POST", "/v1/org/keys"): Case(prepare=_revoke_spare_key),
    ("DELETE", "/v1/org/keys/{key_id}"): NO_BODY,
    ("GET", "/v1/projects"): NO_BODY,
    ("POST", "/v1/projects"): Case(
        _const({"name": "Posters", "task_type": "moderation", "instructions": "Label it."})
    ),
    ("GET", "/v1/projects/{project_id}"): NO_BODY,
    ("PATCH", "/v1/projects/{project_id}"): Case(
        _const({"state": "paused", "impact_note": "Your words reached 300 families."})
    ),
    ("POST", "/v1/projects/{project_id}/tasks"): Case(_const({"tasks": [{"payload": BOIL}]})),
    ("GET", "/v1/projects/{project_id}/tasks/{task_id}"): NO_BODY,
    ("GET", "/v1/projects/{project_id}/results"): Case(query={"limit": "10"}),
    ("GET", "/v1/projects/{project_id}/export"): Case(query={"format": "csv"}),
    ("POST", "/v1/projects/{project_id}/reviewers"): Case(
        lambda tenant: {"volunteer_id": tenant.volunteer.id}
    ),
    ("GET", "/v1/projects/{project_id}/reviewers"): NO_BODY,
    ("DELETE", "/v1/projects/{project_id}/reviewers/{volunteer_id}"): NO_BODY,
    ("GET", "/v1/projects/{project_id}/volunteers/{volunteer_id}/reputation"): NO_BODY,
    ("GET", "/v1/webhook"): NO_BODY,
    ("PUT", "/v1/webhook"): Case(_const({"url": "http://127.0.0.1:9/other-hook"})),
    ("DELETE", "/v1/webhook"): NO_BODY,
    ("GET", "/v1/webhook/deliveries"): Case(query={"limit": "5"}),
    ("POST", "/v1/webhook/deliveries/{delivery_id}/redeliver"): NO_BODY,
    ("POST", "/v1/invitations"): Case(_const({"uses": 3, "expires_in_days": 7})),
    ("GET", "/v1/invitations"): NO_BODY,
    ("DELETE", "/v1/invitations/{invitation_id}"): NO_BODY,  # idempotent: admin, then org
    ("POST", "/v1/volunteers"): Case(_const({"display_name": "Bea", "languages": ["fr"]})),
    ("POST", "/v1/me/charter"): Case(_const({"accept": True})),
    ("GET", "/v1/me"): NO_BODY,
    ("PATCH", "/v1/me"): Case(_const({"display_name": "Ada L."})),
    ("PUT", "/v1/me/goal"): Case(_const({"weekly_minutes": 90})),
    ("GET", "/v1/me/projects"): NO_BODY,
    ("GET", "/v1/me/charter"): NO_BODY,
    ("POST", "/v1/assignments"): Case(_const({"task_types": ["translation"]})),
    ("GET", "/v1/me/assignments"): NO_BODY,
    ("GET", "/v1/assignments/{assignment_id}"): NO_BODY,
    ("POST", "/v1/assignments/{assignment_id}/heartbeat"): NO_BODY,
    ("POST", "/v1/assignments/{assignment_id}/submit"): Case(
        _const({"answer": ANSWER, "seconds_spent": 42})
    ),
    ("POST", "/v1/assignments/{assignment_id}/release"): Case(_const({"reason": "no_time"})),
    ("POST", "/v1/reviews"): Case(_const({})),
    ("POST", "/v1/reviews/{review_id}/decision"): Case(
        _const({"action": "reject", "comment": "Not a sentence to translate."})
    ),
}


# -- path parameters -----------------------------------------------------------------------


def _token() -> str:
    return ids.new_token_part()


def _mutations(real: str) -> list[str]:
    """Near misses of a real id: case changed, one character short, one too many."""
    return [real.upper(), real[:-1], real + "0"]


#: Junk for any parameter (none contains "/", which would change the route itself).
JUNK = ["x", "not-an-id", "0", "null", " ", "été", "prj_", "a" * 64]


@dataclass(frozen=True)
class Param:
    """What a path parameter names. ``real``: every id of the kind a tenant has (the first is
    the one its routes act on unless ``mine`` says otherwise for a role)."""

    real: Callable[[Tenant], list[str]]
    random: Callable[[Tenant], list[str]]  # well formed, naming nothing (may forge on a real one)
    mine: Callable[[Tenant, Role], str] | None = None
    other_kinds: Callable[[Tenant], list[str]] | None = None  # real ids of another kind

    def own(self, tenant: Tenant, role: Role) -> str:
        return self.mine(tenant, role) if self.mine else self.real(tenant)[0]

    def malformed(self, tenant: Tenant) -> list[str]:
        others = self.other_kinds(tenant) if self.other_kinds else []
        return [*_mutations(self.real(tenant)[0]), *others, *JUNK]


def _forged_assignment(tenant: Tenant) -> str:
    project_id, task_id, _ = tenant.assignment_id.split(".")
    return f"{project_id}.{task_id}.{_token()}"


def _forged_review(tenant: Tenant) -> str:
    project_id, task_id, _ = tenant.review_id.split(".")
    return f"{project_id}.{task_id}.r{_token()}"


PARAMS: dict[str, Param] = {
    "org_id": Param(  # the operator's routes only: no tenant role names an organisation
        real=lambda t: [t.org_id],
        random=lambda t: [f"org_{secrets.token_hex(10)}"],
        other_kinds=lambda t: [t.project_id],
    ),
    "project_id": Param(
        real=lambda t: [t.project_id],
        random=lambda t: [ids.new_project_id()],
        other_kinds=lambda t: [t.org_id, t.assignment_id],
    ),
    "task_id": Param(
        real=lambda t: t.task_ids,
        random=lambda t: ["t9999999999", f"t{secrets.randbelow(10**10):010d}"],
    ),
    "assignment_id": Param(
        real=lambda t: [t.assignment_id, t.submitted_assignment_id, t.reviewer_assignment_id],
        random=lambda t: [
            f"{ids.new_project_id()}.t0000000001.{_token()}",
            _forged_assignment(t),  # the tenant's real task, a guessed fencing token
        ],
        mine=lambda t, role: t.reviewer_assignment_id if role == "reviewer" else t.assignment_id,
        other_kinds=lambda t: [t.review_id, t.task_ids[0]],
    ),
    "review_id": Param(
        real=lambda t: [t.review_id],
        random=lambda t: [f"{ids.new_project_id()}.t0000000001.r{_token()}", _forged_review(t)],
        other_kinds=lambda t: [t.assignment_id, t.reviewer_assignment_id],
    ),
    "delivery_id": Param(
        real=lambda t: [t.delivery_id],
        random=lambda t: [f"dlv_{secrets.token_hex(12)}"],
        other_kinds=lambda t: [t.result_cursor, t.task_ids[0]],
    ),
    "key_id": Param(
        real=lambda t: [t.spare_key_id, t.key_ids[0]],
        random=lambda t: [f"key_{secrets.token_hex(8)}"],
        other_kinds=lambda t: [t.org_id],
    ),
    "invitation_id": Param(
        real=lambda t: [t.invitation_id],
        random=lambda t: [f"inv_{secrets.token_hex(8)}"],
        other_kinds=lambda t: [t.org_id, t.spare_key_id],
    ),
    "certificate_id": Param(
        real=lambda t: [t.certificate_id],
        random=lambda t: [new_certificate_id()],
        other_kinds=lambda t: [t.volunteer.id, t.project_id],
    ),
    "volunteer_id": Param(
        real=lambda t: [t.reviewer.id, t.volunteer.id],
        random=lambda t: [ids.new_volunteer_id()],
        other_kinds=lambda t: [t.org_id],
    ),
}


def fill(route: Route, values: Mapping[str, str]) -> str:
    """The route's path with ``values`` in its parameters (percent-encoded)."""
    return re.sub(r"{(\w+)}", lambda m: quote(values[m.group(1)], safe=""), route[1])


def own_values(route: Route, tenant: Tenant, role: Role) -> dict[str, str]:
    """The tenant's own ids for each path parameter, as a call by ``role`` names them."""
    target = target_role(route, role)
    return {name: PARAMS[name].own(tenant, target) for name in path_params(route)}


async def call(
    api: httpx.AsyncClient,
    route: Route,
    values: Mapping[str, str],
    headers: Headers,
    body_of: Tenant | None,
    *,
    params: Mapping[str, str] | None = None,
) -> httpx.Response:
    """Call ``route`` with ``values`` in its path, the case's query (plus ``params``), and the
    case's body built for tenant ``body_of`` (no body when None)."""
    case = CASES[route]
    query = {**case.query, **(params or {})}
    body = case.body(body_of) if case.body is not None and body_of is not None else None
    return await api.request(
        route[0],
        fill(route, values),
        headers=headers,
        params=query or None,
        json=body,
    )


def table_problems(
    operations: Mapping[Route, dict[str, Any]] = OPERATIONS,
    undocumented: list[Route] = UNDOCUMENTED,
) -> list[str]:
    """Every way the tables disagree with the app's routes (empty: they agree)."""
    routes = [*operations, *undocumented]
    problems = []
    for route in routes:
        name = route_id(route)
        if route not in ALLOWED:
            problems.append(f"{name}: no entry in ALLOWED (who may call it?)")
        if route not in CASES:
            problems.append(f"{name}: no entry in CASES (how is it called?)")
        elif operations.get(route, {}).get("requestBody", {}).get("required") and (
            CASES[route].body is None
        ):
            problems.append(f"{name}: takes a body, but its case has none")
        for param in path_params(route):
            if param not in PARAMS:
                problems.append(f"{name}: path parameter {{{param}}} has no entry in PARAMS")
        documented = {
            p["name"] for p in operations.get(route, {}).get("parameters", []) if p["in"] == "path"
        }
        if route in operations and documented != set(path_params(route)):
            problems.append(f"{name}: documented path parameters {sorted(documented)}")
        if (
            route in ALLOWED
            and path_params(route)
            and not ALLOWED[route] & set(TENANT_ROLES)
            and ALLOWED[route] != OPERATOR  # the operator names any tenant's objects
        ):
            problems.append(f"{name}: names an object, but no tenant role may call it")
    for table_name, table in (("ALLOWED", ALLOWED), ("CASES", CASES)):
        for route in table:
            if route not in routes:
                problems.append(
                    f"{route_id(route)}: in {table_name}, but the app has no such route"
                )
    for route, role in REFUSALS:
        if route not in ALLOWED or role in ALLOWED[route]:
            problems.append(f"{route_id(route)}: REFUSALS names {role}, which is not refused")
    return problems
