"""``/ngo/orgs/{org_id}/report``: the contributor report (and ``…/report.csv``), and the
certificates issued to the organisation's volunteers.

Per volunteer and task type: answers, hours of answering, the work they represent (words
translated, fields entered, items moderated: the type's unit), reviews and hours of reviewing,
for all time or one calendar month (UTC), as :mod:`core.volunteers.contributors` reads them.
Hours are lease time (claim to submission, capped at one lease), never what a client reports.
Monthly figures are counted from the release that brought them: earlier work is in "all time"
only. The CSV has one row per volunteer and task type (a spreadsheet opens it as it is; a
name that would start a formula is written with a leading apostrophe). Everyone on the staff
sees the report.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from core.board.script_calls import text
from core.volunteers.contributors import (
    CertificateSeen,
    ContributorLine,
    contributor_lines,
    latest_certificates,
    report_volunteers,
)
from task_types import all_types
from web.i18n import N_
from web.me.views import type_name, unit_name
from web.ngo.guard import StaffVisit, staff_visit
from web.ngo.org_changes import console_page
from web.routing import WebRoute

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)

MONTHS_OFFERED = 12
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
ALL_TIME = N_("All time")
CSV_COLUMNS = (
    "volunteer_id",
    "volunteer",
    "period",
    "task_type",
    "answers",
    "hours",
    "amount",
    "unit",
    "reviews",
    "review_hours",
)


@dataclass(frozen=True, slots=True)
class Report:
    period: str  # "all" or YYYY-MM
    months: list[str]
    lines: list[ContributorLine]
    names: dict[str, str]
    units: dict[str, str]
    certificates: list[CertificateSeen]


def _months(now_ms: int) -> list[str]:
    moment = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    year, month = moment.year, moment.month
    found = []
    for _ in range(MONTHS_OFFERED):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return found


async def _names(staff: StaffVisit, volunteer_ids: list[str]) -> dict[str, str]:
    async with staff.client.pipeline(transaction=False) as pipe:
        for volunteer_id in volunteer_ids:
            pipe.hget(staff.page.state.keys.volunteer(volunteer_id), "display_name")
        found = await pipe.execute()
    return {vid: text(name) for vid, name in zip(volunteer_ids, found, strict=True) if name}


async def _report(staff: StaffVisit, request: Request) -> Report:
    months = _months(staff.now_ms())
    asked = request.query_params.get("period", "all")[:10]
    period = asked if _MONTH.match(asked) else "all"
    projects = await staff.projects.of_org(staff.org_id)
    keys = staff.page.state.keys
    volunteers = await report_volunteers(staff.client, keys, [p.id for p in projects])
    names = await _names(staff, volunteers)
    volunteers = [vid for vid in volunteers if vid in names]  # erased meanwhile: left out
    lines = await contributor_lines(
        staff.client,
        keys,
        staff.org_id,
        volunteers,
        [p.task_type for p in projects],
        None if period == "all" else period,
    )
    certificates = await latest_certificates(staff.client, keys, staff.org_id, volunteers)
    units = {kind.name: kind.contribution_unit for kind in all_types()}
    return Report(period, months, lines, names, units, certificates)


@router.get("/ngo/orgs/{org_id}/report")
async def report(org_id: str, request: Request) -> Response:
    staff = await staff_visit(request, org_id)
    found = await _report(staff, request)
    return console_page(
        staff,
        "ngo/report.html",
        "volunteers",
        report=found,
        all_time=ALL_TIME,
        type_name=type_name,
        unit_name=unit_name,
    )


def _cell(value: str) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.2f}"


@router.get("/ngo/orgs/{org_id}/report.csv")
async def report_csv(org_id: str, request: Request) -> Response:
    staff = await staff_visit(request, org_id)
    found = await _report(staff, request)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for line in found.lines:
        writer.writerow(
            [
                line.volunteer_id,
                _cell(found.names.get(line.volunteer_id, "")),
                found.period,
                line.task_type,
                line.tasks,
                _hours(line.minutes),
                line.amount,
                found.units.get(line.task_type, ""),
                line.reviews,
                _hours(line.review_minutes),
            ]
        )
    name = f"contributors-{staff.org_id}-{found.period}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
