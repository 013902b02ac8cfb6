"""Ruche's error tree: every refusal carries an HTTP status and a stable ``code``.

::

    RucheError                    500 internal
    ├── InvalidRequest            422 invalid_request
    ├── NotFound                  404 not_found
    │   ├── ProjectNotFound       404 project_not_found
    │   ├── TaskNotFound          404 task_not_found
    │   └── AssignmentNotFound    404 assignment_not_found
    ├── Conflict                  409 conflict
    │   └── LeaseNotLive          409 lease_not_live   (details: expired / released / submitted)
    └── Unavailable               503 unavailable

The API turns any of them into ``{"error": {"code", "message", "details"}}``; workers use
``RucheError.permanent`` to decide whether a retry can help.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AssignmentNotFound",
    "Conflict",
    "InvalidRequest",
    "LeaseNotLive",
    "NotFound",
    "ProjectNotFound",
    "RucheError",
    "TaskNotFound",
    "Unavailable",
]


class RucheError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"
    permanent: ClassVar[bool] = True

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def to_body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidRequest(RucheError):
    status = 422
    code = "invalid_request"


class NotFound(RucheError):
    status = 404
    code = "not_found"


class ProjectNotFound(NotFound):
    code = "project_not_found"


class TaskNotFound(NotFound):
    code = "task_not_found"


class AssignmentNotFound(NotFound):
    code = "assignment_not_found"


class Conflict(RucheError):
    status = 409
    code = "conflict"


class LeaseNotLive(Conflict):
    """The assignment exists and is the caller's, but its lease is over."""

    code = "lease_not_live"

    def __init__(self, state: str) -> None:
        super().__init__(
            f"this assignment is {state}; its answer slot is no longer yours",
            [{"assignment_state": state}],
        )
        self.state = state


class Unavailable(RucheError):
    status = 503
    code = "unavailable"
    permanent = False
