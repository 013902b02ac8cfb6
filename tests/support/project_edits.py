"""Edits of distinct project fields, for the concurrent-edit tests (core and API).

Each edit sets one field to a value that differs from a new project's default, so a test can tell
afterwards, field by field, whether the edit is in the project or was lost.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core.projects.models import Project, ProjectPatch

__all__ = ["EDITS", "applied", "far_deadline"]


def far_deadline(days: int = 30) -> str:
    """A deadline ``days`` ahead, whole seconds (it round-trips through ISO 8601 unchanged)."""
    return (datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)).isoformat()


EDITS: dict[str, Any] = {
    "name": "Renamed",
    "instructions": "New instructions",
    "impact_note": "Thank you",
    "priority": 42,
    "redundancy": 4,
    "lease_seconds": 900,
    "languages": ["sw"],
    "skills": ["medical"],
    "review": {"agreement": 0.9, "spot_check_rate": 0.1},
    "gold_rate": 0.05,
    "gold": {"warmup_tasks": 5, "settle_tasks": 10},
    "reputation_floor": 0.3,
    "max_redundancy": 9,
    "deadline": far_deadline(),
}


def applied(project: Project, field: str, value: Any) -> bool:
    """Whether ``project`` holds the edit ``{field: value}``."""
    wanted = getattr(ProjectPatch.model_validate({field: value}), field)
    return bool(getattr(project, field) == wanted)
