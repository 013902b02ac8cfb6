"""Who may see or change what in the console: every ``/ngo`` handler starts here.

- :func:`staff_visit` (a page of an organisation) and :func:`project_visit` (a page of a
  project: the project is looked up, then its organisation's membership is checked) return a
  :class:`StaffVisit`, or refuse:

  * nobody signed in: ``SignInNeeded`` (the route sends them to ``/login?next=…``);
  * someone not on the organisation's staff: ``NotFound``, the same page as for an id that
    never existed (the console never tells whether an organisation or project exists);
  * a role below ``needs``: ``Forbidden`` (403, a page in the visitor's language);
  * another organisation's project, a malformed or unknown id: the one ``ProjectNotFound``.

- On a POST, :meth:`StaffVisit.form` reads the form after its CSRF check. The role is checked
  by the visit itself, before the form is read: a viewer posting a manager's form by hand is
  refused exactly as the page would have refused them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio
from fastapi import Request
from starlette.datastructures import FormData

from core import ids
from core.accounts.staff import Action, Role, Staff
from core.accounts.store import VolunteerProfile
from core.board.runner import AsyncBoard
from core.errors import Forbidden, NotFound, ProjectNotFound
from core.projects.audit import record_change
from core.projects.store import Projects
from web.visit import Visit, visit

__all__ = ["StaffVisit", "board_now_ms", "project_visit", "staff_of", "staff_visit"]


def staff_of(page: Visit) -> Staff:
    return Staff(page.state.sessions.client, page.state.keys, board=_board(page))


def _board(page: Visit) -> AsyncBoard:
    return cast(AsyncBoard, page.request.app.state.board)


def board_now_ms(board: AsyncBoard) -> int:
    """The board's time: a manual clock's in tests, else this machine's (as Redis TIME)."""
    fixed = board.clock.script_now()
    return int(fixed) if fixed else time.time_ns() // 1_000_000


@dataclass(slots=True)
class StaffVisit:
    """A console request: the page visit, and who the person is to the organisation."""

    page: Visit
    person: VolunteerProfile
    org_id: str
    org_name: str
    role: Role

    def can(self, action: Action) -> bool:
        return self.role.can(action)

    @property
    def client(self) -> redis.asyncio.Redis:
        return self.page.state.sessions.client

    @property
    def board(self) -> AsyncBoard:
        return _board(self.page)

    @property
    def projects(self) -> Projects:
        return Projects(self.board, self.client, self.page.state.keys)

    @property
    def staff(self) -> Staff:
        return staff_of(self.page)

    def now_ms(self) -> int:
        return board_now_ms(self.board)

    async def form(self) -> FormData:
        """The POSTed form, after its CSRF token is checked (``CsrfRefused``, 403)."""
        return await self.page.check_form()

    async def audit(self, project_id: str, action: str, **details: str) -> None:
        """Records a change this person made to a project in the project's event stream."""
        await record_change(
            self.client,
            self.page.state.keys,
            project_id,
            action,
            by=self.person.id,
            role=self.role.label,
            at_ms=self.now_ms(),
            **details,
        )

    def context(self) -> dict[str, Any]:
        """What every console template needs (the nav, the organisation, the role)."""
        from web.ngo.nav import ROLE_NAMES, nav_for  # the nav imports this module's types

        return {
            "staff": self,
            "org_id": self.org_id,
            "org_name": self.org_name,
            "role": self.role,
            "nav": nav_for(self),
            "role_names": ROLE_NAMES,
        }


async def _membership(page: Visit, org_id: str, needs: Role) -> StaffVisit:
    person = page.person  # SignInNeeded for anyone not signed in
    if not org_id.startswith("org_") or len(org_id) > 64:
        raise NotFound("no such organisation")
    role = await staff_of(page).role(org_id, person.id)
    if role is None:
        raise NotFound("no such organisation")
    try:
        record = await page.state.accounts.org(org_id)  # NotFound while it is being deleted
    except NotFound:
        raise NotFound("no such organisation") from None
    if role < needs:
        raise Forbidden(f"this needs the role {needs.label}")
    return StaffVisit(page, person, org_id, record.get("name", ""), role)


async def staff_visit(request: Request, org_id: str, needs: Role = Role.VIEWER) -> StaffVisit:
    """The visit to a page of organisation ``org_id`` by one of its staff holding ``needs`` at
    least (see the module docstring for the refusals)."""
    return await _membership(await visit(request), org_id, needs)


async def project_visit(
    request: Request, project_id: str, needs: Role = Role.VIEWER
) -> tuple[StaffVisit, str]:
    """The visit to a page of project ``project_id`` (and its id, checked): the project's
    organisation is found from the project, then the person's role in it is checked. A
    project of an organisation the person is not on the staff of is the same
    ``ProjectNotFound`` as an unknown or malformed id."""
    page = await visit(request)
    page.person  # noqa: B018 - SignInNeeded first, before anything is looked up
    if not ids.PROJECT_ID.match(project_id):
        raise ProjectNotFound("no such project")
    org_id = await _org_of_project(page, project_id)
    if not org_id:
        raise ProjectNotFound("no such project")
    try:
        staff = await _membership(page, org_id, Role.VIEWER)
        await staff.projects.require_owned(staff.org_id, project_id)
    except NotFound:
        raise ProjectNotFound("no such project") from None
    if staff.role < needs:
        raise Forbidden(f"this needs the role {needs.label}")
    return staff, project_id


async def _org_of_project(page: Visit, project_id: str) -> str | None:
    """The organisation named in the project's document (then checked against the
    organisation's own project set: the document alone proves nothing)."""
    raw = await page.state.sessions.client.hget(page.state.keys.project(project_id).project, "doc")
    if raw is None:
        return None
    org_id = json.loads(raw).get("org_id")
    return str(org_id) if org_id else None
