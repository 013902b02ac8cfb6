"""Board operations described as data, independent of how they are sent to Redis.

Each operation is a value: a :class:`ScriptCall` (one EVALSHA), a :class:`Batch` of script calls
sent down one pipeline, or :class:`Commands` (plain reads or writes in one pipeline), each with
the function that turns the raw reply into a typed result. :mod:`core.board` runs them with a
synchronous client (workers, scheduler, CLI) or an asyncio one (the API) — one definition, two
runners, no duplicated key or argument handling.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from core import ids
from core.board_models import (
    CREATE_CHUNK,
    REVIEW_REASONS,
    BoardPolicy,
    Claimed,
    CreatedTask,
    Decided,
    Heartbeat,
    LeaseContext,
    NewTask,
    NothingToClaim,
    NothingToReview,
    ReviewClaimed,
    ReviewDecision,
    Submitted,
    TaskView,
)
from core.clock import Clock
from core.errors import (
    AssignmentNotFound,
    InvalidRequest,
    LeaseNotLive,
    NotACandidate,
    NotAReviewer,
    ProjectNotFound,
    ReopenRefused,
    ReviewNotFound,
    ReviewNotLive,
    RucheError,
    TaskBusy,
    TaskClosed,
    TaskNotFound,
    TooManyAssignments,
)
from core.keys import Keys, ProjectKeys
from core.scripts import ScriptName

__all__ = ["Batch", "BoardOps", "Commands", "Op", "ScriptCall"]

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True, slots=True)
class ScriptCall(Generic[T]):
    script: ScriptName
    keys: Sequence[str]
    args: Sequence[str | int]
    parse: Callable[[Any], T]


@dataclass(frozen=True, slots=True)
class Batch(Generic[T, U]):
    """Script calls sent down one pipeline; ``combine`` gets their parsed results in order."""

    calls: Sequence[ScriptCall[U]]
    combine: Callable[[list[U]], T]


@dataclass(frozen=True, slots=True)
class Commands(Generic[T]):
    """Plain commands sent down one (non-transactional) pipeline, in order."""

    commands: Sequence[tuple[str | int, ...]]
    parse: Callable[[list[Any]], T]


Op = ScriptCall[T] | Batch[T, Any] | Commands[T]


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _raise_refusal(reply: Sequence[Any]) -> None:
    code, state = text(reply[1]), text(reply[2])
    if code == "no_project":
        raise ProjectNotFound("no such project")
    if code == "no_assignment":
        raise AssignmentNotFound("no such assignment")
    if code.startswith("lease_"):
        raise LeaseNotLive(state)
    raise RucheError(f"board script refused with an unknown code {code!r}")


def checked(reply: Sequence[Any]) -> Sequence[Any]:
    if text(reply[0]) == "err":
        _raise_refusal(reply)
    return reply


def _ignore(reply: Any) -> None:
    checked(reply)


def review_checked(reply: Sequence[Any]) -> Sequence[Any]:
    """``checked`` for the review and live-slot scripts, whose refusals have codes of their own."""
    if text(reply[0]) != "err":
        return reply
    code, detail = text(reply[1]), text(reply[2])
    if code == "no_task":
        raise TaskNotFound("no such task")
    if code == "task_closed":
        raise TaskClosed(detail)
    if code == "task_busy":
        raise TaskBusy(f"{detail} lease(s) still live on the task; try again once they end")
    if code == "not_reviewer":
        raise NotAReviewer("you have no review rights on this project")
    if code == "no_review":
        raise ReviewNotFound("no such review")
    if code.startswith("review_"):
        raise ReviewNotLive(detail)
    if code == "not_candidate":
        raise NotACandidate("submission_id is not one of this task's candidate answers")
    if code == "too_many":
        raise TooManyAssignments(
            "you already hold as many live assignments as allowed; submit or release one first",
            [{"live": int(detail)}],
        )
    if code == "need_cap":
        raise ReopenRefused(
            "this task already has as many answers as its project allows; accept, correct or "
            "reject it instead",
            [{"max_answers": int(detail)}],
        )
    if code == "bad_action":
        raise InvalidRequest("unknown review action")
    _raise_refusal(reply)
    return reply  # not reached: _raise_refusal always raises


def _json_or_none(raw: Any) -> Any:
    return None if raw is None else json.loads(raw)


def _pairs(raw: Any) -> list[tuple[str, float]]:
    """ZRANGE … WITHSCORES as (member, score) pairs, whether or not the client paired them."""
    items = list(raw)
    if items and isinstance(items[0], list | tuple):
        return [(text(member), float(score)) for member, score in items]
    return [(text(items[i]), float(items[i + 1])) for i in range(0, len(items), 2)]


class BoardOps:
    """Builds every board operation: keys, arguments and reply parsing."""

    def __init__(self, keys: Keys, clock: Clock, claim_scan_limit: int) -> None:
        self.keys = keys
        self.clock = clock
        self.claim_scan_limit = claim_scan_limit

    def project_keys(self, project_id: str) -> ProjectKeys:
        return self.keys.project(ids.validate_project_id(project_id))

    # -- projects ----------------------------------------------------------------------------

    def create_project(
        self, project_id: str, policy: BoardPolicy, document: Mapping[str, Any] | None
    ) -> Commands[str]:
        pk = self.project_keys(project_id)
        fields: list[str | int] = ["state", "active", "doc", dumps(dict(document or {}))]
        for name, value in policy.redis_fields().items():
            fields += [str(name), int(value)]
        # Two slots (the global index and the project's own), so no MULTI across them (Redis
        # Cluster refuses it). Index first: a crash in between leaves an indexed project with no
        # keys, which every sweep treats as empty, rather than a project no sweep can find.
        return Commands(
            [("SADD", self.keys.projects, project_id), ("HSET", pk.project, *fields)],
            lambda _: project_id,
        )

    def update_project(self, project_id: str, fields: Mapping[str, str | int]) -> ScriptCall[None]:
        pk = self.project_keys(project_id)
        args: list[str | int] = [self.clock.script_now()]
        for name, value in fields.items():
            args += [name, value]
        return ScriptCall(ScriptName.UPDATE_PROJECT, [pk.project, pk.events], args, _ignore)

    def set_policy(self, project_id: str, policy: BoardPolicy) -> ScriptCall[None]:
        fields = {str(k): int(v) for k, v in policy.redis_fields().items()}
        return self.update_project(project_id, fields)

    def set_paused(self, project_id: str, paused: bool) -> ScriptCall[None]:
        return self.update_project(project_id, {"state": "paused" if paused else "active"})

    def counts(self, project_id: str) -> Commands[dict[str, int]]:
        def parse(replies: list[Any]) -> dict[str, int]:
            raw = replies[0]
            if not raw:
                raise ProjectNotFound("no such project")
            counts: dict[str, int] = {}
            for key, value in raw.items():
                name = text(key)
                if name.startswith("count:"):
                    counts[name.removeprefix("count:")] = int(value)
            return counts

        return Commands([("HGETALL", self.project_keys(project_id).project)], parse)

    # -- tasks -------------------------------------------------------------------------------

    def _create_chunk(self, pk: ProjectKeys, chunk: Sequence[NewTask]) -> ScriptCall[list[str]]:
        args: list[str | int] = [self.clock.script_now(), len(chunk)]
        for task in chunk:
            args += [task.external_id or "", task.priority, dumps(dict(task.payload))]

        def parse(reply: Sequence[Any]) -> list[str]:
            return [text(entry) for entry in checked(reply)[1:]]

        keys = [pk.project, pk.tasks, pk.payloads, pk.external_ids, pk.ready, pk.events]
        return ScriptCall(ScriptName.CREATE_TASKS, keys, args, parse)

    def create_tasks(
        self, project_id: str, tasks: Iterable[NewTask]
    ) -> Batch[list[CreatedTask], list[str]]:
        pk = self.project_keys(project_id)
        batch = list(tasks)
        chunks = [batch[i : i + CREATE_CHUNK] for i in range(0, len(batch), CREATE_CHUNK)]

        def combine(replies: list[list[str]]) -> list[CreatedTask]:
            created: list[CreatedTask] = []
            for chunk, entries in zip(chunks, replies, strict=True):
                for task, entry in zip(chunk, entries, strict=True):
                    created.append(CreatedTask(entry[1:], entry[0] == "+", task.external_id))
            return created

        return Batch([self._create_chunk(pk, chunk) for chunk in chunks], combine)

    def get_task(self, project_id: str, task_id: str) -> Commands[TaskView]:
        pk = self.project_keys(project_id)
        ids.validate_task_id(task_id)

        def parse(replies: list[Any]) -> TaskView:
            raw_task, raw_payload = replies
            if raw_task is None:
                raise TaskNotFound("no such task")
            record = json.loads(raw_task)
            return TaskView(
                task_id=task_id,
                state=record["state"],
                need=int(record["need"]),
                live=int(record["live"]),
                answers=int(record["answers"]),
                attempts=int(record["attempts"]),
                releases=int(record["releases"]),
                priority=int(record["priority"]),
                external_id=record.get("ext"),
                created_at_ms=int(record["created"]),
                payload=json.loads(raw_payload),
            )

        return Commands([("HGET", pk.tasks, task_id), ("HGET", pk.payloads, task_id)], parse)

    def answers(self, project_id: str, task_id: str) -> Commands[list[dict[str, Any]]]:
        pk = self.project_keys(project_id)
        ids.validate_task_id(task_id)

        def parse(replies: list[Any]) -> list[dict[str, Any]]:
            return [] if replies[0] is None else list(json.loads(replies[0]))

        return Commands([("HGET", pk.answers, task_id)], parse)

    # -- leases ------------------------------------------------------------------------------

    def claim(self, project_id: str, volunteer_id: str) -> ScriptCall[Claimed | NothingToClaim]:
        pk = self.project_keys(project_id)
        ids.validate_volunteer_id(volunteer_id)

        def parse(reply: Sequence[Any]) -> Claimed | NothingToClaim:
            if text(checked(reply)[0]) == "empty":
                return NothingToClaim(text(reply[1]))
            return Claimed(
                assignment_id=text(reply[1]),
                project_id=project_id,
                task_id=text(reply[2]),
                expires_at_ms=int(reply[3]),
                payload=json.loads(reply[4]),
            )

        keys = [
            pk.project, pk.tasks, pk.ready, pk.assignments, pk.leases,
            pk.touched(volunteer_id), pk.payloads, pk.events,
        ]  # fmt: skip
        args: list[str | int] = [
            self.clock.script_now(), volunteer_id, project_id, ids.new_token_part(),
            self.claim_scan_limit,
        ]  # fmt: skip
        return ScriptCall(ScriptName.CLAIM, keys, args, parse)

    def heartbeat(self, assignment_id: str, volunteer_id: str) -> ScriptCall[Heartbeat]:
        pk = self.keys.project(ids.parse_assignment_id(assignment_id).project_id)

        def parse(reply: Sequence[Any]) -> Heartbeat:
            checked(reply)
            return Heartbeat(int(reply[1]), bool(int(reply[2])))

        keys = [pk.project, pk.assignments, pk.leases]
        args = [self.clock.script_now(), assignment_id, volunteer_id]
        return ScriptCall(ScriptName.HEARTBEAT, keys, args, parse)

    def release(self, assignment_id: str, volunteer_id: str, reason: str) -> ScriptCall[None]:
        pk = self.keys.project(ids.parse_assignment_id(assignment_id).project_id)
        keys = [pk.project, pk.tasks, pk.ready, pk.assignments, pk.leases, pk.events]
        args = [self.clock.script_now(), assignment_id, volunteer_id, reason]
        return ScriptCall(ScriptName.RELEASE, keys, args, _ignore)

    def submit(
        self,
        assignment_id: str,
        volunteer_id: str,
        answer: Mapping[str, Any],
        seconds_spent: float | None,
    ) -> ScriptCall[Submitted]:
        pk = self.keys.project(ids.parse_assignment_id(assignment_id).project_id)
        submission_id = ids.new_submission_id()
        entry = dumps(
            {
                "submission_id": submission_id,
                "assignment_id": assignment_id,
                "volunteer_id": volunteer_id,
                "seconds_spent": seconds_spent,
                "answer": dict(answer),
            }
        )

        def parse(reply: Sequence[Any]) -> Submitted:
            checked(reply)
            return Submitted(submission_id, int(reply[1]), int(reply[2]), text(reply[3]))

        keys = [
            pk.project, pk.tasks, pk.ready, pk.assignments, pk.leases, pk.answers, pk.events,
        ]  # fmt: skip
        args = [self.clock.script_now(), assignment_id, volunteer_id, submission_id, entry]
        return ScriptCall(ScriptName.SUBMIT, keys, args, parse)

    def assignment(self, assignment_id: str) -> Commands[dict[str, Any]]:
        pk = self.keys.project(ids.parse_assignment_id(assignment_id).project_id)

        def parse(replies: list[Any]) -> dict[str, Any]:
            if replies[0] is None:
                raise AssignmentNotFound("no such assignment")
            return dict(json.loads(replies[0]))

        return Commands([("HGET", pk.assignments, assignment_id)], parse)

    def expire_leases(self, project_id: str, limit: int) -> ScriptCall[list[str]]:
        pk = self.project_keys(project_id)
        keys = [pk.project, pk.tasks, pk.ready, pk.assignments, pk.leases, pk.events]
        args: list[str | int] = [self.clock.script_now(), limit]

        def parse(reply: Sequence[Any]) -> list[str]:
            return [text(aid) for aid in reply]

        return ScriptCall(ScriptName.EXPIRE_LEASES, keys, args, parse)

    # -- time --------------------------------------------------------------------------------

    def now_from(self, time_reply: Any) -> int:
        """The board's "now" in ms: the manual clock's when one is set, else Redis ``TIME``."""
        fixed = self.clock.script_now()
        if fixed:
            return int(fixed)
        seconds, micros = time_reply
        return int(seconds) * 1000 + int(micros) // 1000

    # -- project documents -------------------------------------------------------------------

    def project_document(self, project_id: str) -> Commands[dict[str, Any]]:
        """The project document (JSON in ``P:project`` field ``doc``) of an existing project."""

        def parse(replies: list[Any]) -> dict[str, Any]:
            if replies[0] is None:
                raise ProjectNotFound("no such project")
            return dict(json.loads(replies[0]))

        return Commands([("HGET", self.project_keys(project_id).project, "doc")], parse)

    # -- a volunteer's live assignments (the cap) ---------------------------------------------

    def reserve_slot(
        self, volunteer_id: str, member: str, cap: int, hold_ms: int
    ) -> ScriptCall[int]:
        """Hold one of the volunteer's ``cap`` live-assignment slots under ``member`` for up to
        ``hold_ms``; raises ``TooManyAssignments`` when all are taken."""
        key = self.keys.volunteer_live(ids.validate_volunteer_id(volunteer_id))
        args: list[str | int] = [self.clock.script_now(), member, hold_ms, cap]

        def parse(reply: Sequence[Any]) -> int:
            return int(review_checked(reply)[1])

        return ScriptCall(ScriptName.RESERVE_SLOT, [key], args, parse)

    def confirm_slot(
        self, volunteer_id: str, member: str, assignment_id: str, expires_at_ms: int
    ) -> Commands[None]:
        """Swap a reservation for the assignment it turned into (added first, so the count
        never dips below the truth in between)."""
        key = self.keys.volunteer_live(ids.validate_volunteer_id(volunteer_id))
        return Commands(
            [("ZADD", key, expires_at_ms, assignment_id), ("ZREM", key, member)], lambda _: None
        )

    def extend_slot(
        self, volunteer_id: str, assignment_id: str, expires_at_ms: int
    ) -> Commands[None]:
        key = self.keys.volunteer_live(ids.validate_volunteer_id(volunteer_id))
        return Commands([("ZADD", key, "XX", expires_at_ms, assignment_id)], lambda _: None)

    def drop_slot(self, volunteer_id: str, member: str) -> Commands[None]:
        """Give a slot back (a reservation, or an assignment submitted or released)."""
        key = self.keys.volunteer_live(ids.validate_volunteer_id(volunteer_id))
        return Commands([("ZREM", key, member)], lambda _: None)

    def live_slots(self, volunteer_id: str) -> Commands[list[tuple[str, int]]]:
        """The volunteer's assignments whose lease has not run out: (assignment id, expiry ms),
        soonest first. Pending reservations are left out."""
        key = self.keys.volunteer_live(ids.validate_volunteer_id(volunteer_id))

        def parse(replies: list[Any]) -> list[tuple[str, int]]:
            now = self.now_from(replies[0])
            return [
                (member, int(score))
                for member, score in _pairs(replies[1])
                if score > now and not member.startswith("res:")
            ]

        return Commands([("TIME",), ("ZRANGE", key, 0, -1, "WITHSCORES")], parse)

    def lease_context(self, assignment_id: str) -> Commands[LeaseContext]:
        """The assignment record, project document and task payload behind an assignment id,
        with the board's time: what a submission is checked and validated against."""
        ref = ids.parse_assignment_id(assignment_id)
        pk = self.keys.project(ref.project_id)

        def parse(replies: list[Any]) -> LeaseContext:
            raw_record, raw_doc, raw_payload, now = replies
            return LeaseContext(
                record=_json_or_none(raw_record),
                document=_json_or_none(raw_doc) or {},
                payload=_json_or_none(raw_payload),
                answers=[],
                now_ms=self.now_from(now),
            )

        return Commands(
            [
                ("HGET", pk.assignments, assignment_id),
                ("HGET", pk.project, "doc"),
                ("HGET", pk.payloads, ref.task_id),
                ("TIME",),
            ],
            parse,
        )

    # -- reviews -----------------------------------------------------------------------------

    def open_review(
        self, project_id: str, task_id: str, reason: str, priority: int = 0
    ) -> ScriptCall[bool]:
        """Queue a task for review; True when opened, False when it already was in review."""
        pk = self.project_keys(project_id)
        ids.validate_task_id(task_id)
        if reason not in REVIEW_REASONS:
            raise ValueError(f"reason must be one of {', '.join(REVIEW_REASONS)}")

        def parse(reply: Sequence[Any]) -> bool:
            return bool(int(review_checked(reply)[1]))

        keys = [pk.project, pk.tasks, pk.ready, pk.review_queue, pk.events]
        args: list[str | int] = [self.clock.script_now(), task_id, reason, int(priority)]
        return ScriptCall(ScriptName.OPEN_REVIEW, keys, args, parse)

    def claim_review(
        self, project_id: str, reviewer_id: str, lease_seconds: int
    ) -> ScriptCall[ReviewClaimed | NothingToReview]:
        pk = self.project_keys(project_id)
        ids.validate_volunteer_id(reviewer_id)

        def parse(reply: Sequence[Any]) -> ReviewClaimed | NothingToReview:
            if text(review_checked(reply)[0]) == "empty":
                return NothingToReview()
            return ReviewClaimed(
                review_id=text(reply[1]),
                project_id=project_id,
                task_id=text(reply[2]),
                expires_at_ms=int(reply[3]),
                payload=json.loads(reply[4]),
                answers=list(json.loads(reply[5])),
                reason=text(reply[6]),
            )

        keys = [
            pk.reviewers, pk.review_queue, pk.review_assignments, pk.review_leases,
            pk.touched(reviewer_id), pk.answers, pk.payloads, pk.tasks, pk.events,
        ]  # fmt: skip
        args: list[str | int] = [
            self.clock.script_now(), reviewer_id, project_id, ids.new_token_part(),
            self.claim_scan_limit, lease_seconds * 1000,
        ]  # fmt: skip
        return ScriptCall(ScriptName.CLAIM_REVIEW, keys, args, parse)

    def review_context(self, review_id: str) -> Commands[LeaseContext]:
        """The review lease record, project document, task payload and answers behind a review
        id, with the board's time: what a decision is checked and validated against."""
        ref = ids.parse_review_id(review_id)
        pk = self.keys.project(ref.project_id)

        def parse(replies: list[Any]) -> LeaseContext:
            raw_record, raw_doc, raw_payload, raw_answers, now = replies
            return LeaseContext(
                record=_json_or_none(raw_record),
                document=_json_or_none(raw_doc) or {},
                payload=_json_or_none(raw_payload),
                answers=list(_json_or_none(raw_answers) or []),
                now_ms=self.now_from(now),
            )

        return Commands(
            [
                ("HGET", pk.review_assignments, review_id),
                ("HGET", pk.project, "doc"),
                ("HGET", pk.payloads, ref.task_id),
                ("HGET", pk.answers, ref.task_id),
                ("TIME",),
            ],
            parse,
        )

    def decide_review(
        self,
        review_id: str,
        reviewer_id: str,
        decision: ReviewDecision,
        max_answers: int | None = None,
    ) -> ScriptCall[Decided]:
        """Record a review decision; ``max_answers`` (the project's ``max_redundancy``) bounds
        how many answers a reopen may ask for."""
        ref = ids.parse_review_id(review_id)
        pk = self.keys.project(ref.project_id)
        record = dumps(
            {
                "action": decision.action,
                "submission_id": decision.submission_id,
                "reviewer": reviewer_id,
                "comment": decision.comment,
                "answer": None if decision.answer is None else dict(decision.answer),
            }
        )

        def parse(reply: Sequence[Any]) -> Decided:
            review_checked(reply)
            return Decided(ref.task_id, text(reply[1]), int(reply[2]))

        keys = [
            pk.project, pk.tasks, pk.ready, pk.review_assignments, pk.review_leases, pk.answers,
            pk.decisions, pk.events,
        ]  # fmt: skip
        args: list[str | int] = [
            self.clock.script_now(), review_id, reviewer_id, decision.action,
            decision.submission_id or "", record, max_answers or 0,
        ]  # fmt: skip
        return ScriptCall(ScriptName.DECIDE_REVIEW, keys, args, parse)

    def decision(self, project_id: str, task_id: str) -> Commands[dict[str, Any] | None]:
        """The latest review decision recorded for a task, if any."""
        pk = self.project_keys(project_id)
        ids.validate_task_id(task_id)
        return Commands([("HGET", pk.decisions, task_id)], lambda r: _json_or_none(r[0]))

    def expire_review_leases(self, project_id: str, limit: int) -> ScriptCall[list[str]]:
        pk = self.project_keys(project_id)
        keys = [pk.review_assignments, pk.review_leases, pk.review_queue, pk.events]
        args: list[str | int] = [self.clock.script_now(), limit]

        def parse(reply: Sequence[Any]) -> list[str]:
            return [text(rid) for rid in reply]

        return ScriptCall(ScriptName.EXPIRE_REVIEW_LEASES, keys, args, parse)
