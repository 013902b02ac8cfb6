"""Ruche's error tree: every refusal carries an HTTP status and a stable ``code``.

Most classes are defined here; five are defined where they are raised, marked with their
module below (``api/deps.py`` for the authentication refusals, ``core/ratelimit.py`` for the
rate limits' refusal, ``core/quality/outcomes.py`` for two signals the aggregation catches
itself, which never reach the API).

::

    RucheError                    500 internal
    ├── InvalidRequest            422 invalid_request
    │   ├── UnknownTaskTypeName   422 unknown_task_type      (details: the known types)
    │   ├── BatchTooLarge         422 batch_too_large        (bulk submission past its limits)
    │   ├── InvalidCursor         422 invalid_cursor         (a results cursor of the wrong form)
    │   ├── UnsupportedFormat     422 unsupported_format     (an export format we do not write)
    │   ├── IdempotencyKeyReused  422 idempotency_key_reused (same key, different request)
    │   ├── WebhookTargetRefused  422 webhook_target_refused (SSRF guard)
    │   ├── AnswerRejected        422 invalid_answer   (details: loc / msg / type, never values)
    │   └── NotACandidate         422 not_a_candidate  (a reviewer accepted an unknown submission)
    ├── Unauthenticated           401 unauthenticated  (api/deps.py: no valid bearer token)
    ├── WrongKindOfToken          403 forbidden        (api/deps.py: a token of the wrong kind)
    ├── Forbidden                 403 forbidden
    │   ├── SignupClosed          403 signup_closed
    │   ├── InvitationRefused     403 invitation_refused (details: unknown / used_up / expired)
    │   ├── CharterNotAccepted    403 charter_not_accepted
    │   ├── NotAReviewer          403 not_a_reviewer
    │   └── CsrfRefused           403 csrf_refused     (a page's form without its CSRF token)
    ├── UnsupportedMediaType      415 unsupported_media_type
    ├── NotFound                  404 not_found
    │   ├── ProjectNotFound       404 project_not_found
    │   ├── TaskNotFound          404 task_not_found
    │   ├── AssignmentNotFound    404 assignment_not_found
    │   ├── OrgVolunteerNotFound  404 volunteer_not_found
    │   ├── ApiKeyNotFound        404 key_not_found
    │   ├── DeliveryNotFound      404 delivery_not_found
    │   ├── InvitationNotFound    404 invitation_not_found
    │   ├── ReviewNotFound        404 review_not_found
    │   └── CertificateNotFound   404 certificate_not_found
    ├── Conflict                  409 conflict
    │   ├── LeaseNotLive          409 lease_not_live   (details: expired / released / submitted)
    │   ├── TooManyApiKeys        409 too_many_keys
    │   ├── LastApiKey            409 last_key
    │   ├── LastOwner             409 last_owner       (an organisation keeps one owner at least)
    │   ├── IdempotencyInProgress 409 idempotency_in_progress
    │   ├── ReviewNotLive         409 review_not_live  (details: expired / decided / revoked)
    │   ├── TaskClosed            409 task_closed      (already resolved or rejected)
    │   ├── TaskBusy              409 task_busy        (live leases still out; retry later)
    │   ├── ReopenRefused         409 max_redundancy_reached (a reopen past the project's ceiling)
    │   ├── ProjectClosed         409 project_closed   (its deadline passed; no new tasks or edits)
    │   ├── ProjectEdited         409 conflict         (edited by someone else meanwhile; retry)
    │   └── ProfileChanged        409 profile_changed  (internal: a claim redone on a fresh profile)
    ├── TooManyRequests           429 too_many_requests   (retry_after_s: when to try again)
    │   ├── TooManyAssignments    429 too_many_assignments
    │   └── RateLimited           429 rate_limited  (core/ratelimit.py: a rate limit said no)
    ├── InsufficientStorage       507 insufficient_storage
    │   ├── QuotaExceeded         507 quota_exceeded   (the organisation's storage quota)
    │   └── StorageFull           507 storage_full     (Redis is at its maxmemory)
    ├── Unavailable               503 unavailable
    ├── TaskMovedOn               500 internal  (core/quality/outcomes.py: a decision came too late)
    └── NeedCapReached            500 internal  (core/quality/outcomes.py: one more answer would
                                                 pass max_redundancy; a reviewer settles it)

The API turns any of them into ``{"error": {"code", "message", "details"}}``; workers use
``RucheError.permanent`` to decide whether a retry can help. Every 429 carries ``Retry-After``
(``TooManyRequests.retry_after_s``; the API adds one to any other 429 too), and the IETF
``RateLimit-Policy`` / ``RateLimit`` fields when the limit is known (``TooManyRequests.policy``).
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AnswerRejected",
    "ApiKeyNotFound",
    "AssignmentNotFound",
    "BatchTooLarge",
    "CertificateNotFound",
    "CharterNotAccepted",
    "Conflict",
    "DeliveryNotFound",
    "Forbidden",
    "IdempotencyInProgress",
    "IdempotencyKeyReused",
    "InsufficientStorage",
    "InvalidCursor",
    "InvalidRequest",
    "InvitationNotFound",
    "InvitationRefused",
    "LastApiKey",
    "LastOwner",
    "LeaseNotLive",
    "NotACandidate",
    "NotAReviewer",
    "NotFound",
    "OrgVolunteerNotFound",
    "ProfileChanged",
    "ProjectClosed",
    "ProjectEdited",
    "ProjectNotFound",
    "QuotaExceeded",
    "ReopenRefused",
    "ReviewNotFound",
    "ReviewNotLive",
    "RucheError",
    "SignupClosed",
    "StorageFull",
    "TaskBusy",
    "TaskClosed",
    "TaskNotFound",
    "TooManyApiKeys",
    "TooManyAssignments",
    "TooManyRequests",
    "Unavailable",
    "UnknownTaskTypeName",
    "UnsupportedFormat",
    "UnsupportedMediaType",
    "WebhookTargetRefused",
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


# -- NGO-facing refusals (orgs, projects, bulk tasks, results, webhooks) ---------------------


class UnknownTaskTypeName(InvalidRequest):
    code = "unknown_task_type"


class BatchTooLarge(InvalidRequest):
    code = "batch_too_large"


class InvalidCursor(InvalidRequest):
    code = "invalid_cursor"


class UnsupportedFormat(InvalidRequest):
    code = "unsupported_format"


class IdempotencyKeyReused(InvalidRequest):
    code = "idempotency_key_reused"


class WebhookTargetRefused(InvalidRequest):
    code = "webhook_target_refused"


class UnsupportedMediaType(RucheError):
    status = 415
    code = "unsupported_media_type"


class OrgVolunteerNotFound(NotFound):
    """A volunteer id an organisation named (e.g. to grant review rights) does not exist."""

    code = "volunteer_not_found"


class ApiKeyNotFound(NotFound):
    code = "key_not_found"


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"


class InvitationNotFound(NotFound):
    code = "invitation_not_found"


class TooManyApiKeys(Conflict):
    code = "too_many_keys"


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"
    permanent = False


# -- volunteer- and reviewer-facing refusals ---------------------------------------------------


class AnswerRejected(InvalidRequest):
    """An answer (or a reviewer's correction) its task type refuses for this payload."""

    code = "invalid_answer"


class NotACandidate(InvalidRequest):
    code = "not_a_candidate"


class Forbidden(RucheError):
    status = 403
    code = "forbidden"


class SignupClosed(Forbidden):
    code = "signup_closed"


class CsrfRefused(Forbidden):
    code = "csrf_refused"

    def __init__(self) -> None:
        super().__init__("this form is out of date or did not come from this site; try again")


class InvitationRefused(Forbidden):
    """An invitation code that does not open sign-up: unknown (or revoked), used up, expired."""

    code = "invitation_refused"

    def __init__(self, reason: str) -> None:
        messages = {
            "used_up": "this invitation has been used as many times as it allows",
            "expired": "this invitation has expired",
        }
        super().__init__(
            messages.get(reason, "this invitation code is not valid"), [{"reason": reason}]
        )
        self.reason = reason


class CharterNotAccepted(Forbidden):
    code = "charter_not_accepted"


class ProfileChanged(Conflict):
    """A claim decided on a remembered profile that another process changed since: the caller
    reads it again and claims anew (never answered as such)."""

    code = "profile_changed"


class NotAReviewer(Forbidden):
    code = "not_a_reviewer"


class ReviewNotFound(NotFound):
    code = "review_not_found"


class CertificateNotFound(NotFound):
    code = "certificate_not_found"


class ReviewNotLive(Conflict):
    """The review item exists and is the caller's, but their lease on it is over."""

    code = "review_not_live"

    def __init__(self, state: str) -> None:
        super().__init__(
            f"this review is {state}; it is no longer yours to decide", [{"review_state": state}]
        )
        self.state = state


class TaskClosed(Conflict):
    code = "task_closed"

    def __init__(self, state: str) -> None:
        super().__init__(f"the task is already {state}", [{"task_state": state}])
        self.state = state


class TaskBusy(Conflict):
    """Live leases are still out on the task; asking again once they end can succeed."""

    code = "task_busy"
    permanent = False


class ReopenRefused(Conflict):
    code = "max_redundancy_reached"


class TooManyRequests(RucheError):
    """Not now: asking again after ``retry_after_s`` seconds (at least 1) can succeed."""

    status = 429
    code = "too_many_requests"
    permanent = False

    def __init__(
        self,
        message: str,
        details: list[dict[str, Any]] | None = None,
        *,
        retry_after_s: int = 1,
        policy: tuple[str, int, int | None] | None = None,
    ) -> None:
        super().__init__(message, details)
        self.retry_after_s = max(1, retry_after_s)
        #: The limit reached, when there is one: name, quota, window in seconds (or None).
        self.policy = policy

    def headers(self) -> dict[str, str]:
        """``Retry-After``, and the IETF ``RateLimit-Policy`` / ``RateLimit`` fields
        (draft-ietf-httpapi-ratelimit-headers) when the limit is known."""
        headers = {"Retry-After": str(self.retry_after_s)}
        if self.policy is not None:
            name, quota, window = self.policy
            headers["RateLimit-Policy"] = f'"{name}";q={quota}' + (
                f";w={window}" if window is not None else ""
            )
            headers["RateLimit"] = f'"{name}";r=0;t={self.retry_after_s}'
        return headers


class TooManyAssignments(TooManyRequests):
    """The volunteer holds their cap of live assignments; ``retry_after_s``: when the soonest
    of them ends by itself (submitting or releasing one frees a slot at once)."""

    code = "too_many_assignments"


class ProjectClosed(Conflict):
    """The project's deadline passed: it takes no new task, and its state and deadline stay."""

    code = "project_closed"


class ProjectEdited(Conflict):
    """The project changed between reading it and writing an edit merged into what was read;
    the edit was not applied. Reading again and merging again can succeed."""

    permanent = False


class LastApiKey(Conflict):
    """Revoking an organisation's only live key would lock it out for good."""

    code = "last_key"


class LastOwner(Conflict):
    """Removing or demoting an organisation's last owner would leave nobody to manage it."""

    code = "last_owner"


class InsufficientStorage(RucheError):
    """507: the write does not fit in the storage it may use; waiting alone will not help."""

    status = 507
    code = "insufficient_storage"


class QuotaExceeded(InsufficientStorage):
    """The organisation holds as many tasks (or payload bytes) as its quota allows: delete some,
    or ask the operator for a larger quota (``PUT /v1/orgs/{org_id}/limits``)."""

    code = "quota_exceeded"


class StorageFull(InsufficientStorage):
    """Redis refused a write: it is at its ``maxmemory`` (``noeviction``). Nothing was evicted;
    the operator must make room (or raise ``maxmemory``)."""

    code = "storage_full"
    permanent = False
