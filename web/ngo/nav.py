"""The console's navigation: one entry per section of an organisation, shown to those whose role
lets them see it. A new section adds its :class:`NavEntry` to :data:`NAV` (in the order shown);
a section that is not built has no entry (never a placeholder page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.accounts.staff import Role
from web.i18n import N_

if TYPE_CHECKING:
    from web.ngo.guard import StaffVisit

__all__ = ["NAV", "ROLE_NAMES", "NavEntry", "NavLink", "nav_for"]


@dataclass(frozen=True, slots=True)
class NavEntry:
    key: str  # what a page passes as ``section`` to mark its entry current
    label: str  # N_-marked, translated by the template
    path: str  # with ``{org_id}``
    needs: Role = Role.VIEWER


@dataclass(frozen=True, slots=True)
class NavLink:
    key: str
    label: str
    url: str


NAV: list[NavEntry] = [
    NavEntry("projects", N_("Projects"), "/ngo/orgs/{org_id}"),
    NavEntry("people", N_("People"), "/ngo/orgs/{org_id}/people"),
    NavEntry("volunteers", N_("Volunteers"), "/ngo/orgs/{org_id}/volunteers"),
    NavEntry("delivery", N_("Delivery"), "/ngo/orgs/{org_id}/delivery", Role.OWNER),
    NavEntry("keys", N_("API keys"), "/ngo/orgs/{org_id}/keys", Role.OWNER),
]


def nav_for(staff: StaffVisit) -> list[NavLink]:
    return [
        NavLink(entry.key, entry.label, entry.path.format(org_id=staff.org_id))
        for entry in NAV
        if staff.role >= entry.needs
    ]


#: Role names as the console shows them (translated by the templates).
ROLE_NAMES: dict[Role, str] = {
    Role.OWNER: N_("Owner"),
    Role.MANAGER: N_("Manager"),
    Role.REVIEWER: N_("Reviewer"),
    Role.VIEWER: N_("Viewer"),
}
