"""The reviewer's pages (WEB.md "Reviewers"): ``/review``, what waits in the projects I review,
and "Review next"; ``/review/{review_id}``, one item I hold under a review lease, its candidate
answers side by side, and the decision (accept one, correct, reopen, reject, with a comment for
the volunteers). After a decision the next item comes at once.

Everything goes through :class:`core.review.reviewers.Reviews`, as the API's review routes do:
someone else's review id, an unknown one and a malformed one are the same 404 page; a lease that
ran out (or an item already decided) gets a page that says so and offers the next item.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, cast

from fastapi import APIRouter, Request, Response
from pydantic import StringConstraints, TypeAdapter, ValidationError

from core.accounts.charter import accepted_current
from core.board.claims import Claims
from core.board.models import ReviewAction
from core.board.runner import AsyncBoard
from core.errors import (
    NotACandidate,
    NotAReviewer,
    NotFound,
    ReopenRefused,
    ReviewNotLive,
)
from core.review.reviewers import ReviewItem, Reviews
from core.text import PARAGRAPHS
from web.i18n import N_, is_rtl, language_name
from web.pages import redirect, render
from web.review.compare import Comparison, compare
from web.review.forms import COMMENT_MAX, CorrectionForm
from web.routing import WebRoute
from web.visit import Visit, visit

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)

_COMMENT = TypeAdapter(
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=COMMENT_MAX), PARAGRAPHS]
)
COMMENT_INVALID = N_("Please keep the comment to plain text of at most 2,000 characters.")
REOPEN_REFUSED = N_(
    "This task already has as many answers as its project allows: accept, correct or reject it "
    "instead."
)
NOT_A_CANDIDATE = N_("This answer is no longer one of the task’s answers. Please choose again.")
#: Why a review is no longer the reviewer's to decide, by the lease's state.
ENDED = {
    "expired": N_("The time for this review ran out, so the item went back to the queue."),
    "decided": N_("This item is already decided."),
    "revoked": N_("Your review rights on this project were withdrawn."),
}
REASONS = {
    "disagreement": N_("The answers disagree."),
    "spot_check": N_("The answers agree; this is a spot check."),
    "stalled": N_("Nobody could answer this task in time."),
}

#: The built-in task types by name, for people (another type shows its own name).
TASK_TYPES = {
    "translation": N_("Translation"),
    "data_entry": N_("Data entry"),
    "moderation": N_("Moderation"),
}


@dataclass(frozen=True, slots=True)
class Waiting:
    id: str
    name: str
    organisation: str
    task_type: str
    languages: list[str]
    waiting: int  # items I could review (within the claim's scan bound)
    more: bool  # the project's queue goes on past that bound


def _reviews(page: Visit) -> Reviews:
    return cast(Reviews, page.request.app.state.reviews)


def _claims(page: Visit) -> Claims:
    return cast(Claims, page.request.app.state.claims)


async def _waiting(page: Visit) -> list[Waiting] | None:
    """The projects I review whose languages I read, with the items waiting there that "Review
    next" could give me (never one I answered myself); None without review rights."""
    queue = await _reviews(page).queue(page.person)
    if queue is None:
        return None
    found: list[Waiting] = []
    org_names: dict[str, str] = {}
    for row in queue:
        card = row.card
        try:
            document = await _claims(page).catalogue.document(card.id)
        except NotFound:
            continue
        org_id = str(document.get("org_id", ""))
        if org_id not in org_names:
            try:
                org_names[org_id] = (await page.state.accounts.org(org_id))["name"]
            except NotFound:
                org_names[org_id] = ""
        found.append(
            Waiting(
                id=card.id,
                name=str(document.get("name", "")),
                organisation=org_names[org_id],
                task_type=card.task_type,
                languages=[language_name(tag, page.language.code) for tag in card.languages],
                waiting=row.count,
                more=row.more,
            )
        )
    return found


async def _charter_ok(page: Visit) -> bool:
    """The operator's charter accepted as it is now (a new version asks again)."""
    person = page.person
    return await accepted_current(page.state.charters, person.extra, person.charter_accepted_at_ms)


@router.get("/review")
async def queue(request: Request) -> Response:
    page = await visit(request)
    if not await _charter_ok(page):
        return redirect(page, "/charter?next=/review")
    projects = await _waiting(page)
    return render(
        page,
        "review/queue.html",
        projects=projects,
        total=sum(p.waiting for p in projects or []),
        more=any(p.more for p in projects or []),
        task_types=TASK_TYPES,
        none_for_me=request.query_params.get("none") == "1",
    )


async def _next(page: Visit, flash: str | None = None) -> Response:
    """Claims the next item for me and goes to it (or back to ``/review`` when none waits): from
    the projects the queue page counts items in, in its order, so the page and this agree."""
    reviews = _reviews(page)
    queue = await reviews.queue(page.person)
    if queue is None:
        return redirect(page, "/review", flash=flash)
    for row in queue:
        if not row.count:
            continue
        try:
            item = await reviews.claim(page.person, project_id=row.card.id)
        except (NotAReviewer, NotFound):
            continue  # rights withdrawn, or the project paused or gone, since the count
        if item is not None:
            return redirect(page, f"/review/{item.id}", flash=flash)
    return redirect(page, "/review" if flash else "/review?none=1", flash=flash)


@router.post("/review/next")
async def review_next(request: Request) -> Response:
    page = await visit(request)
    await page.check_form()
    if not await _charter_ok(page):
        return redirect(page, "/charter?next=/review")
    return await _next(page)


def _ended(page: Visit, over: ReviewNotLive) -> Response:
    state = next((str(d.get("review_state")) for d in over.details), "expired")
    return render(
        page,
        "review/ended.html",
        status_code=409,
        reason=ENDED.get(state, ENDED["expired"]),
        decided=state == "decided",
    )


async def _item_page(
    page: Visit,
    item: ReviewItem,
    *,
    correction: CorrectionForm | None = None,
    comment: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    document = await _claims(page).catalogue.document(item.project_id)
    review_policy: dict[str, Any] = document.get("review") or {}
    agreement = review_policy.get("agreement")
    board = cast(AsyncBoard, page.request.app.state.board)
    comparison: Comparison = await compare(
        board, item, float(agreement) if agreement is not None else None
    )
    if correction is None:
        chosen = _number(page.request.query_params.get("from"), len(comparison.candidates))
        start = chosen or (comparison.leading[0] if comparison.leading else 1)
        source = comparison.candidates[start - 1] if comparison.candidates else None
        correction = CorrectionForm.prefilled(
            item.task_type,
            item.payload,
            (source.normalised or source.raw) if source else None,
        )
    payload = item.payload
    target_lang = str(payload.get("target_lang", ""))
    source_lang = str(payload.get("source_lang", ""))
    return render(
        page,
        "review/item.html",
        status_code=status_code,
        item=item,
        project_name=str(document.get("name", "")),
        reason=REASONS.get(item.reason),
        comparison=comparison,
        correction=correction,
        comment=comment,
        errors=errors or {},
        seconds_left=max(0, (item.expires_at_ms - await _now_ms(board)) // 1000),
        source_lang=source_lang,
        target_lang=target_lang,
        source_dir="rtl" if is_rtl(source_lang) else "auto",
        target_dir="rtl" if is_rtl(target_lang) else "auto",
        language_name=language_name,
    )


async def _now_ms(board: AsyncBoard) -> int:
    fixed = board.clock.script_now()
    if fixed:
        return int(fixed)
    seconds, micros = await board.client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def _number(raw: str | None, most: int) -> int | None:
    if raw is None or not raw.isdigit():
        return None
    number = int(raw)
    return number if 1 <= number <= most else None


@router.get("/review/{review_id}")
async def review_item(review_id: str, request: Request) -> Response:
    page = await visit(request)
    person = page.person
    try:
        item = await _reviews(page).item(person.id, review_id)
    except ReviewNotLive as over:
        return _ended(page, over)
    return await _item_page(page, item)


@router.post("/review/{review_id}")
async def decide(review_id: str, request: Request) -> Response:
    page = await visit(request)
    person = page.person
    form = await page.check_form()
    reviews = _reviews(page)
    try:
        item = await reviews.item(person.id, review_id)
    except ReviewNotLive as over:
        return _ended(page, over)

    raw_comment = form.get("comment", "")
    raw_comment = raw_comment[: COMMENT_MAX * 2] if isinstance(raw_comment, str) else ""
    accept, action = form.get("accept"), form.get("action")
    correction = (
        CorrectionForm.read(item.task_type, item.payload, form) if action == "correct" else None
    )
    try:
        comment = _COMMENT.validate_python(raw_comment) or None
    except ValidationError:
        return await _item_page(
            page,
            item,
            correction=correction,
            comment=raw_comment,
            errors={"comment": COMMENT_INVALID},
            status_code=422,
        )

    kwargs: dict[str, Any] = {"comment": comment}
    decision: ReviewAction
    if isinstance(accept, str) and accept:
        decision = "accept"
        kwargs["submission_id"] = accept[:64]
    elif action == "reopen":
        decision = "reopen"
    elif action == "reject":
        decision = "reject"
    elif correction is not None:
        answer = correction.checked()
        if answer is None:
            return await _item_page(
                page, item, correction=correction, comment=raw_comment, status_code=422
            )
        decision = "correct"
        kwargs["answer"] = answer
    else:
        return await _item_page(page, item, comment=raw_comment, status_code=400)

    try:
        await reviews.decide(person.id, review_id, decision, **kwargs)
    except ReviewNotLive as over:
        return _ended(page, over)
    except (ReopenRefused, NotACandidate) as refused:
        message = REOPEN_REFUSED if isinstance(refused, ReopenRefused) else NOT_A_CANDIDATE
        return await _item_page(
            page,
            item,
            correction=correction,
            comment=raw_comment,
            errors={"decision": message},
            status_code=409 if isinstance(refused, ReopenRefused) else 422,
        )
    return await _next(page, flash="decided")
