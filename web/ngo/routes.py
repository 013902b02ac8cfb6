"""``/ngo``: the organisations I am on the staff of (one: straight to it), and
``/ngo/orgs/{org_id}``: the organisation's projects, with their progress and estimated finish.

The other console pages come from the modules included below (see :mod:`web.ngo`).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request, Response

from core.accounts.staff import Role
from core.errors import NotFound
from core.insights import DeadlineRisk, read_insights_async
from core.insights.pace import WINDOW_DAYS
from core.projects.models import Project
from web.i18n import N_
from web.ngo import invitations, org_pages, people, project_forms, project_page
from web.ngo.charts import Chart, progress_bar
from web.ngo.data import router as data_router
from web.ngo.guard import StaffVisit, staff_of, staff_visit
from web.ngo.nav import ROLE_NAMES
from web.ngo.views import RISK_NAMES, STATE_NAMES, Formats, progress_of
from web.pages import redirect, render
from web.routing import WebRoute
from web.visit import visit

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)
for module in (invitations, people, project_forms, project_page, org_pages):
    router.include_router(module.router)
router.include_router(data_router)  # data in and out: web/ngo/data.py


@dataclass(frozen=True, slots=True)
class OrgChoice:
    id: str
    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class ProjectRow:
    project: Project
    bar: Chart
    finish_ms: int | None
    risk: DeadlineRisk


@router.get("/ngo")
async def console_home(request: Request) -> Response:
    page = await visit(request)
    person = page.person
    orgs: list[OrgChoice] = []
    for org_id, role in (await staff_of(page).orgs_of(person.id)).items():
        try:
            record = await page.state.accounts.org(org_id)
        except NotFound:
            continue  # being deleted
        orgs.append(OrgChoice(org_id, record.get("name", ""), role))
    if len(orgs) == 1:
        return redirect(page, f"/ngo/orgs/{orgs[0].id}")
    orgs.sort(key=lambda org: org.name.casefold())
    return render(page, "ngo/home.html", orgs=orgs, role_names=ROLE_NAMES)


async def _row(staff: StaffVisit, project: Project, index: int) -> ProjectRow:
    locale = staff.page.language.code
    done, total = progress_of(project.counts)
    bar = progress_bar(
        f"progress-{index}",
        staff.page.language.gettext(N_("Progress of %(name)s"), name=project.name),
        staff.page.language.gettext(N_("Tasks done out of all the project's tasks.")),
        done,
        total,
        locale=locale,
        translate=staff.page.language.gettext,
    )
    insights = await read_insights_async(
        staff.board, project.id, now_ms=staff.now_ms(), days=WINDOW_DAYS, volunteers=1
    )
    return ProjectRow(project, bar, insights.pace.finish_ms, insights.deadline.risk)


@router.get("/ngo/orgs/{org_id}")
async def org_projects(org_id: str, request: Request) -> Response:
    staff = await staff_visit(request, org_id)
    projects = await staff.projects.of_org(staff.org_id)
    rows = [await _row(staff, project, index) for index, project in enumerate(projects)]
    return render(
        staff.page,
        "ngo/projects.html",
        section="projects",
        rows=rows,
        risk_names=RISK_NAMES,
        state_names=STATE_NAMES,
        **staff.context(),
        **Formats(staff.page.language.code).helpers(),
    )
