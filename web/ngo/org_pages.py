"""The console's volunteers and delivery pages (issue 13, items 5 and 6), in one router that
:mod:`web.ngo.routes` includes: volunteer invitations (:mod:`web.ngo.volunteers`), a project's
access and reviewers (:mod:`web.ngo.project_access`), the contributor report
(:mod:`web.ngo.report`), the webhook and its deliveries (:mod:`web.ngo.delivery`) and the API
keys (:mod:`web.ngo.keys`)."""

from __future__ import annotations

from fastapi import APIRouter

from web.ngo import delivery, keys, project_access, report, volunteers
from web.routing import WebRoute

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)
for module in (volunteers, project_access, report, delivery, keys):
    router.include_router(module.router)
