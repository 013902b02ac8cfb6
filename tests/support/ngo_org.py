"""The console's volunteers, delivery and keys routes for the roles matrix
(tests/web/test_ngo_roles.py): each page and form, with the least role that may use it."""

from __future__ import annotations

__all__ = ["org_forms", "org_pages"]


def org_pages(org_id: str, project_id: str) -> dict[str, str]:
    return {
        f"/ngo/orgs/{org_id}/volunteers": "viewer",
        f"/ngo/orgs/{org_id}/report": "viewer",
        f"/ngo/orgs/{org_id}/report.csv": "viewer",
        f"/ngo/projects/{project_id}/access": "viewer",
        f"/ngo/orgs/{org_id}/delivery": "owner",
        f"/ngo/orgs/{org_id}/keys": "owner",
    }


def org_forms(org_id: str, project_id: str) -> list[tuple[str, dict[str, str], str, int]]:
    """(action, fields, least role, status for an allowed role): refused fields, unknown ids or
    changes that leave things as they were, so a role allowed to post changes nothing."""
    unknown_volunteer = "vol_" + "z" * 20
    return [
        (f"/ngo/orgs/{org_id}/volunteers/invitations", {"uses": "0"}, "manager", 422),
        (f"/ngo/orgs/{org_id}/volunteers/invitations/inv_0000000000000000/revoke", {}, "manager",
         404),
        (f"/ngo/projects/{project_id}/access", {}, "manager", 303),
        (f"/ngo/projects/{project_id}/reviewers", {"who": "nobody"}, "manager", 422),
        (f"/ngo/projects/{project_id}/reviewers/{unknown_volunteer}/revoke", {}, "manager", 303),
        (f"/ngo/orgs/{org_id}/delivery/endpoint", {"url": "ftp://x"}, "owner", 422),
        (f"/ngo/orgs/{org_id}/delivery/endpoint/remove", {}, "owner", 303),
        (f"/ngo/orgs/{org_id}/delivery/dlv_unknown/replay", {}, "owner", 404),
        (f"/ngo/orgs/{org_id}/keys/key_unknown/revoke", {}, "owner", 404),
    ]  # fmt: skip
