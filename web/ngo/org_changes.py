"""What the console's organisation-level pages share: recording a change in the organisation's
audit stream with who made it (:mod:`core.accounts.org_audit`), and rendering a page with the
console's context."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from core.accounts.org_audit import record_org_change
from web.ngo.guard import StaffVisit
from web.ngo.views import Formats
from web.pages import render

__all__ = ["audit_org", "console_page"]


async def audit_org(staff: StaffVisit, kind: str, **details: str) -> None:
    await record_org_change(
        staff.client,
        staff.page.state.keys,
        staff.org_id,
        kind,
        by=staff.person.id,
        role=staff.role.label,
        at_ms=staff.now_ms(),
        **details,
    )


def console_page(
    staff: StaffVisit, template: str, section: str, *, status_code: int = 200, **context: Any
) -> Response:
    return render(
        staff.page,
        template,
        status_code=status_code,
        section=section,
        **staff.context(),
        **Formats(staff.page.language.code).helpers(),
        **context,
    )
