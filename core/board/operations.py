"""The board's operations on projects, tasks and leases (see :mod:`core.board.script_calls`)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from core import ids
from core.board.models import (
    CREATE_CHUNK,
    BoardPolicy,
    Claimable,
    Claimed,
    CreatedTask,
    Heartbeat,
    LeaseContext,
    NewTask,
    NothingToClaim,
    Submitted,
    TaskView,
    payload_digest,
)
from core.board.script_calls import (
    Batch,
    Commands,
    Op,
    ScriptCall,
    checked,
    dumps,
    ignore_reply,
    json_or_none,
    text,
)
from core.board.slots import SlotOps
from core.errors import AssignmentNotFound, ProjectEdited, ProjectNotFound, TaskNotFound
from core.logging import current_request_id
from core.quality import provisional
from core.redis.keys import ProjectKeys
from core.redis.scripts import ScriptName
from core.review.items import ReviewOps

# The operation types are re-exported: callers import them from here with the operations.
# Whether a claim serves a gold task must be unpredictable to volunteers: an OS-backed source.
_draw = random.SystemRandom().random

__all__ = ["Batch", "BoardOps", "Commands", "Op", "ScriptCall", "checked", "dumps", "text"]


class BoardOps(SlotOps, ReviewOps):
    """Builds every board operation: keys, arguments and reply parsing."""

    # -- projects ----------------------------------------------------------------------------

    def create_project(
        self,
        project_id: str,
        policy: BoardPolicy,
        document: Mapping[str, Any] | None,
        extra: Mapping[str, str | int] | None = None,
    ) -> Commands[str]:
        """``extra``: more fields of the project hash (e.g. ``deadline_ms``, see
        core.projects.deadlines)."""
        pk = self.project_keys(project_id)
        fields: list[str | int] = ["state", "active", "doc", dumps(dict(document or {}))]
        for name, value in policy.redis_fields().items():
            fields += [name, value]
        for name, value in (extra or {}).items():
            fields += [name, value]
        # Two slots (the global index and the project's own), so no MULTI across them (Redis
        # Cluster refuses it). Index first: a crash in between leaves an indexed project with no
        # keys, which every sweep treats as empty, rather than a project no sweep can find.
        return Commands(
            [("SADD", self.keys.projects, project_id), ("HSET", pk.project, *fields)],
            lambda _: project_id,
        )

    def update_project(
        self,
        project_id: str,
        fields: Mapping[str, str | int],
        expected_revision: int | None = None,
    ) -> ScriptCall[int]:
        """Write ``fields``; the project's new revision (``doc_rev``). With ``expected_revision``
        (what a read-merge-write read), ``ProjectEdited`` if the project moved on since."""
        pk = self.project_keys(project_id)
        expected = "" if expected_revision is None else expected_revision
        args: list[str | int] = [self.clock.script_now(), expected]
        for name, value in fields.items():
            args += [name, value]

        def parse(reply: Sequence[Any]) -> int:
            if text(checked(reply)[0]) == "stale":
                raise ProjectEdited("the project was changed by another request meanwhile")
            return int(reply[1])

        return ScriptCall(ScriptName.UPDATE_PROJECT, [pk.project, pk.events], args, parse)

    def set_policy(self, project_id: str, policy: BoardPolicy) -> ScriptCall[int]:
        return self.update_project(project_id, policy.redis_fields())

    def set_paused(self, project_id: str, paused: bool) -> ScriptCall[int]:
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

    def _create_chunk(
        self,
        pk: ProjectKeys,
        chunk: Sequence[NewTask],
        max_new: int | None = None,
        max_bytes: int | None = None,
    ) -> ScriptCall[list[str]]:
        args: list[str | int] = [self.clock.script_now(), len(chunk)]
        for task in chunk:
            gold = dumps(dict(task.gold)) if task.gold is not None else ""
            payload = task.payload_json or dumps(dict(task.payload))
            # Only an external id can be re-sent: only then is the payload compared.
            digest = payload_digest(task.payload) if task.external_id else ""
            args += [task.external_id or "", task.priority, payload, gold, digest]
        args.append(current_request_id())  # the request the tasks came in (events carry it)
        args += ["" if max_new is None else max_new, "" if max_bytes is None else max_bytes]

        def parse(reply: Sequence[Any]) -> list[str]:
            return [text(entry) for entry in checked(reply)[1:]]

        keys = [
            pk.project, pk.tasks, pk.payloads, pk.external_ids, pk.ready, pk.events, pk.gold,
            pk.gold_pool, pk.unclaimed,
        ]  # fmt: skip
        return ScriptCall(ScriptName.CREATE_TASKS, keys, args, parse)

    def create_tasks(
        self,
        project_id: str,
        tasks: Iterable[NewTask],
        *,
        max_new: int | None = None,
        max_bytes: int | None = None,
    ) -> Batch[list[CreatedTask], list[str]]:
        """``max_new`` / ``max_bytes``: at most that many new tasks, of payloads adding up to at
        most that many bytes (a quota's room); the tasks past them are ``over_quota``. With
        either, the tasks must fit one chunk (:data:`CREATE_CHUNK`): the room is one script's."""
        pk = self.project_keys(project_id)
        batch = list(tasks)
        chunks = [batch[i : i + CREATE_CHUNK] for i in range(0, len(batch), CREATE_CHUNK)]
        if (max_new is not None or max_bytes is not None) and len(chunks) > 1:
            raise ValueError(f"a quota bounds one chunk of at most {CREATE_CHUNK} tasks")

        def combine(replies: list[list[str]]) -> list[CreatedTask]:
            created: list[CreatedTask] = []
            for chunk, entries in zip(chunks, replies, strict=True):
                for task, entry in zip(chunk, entries, strict=True):
                    created.append(
                        CreatedTask(
                            entry[1:],
                            entry[0] == "+",
                            task.external_id,
                            conflict=entry[0] == "!",
                            over_quota=entry[0] == "#",
                        )
                    )
            return created

        return Batch(
            [self._create_chunk(pk, chunk, max_new, max_bytes) for chunk in chunks], combine
        )

    def get_task(self, project_id: str, task_id: str) -> Commands[TaskView]:
        pk = self.project_keys(project_id)
        ids.validate_task_id(task_id)

        def parse(replies: list[Any]) -> TaskView:
            raw_task, raw_payload, raw_provisional = replies
            if raw_task is None:
                raise TaskNotFound("no such task")
            record = json.loads(raw_task)
            waiting = record["state"] == "in_review"
            shown = provisional.parse(raw_provisional) if waiting else None
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
                provisional=None if shown is None else shown.model_dump(exclude_none=True),
            )

        reads: list[tuple[str | int, ...]] = [
            ("HGET", pk.tasks, task_id),
            ("HGET", pk.payloads, task_id),
            ("HGET", pk.provisional, task_id),
        ]
        return Commands(reads, parse)

    def answers(self, project_id: str, task_id: str) -> Commands[list[dict[str, Any]]]:
        pk = self.project_keys(project_id)
        ids.validate_task_id(task_id)

        def parse(replies: list[Any]) -> list[dict[str, Any]]:
            return [] if replies[0] is None else list(json.loads(replies[0]))

        return Commands([("HGET", pk.answers, task_id)], parse)

    # -- leases ------------------------------------------------------------------------------

    def claim(
        self,
        project_id: str,
        volunteer_id: str,
        *,
        draws: tuple[float, float] | None = None,
        token: str | None = None,
    ) -> ScriptCall[Claimed | NothingToClaim]:
        """Lease the volunteer a slot of the project's best task for them. ``draws``: two
        uniform numbers in [0, 1) deciding whether a gold task is served and which (random
        unless given: tests pass them). ``token``: the random part of the assignment id
        (:func:`core.ids.new_token_part`; new unless given), by which a claim whose reply was
        lost finds its lease again (:meth:`release_lost_claim`)."""
        pk = self.project_keys(project_id)
        gold_draw, pool_draw = draws if draws is not None else (_draw(), _draw())
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
                gold=bool(int(reply[5])),
                payload_length=len(reply[4]),
            )

        keys = [
            pk.project, pk.tasks, pk.ready, pk.assignments, pk.leases,
            pk.touched(volunteer_id), pk.payloads, pk.events, pk.gold_pool, pk.qualification,
            pk.unclaimed,
        ]  # fmt: skip
        args: list[str | int] = [
            self.clock.script_now(), volunteer_id, project_id, token or ids.new_token_part(),
            self.claim_scan_limit, repr(gold_draw), repr(pool_draw),
        ]  # fmt: skip
        return ScriptCall(ScriptName.CLAIM, keys, args, parse)

    def count_claimable(self, project_id: str, volunteer_id: str) -> ScriptCall[Claimable]:
        """Whether :meth:`claim` would give this volunteer a task of the project now (its
        decisions without its writes or its random gold draw), and the tasks left for them."""
        pk = self.project_keys(project_id)
        ids.validate_volunteer_id(volunteer_id)

        def parse(reply: Sequence[Any]) -> Claimable:
            if text(reply[0]) == "yes":
                return Claimable(project_id, True, int(reply[1]), "")
            return Claimable(project_id, False, 0, text(reply[1]))

        keys = [
            pk.project, pk.ready, pk.touched(volunteer_id), pk.gold_pool, pk.qualification,
            pk.unclaimed,
        ]  # fmt: skip
        args: list[str | int] = [self.clock.script_now(), volunteer_id, self.claim_scan_limit]
        return ScriptCall(ScriptName.COUNT_CLAIMABLE, keys, args, parse)

    def heartbeat(self, assignment_id: str, volunteer_id: str) -> ScriptCall[Heartbeat]:
        pk = self.keys.project(ids.parse_assignment_id(assignment_id).project_id)

        def parse(reply: Sequence[Any]) -> Heartbeat:
            checked(reply)
            return Heartbeat(int(reply[1]), bool(int(reply[2])))

        keys = [pk.project, pk.assignments, pk.leases]
        args = [self.clock.script_now(), assignment_id, volunteer_id]
        return ScriptCall(ScriptName.HEARTBEAT, keys, args, parse)

    def release(
        self, assignment_id: str, volunteer_id: str, reason: str, *, unseen: bool = False
    ) -> ScriptCall[None]:
        """Give a live lease back. ``unseen``: the volunteer never saw the task (the API handed
        the claim back itself), so it may be served to them again."""
        pk = self.keys.project(ids.parse_assignment_id(assignment_id).project_id)
        keys = [
            pk.project, pk.tasks, pk.ready, pk.assignments, pk.leases, pk.events,
            pk.touched(ids.validate_volunteer_id(volunteer_id)),
        ]  # fmt: skip
        args: list[str | int] = [
            self.clock.script_now(), assignment_id, volunteer_id, reason, int(unseen),
        ]  # fmt: skip
        return ScriptCall(ScriptName.RELEASE, keys, args, ignore_reply)

    def release_lost_claim(
        self, project_id: str, volunteer_id: str, token: str, reason: str
    ) -> ScriptCall[str | None]:
        """Give back the lease a claim sent with ``token`` took, if it took one: its reply was
        lost, so its volunteer never saw the task (release.lua looks for it among the tasks they
        claimed). The assignment id released, or None when the claim took nothing (or its
        lease is no longer live)."""
        pk = self.project_keys(project_id)
        keys = [
            pk.project, pk.tasks, pk.ready, pk.assignments, pk.leases, pk.events,
            pk.touched(ids.validate_volunteer_id(volunteer_id)),
        ]  # fmt: skip
        args: list[str | int] = [
            self.clock.script_now(), "", volunteer_id, reason, 1, project_id, token,
        ]  # fmt: skip

        def parse(reply: Sequence[Any]) -> str | None:
            return text(reply[1]) if text(reply[0]) == "ok" else None

        return ScriptCall(ScriptName.RELEASE, keys, args, parse)

    def submit(
        self,
        assignment_id: str,
        volunteer_id: str,
        answer: Mapping[str, Any],
        seconds_spent: float | None,
        gold_score: float | None = None,
        gold_correct: bool = False,
    ) -> ScriptCall[Submitted]:
        """Record an answer on a live lease. For a gold task, ``gold_score`` (in [0, 1]) and
        ``gold_correct`` are the answer's score against the gold answer (see submit.lua)."""
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
            pk.qualification,
        ]  # fmt: skip
        args: list[str | int] = [
            self.clock.script_now(), assignment_id, volunteer_id, submission_id, entry,
            "" if gold_score is None else repr(float(gold_score)), int(gold_correct),
            current_request_id(),  # the request the answer came in (events carry it)
        ]  # fmt: skip
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

    # -- project documents -------------------------------------------------------------------

    def project_document(self, project_id: str) -> Commands[dict[str, Any]]:
        """The project document (JSON in ``P:project`` field ``doc``) of an existing project."""

        def parse(replies: list[Any]) -> dict[str, Any]:
            if replies[0] is None:
                raise ProjectNotFound("no such project")
            return dict(json.loads(replies[0]))

        return Commands([("HGET", self.project_keys(project_id).project, "doc")], parse)

    def lease_context(self, assignment_id: str) -> Commands[LeaseContext]:
        """The assignment record, project document and task payload behind an assignment id,
        with the board's time: what a submission is checked and validated against."""
        ref = ids.parse_assignment_id(assignment_id)
        pk = self.keys.project(ref.project_id)

        def parse(replies: list[Any]) -> LeaseContext:
            raw_record, raw_doc, raw_payload, now, raw_gold = replies
            return LeaseContext(
                record=json_or_none(raw_record),
                document=json_or_none(raw_doc) or {},
                payload=json_or_none(raw_payload),
                answers=[],
                now_ms=self.now_from(now),
                gold=json_or_none(raw_gold),
            )

        return Commands(
            [
                ("HGET", pk.assignments, assignment_id),
                ("HGET", pk.project, "doc"),
                ("HGET", pk.payloads, ref.task_id),
                ("TIME",),
                ("HGET", pk.gold, ref.task_id),
            ],
            parse,
        )
