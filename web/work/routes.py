"""The volunteer's work: ``/work`` (the projects that fit me), ``POST /work/start`` (claim a task
of one project, or any, and go to its page), ``/work/live`` (my tasks in progress), and one task
under its lease, ``/work/a/{assignment_id}``: its page, ``…/submit``, ``…/skip`` (a reason,
then "Skip" again), ``…/heartbeat`` (JSON, for the page's script), ``…/practice`` (a practice
item's expected answer, after "Submit") and ``…/unclear`` (the one-tap "Instructions unclear"
report, which the NGO sees on its project page).

After "Submit" or "Skip" comes the next task of the same project, else of any project, with
"Saved" (or "Skipped") announced; none left: back to /work. Someone else's assignment, and a
random id, are the same 404 page (``Claims.get`` refuses both alike).
"""

from __future__ import annotations

import contextlib
import math
import time
from typing import Any, cast

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from core.accounts.charter import accepted_current, require_current_charter
from core.board.claims import Assignment, Claims
from core.errors import (
    AnswerRejected,
    AssignmentNotFound,
    CharterNotAccepted,
    LeaseNotLive,
    ProjectNotFound,
    RucheError,
    TooManyAssignments,
)
from core.insights.unclear import record_unclear
from web.i18n import N_
from web.pages import redirect, render
from web.routing import WebRoute
from web.visit import Visit, visit
from web.work.forms import AnswerForm, data_fields
from web.work.offers import claimable_projects, minutes_per_task, project_facts
from web.work.task_page import task_page
from web.work.translation_checks import translation_checks

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)

#: Why a volunteer skips a task: the release reason codes of the API, and their labels.
SKIP_REASONS: dict[str, str] = {
    "too_hard": N_("It is too hard for me"),
    "not_my_language": N_("It is not in my languages"),
    "no_time": N_("I have no time for it now"),
    "unclear": N_("The instructions are unclear"),
    "inappropriate": N_("The content is inappropriate"),
    "other": N_("Another reason"),
}
MAX_SKIP_NOTE = 400


def _claims(page: Visit) -> Claims:
    return cast(Claims, page.request.app.state.claims)


def _now_ms() -> int:
    return int(time.time() * 1000)


# -- find work ---------------------------------------------------------------------------------


async def _offers(page: Visit) -> tuple[int, list[dict[str, Any]]]:
    """How many projects fit me, and those with a task for me now (see ``claimable_projects``)."""
    claims = _claims(page)
    fitting, found = await claimable_projects(claims, page.person)
    client = page.state.sessions.client
    offers = []
    for card, count in found:
        try:
            document = await claims.catalogue.document(card.id)
        except ProjectNotFound:
            continue
        facts = await project_facts(page, card.id, document)
        minutes = await minutes_per_task(client, page.state.keys, card.id, card.task_type)
        offers.append({"facts": facts, "tasks_left": count.tasks_left, "minutes": minutes})
    return fitting, offers


@router.get("/work")
async def find_work(request: Request) -> Response:
    page = await visit(request)
    person = page.person
    if not await accepted_current(page.state.charters, person.extra, person.charter_accepted_at_ms):
        return redirect(page, "/charter?next=/work")
    fitting, offers = await _offers(page)
    return render(
        page,
        "work/find.html",
        offers=offers,
        fitting=fitting,
        nothing_now=request.query_params.get("empty") == "1",
    )


async def _live_page(page: Visit, status_code: int = 200) -> Response:
    claims = _claims(page)
    now = _now_ms()
    items = []
    for live in await claims.live(page.person.id):
        try:
            facts = await project_facts(
                page, live.project_id, await claims.catalogue.document(live.project_id)
            )
        except ProjectNotFound:
            continue
        minutes = max(0, math.ceil((live.expires_at_ms - now) / 60_000))
        items.append({"id": live.id, "facts": facts, "minutes": minutes})
    return render(
        page, "work/live.html", status_code=status_code, items=items, at_cap=status_code == 429
    )


@router.get("/work/live")
async def live_assignments(request: Request) -> Response:
    page = await visit(request)
    return await _live_page(page)


async def _claim_next(page: Visit, project_id: str | None) -> Assignment | None:
    """A task of ``project_id`` if it has one for me, else of any project: the claim tries the
    best few projects that fit; when none of them has a task for me, the projects "Find work"
    offers (a wider, still bounded, look) are tried in turn."""
    claims, person = _claims(page), page.person
    # The same gates as the API's claim: the charter's current version, and the live cap that
    # starts at one and grows with accepted answers (no hoarding through the pages either).
    await require_current_charter(page.state.charters, person.extra, person.charter_accepted_at_ms)
    cap = page.state.settings.live_assignment_cap(person.accepted_answers)
    if project_id:
        try:
            found = await claims.claim(person, project_id=project_id, cap=cap)
        except ProjectNotFound:  # paused, gone, or no longer for me
            found = None
        if found is not None:
            return found
    found = await claims.claim(person, cap=cap)
    if found is not None:
        return found
    _, offered = await claimable_projects(claims, person)
    for card, _ in offered:
        with contextlib.suppress(ProjectNotFound):
            found = await claims.claim(person, project_id=card.id, cap=cap)
            if found is not None:
                return found
    return None


@router.post("/work/start")
async def start(request: Request) -> Response:
    page = await visit(request)
    form = await page.check_form()
    raw = form.get("project_id")
    project_id = raw.strip()[:200] if isinstance(raw, str) and raw.strip() else None
    try:
        found = await _claim_next(page, project_id)
    except CharterNotAccepted:
        return redirect(page, "/charter?next=/work")
    except TooManyAssignments:
        return await _live_page(page, status_code=429)
    if found is None:
        return redirect(page, "/work?empty=1")
    return redirect(page, f"/work/a/{found.id}")


async def _go_on(page: Visit, project_id: str, flash: str, flash_none: str) -> Response:
    """After a submit or a skip: the next task (same project first), else /work."""
    try:
        found = await _claim_next(page, project_id)
    except CharterNotAccepted:  # a new version of the charter, since the last task
        return redirect(page, "/charter?next=/work")
    except TooManyAssignments:
        return redirect(page, "/work/live")
    if found is None:
        return redirect(page, "/work", flash=flash_none)
    return redirect(page, f"/work/a/{found.id}", flash=flash)


# -- one task ----------------------------------------------------------------------------------


@router.get("/work/a/{assignment_id}")
async def task(assignment_id: str, request: Request) -> Response:
    page = await visit(request)
    try:
        assignment = await _claims(page).get(page.person.id, assignment_id)
    except LeaseNotLive:
        return _over(page, assignment_id)
    return await task_page(_claims(page), page, assignment, AnswerForm(assignment.task_type))


def _over(page: Visit, assignment_id: str) -> Response:
    """A task of mine whose lease is over (submitted, skipped, expired): the next task."""
    return render(page, "work/over.html", status_code=409, project_id=_project_of(assignment_id))


def _project_of(assignment_id: str) -> str:
    # Only reached for an assignment the volunteer held (Claims.get checked it is theirs).
    return assignment_id.split(".", 1)[0]


def _seconds_spent(shown_at: int) -> float | None:
    spent = (_now_ms() - shown_at) / 1000
    return round(spent, 1) if 0 < spent <= 86_400 else None


@router.post("/work/a/{assignment_id}/submit")
async def submit(assignment_id: str, request: Request) -> Response:
    page = await visit(request)
    form_data = await page.check_form()
    claims = _claims(page)
    person = page.person
    raw_shown = form_data.get("shown_at")
    shown_at = int(raw_shown) if isinstance(raw_shown, str) and raw_shown.isdigit() else 0
    try:
        assignment = await claims.get(person.id, assignment_id)
    except LeaseNotLive:
        return await _lease_over(page, assignment_id, form_data)
    form = AnswerForm.read(assignment.task_type, assignment.payload, form_data)
    answer = form.answer(assignment.payload)
    if answer is None:
        return await task_page(
            _claims(page), page, assignment, form, status_code=422, shown_at=shown_at
        )
    if assignment.task_type == "translation" and form_data.get("checks") != "accepted":
        payload = assignment.payload
        checks = translation_checks(
            str(payload.get("source_text", "")),
            str(answer.get("text", "")),
            source_lang=str(payload.get("source_lang", "")),
            target_lang=str(payload.get("target_lang", "")),
        )
        if checks:  # warnings, not errors: the page shows them with "Submit anyway"
            return await task_page(claims, page, assignment, form, shown_at=shown_at, checks=checks)
    try:
        await claims.submit(person.id, assignment_id, answer, _seconds_spent(shown_at))
    except AnswerRejected as refused:
        form.refused(assignment.payload, refused.details)
        return await task_page(
            _claims(page), page, assignment, form, status_code=422, shown_at=shown_at
        )
    except LeaseNotLive:
        return await task_page(_claims(page), page, assignment, form, status_code=409, expired=True)
    if assignment.gold:
        return redirect(page, f"/work/a/{assignment_id}/practice")
    return await _go_on(page, assignment.project_id, "saved", "saved_last")


async def _lease_over(page: Visit, assignment_id: str, form_data: Any) -> Response:
    """The lease ran out before the answer came: the page shows what was typed, filled in,
    and offers the next task. The task's payload is still the volunteer's to see (they held
    it); ``Claims.get`` refuses a dead lease, so the lease context is read here."""
    claims = _claims(page)
    context = await claims.board.run(claims.ops.lease_context(assignment_id))
    record = context.record or {}
    if record.get("vol") != page.person.id:
        raise AssignmentNotFound("no such assignment")
    if record.get("state") == "submitted":
        return _over(page, assignment_id)
    task_type = str(context.document.get("task_type", ""))
    assignment = Assignment(
        id=assignment_id,
        project_id=_project_of(assignment_id),
        task_id=str(record.get("task", "")),
        task_type=task_type,
        instructions=str(context.document.get("instructions", "")),
        expires_at_ms=int(record.get("expires") or 0),
        payload=context.payload or {},
    )
    form = AnswerForm.read(task_type, assignment.payload, form_data)
    return await task_page(_claims(page), page, assignment, form, status_code=409, expired=True)


@router.get("/work/a/{assignment_id}/skip")
async def skip_form(assignment_id: str, request: Request) -> Response:
    page = await visit(request)
    assignment = await _claims(page).get(page.person.id, assignment_id)
    return render(
        page,
        "work/skip.html",
        assignment=assignment,
        reasons=SKIP_REASONS,
        chosen="",
        note="",
        error=None,
    )


@router.post("/work/a/{assignment_id}/skip")
async def skip(assignment_id: str, request: Request) -> Response:
    page = await visit(request)
    form = await page.check_form()
    claims = _claims(page)
    person = page.person
    chosen = form.get("reason")
    raw_note = form.get("note")
    note = " ".join(raw_note.split())[:MAX_SKIP_NOTE] if isinstance(raw_note, str) else ""
    if not isinstance(chosen, str) or chosen not in SKIP_REASONS:
        assignment = await claims.get(person.id, assignment_id)
        return render(
            page,
            "work/skip.html",
            status_code=422,
            assignment=assignment,
            reasons=SKIP_REASONS,
            chosen="",
            note=note,
            error=N_("Please choose why you skip this task."),
        )
    reason = f"{chosen}: {note}" if note else chosen
    with contextlib.suppress(LeaseNotLive):  # ran out meanwhile: the task went back anyway
        await claims.release(person.id, assignment_id, reason)
    return await _go_on(page, _project_of(assignment_id), "skipped", "skipped")


@router.post("/work/a/{assignment_id}/unclear")
async def report_unclear(assignment_id: str, request: Request) -> Response:
    """The one-tap "Instructions unclear" report on the task held (once per task: a second tap
    says the same, and records nothing more); the task stays the volunteer's."""
    page = await visit(request)
    await page.check_form()
    claims = _claims(page)
    person = page.person
    try:
        assignment = await claims.get(person.id, assignment_id)
    except LeaseNotLive:
        return _over(page, assignment_id)
    await claims.board.run(
        record_unclear(
            page.state.keys,
            claims.board.clock,
            assignment.project_id,
            person.id,
            assignment.task_id,
        )
    )
    return redirect(page, f"/work/a/{assignment_id}", flash="unclear_sent")


@router.post("/work/a/{assignment_id}/heartbeat")
async def heartbeat(assignment_id: str, request: Request) -> Response:
    """The page's script renews the lease: ``{expires_at_ms, now_ms, capped}``; a refusal in
    the API's error shape (404 not mine, 409 over, 403 a bad CSRF token, 401 signed out)."""
    page = await visit(request)
    headers = {"Cache-Control": "no-store"}
    if not page.signed_in:
        body = {"error": {"code": "sign_in_needed", "message": "sign in again", "details": []}}
        return JSONResponse(body, status_code=401, headers=headers)
    try:
        await page.check_header()
        beat = await _claims(page).heartbeat(page.person.id, assignment_id)
    except RucheError as refused:
        return JSONResponse(refused.to_body(), status_code=refused.status, headers=headers)
    return JSONResponse(
        {"expires_at_ms": beat.expires_at_ms, "now_ms": _now_ms(), "capped": beat.capped},
        headers=headers,
    )


@router.get("/work/a/{assignment_id}/practice")
async def practice(assignment_id: str, request: Request) -> Response:
    page = await visit(request)
    claims = _claims(page)
    outcome = await claims.practice(page.person.id, assignment_id)
    document = await claims.catalogue.document(outcome.project_id)
    facts = await project_facts(page, outcome.project_id, document)
    qualification = outcome.qualification or {}
    round_size = int((document.get("qualification") or {}).get("gold_tasks") or 0)
    return render(
        page,
        "work/practice.html",
        outcome=outcome,
        facts=facts,
        fields=data_fields(outcome.payload) if outcome.task_type == "data_entry" else [],
        qualified=bool(qualification.get("passed")),
        retry=bool(qualification.get("retry_at")) and not qualification.get("passed"),
        answered=int(qualification.get("answered") or 0),
        round_size=round_size,
        in_qualification=outcome.qualification is not None,
    )
