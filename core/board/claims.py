"""Volunteers claiming tasks and working on them: the live-assignment cap, and each call an
assignment goes through (claim, heartbeat, submit, release).

Which projects a claim tries, in which order, is :mod:`core.board.matching`: each try is one
claim script that either leases a slot or says the project has nothing for this volunteer.

The cap: one slot of the volunteer's ``max_live_assignments`` is reserved atomically
(``reserve_slot.lua`` on the volunteer's own key), so concurrent claims by one volunteer cannot
overshoot it. The reservation and the claim on the best project go down one pipeline (they are
on different keys, so no script can do both; a round trip is a large share of a claim's cost):
when the reservation is refused (429), a lease the claim took meanwhile is released at once
(reason ``over_the_cap``), and the task may be served to that volunteer later: they never saw
it. The reservation turns into the assignment, or is dropped when nothing was claimed;
submit and release give the slot back, and an expired lease frees its slot by itself (entries
carry their lease's expiry).

On a Redis Cluster the volunteer's key and the project's sit on two nodes, and one may fail
while the other answers (a master dying, a failover under way). Each side is then undone or kept
on its own, so that nothing is held that was not acknowledged and nothing acknowledged is
reported as failed: a claim whose reservation failed hands its lease back before answering the
error; a claim that failed drops its reservation; a reservation that could not be confirmed
keeps the slot until it lapses (the lease stands: it was taken, and is answered); a submit or
release whose slot could not be given back is answered as done, the slot freeing itself at the
lease's expiry. A claim that failed on the project's side may still have taken its lease (the
reply lost, not the write): that lease is handed back in the background once Redis answers
(:mod:`core.board.hand_backs`), and so is one whose immediate hand-back failed.

What a claim showed its volunteer (task type and payload, never a gold task's) is remembered in
this process (:class:`Shown`), so that the submit that usually follows validates the answer
without reading them back: one round trip fewer on the hot path. The submit script stays the
judge of the lease (live, this volunteer's); payloads and task types never change, so the memory
cannot be stale. Another process, a gold task, an evicted entry or a refused answer take the
reading path, which checks the lease before the answer as always.

Round trips to Redis, with the claim index, the project documents and the volunteer's token and
profile remembered in the process (:mod:`core.projects.catalogue`, :mod:`core.accounts.store`):

- claim: two. The reservation and the claim on the best project in one pipeline, then the
  slot's confirmation. One more per further project tried when the best has nothing for the
  volunteer, one to drop the reservation when none had anything, one to hand back a claim made
  while the reservation was refused, and one read of the volunteer's reputations when a
  candidate project sets a reputation floor;
- submit: one, the submit script and the slot given back in one pipeline, when this process
  remembers what the claim showed; else two, the lease's context read first. A claim->submit
  cycle is therefore three;
- heartbeat: two (the heartbeat script, then the slot's new expiry); release: one (the release
  script and the slot given back in one pipeline).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio
import structlog

from core import ids
from core.board.answers import score_gold, validate_answer
from core.board.hand_backs import HandBacks
from core.board.matching import (
    MAX_PROJECTS_TRIED,
    Matcher,
    ProjectCard,
    VolunteerLike,
    require_charter,
)
from core.board.models import Claimable, Claimed, Heartbeat, LeaseContext, Submitted
from core.board.runner import REDIS_FAILURES, AsyncBoard, RedisFailure
from core.board.script_calls import Batch
from core.errors import (
    AssignmentNotFound,
    LeaseNotLive,
    ProfileChanged,
    ProjectNotFound,
    RucheError,
)
from core.projects.catalogue import ProjectCatalogue
from core.recent import Recent
from core.redis.keys import Keys

__all__ = ["OVER_THE_CAP", "Assignment", "Claims", "LiveAssignment", "Practice", "Reopened"]

log = structlog.get_logger(__name__)

#: The release reason of a claim handed back because the volunteer was at the cap.
OVER_THE_CAP = "over_the_cap"
#: The reason of a lease handed back because the claim was decided on a profile changed since.
PROFILE_CHANGED = "profile_changed"
#: The reason of a lease handed back because its claim's reply was lost (core.board.hand_backs).
REPLY_LOST = "reply_lost"
#: Projects a claim looks at, at most, when the best :data:`MAX_PROJECTS_TRIED` had nothing for
#: the volunteer (checked in one round trip; see ``Claims._claim_further``).
MAX_PROJECTS_LOOKED_AT = 48
# How long a reservation holds a slot if the claim that made it never finishes (a crashed API
# process): far longer than a claim takes, short enough not to lock a volunteer out for long.
RESERVATION_HOLD_MS = 30_000
# What this process remembers of the claims it served (see the module docstring): payloads up
# to 8 KiB of JSON, at most 4,096 of them (32 MiB of JSON at worst), for an hour at most.
SHOWN_MAX_PAYLOAD = 8 * 1024
SHOWN_MAX_ENTRIES = 4096
SHOWN_TTL_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class Assignment:
    """A volunteer's lease on one answer slot, with what they need to do the task."""

    id: str
    project_id: str
    task_id: str
    task_type: str
    instructions: str
    expires_at_ms: int
    payload: dict[str, Any] = field(repr=False)
    #: A gold (control) task: its answer is scored against a known one (see :meth:`practice`).
    gold: bool = False


@dataclass(frozen=True, slots=True)
class Practice:
    """A volunteer's answer to a gold task, once submitted, next to the answer expected: what a
    practice item shows after "Submit" (the ``quality.gold`` actor files the same as feedback,
    later). ``qualification``: the volunteer's record in the project's qualification
    (``answered``, ``correct``, ``passed``, ``retry_at``), None when the project has none."""

    assignment_id: str
    project_id: str
    task_id: str
    task_type: str
    correct: bool
    score: float
    answer: dict[str, Any] = field(repr=False)
    expected: dict[str, Any] = field(repr=False)
    explanation: str | None = field(repr=False)
    payload: dict[str, Any] = field(repr=False)
    qualification: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Reopened:
    """A reviewer sent the task back for more answers: when, and their comment if any."""

    at_ms: int
    comment: str | None = field(repr=False)


@dataclass(frozen=True, slots=True)
class Shown:
    """What a claim showed its volunteer: enough to validate their answer."""

    volunteer_id: str
    task_type: str
    payload: dict[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class LiveAssignment:
    id: str
    project_id: str
    task_id: str
    expires_at_ms: int


def _assignment_ref(assignment_id: str) -> ids.AssignmentRef:
    try:
        return ids.parse_assignment_id(assignment_id)
    except ids.InvalidId:
        # A malformed id is refused exactly like an unknown one (and never reaches Redis).
        raise AssignmentNotFound("no such assignment") from None


def _own_live_lease(context: LeaseContext, volunteer_id: str) -> dict[str, Any]:
    """The lease record when it is the volunteer's and live; the same refusals as the scripts'."""
    record = context.record
    if record is None or record.get("vol") != volunteer_id:
        raise AssignmentNotFound("no such assignment")
    if record["state"] != "live":
        raise LeaseNotLive(str(record["state"]))
    if context.now_ms >= int(record["expires"]):
        raise LeaseNotLive("expired")
    return record


class Claims:
    """The volunteer side of the board, for the API."""

    def __init__(
        self,
        board: AsyncBoard,
        client: redis.asyncio.Redis,
        keys: Keys,
        *,
        max_live: int,
        catalogue: ProjectCatalogue | None = None,
    ) -> None:
        self.board = board
        self.ops = board.ops
        self.client = client
        self.keys = keys
        self.max_live = max_live
        # Without a shared catalogue (one per API process), every claim reads Redis afresh.
        self.catalogue = catalogue or ProjectCatalogue(client, keys, board, ttl_seconds=0.0)
        self.matcher = Matcher(board, keys, self.catalogue)
        self.shown: Recent[str, Shown] = Recent(SHOWN_TTL_SECONDS, SHOWN_MAX_ENTRIES)
        self.hand_backs = HandBacks(board)

    async def aclose(self) -> None:
        await self.hand_backs.aclose()

    async def claim(
        self,
        volunteer: VolunteerLike,
        *,
        task_types: Sequence[str] | None = None,
        project_id: str | None = None,
        cap: int | None = None,
        profile_rev: int | None = None,
    ) -> Assignment | None:
        """Lease a task that fits the volunteer, or None when nothing does. ``cap``: the most
        live assignments this volunteer may hold (``max_live`` by default; it grows with their
        accepted answers, ``Settings.live_assignment_cap``). ``profile_rev``: the stamp of the
        profile ``volunteer`` was read from, when remembered (``ProfileChanged`` when it is no
        longer the profile's, checked by the reservation: no round trip more)."""
        require_charter(volunteer)
        cards = await self.matcher.candidates(
            volunteer, task_types=task_types, project_id=project_id
        )
        if not cards:
            return None
        reservation = "res:" + ids.new_token_part()
        best, rest = cards[0], cards[1:]
        # The reservation and the claim on the best project, in one round trip (see the module
        # docstring): a claim made while the reservation was refused is handed back at once.
        live_cap = self.max_live if cap is None else min(cap, self.max_live)
        reserve = self.ops.reserve_slot(
            volunteer.id, reservation, live_cap, RESERVATION_HOLD_MS, profile_rev
        )
        token = ids.new_token_part()
        try:
            pair = await self.board.run_pair(
                reserve, self.ops.claim(best.id, volunteer.id, token=token)
            )
        except REDIS_FAILURES:  # the round trip failed as a whole (one node, one connection)
            self._hand_back_lost(best.id, volunteer.id, token)
            raise
        reserved, first = pair
        if isinstance(first, RedisFailure):
            self._hand_back_lost(best.id, volunteer.id, token)
        if isinstance(reserved, RucheError | RedisFailure):
            if isinstance(first, Claimed):  # refused (the cap) or failed: no lease kept
                stale = isinstance(reserved, ProfileChanged)
                await self._hand_back(
                    first, volunteer.id, PROFILE_CHANGED if stale else OVER_THE_CAP
                )
            raise reserved
        found: tuple[ProjectCard, Claimed] | None = (
            (best, first) if isinstance(first, Claimed) else None
        )
        try:
            if isinstance(first, RucheError | RedisFailure) and not isinstance(
                first, ProjectNotFound
            ):
                raise first
            if found is None:
                found = await self._claim_first(rest, volunteer.id)
            if found is None and project_id is None and len(cards) >= MAX_PROJECTS_TRIED:
                found = await self._claim_further(volunteer, cards, task_types)
        finally:
            if found is None:
                await self.board.run(self.ops.drop_slot(volunteer.id, reservation))
        if found is None:
            return None
        card, lease = found
        confirm = self.ops.confirm_slot(
            volunteer.id, reservation, lease.assignment_id, lease.expires_at_ms
        )
        try:
            await self.board.run(confirm)
        except REDIS_FAILURES as failed:
            # The lease was taken: answer it. The reservation holds the slot until it lapses.
            log.warning("claim.slot_not_confirmed", error_type=type(failed).__name__)
        if not lease.gold and lease.payload_length <= SHOWN_MAX_PAYLOAD:
            self.shown.put(lease.assignment_id, Shown(volunteer.id, card.task_type, lease.payload))
        try:
            document = await self.catalogue.document(card.id)
        except REDIS_FAILURES as failed:  # the lease is taken: answer it, without instructions
            log.warning("claim.document_not_read", error_type=type(failed).__name__)
            document = {}
        return Assignment(
            id=lease.assignment_id,
            project_id=card.id,
            task_id=lease.task_id,
            task_type=card.task_type,
            instructions=str(document.get("instructions", "")),
            expires_at_ms=lease.expires_at_ms,
            payload=lease.payload,
            gold=lease.gold,
        )

    async def _hand_back(self, lease: Claimed, volunteer_id: str, reason: str) -> None:
        """Release a lease its volunteer will never hear of (they never saw the task)."""
        try:
            await self.board.run(
                self.ops.release(lease.assignment_id, volunteer_id, reason, unseen=True)
            )
        except REDIS_FAILURES as failed:  # tried again in the background
            log.warning("claim.hand_back_failed", error_type=type(failed).__name__)
            token = ids.parse_assignment_id(lease.assignment_id).token
            self._hand_back_lost(lease.project_id, volunteer_id, token, reason)

    def _hand_back_lost(
        self, project_id: str, volunteer_id: str, token: str, reason: str = REPLY_LOST
    ) -> None:
        """A claim sent with ``token`` failed on its way (its lease, if it took one, is one
        its volunteer never saw): handed back in the background (:mod:`core.board.hand_backs`)."""
        undo = self.ops.release_lost_claim(project_id, volunteer_id, token, reason)
        self.hand_backs.later(undo, event="claim.lost_lease", project_id=project_id)

    async def _claim_further(
        self,
        volunteer: VolunteerLike,
        tried: Sequence[ProjectCard],
        task_types: Sequence[str] | None,
    ) -> tuple[ProjectCard, Claimed] | None:
        """The best projects had nothing for the volunteer (no open task, or only ones they took
        or skipped): the next ones that fit, up to :data:`MAX_PROJECTS_LOOKED_AT`, are checked in
        one round trip (``count_claimable.lua``, read-only, each bounded like a claim) and those
        with a task for them claimed in turn. Without it, an organisation's finished projects
        (still open for late answers) could hide a project with work: 204 while work waits."""
        seen = {card.id for card in tried}
        wider = await self.matcher.candidates(
            volunteer, task_types=task_types, limit=MAX_PROJECTS_LOOKED_AT
        )
        further = [card for card in wider if card.id not in seen]
        if not further:
            return None
        checks = [self.ops.count_claimable(card.id, volunteer.id) for card in further]
        counted: list[Claimable] = await self.board.run(Batch(checks, list))
        open_ones = [card for card, n in zip(further, counted, strict=True) if n.available]
        return await self._claim_first(open_ones, volunteer.id)

    async def _claim_first(
        self, cards: Sequence[ProjectCard], volunteer_id: str
    ) -> tuple[ProjectCard, Claimed] | None:
        for card in cards:
            token = ids.new_token_part()
            try:
                outcome = await self.board.run(self.ops.claim(card.id, volunteer_id, token=token))
            except ProjectNotFound:
                continue  # deleted since the index was read
            except REDIS_FAILURES:
                self._hand_back_lost(card.id, volunteer_id, token)
                raise
            if isinstance(outcome, Claimed):
                return card, outcome
        return None

    async def get(self, volunteer_id: str, assignment_id: str) -> Assignment:
        """A live assignment of this volunteer, payload included (they hold it)."""
        ref = _assignment_ref(assignment_id)
        context = await self.board.run(self.ops.lease_context(assignment_id))
        record = _own_live_lease(context, volunteer_id)
        return Assignment(
            id=assignment_id,
            project_id=ref.project_id,
            task_id=ref.task_id,
            task_type=str(context.document.get("task_type", "")),
            instructions=str(context.document.get("instructions", "")),
            expires_at_ms=int(record["expires"]),
            payload=context.payload or {},
            gold=context.gold is not None,
        )

    async def practice(self, volunteer_id: str, assignment_id: str) -> Practice:
        """The volunteer's submitted answer to a gold task and the answer expected, with the
        NGO's explanation. Anything else (someone else's assignment, a live or given-back one,
        a task that is not gold) is ``AssignmentNotFound``, like an unknown id. Two round trips:
        the lease context, then the task's answers and the qualification record."""
        ref = _assignment_ref(assignment_id)
        context = await self.board.run(self.ops.lease_context(assignment_id))
        record = context.record
        if (
            record is None
            or record.get("vol") != volunteer_id
            or record.get("state") != "submitted"
            or context.gold is None
        ):
            raise AssignmentNotFound("no such assignment")
        pk = self.keys.project(ref.project_id)
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hget(pk.answers, ref.task_id)
            pipe.hget(pk.qualification, volunteer_id)
            raw_answers, raw_qualification = await pipe.execute()
        entries = json.loads(raw_answers) if raw_answers else []
        entry = next((e for e in entries if e.get("submission_id") == record.get("sub")), None)
        if entry is None:  # the task was deleted meanwhile
            raise AssignmentNotFound("no such assignment")
        task_type = str(context.document.get("task_type", ""))
        expected = dict(context.gold.get("answer") or {})
        scored = score_gold(task_type, context.payload, entry["answer"], expected)
        qualification = json.loads(raw_qualification) if raw_qualification else None
        return Practice(
            assignment_id=assignment_id,
            project_id=ref.project_id,
            task_id=ref.task_id,
            task_type=task_type,
            correct=scored.correct,
            score=scored.score,
            answer=dict(entry["answer"]),
            expected=expected,
            explanation=context.gold.get("explanation"),
            payload=context.payload or {},
            qualification=qualification if context.document.get("qualification") else None,
        )

    async def reopened(self, assignment: Assignment) -> Reopened | None:
        """The reviewer's reopen behind the assignment's task, if it was reopened: what its
        next volunteers see before answering (the latest decision of ``P:decisions``; once the
        task is decided again, another decision replaces it). One round trip."""
        decision = await self.board.run(
            self.ops.decision(assignment.project_id, assignment.task_id)
        )
        if not decision or decision.get("action") != "reopen":
            return None
        comment = decision.get("comment")
        return Reopened(int(decision.get("at") or 0), comment if isinstance(comment, str) else None)

    async def qualifying(self, volunteer_id: str, project_id: str) -> bool:
        """Whether the project holds the volunteer to a qualification round they have not passed
        yet (its tasks are then all practice items: gold tasks)."""
        document = await self.catalogue.document(project_id)
        if not document.get("qualification"):
            return False
        raw = await self.client.hget(self.keys.project(project_id).qualification, volunteer_id)
        return not (raw and json.loads(raw).get("passed"))

    async def live(self, volunteer_id: str) -> list[LiveAssignment]:
        """The volunteer's assignments whose lease is live, soonest to expire first."""
        slots = await self.board.run(self.ops.live_slots(volunteer_id))
        records = await asyncio.gather(
            *(self.board.run(self.ops.assignment(aid)) for aid, _ in slots),
            return_exceptions=True,
        )
        live = []
        for (assignment_id, _), record in zip(slots, records, strict=True):
            if isinstance(record, AssignmentNotFound):
                continue
            if isinstance(record, BaseException):
                raise record
            if record.get("vol") == volunteer_id and record.get("state") == "live":
                ref = ids.parse_assignment_id(assignment_id)
                live.append(
                    LiveAssignment(assignment_id, ref.project_id, ref.task_id, record["expires"])
                )
        return sorted(live, key=lambda a: (a.expires_at_ms, a.id))

    async def heartbeat(self, volunteer_id: str, assignment_id: str) -> Heartbeat:
        _assignment_ref(assignment_id)
        beat = await self.board.run(self.ops.heartbeat(assignment_id, volunteer_id))
        await self.board.run(self.ops.extend_slot(volunteer_id, assignment_id, beat.expires_at_ms))
        return beat

    async def submit(
        self,
        volunteer_id: str,
        assignment_id: str,
        answer: dict[str, Any],
        seconds_spent: float | None = None,
    ) -> Submitted:
        """Validate the answer against the task it answers, then record it on the live lease.

        The lease is checked before the answer (a dead lease is 409 whatever the answer), and
        again, authoritatively, by the submit script.
        """
        _assignment_ref(assignment_id)
        validated, gold = None, None
        shown = self.shown.get(assignment_id)
        if shown is not None and shown.volunteer_id == volunteer_id:
            # Refused: the reading path below checks the lease first (409 before 422).
            with contextlib.suppress(RucheError):
                validated = validate_answer(shown.task_type, shown.payload, answer)
        if validated is None:
            context = await self.board.run(self.ops.lease_context(assignment_id))
            _own_live_lease(context, volunteer_id)
            task_type = context.document.get("task_type")
            validated = validate_answer(task_type, context.payload, answer)
            gold = (
                score_gold(task_type, context.payload, validated, context.gold["answer"])
                if context.gold is not None
                else None
            )
        # The slot goes back in the same round trip, refused or not: a refusal here means the
        # lease died meanwhile (its slot is free anyway), or is not this volunteer's (not in
        # their slots, so nothing is removed).
        try:
            outcome = await self.board.run_then(
                self.ops.submit(
                    assignment_id,
                    volunteer_id,
                    validated,
                    seconds_spent,
                    gold_score=gold.score if gold else None,
                    gold_correct=gold.correct if gold else False,
                ),
                self.ops.drop_slot(volunteer_id, assignment_id),
            )
        finally:
            self.shown.forget(assignment_id)
        submitted, dropped = outcome
        if isinstance(dropped, RedisFailure):  # stored: answered so; the slot lapses
            log.warning("submit.slot_not_released", error_type=type(dropped).__name__)
        return submitted

    async def release(self, volunteer_id: str, assignment_id: str, reason: str) -> None:
        _assignment_ref(assignment_id)
        await self.board.run_then(
            self.ops.release(assignment_id, volunteer_id, reason),
            self.ops.drop_slot(volunteer_id, assignment_id),
        )
        self.shown.forget(assignment_id)
