"""The task board: projects, tasks, leases and answers on Redis.

Each state-changing operation is one Lua script run as one EVALSHA (one round trip), which makes
it atomic and lets it append its event to the project stream in the same step (the outbox). The
Python side only builds arguments and turns raw replies into typed results.

Operations are described as :class:`ScriptCall` values (script, keys, args, parser) so the same
definitions drive this synchronous :class:`Board` and, later, an asyncio one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import redis

from core import ids
from core.board_models import (
    CREATE_CHUNK,
    BoardPolicy,
    Claimed,
    CreatedTask,
    Heartbeat,
    NewTask,
    NothingToClaim,
    Submitted,
    TaskView,
)
from core.clock import Clock, RedisClock
from core.errors import (
    AssignmentNotFound,
    LeaseNotLive,
    ProjectNotFound,
    RucheError,
    TaskNotFound,
)
from core.keys import Keys, ProjectKeys
from core.scripts import ScriptName, load_all

__all__ = [
    "Board",
    "BoardPolicy",
    "Claimed",
    "CreatedTask",
    "Heartbeat",
    "NewTask",
    "NothingToClaim",
    "Submitted",
    "TaskView",
]

T = TypeVar("T")

@dataclass(frozen=True, slots=True)
class ScriptCall(Generic[T]):
    script: ScriptName
    keys: Sequence[str]
    args: Sequence[str | int]
    parse: Callable[[Any], T]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _raise_refusal(reply: Sequence[Any]) -> None:
    code, state = _text(reply[1]), _text(reply[2])
    if code == "no_project":
        raise ProjectNotFound("no such project")
    if code == "no_assignment":
        raise AssignmentNotFound("no such assignment")
    if code.startswith("lease_"):
        raise LeaseNotLive(state)
    raise RucheError(f"board script refused with an unknown code {code!r}")


def _checked(reply: Sequence[Any]) -> Sequence[Any]:
    if _text(reply[0]) == "err":
        _raise_refusal(reply)
    return reply


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Board:
    """Synchronous board over one Redis client."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        keys: Keys | None = None,
        clock: Clock | None = None,
        claim_scan_limit: int = 256,
    ) -> None:
        self.client = client
        self.keys = keys or Keys()
        self.clock = clock or RedisClock()
        self.claim_scan_limit = claim_scan_limit
        # Registered on first use rather than here, so a process can start while Redis is down.
        self._loaded: dict[ScriptName, str] | None = None

    @property
    def _shas(self) -> dict[ScriptName, str]:
        if self._loaded is None:
            self._loaded = load_all(self.client)
        return self._loaded

    def _reload_scripts(self) -> None:
        self._loaded = load_all(self.client)

    # -- running scripts ---------------------------------------------------------------------

    def _run(self, call: ScriptCall[T]) -> T:
        sha = self._shas[call.script]
        try:
            reply = self.client.evalsha(sha, len(call.keys), *call.keys, *call.args)
        except redis.exceptions.NoScriptError:
            # Redis restarted (or SCRIPT FLUSH): register again and retry once. The failed call
            # never ran, so retrying cannot apply it twice.
            self._reload_scripts()
            reply = self.client.evalsha(
                self._shas[call.script], len(call.keys), *call.keys, *call.args
            )
        return call.parse(reply)

    def _project(self, project_id: str) -> ProjectKeys:
        return self.keys.project(ids.validate_project_id(project_id))

    # -- projects ----------------------------------------------------------------------------

    def create_project(
        self,
        policy: BoardPolicy,
        *,
        project_id: str | None = None,
        document: Mapping[str, Any] | None = None,
    ) -> str:
        project_id = project_id or ids.new_project_id()
        pk = self._project(project_id)
        # Two slots (the global index and the project's own), so no MULTI across them (Redis
        # Cluster refuses it). Index first: a crash in between leaves an indexed project with no
        # keys, which every sweep treats as empty, rather than a project no sweep can find.
        self.client.sadd(self.keys.projects, project_id)
        self.client.hset(
            pk.project,
            mapping={
                **policy.redis_fields(),
                "state": "active",
                "doc": _dumps(dict(document or {})),
            },
        )
        return project_id

    def set_policy(self, project_id: str, policy: BoardPolicy) -> None:
        """Change lease length, cap, redundancy of new tasks and the attempt limit."""
        pk = self._project(project_id)
        if not self.client.exists(pk.project):
            raise ProjectNotFound("no such project")
        self.client.hset(pk.project, mapping=policy.redis_fields())

    def set_paused(self, project_id: str, paused: bool) -> None:
        pk = self._project(project_id)
        if not self.client.exists(pk.project):
            raise ProjectNotFound("no such project")
        self.client.hset(pk.project, "state", "paused" if paused else "active")

    def project_ids(self) -> Iterator[str]:
        for member in self.client.sscan_iter(self.keys.projects, count=500):
            yield _text(member)

    def counts(self, project_id: str) -> dict[str, int]:
        """Number of tasks per state (kept up to date by the scripts, O(1) to read)."""
        raw = self.client.hgetall(self._project(project_id).project)
        if not raw:
            raise ProjectNotFound("no such project")
        counts: dict[str, int] = {}
        for key, value in raw.items():
            name = _text(key)
            if name.startswith("count:"):
                counts[name.removeprefix("count:")] = int(value)
        return counts

    # -- tasks -------------------------------------------------------------------------------

    def _create_call(self, pk: ProjectKeys, chunk: Sequence[NewTask]) -> ScriptCall[list[str]]:
        args: list[str | int] = [self.clock.script_now(), len(chunk)]
        for task in chunk:
            args += [task.external_id or "", task.priority, _dumps(dict(task.payload))]

        def parse(reply: Sequence[Any]) -> list[str]:
            return [_text(entry) for entry in _checked(reply)[1:]]

        keys = [pk.project, pk.tasks, pk.payloads, pk.external_ids, pk.ready, pk.events]
        return ScriptCall(ScriptName.CREATE_TASKS, keys, args, parse)

    def create_tasks(self, project_id: str, tasks: Iterable[NewTask]) -> list[CreatedTask]:
        """Create tasks in chunks sent down one pipeline; idempotent on external id."""
        pk = self._project(project_id)
        batch = list(tasks)
        chunks = [batch[i : i + CREATE_CHUNK] for i in range(0, len(batch), CREATE_CHUNK)]
        calls = [self._create_call(pk, chunk) for chunk in chunks]
        replies = self._pipeline(calls)
        created: list[CreatedTask] = []
        for chunk, entries in zip(chunks, replies, strict=True):
            for task, entry in zip(chunk, entries, strict=True):
                created.append(CreatedTask(entry[1:], entry[0] == "+", task.external_id))
        return created

    def _pipeline(self, calls: Sequence[ScriptCall[T]]) -> list[T]:
        results: dict[int, T] = {}
        pending = list(range(len(calls)))
        for attempt in range(2):
            pipe = self.client.pipeline(transaction=False)
            for index in pending:
                call = calls[index]
                pipe.evalsha(self._shas[call.script], len(call.keys), *call.keys, *call.args)
            replies = pipe.execute(raise_on_error=False)
            missing = []
            for index, reply in zip(pending, replies, strict=True):
                if isinstance(reply, redis.exceptions.NoScriptError) and attempt == 0:
                    missing.append(index)  # never ran: safe to send again
                elif isinstance(reply, Exception):
                    raise reply
                else:
                    results[index] = calls[index].parse(reply)
            if not missing:
                break
            self._reload_scripts()
            pending = missing
        return [results[i] for i in range(len(calls))]

    def get_task(self, project_id: str, task_id: str) -> TaskView:
        pk = self._project(project_id)
        ids.validate_task_id(task_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.hget(pk.tasks, task_id)
        pipe.hget(pk.payloads, task_id)
        raw_task, raw_payload = pipe.execute()
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

    def answers(self, project_id: str, task_id: str) -> list[dict[str, Any]]:
        raw = self.client.hget(self._project(project_id).answers, ids.validate_task_id(task_id))
        return [] if raw is None else list(json.loads(raw))

    # -- leases ------------------------------------------------------------------------------

    def claim(self, project_id: str, volunteer_id: str) -> Claimed | NothingToClaim:
        pk = self._project(project_id)
        ids.validate_volunteer_id(volunteer_id)

        def parse(reply: Sequence[Any]) -> Claimed | NothingToClaim:
            status = _text(_checked(reply)[0])
            if status == "empty":
                return NothingToClaim(_text(reply[1]))
            return Claimed(
                assignment_id=_text(reply[1]),
                project_id=project_id,
                task_id=_text(reply[2]),
                expires_at_ms=int(reply[3]),
                payload=json.loads(reply[4]),
            )

        keys = [
            pk.project, pk.tasks, pk.ready, pk.assignments, pk.leases,
            pk.touched(volunteer_id), pk.payloads, pk.events,
        ]
        args: list[str | int] = [
            self.clock.script_now(), volunteer_id, project_id, ids.new_token_part(),
            self.claim_scan_limit,
        ]
        return self._run(ScriptCall(ScriptName.CLAIM, keys, args, parse))

    def heartbeat(self, assignment_id: str, volunteer_id: str) -> Heartbeat:
        ref = ids.parse_assignment_id(assignment_id)
        pk = self.keys.project(ref.project_id)

        def parse(reply: Sequence[Any]) -> Heartbeat:
            _checked(reply)
            return Heartbeat(int(reply[1]), bool(int(reply[2])))

        keys = [pk.project, pk.assignments, pk.leases]
        args = [self.clock.script_now(), assignment_id, volunteer_id]
        return self._run(ScriptCall(ScriptName.HEARTBEAT, keys, args, parse))

    def release(self, assignment_id: str, volunteer_id: str, reason: str) -> None:
        ref = ids.parse_assignment_id(assignment_id)
        pk = self.keys.project(ref.project_id)
        keys = [pk.project, pk.tasks, pk.ready, pk.assignments, pk.leases, pk.events]
        args = [self.clock.script_now(), assignment_id, volunteer_id, reason]
        self._run(ScriptCall(ScriptName.RELEASE, keys, args, _checked))

    def submit(
        self,
        assignment_id: str,
        volunteer_id: str,
        answer: Mapping[str, Any],
        *,
        seconds_spent: float | None = None,
    ) -> Submitted:
        """Record an answer (already validated by its task type) on a live lease."""
        ref = ids.parse_assignment_id(assignment_id)
        pk = self.keys.project(ref.project_id)
        submission_id = ids.new_submission_id()
        entry = _dumps(
            {
                "submission_id": submission_id,
                "assignment_id": assignment_id,
                "volunteer_id": volunteer_id,
                "seconds_spent": seconds_spent,
                "answer": dict(answer),
            }
        )

        def parse(reply: Sequence[Any]) -> Submitted:
            _checked(reply)
            return Submitted(submission_id, int(reply[1]), int(reply[2]), _text(reply[3]))

        keys = [
            pk.project, pk.tasks, pk.ready, pk.assignments, pk.leases, pk.answers, pk.events,
        ]
        args = [self.clock.script_now(), assignment_id, volunteer_id, submission_id, entry]
        return self._run(ScriptCall(ScriptName.SUBMIT, keys, args, parse))

    def assignment(self, assignment_id: str) -> dict[str, Any]:
        ref = ids.parse_assignment_id(assignment_id)
        raw = self.client.hget(self.keys.project(ref.project_id).assignments, assignment_id)
        if raw is None:
            raise AssignmentNotFound("no such assignment")
        return dict(json.loads(raw))

    def expire_leases(self, project_id: str, limit: int = 500) -> list[str]:
        """Expire up to ``limit`` leases whose time is up; returns their assignment ids."""
        pk = self._project(project_id)
        keys = [pk.project, pk.tasks, pk.ready, pk.assignments, pk.leases, pk.events]
        args: list[str | int] = [self.clock.script_now(), limit]

        def parse(reply: Sequence[Any]) -> list[str]:
            return [_text(aid) for aid in reply]

        return self._run(ScriptCall(ScriptName.EXPIRE_LEASES, keys, args, parse))

    def reap_expired_leases(self, limit_per_project: int = 500) -> int:
        """One sweep over every project; returns how many leases expired."""
        return sum(len(self.expire_leases(pid, limit_per_project)) for pid in self.project_ids())
