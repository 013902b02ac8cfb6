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


def org_forms(org_id: str, project_id: str) -> dict[str, str]:
    """Forms whose posting with no fields changes nothing for any role (a refused form, an
    unknown id): what the matrix checks is who gets past the guard."""
    return {
        f"/ngo/orgs/{org_id}/volunteers/invitations": "manager",
        f"/ngo/orgs/{org_id}/volunteers/invitations/inv_0000000000000000/revoke": "manager",
        f"/ngo/projects/{project_id}/access": "manager",
        f"/ngo/projects/{project_id}/reviewers": "manager",
        f"/ngo/projects/{project_id}/reviewers/vol_00000000000000000000/revoke": "manager",
        f"/ngo/orgs/{org_id}/delivery/endpoint": "owner",
        f"/ngo/orgs/{org_id}/delivery/endpoint/remove": "owner",
        f"/ngo/orgs/{org_id}/delivery/dlv_unknown/replay": "owner",
        f"/ngo/orgs/{org_id}/keys/key_unknown/revoke": "owner",
    }
