"""The NGO's management commands against a real Ruche (uvicorn on real Redis): every policy
field on ``project create``, ``project edit|pause|resume|close``, ``reviewers grant|revoke|list``
and ``webhook set|show|deliveries|delete``, each run through ``ruche.cli.main`` as typed."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ruche.cli import main
from tests.producers.conftest import Ngo

#: The review policy's targets, at their defaults (core.projects.models.ReviewPolicy).
REVIEW_TARGETS = {"target_share": 0.1, "target_accuracy": 0.9}


def ruche(ngo: Ngo, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code = main([*argv, *ngo.cli_flags()])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_project_create_takes_every_policy_field_and_edit_changes_only_what_is_given(
    ngo: Ngo, capsys: pytest.CaptureFixture[str]
) -> None:
    project = ruche(
        ngo, capsys, "project", "create", "--name", "Clinic leaflets", "--task-type",
        "translation", "--redundancy", "2", "--max-redundancy", "4", "--languages", "fr,en",
        "--skills", "medical", "--gold-rate", "0.1", "--gold-initial-rate", "0.3",
        "--gold-warmup-tasks", "10", "--gold-settle-tasks", "40", "--agreement", "0.85",
        "--spot-check-rate", "0.05", "--reputation-floor", "0.4", "--qualification-tasks", "3",
        "--qualification-pass-rate", "0.66", "--qualification-cooldown", "600",
        "--max-tasks-per-volunteer", "50", "--retention-days", "30", "--priority", "5",
        "--lease-seconds", "900", "--impact-note", "Leaflets for a rural clinic.",
    )  # fmt: skip
    assert project["skills"] == ["medical"]
    assert (project["redundancy"], project["max_redundancy"]) == (2, 4)
    assert project["gold_rate"] == 0.1
    assert project["gold"] == {"initial_rate": 0.3, "warmup_tasks": 10, "settle_tasks": 40}
    assert project["review"] == {"agreement": 0.85, "spot_check_rate": 0.05, **REVIEW_TARGETS}
    assert project["reputation_floor"] == 0.4
    assert project["qualification"] == {"gold_tasks": 3, "pass_rate": 0.66, "cooldown_seconds": 600}
    assert (project["max_tasks_per_volunteer"], project["retention_days"]) == (50, 30)
    assert (project["priority"], project["lease_seconds"]) == (5, 900)
    pid = project["id"]

    edited = ruche(ngo, capsys, "project", "edit", pid, "--spot-check-rate", "0.2",
                   "--name", "Clinic leaflets (2)")  # fmt: skip
    assert edited["name"] == "Clinic leaflets (2)"
    assert edited["review"] == {
        "agreement": 0.85,
        "spot_check_rate": 0.2,
        **REVIEW_TARGETS,
    }  # agreement kept
    assert edited["skills"] == ["medical"] and edited["gold_rate"] == 0.1

    assert ruche(ngo, capsys, "project", "pause", pid)["state"] == "paused"
    assert ruche(ngo, capsys, "project", "resume", pid)["state"] == "active"
    closing = ruche(ngo, capsys, "project", "close", pid)
    assert closing["deadline"] is not None


def test_reviewers_are_granted_listed_and_revoked(
    ngo: Ngo, capsys: pytest.CaptureFixture[str]
) -> None:
    pid = ruche(ngo, capsys, "project", "create", "--name", "Posts", "--task-type",
                "moderation")["id"]  # fmt: skip
    volunteer = httpx.post(
        f"{ngo.url}/v1/volunteers", json={"display_name": "Ada", "languages": ["en"]}, timeout=10
    ).json()["id"]
    granted = ruche(ngo, capsys, "reviewers", "grant", volunteer, "--project", pid)
    assert granted == {"project_id": pid, "volunteer_id": volunteer}
    assert ruche(ngo, capsys, "reviewers", "list", "--project", pid) == [volunteer]
    ruche(ngo, capsys, "reviewers", "revoke", volunteer, "--project", pid)
    assert ruche(ngo, capsys, "reviewers", "list", "--project", pid) == []


def test_the_webhook_is_set_shown_listed_and_deleted(
    ngo: Ngo, capsys: pytest.CaptureFixture[str]
) -> None:
    target = "http://127.0.0.1:9/hook"  # loopback: the test server allows private targets
    made = ruche(ngo, capsys, "webhook", "set", target)
    assert made["url"] == target and made["secret"].startswith("whsec_")
    shown = ruche(ngo, capsys, "webhook", "show")
    assert shown["url"] == target and "secret" not in shown
    assert ruche(ngo, capsys, "webhook", "deliveries", "--limit", "5") == []
    assert ruche(ngo, capsys, "webhook", "delete") == {"deleted": True}
    code = main(["webhook", "redeliver", "dlv_" + "0" * 26, *ngo.cli_flags()])
    assert code == 1  # refused by the server: said on stderr
    assert "not" in capsys.readouterr().err
