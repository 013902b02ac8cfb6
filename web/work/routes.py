"""``/work``: the projects that fit me; ``POST /work/start``: claim a task (of one project, or
any) and go to its page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from fastapi import APIRouter, Request, Response

from core.board.claims import Claims
from core.errors import NotFound
from web.pages import redirect, render
from web.routing import WebRoute
from web.visit import Visit, visit

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)


@dataclass(frozen=True, slots=True)
class ProjectOffer:
    id: str
    name: str
    organisation: str
    task_type: str
    instructions: str
    impact_note: str | None
    tasks_left: int


def _claims(page: Visit) -> Claims:
    return cast(Claims, page.request.app.state.claims)


async def _offers(page: Visit) -> list[ProjectOffer]:
    claims = _claims(page)
    cards = await claims.matcher.candidates(page.person)
    if not cards:
        return []
    client = page.state.sessions.client
    async with client.pipeline(transaction=False) as pipe:
        for card in cards:
            pipe.zcard(page.state.keys.project(card.id).ready)
        left = await pipe.execute()
    offers = []
    org_names: dict[str, str] = {}
    for card, ready in zip(cards, left, strict=True):
        document = await claims.catalogue.document(card.id)
        org_id = str(document.get("org_id", ""))
        if org_id not in org_names:
            try:
                org_names[org_id] = (await page.state.accounts.org(org_id))["name"]
            except NotFound:
                org_names[org_id] = ""
        offers.append(
            ProjectOffer(
                id=card.id,
                name=str(document.get("name", "")),
                organisation=org_names[org_id],
                task_type=card.task_type,
                instructions=str(document.get("instructions", "")),
                impact_note=document.get("impact_note"),
                tasks_left=int(ready),
            )
        )
    return offers


@router.get("/work")
async def find_work(request: Request) -> Response:
    page = await visit(request)
    if page.person.charter_accepted_at_ms is None:
        return redirect(page, "/charter?next=/work")
    return render(page, "work/find.html", offers=await _offers(page))
