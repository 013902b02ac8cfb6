"""``/me`` "My work", ``POST /me/goal``, ``/me/certificate`` and the public
``/certificates/{certificate_id}`` (and, from :mod:`web.me.data`, ``/me/data``: download
one's data, delete one's account; from :mod:`web.me.profile`, ``/me/profile``: one's display
name, languages and skills).

"My work" shows only the signed-in person's own data: their stats and feedback keys, and the
tasks their feedback names, each shown only when their own answer is among the task's answers
(:mod:`core.volunteers.inbox`). A certificate is public by its id on purpose (whoever holds
the link checks it); ``/me/certificate`` only ever shows the signed-in person's own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio
from fastapi import APIRouter, Request, Response

from core.board.claims import Claims
from core.errors import NotFound
from core.volunteers.certificates import Certificate, Certificates
from core.volunteers.inbox import InboxItem, read_inbox
from core.volunteers.stats import read_feedback, read_stats, worked_on
from task_types import all_types
from web.i18n import N_
from web.me import data, profile
from web.me.views import (
    answer_view,
    date_of,
    decision_of,
    hours_of,
    payload_view,
    type_name,
    unit_name,
)
from web.pages import redirect, render
from web.routing import WebRoute
from web.visit import Visit, visit

__all__ = ["MAX_WEEKLY_MINUTES", "router"]

router = APIRouter(route_class=WebRoute)
router.include_router(data.router)
router.include_router(profile.router)

#: The weekly goal's bounds, in minutes (as ``PUT /v1/me/goal``).
MAX_WEEKLY_MINUTES = 7 * 24 * 60
#: Outcomes the inbox lists: the answers that did not stand as they were.
INBOX_OUTCOMES = frozenset({"overturned", "rejected", "reopened"})
IMPACT_NOTES_SHOWN = 10


@dataclass(frozen=True, slots=True)
class ImpactNote:
    project: str
    organisation: str
    note: str


def _client(page: Visit) -> redis.asyncio.Redis:
    return page.state.sessions.client


def _claims(page: Visit) -> Claims:
    return cast(Claims, page.request.app.state.claims)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


async def _organisation_name(page: Visit, org_id: str) -> str:
    try:
        return str((await page.state.accounts.org(org_id)).get("name", ""))
    except NotFound:
        return ""


def _helpers(page: Visit) -> dict[str, Any]:
    locale = page.language.code
    return {
        "hours": lambda minutes: hours_of(minutes, locale),
        "date": lambda ms: date_of(ms, locale),
        "type_name": type_name,
        "unit_name": unit_name,
        "payload_view": payload_view,
        "answer_view": answer_view,
        "decision_of": decision_of,
    }


async def _impact_notes(page: Visit) -> list[ImpactNote]:
    notes = []
    for project_id in await worked_on(_client(page), page.state.keys, page.person.id):
        try:
            document = await _claims(page).catalogue.document(project_id)
        except NotFound:
            continue  # the project is gone
        note = document.get("impact_note")
        if isinstance(note, str) and note.strip():
            organisation = await _organisation_name(page, str(document.get("org_id", "")))
            notes.append(ImpactNote(str(document.get("name", "")), organisation, note))
        if len(notes) >= IMPACT_NOTES_SHOWN:
            break
    return notes


async def _my_work(
    page: Visit,
    *,
    goal_value: str | None = None,
    goal_error: str | None = None,
    status_code: int = 200,
) -> Response:
    person = page.person
    client, keys = _client(page), page.state.keys
    stats = await read_stats(client, keys, person.id, _now_ms())
    feedback = await read_feedback(client, keys, person.id)
    inbox: list[InboxItem] = await read_inbox(client, keys, person.id, feedback)
    units = {kind.name: kind.contribution_unit for kind in all_types()}
    organisations: dict[str, str] = {}
    for item in inbox:
        if item.org_id and item.org_id not in organisations:
            organisations[item.org_id] = await _organisation_name(page, item.org_id)
    goal = person.weekly_goal_minutes
    return render(
        page,
        "me/me.html",
        status_code=status_code,
        stats=stats,
        units=units,
        goal=goal,
        goal_value=goal_value if goal_value is not None else (str(goal) if goal else ""),
        goal_error=goal_error,
        max_goal=MAX_WEEKLY_MINUTES,
        outcomes=[
            item for item in inbox if item.kind == "review" and item.outcome in INBOX_OUTCOMES
        ],
        upheld=sum(1 for item in inbox if item.kind == "review" and item.outcome == "upheld"),
        gold=[item for item in inbox if item.kind == "gold"],
        organisations=organisations,
        impact_notes=await _impact_notes(page),
        **_helpers(page),
    )


@router.get("/me")
async def my_work(request: Request) -> Response:
    page = await visit(request)
    return await _my_work(page)


@router.post("/me/goal")
async def save_goal(request: Request) -> Response:
    page = await visit(request)
    person = page.person
    form = await page.check_form()
    raw = form.get("weekly_goal", "")
    value = raw.strip()[:20] if isinstance(raw, str) else ""
    minutes = int(value) if value.isascii() and value.isdigit() else 0
    if not 1 <= minutes <= MAX_WEEKLY_MINUTES:
        error = N_("Give a whole number of minutes, from 1 to 10080 (a whole week).")
        return await _my_work(page, goal_value=value, goal_error=error, status_code=422)
    await page.state.accounts.set_goal(person.id, minutes)
    return redirect(page, "/me", flash="goal_saved")


def _certificates(page: Visit) -> Certificates:
    return Certificates(_client(page), page.state.keys, page.state.secret)


def _public_url(page: Visit, certificate: Certificate) -> str:
    base = page.state.settings.public_url or str(page.request.base_url)
    return f"{base.rstrip('/')}/certificates/{certificate.id}"


@router.get("/me/certificate")
async def my_certificate(request: Request) -> Response:
    """Issues the person's certificate (or gives the latest again while its figures hold)."""
    page = await visit(request)
    person = page.person
    certificates = _certificates(page)
    units = {kind.name: kind.contribution_unit for kind in all_types()}

    async def organisation(org_id: str) -> str:
        return await _organisation_name(page, org_id)

    figures = await certificates.current_figures(
        person.id, person.display_name, organisation, units
    )
    certificate = await certificates.issue(person.id, figures)
    return render(
        page,
        "me/certificate.html",
        certificate=certificate,
        public_url=_public_url(page, certificate),
        **_helpers(page),
    )


@router.get("/certificates/{certificate_id}")
async def check_certificate(certificate_id: str, request: Request) -> Response:
    """Public: whether the certificate is genuine, and what it states (404 for an unknown or
    malformed id)."""
    page = await visit(request)
    certificate = await _certificates(page).get(certificate_id[:64])
    return render(
        page,
        "me/check.html",
        certificate=certificate,
        public_url=_public_url(page, certificate),
        **_helpers(page),
    )
