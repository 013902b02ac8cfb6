"""``/ngo/projects/{project_id}``: how a project goes, for anyone on its organisation's staff.

Progress and the estimated finish, the deadline risk, tasks per state over time, answers and
results per day, the review backlog and its lag, how results were decided (auto-accepted share,
confidence, agreement), quality per volunteer (gold accuracy, reopen rate) and the
"instructions unclear" reports. Managers get the controls: edit, pause or resume, close.

Everything comes from :func:`core.insights.read_insights_async` (counters folded from the
project's event stream) and a bounded read of the newest reports: nothing reads every task, so
the page costs the same for a hundred tasks as for a hundred thousand (``bench/web.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from core.errors import NotFound
from core.insights import UnclearReport, read_insights_async
from core.insights.models import ProjectInsights, StateSnapshot
from core.insights.unclear import list_reports
from web.i18n import N_
from web.me.views import payload_view, type_name
from web.ngo.charts import Chart, line_chart, progress_bar, states_chart
from web.ngo.guard import StaffVisit, project_visit
from web.ngo.views import RISK_NAMES, STATE_NAMES, Formats, progress_of
from web.pages import render
from web.routing import WebRoute

__all__ = ["REPORTS_SHOWN", "VOLUNTEERS_SHOWN", "router"]

router = APIRouter(route_class=WebRoute)

REPORTS_SHOWN = 20
VOLUNTEERS_SHOWN = 20
CHART_DAYS = 14


def date_of_ms(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date()


@dataclass(frozen=True, slots=True)
class ShownReport:
    report: UnclearReport
    volunteer: str
    task: str


async def _name(staff: StaffVisit, volunteer_id: str) -> str:
    try:
        return (await staff.page.state.accounts.volunteer(volunteer_id)).display_name
    except NotFound:
        return volunteer_id  # erased: reports and counters keep a pseudonym or the bare id


async def _reports(staff: StaffVisit, project_id: str) -> tuple[list[ShownReport], int]:
    reports, total = await staff.board.run(
        list_reports(staff.page.state.keys, project_id, limit=REPORTS_SHOWN)
    )
    payloads_key = staff.page.state.keys.project(project_id).payloads
    raw = await staff.client.hmget(payloads_key, [r.task_id for r in reports]) if reports else []
    shown = []
    for report, payload in zip(reports, raw, strict=True):
        task = payload_view(json.loads(payload)) if payload else ""
        shown.append(ShownReport(report, await _name(staff, report.volunteer_id), task))
    return shown, total


def _charts(staff: StaffVisit, insights: ProjectInsights, name: str) -> dict[str, Chart]:
    language = staff.page.language
    locale, gettext = language.code, language.gettext
    done, total = progress_of(insights.counts)
    days = [count.day for count in insights.answers_per_day]
    return {
        "progress": progress_bar(
            "progress",
            gettext(N_("Progress of %(name)s"), name=name),
            gettext(N_("Tasks done out of all the project's tasks.")),
            done,
            total,
            locale=locale,
            translate=gettext,
        ),
        "states": states_chart(
            "states",
            gettext(N_("Tasks per state")),
            gettext(N_("How many tasks were in each state at the end of each day.")),
            insights.states_over_time
            or [StateSnapshot(date_of_ms(insights.now_ms), dict(insights.counts))],
            locale=locale,
            translate=gettext,
        ),
        "answers": line_chart(
            "answers",
            gettext(N_("Answers and results per day")),
            gettext(N_("Answers volunteers sent and results decided, per day.")),
            days,
            [
                (gettext(N_("Answers")), [c.value for c in insights.answers_per_day]),
                (gettext(N_("Results")), [c.value for c in insights.results_per_day]),
            ],
            locale=locale,
            translate=gettext,
        ),
    }


@router.get("/ngo/projects/{project_id}")
async def project_page(project_id: str, request: Request) -> Response:
    staff, project_id = await project_visit(request, project_id)
    project = await staff.projects.get(staff.org_id, project_id)
    insights = await read_insights_async(
        staff.board,
        project_id,
        now_ms=staff.now_ms(),
        days=CHART_DAYS,
        volunteers=VOLUNTEERS_SHOWN,
    )
    names = {v.volunteer_id: await _name(staff, v.volunteer_id) for v in insights.volunteers}
    reports, reports_total = await _reports(staff, project_id)
    context: dict[str, Any] = {
        "project": project,
        "insights": insights,
        "charts": _charts(staff, insights, project.name),
        "names": names,
        "reports": reports,
        "reports_total": reports_total,
        "risk_names": RISK_NAMES,
        "state_names": STATE_NAMES,
        "type_name": type_name,
    }
    return render(
        staff.page,
        "ngo/project.html",
        section="projects",
        **context,
        **staff.context(),
        **Formats(staff.page.language.code).helpers(),
    )
