"""Typed values going into and out of the task board."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

__all__ = [
    "CREATE_CHUNK",
    "MAX_PRIORITY",
    "MAX_REDUNDANCY",
    "REVIEW_ACTIONS",
    "REVIEW_REASONS",
    "BoardPolicy",
    "Claimable",
    "Claimed",
    "CreatedTask",
    "Decided",
    "GoldPolicy",
    "Heartbeat",
    "LeaseContext",
    "NewTask",
    "NothingToClaim",
    "NothingToReview",
    "ReviewAction",
    "ReviewClaimed",
    "ReviewDecision",
    "ReviewReason",
    "Submitted",
    "TaskView",
    "payload_digest",
]

# Bounds the board relies on (the API validates requests against them before they get here).
MAX_PRIORITY = 999  # the ready score packs priority * 1000 + slots taken
MAX_REDUNDANCY = 99
CREATE_CHUNK = 500  # tasks per create_tasks call: long enough to amortise, short enough not to
# hold Redis for more than a few milliseconds


@dataclass(frozen=True, slots=True)
class BoardPolicy:
    """The part of a project's policy the board scripts enforce."""

    redundancy: int = 3
    lease_seconds: int = 600
    max_lease_seconds: int = 7200  # total lease time a task can be held through heartbeats
    max_attempts: int = 5  # expired leases before a task is flagged stalled; 0 = never
    gold: GoldPolicy = field(default_factory=lambda: GoldPolicy())
    max_tasks_per_volunteer: int = 0  # tasks of the project one volunteer may claim; 0 = no cap

    def __post_init__(self) -> None:
        if not 1 <= self.redundancy <= MAX_REDUNDANCY:
            raise ValueError(f"redundancy must be within 1..{MAX_REDUNDANCY}")
        if not 1 <= self.lease_seconds <= self.max_lease_seconds:
            raise ValueError("lease_seconds must be positive and at most max_lease_seconds")
        if self.max_attempts < 0:
            raise ValueError("max_attempts must be zero or positive")
        if self.max_tasks_per_volunteer < 0:
            raise ValueError("max_tasks_per_volunteer must be zero (no cap) or positive")

    def redis_fields(self) -> dict[str, str | int]:
        return {
            "redundancy": self.redundancy,
            "lease_ms": self.lease_seconds * 1000,
            "max_lease_ms": self.max_lease_seconds * 1000,
            "max_attempts": self.max_attempts,
            "max_per_vol": self.max_tasks_per_volunteer,
            **self.gold.redis_fields(),
        }


@dataclass(frozen=True, slots=True)
class GoldPolicy:
    """How often gold tasks are served (claim.lua) and what qualifies a volunteer (submit.lua).

    The gold rate starts at ``start_rate`` for a volunteer's first ``warmup_tasks`` tasks in the
    project and decays linearly to ``end_rate`` at ``settle_tasks`` (Zooniverse: 40 % for the
    first 20, 10 % after 60). With ``qualification_tasks`` > 0, a volunteer gets only gold tasks
    until ``qualification_tasks`` gold answers in a row are at least ``pass_rate`` correct;
    a failed round waits ``cooldown_seconds`` before the next.
    """

    start_rate: float = 0.0
    end_rate: float = 0.0
    warmup_tasks: int = 20
    settle_tasks: int = 60
    qualification_tasks: int = 0
    pass_rate: float = 0.8
    cooldown_seconds: int = 3600

    def __post_init__(self) -> None:
        for rate in (self.start_rate, self.end_rate, self.pass_rate):
            if not 0.0 <= rate <= 1.0:
                raise ValueError("gold and pass rates must be within 0..1")
        if not 0 <= self.warmup_tasks <= self.settle_tasks:
            raise ValueError("warmup_tasks must be within 0..settle_tasks")
        if self.qualification_tasks < 0 or self.cooldown_seconds < 0:
            raise ValueError("qualification_tasks and cooldown_seconds must be >= 0")

    def redis_fields(self) -> dict[str, str | int]:
        return {
            "gold_start": repr(self.start_rate),
            "gold_end": repr(self.end_rate),
            "gold_warmup": self.warmup_tasks,
            "gold_settle": self.settle_tasks,
            "qual_tasks": self.qualification_tasks,
            "qual_pass": repr(self.pass_rate),
            "qual_cooldown_ms": self.cooldown_seconds * 1000,
        }


@dataclass(frozen=True, slots=True)
class NewTask:
    payload: Mapping[str, Any]
    external_id: str | None = None
    priority: int = 0
    #: Makes it a gold (control) task: ``{"answer": ..., "explanation": ...}``.
    gold: Mapping[str, Any] | None = None
    #: ``payload`` already encoded as compact JSON (bulk submission measures it anyway), so
    #: the board does not encode it a second time.
    payload_json: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not -MAX_PRIORITY <= self.priority <= MAX_PRIORITY:
            raise ValueError(f"priority must be within ±{MAX_PRIORITY}")


@dataclass(frozen=True, slots=True)
class CreatedTask:
    task_id: str
    created: bool  # False: the external id already named this task
    external_id: str | None
    #: The external id already named a task with another payload (``task_id``, left as it was).
    conflict: bool = False
    #: Not created: past the quota the call was given (``task_id`` is empty).
    over_quota: bool = False


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def payload_digest(payload: Mapping[str, Any]) -> str:
    """What tells two payloads apart: a hash of the payload's JSON with its keys sorted (a
    re-sent item whose keys come in another order is the same payload)."""
    return hashlib.sha256(_CANONICAL.encode(payload).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Claimed:
    assignment_id: str
    project_id: str
    task_id: str
    expires_at_ms: int
    payload: dict[str, Any]
    #: A gold (control) task: its answer is scored against the gold answer at submission.
    gold: bool = False
    #: Length of the payload's JSON as stored (characters), for callers that keep payloads.
    payload_length: int = 0


@dataclass(frozen=True, slots=True)
class NothingToClaim:
    reason: str  # "paused", "closed", "cooldown" or "nothing_fits"


@dataclass(frozen=True, slots=True)
class Claimable:
    """What "Find work" may offer of one project (``count_claimable.lua``): whether a claim
    would give the volunteer a task now, how many are left for them, else why not."""

    project_id: str
    available: bool
    tasks_left: int
    reason: str  # "" when available; else as NothingToClaim's, or "volunteer_cap"


@dataclass(frozen=True, slots=True)
class Heartbeat:
    expires_at_ms: int
    capped: bool  # the lease reached its total cap and cannot be extended further


@dataclass(frozen=True, slots=True)
class Submitted:
    submission_id: str
    answers: int
    need: int
    task_state: str

    @property
    def complete(self) -> bool:
        return self.task_state != "gold" and self.answers >= self.need


@dataclass(frozen=True, slots=True)
class TaskView:
    task_id: str
    state: str
    need: int
    live: int
    answers: int
    attempts: int
    releases: int
    priority: int
    external_id: str | None
    created_at_ms: int
    payload: dict[str, Any] = field(repr=False)  # may hold sensitive fields: keep out of logs
    #: while the task waits for a reviewer: its provisional answer (core.quality.provisional),
    #: ``{answer, confidence, by, refit_id?}``; the answer may hold sensitive fields too
    provisional: dict[str, Any] | None = field(default=None, repr=False)


# -- reviews -------------------------------------------------------------------------------------

ReviewReason = Literal["disagreement", "spot_check", "stalled"]
ReviewAction = Literal["accept", "correct", "reopen", "reject"]
REVIEW_REASONS: tuple[str, ...] = get_args(ReviewReason)
REVIEW_ACTIONS: tuple[str, ...] = get_args(ReviewAction)


@dataclass(frozen=True, slots=True)
class ReviewClaimed:
    review_id: str
    project_id: str
    task_id: str
    expires_at_ms: int
    reason: str  # why the task is in review (REVIEW_REASONS)
    payload: dict[str, Any] = field(repr=False)
    answers: list[dict[str, Any]] = field(repr=False)  # the task's answer entries, in order
    # True: nothing new waited, and this is the live lease the reviewer already held (a claim
    # made again after its reply was lost gets its item back).
    held: bool = False

    @property
    def candidates(self) -> list[dict[str, Any]]:
        """What the reviewer chooses from: each answer with its submission id, nothing else
        (who answered stays out of the reviewer's view)."""
        return [
            {"submission_id": entry["submission_id"], "answer": entry["answer"]}
            for entry in self.answers
        ]


@dataclass(frozen=True, slots=True)
class NothingToReview:
    pass


@dataclass(frozen=True, slots=True)
class ReviewDecision:
    """What a reviewer decided. ``answer`` is the final answer for accept (the accepted
    submission's, copied into the decision record) and correct (already validated by the task
    type); reopen and reject carry neither a submission nor an answer."""

    action: ReviewAction
    submission_id: str | None = None
    answer: Mapping[str, Any] | None = field(default=None, repr=False)
    comment: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.action not in REVIEW_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(REVIEW_ACTIONS)}")
        if (self.submission_id is not None) != (self.action == "accept"):
            raise ValueError("a submission id goes with accept, and only with accept")
        if (self.answer is not None) != (self.action in ("accept", "correct")):
            raise ValueError("an answer goes with accept and correct, and only with them")

    @classmethod
    def accepting(cls, entry: Mapping[str, Any], comment: str | None = None) -> ReviewDecision:
        """Accept one of the task's answer entries (as listed by ``answers``/``candidates``)."""
        return cls("accept", str(entry["submission_id"]), dict(entry["answer"]), comment)


@dataclass(frozen=True, slots=True)
class Decided:
    task_id: str
    state: str  # resolved, rejected, or collecting/open after a reopen
    need: int


@dataclass(frozen=True, slots=True)
class LeaseContext:
    """Everything needed to check and validate an answer (or a review decision) on a lease,
    read in one round trip: the lease record (None when unknown), the project document, the
    task payload, the task's answers (reviews only) and the board's current time."""

    record: dict[str, Any] | None
    document: dict[str, Any] = field(repr=False)
    payload: dict[str, Any] | None = field(repr=False)
    answers: list[dict[str, Any]] = field(repr=False)
    now_ms: int
    #: For a gold task, what ``P:gold`` holds: ``{"answer": ..., "explanation": ...}``.
    gold: dict[str, Any] | None = field(default=None, repr=False)
