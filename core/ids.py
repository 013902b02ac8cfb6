"""Identifiers and their formats.

Assignment ids carry their project and task (``<project>.<task>.<random>``) so a submission or a
heartbeat finds its project's keys without looking anything up first. The random part is
the fencing token: a stale or guessed id never matches a live lease. Review ids follow the same
pattern with an ``r`` before the random part (``<project>.<task>.r<random>``), so neither kind of
id is ever mistaken for the other.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass

__all__ = [
    "AssignmentRef",
    "InvalidId",
    "ReviewRef",
    "new_project_id",
    "new_submission_id",
    "new_token_part",
    "new_volunteer_id",
    "parse_assignment_id",
    "parse_review_id",
    "validate_project_id",
    "validate_task_id",
    "validate_volunteer_id",
]

PROJECT_ID = re.compile(r"^prj_[0-9a-z]{20}$")
VOLUNTEER_ID = re.compile(r"^vol_[0-9a-z]{20}$")
TASK_ID = re.compile(r"^t[0-9]{10}$")
_ASSIGNMENT_ID = re.compile(r"^(prj_[0-9a-z]{20})\.(t[0-9]{10})\.([0-9a-z]{26})$")
_REVIEW_ID = re.compile(r"^(prj_[0-9a-z]{20})\.(t[0-9]{10})\.r([0-9a-z]{26})$")


class InvalidId(ValueError):
    """An identifier that is not of the expected shape (never reaches Redis)."""


def _random(length: int) -> str:
    # One call into the OS for all the bits, then base32 (digits 2-7 and a-z): ~1 us, where a
    # secrets.choice per character cost ~40 us on the claim path.
    raw = secrets.token_bytes((length * 5 + 7) // 8)
    return base64.b32encode(raw).decode("ascii").lower()[:length]


def new_project_id() -> str:
    return f"prj_{_random(20)}"


def new_volunteer_id() -> str:
    return f"vol_{_random(20)}"


def new_token_part() -> str:
    """The random part of an assignment id: 130 bits."""
    return _random(26)


def new_submission_id() -> str:
    return f"sub_{_random(20)}"


def validate_project_id(project_id: str) -> str:
    if not PROJECT_ID.match(project_id):
        raise InvalidId(f"not a project id: {project_id[:40]!r}")
    return project_id


def validate_volunteer_id(volunteer_id: str) -> str:
    if not VOLUNTEER_ID.match(volunteer_id):
        raise InvalidId(f"not a volunteer id: {volunteer_id[:40]!r}")
    return volunteer_id


def validate_task_id(task_id: str) -> str:
    if not TASK_ID.match(task_id):
        raise InvalidId(f"not a task id: {task_id[:40]!r}")
    return task_id


@dataclass(frozen=True, slots=True)
class AssignmentRef:
    project_id: str
    task_id: str
    assignment_id: str

    @property
    def token(self) -> str:
        """The random part (:func:`new_token_part`), the claim's own."""
        return self.assignment_id.rsplit(".", 1)[1]


def parse_assignment_id(assignment_id: str) -> AssignmentRef:
    match = _ASSIGNMENT_ID.match(assignment_id)
    if match is None:
        raise InvalidId(f"not an assignment id: {assignment_id[:80]!r}")
    return AssignmentRef(match.group(1), match.group(2), assignment_id)


@dataclass(frozen=True, slots=True)
class ReviewRef:
    project_id: str
    task_id: str
    review_id: str


def parse_review_id(review_id: str) -> ReviewRef:
    match = _REVIEW_ID.match(review_id)
    if match is None:
        raise InvalidId(f"not a review id: {review_id[:80]!r}")
    return ReviewRef(match.group(1), match.group(2), review_id)
