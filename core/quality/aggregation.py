"""Cross-validation: what a task's redundant answers add up to, and what happens to the task.

:func:`aggregate_task` runs when a task has all the answers it asked for (the ``tasks.aggregate``
actor, on ``answer.submitted``). It reads the task, its answers and its project in one round
trip, lets the project's task type decide (:meth:`TaskType.aggregate`), then takes one step:

- the answers agree: the result is published and the task resolved, in one script
  (``resolve_task``), unless the project's ``spot_check_rate`` samples it for a reviewer;
- they disagree and the task asked for fewer answers than the project allows
  (``max_redundancy``, by default its ``redundancy``: no dynamic redundancy unless the NGO asked
  for it) and the project is still open (not closed, not past its deadline): one more answer is
  asked for (``extend_task``);
- otherwise it goes to the reviewers (``open_review``, reason ``disagreement``).

Safe to run twice, in sequence or at once: a task no longer aggregating is left alone, and every
step names what it applies (decision id ``<task>:<answers>``, the need it saw), so a second run
with the same answers writes nothing and a stale one, computed before the task moved on, too.

Weights: the answering volunteers' reputations (:mod:`core.quality.reputation`), read in one more
round trip, as :class:`~task_types.reliability.Reliability` values: every type then runs its
posterior model, and the verdict's confidence is the probability that the chosen answer is right.
The project's ``review.agreement`` is the confidence required (default: the type's
``default_confidence``), so dynamic redundancy asks for another answer exactly while the
confidence is short of it (:func:`plan`). A decision, resolved, spot-checked or sent to review,
first credits each author with the posterior that their answer is right (a soft credit, replaced
when a reviewer settles the task: :mod:`core.review.settlement`); the credit names the decision,
so a second run credits nobody twice (:func:`decide`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError

from core.board.runner import Board
from core.delivery.results import Result
from core.errors import TaskClosed
from core.ids import VOLUNTEER_ID
from core.quality import provisional
from core.quality.outcomes import AggregationContext, NeedCapReached, PipelineOps, TaskMovedOn
from core.quality.prior import class_counts
from core.quality.project_quality import ProjectQuality, record_decision, settle
from core.quality.reputation import ReputationOps, agreement_updates, apply_updates
from core.quality.reputation_model import reprior
from task_types import InvalidAnswer, TaskType, Verdict
from task_types import get as get_task_type
from task_types.base import THRESHOLD_TOLERANCE
from task_types.reliability import NEUTRAL, Reliability

__all__ = [
    "Aggregated",
    "Decision",
    "Outcome",
    "ParsedTask",
    "Weighed",
    "aggregate_task",
    "agrees",
    "canonical_answer",
    "decide",
    "parse_task",
    "plan",
    "spot_checked",
    "weigh",
]

log = structlog.get_logger(__name__)

AnyType = TaskType[Any, Any]


class Outcome(StrEnum):
    RESOLVED = "resolved"  # result published, task resolved
    EXTENDED = "extended"  # one more answer asked for
    REVIEW = "review"  # sent to the reviewers: the answers disagree
    SPOT_CHECK = "spot_check"  # the answers agree, but the task was sampled for a reviewer
    NOTHING = "nothing"  # the task is not aggregating (handled already, or gone elsewhere)


@dataclass(frozen=True, slots=True)
class Aggregated:
    outcome: Outcome
    task_id: str
    changed: bool  # False: an earlier run had taken this very step (nothing written)
    decision_id: str | None = None
    confidence: float | None = None
    reason: str = ""  # why nothing was done, or the verdict's reason
    refit_due: bool = False  # the project's refit is due (core.quality.refit)


@dataclass(frozen=True, slots=True)
class ParsedTask:
    """A task's payload and answers as its type reads them. ``answers[i]`` is the normalised
    answer of ``entries[i]``, or None when it no longer parses (it then abstains)."""

    kind: AnyType
    payload: BaseModel = field(repr=False)
    entries: list[dict[str, Any]] = field(repr=False)
    answers: list[BaseModel | None] = field(repr=False)


def parse_task(context: AggregationContext) -> ParsedTask:
    """Read a task with its project's type (``UnknownTaskType`` if it is not installed)."""
    kind: AnyType = get_task_type(str(context.document.get("task_type")))
    payload = kind.parse_payload(context.payload or {})
    answers: list[BaseModel | None] = []
    for entry in context.answers:
        try:
            parsed = kind.parse_answer(payload, entry.get("answer") or {})
            answers.append(kind.normalise(payload, parsed))
        except (ValidationError, InvalidAnswer):
            # Validated when submitted; a type changed since must not block the whole task.
            log.warning("aggregate.answer_unreadable", submission=entry.get("submission_id"))
            answers.append(None)
    return ParsedTask(kind, payload, list(context.answers), answers)


def canonical_answer(kind: AnyType, payload: BaseModel, raw: Mapping[str, Any]) -> dict[str, Any]:
    """A final answer (a reviewer's choice or correction) in its type's canonical form; as
    given when it does not parse (the API validated it already)."""
    try:
        parsed = kind.answer_model.model_validate(raw)
        return dict(kind.normalise(payload, parsed).model_dump(mode="json"))
    except (ValidationError, InvalidAnswer):
        return dict(raw)


def agrees(kind: AnyType, payload: BaseModel, answer: BaseModel | None, final: Any) -> bool:
    """Whether a volunteer's (normalised) answer matches a final answer: its type's score
    against it reaches the type's default agreement threshold."""
    if answer is None or not isinstance(final, Mapping):
        return False
    try:
        gold = kind.normalise(payload, kind.answer_model.model_validate(final))
    except (ValidationError, InvalidAnswer):
        return False
    return kind.score(payload, answer, gold) >= kind.default_threshold - THRESHOLD_TOLERANCE


def spot_checked(rate: float, project_id: str, decision_id: str) -> bool:
    """Whether an agreed decision is sampled for review: deterministic (a hash of the decision),
    so a second run of the same decision samples it the same way."""
    if rate <= 0:
        return False
    digest = hashlib.sha256(f"{project_id}:{decision_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


@dataclass(frozen=True, slots=True)
class Weighed:
    """A task's readable answers with their authors' reliabilities, and the verdict on them."""

    verdict: Verdict
    kind: AnyType = field(repr=False)  # the task type as it decided (with the class prior)
    answers: list[BaseModel] = field(repr=False)
    volunteers: list[str]
    reliabilities: list[Reliability] = field(repr=False)


def weigh(
    board: Board,
    project_id: str,
    task_id: str,
    parsed: ParsedTask,
    threshold: float | None,
    prior: Mapping[str, float] | None = None,
    quality: ProjectQuality | None = None,
    *,
    final: bool = False,
) -> Weighed:
    """Read the authors' reputations (one round trip) and let the task type decide with them,
    from the class ``prior`` (:func:`core.quality.prior.class_counts`; None: uniform); with the
    project's ``quality``, each accuracy shrunk towards the project's newcomer prior rather
    than the global one (:func:`core.quality.reputation_model.reprior`), and the confidence
    calibrated and compared with the threshold in force
    (:func:`core.quality.project_quality.settle`; ``final``: no more answers may come)."""
    pairs = [
        (str(entry.get("volunteer_id") or ""), answer)
        for entry, answer in zip(parsed.entries, parsed.answers, strict=True)
        if answer is not None
    ]
    volunteers = [volunteer for volunteer, _ in pairs]
    answers = [answer for _, answer in pairs]
    known = [volunteer for volunteer in volunteers if VOLUNTEER_ID.match(volunteer)]
    ops = ReputationOps(board.keys, board.clock)
    read = board.run(ops.reliabilities(project_id, parsed.kind.name, known, deciding=task_id))
    found = dict(zip(known, read, strict=True))
    newcomers = quality.newcomer_accuracy if quality is not None else None
    reliabilities = [reprior(found.get(volunteer, NEUTRAL), newcomers) for volunteer in volunteers]
    kind = parsed.kind.with_prior(prior) if prior else parsed.kind
    verdict = kind.aggregate(parsed.payload, answers, reliabilities, threshold=threshold)
    if quality is not None:
        verdict = settle(verdict, quality, threshold, final=final)
    return Weighed(verdict, kind, answers, volunteers, reliabilities)


def plan(verdict: Verdict, *, need: int, ceiling: int, closed: bool, sampled: bool) -> Outcome:
    """The step a verdict calls for: resolve (or spot-check) when it is agreed, i.e. confident
    enough; else one more answer while the task may have one; else a reviewer."""
    if verdict.agreed and verdict.answer is not None:
        return Outcome.SPOT_CHECK if sampled else Outcome.RESOLVED
    if need < ceiling and not closed:
        return Outcome.EXTENDED
    return Outcome.REVIEW


def aggregate_task(board: Board, project_id: str, task_id: str) -> Aggregated:
    """Decide an aggregating task and take the step that follows (see the module docstring)."""
    ops = PipelineOps(board.keys, board.clock)
    context = board.run(ops.aggregation_context(project_id, task_id))
    task = context.task
    if task is None:
        return Aggregated(Outcome.NOTHING, task_id, False, reason="no_task")
    if task["state"] != "aggregating":
        return Aggregated(Outcome.NOTHING, task_id, False, reason=str(task["state"]))

    parsed = parse_task(context)
    answers, need = int(task["answers"]), int(task["need"])
    decision = decide(
        board, project_id, task_id, parsed, context.document,
        answers=answers, need=need, closed=context.closed, gold=context.gold,
        quality=ProjectQuality.from_json(context.quality),
    )  # fmt: skip
    done = _take_step(board, ops, project_id, task, task_id, parsed, decision, answers, need)
    return replace(done, refit_due=decision.refit_due) if decision.refit_due else done


def _take_step(
    board: Board,
    ops: PipelineOps,
    project_id: str,
    task: Mapping[str, Any],
    task_id: str,
    parsed: ParsedTask,
    decision: Decision,
    answers: int,
    need: int,
) -> Aggregated:
    step, verdict, decision_id = decision.step, decision.weighed.verdict, decision.decision_id
    ceiling = decision.ceiling
    reason = str(verdict.details.get("reason", ""))
    if step is Outcome.SPOT_CHECK:
        return _review(board, project_id, task, task_id, "spot_check", decision_id)
    if step is Outcome.RESOLVED and verdict.answer is not None:
        result = Result(
            task_id,
            verdict.answer,
            confidence=verdict.confidence,
            method="agreement",
            contributors=_contributors(parsed.entries),
        )
        try:
            resolution = board.run(
                ops.resolve_task(project_id, result, decision_id=decision_id, answers=answers)
            )
        except TaskMovedOn as moved:
            return Aggregated(Outcome.NOTHING, task_id, False, decision_id, reason=moved.state)
        return Aggregated(
            Outcome.RESOLVED, task_id, resolution.created, decision_id, verdict.confidence, reason
        )
    if step is Outcome.EXTENDED:
        try:
            extended = board.run(
                ops.extend_task(project_id, task_id, expected_need=need, ceiling=ceiling)
            )
        except NeedCapReached:
            extended = None  # the ceiling moved under us: a reviewer settles it instead
        if extended is not None:
            return Aggregated(
                Outcome.EXTENDED, task_id, extended, decision_id, verdict.confidence, reason
            )
    return _review(
        board, project_id, task, task_id, "disagreement", decision_id, verdict.confidence
    )


@dataclass(frozen=True, slots=True)
class Decision:
    """What :func:`decide` found: the step to take, on what, and the most answers allowed."""

    step: Outcome
    weighed: Weighed
    decision_id: str  # ``<task>:<answers>``
    ceiling: int
    refit_due: bool = False  # a final decision that completes a batch: time for a refit


def decide(
    board: Board,
    project_id: str,
    task_id: str,
    parsed: ParsedTask,
    document: Mapping[str, Any],
    *,
    answers: int,
    need: int,
    closed: bool,
    gold: Sequence[Mapping[str, Any]] = (),
    quality: ProjectQuality | None = None,
) -> Decision:
    """Weigh a task's answers, plan the step, and credit its authors: what
    :func:`aggregate_task` does before it writes the step (``bench/quality.py`` replays tasks
    through this very function).

    Every task decided or sent to a reviewer gives its authors soft evidence (the posterior
    that their answer is right); a review replaces it with the reviewer's answer when it comes.
    Learning only from accepted tasks would learn nothing from the hard ones, where poor
    volunteers err, and make them look reliable. A task given one more answer credits nobody
    yet: its next decision will.

    The class prior is the project's stated ``base_rates`` and its ``gold`` answers (a sample
    of them): :func:`core.quality.prior.class_counts`. The confidence goes through the
    project's calibration and meets its chosen threshold (``quality``, learnt by the refit:
    :mod:`core.quality.refit`). A final decision is recorded for the refit, which is due every
    so many of them."""
    policy: Mapping[str, Any] = document.get("review") or {}
    prior = class_counts(document.get("base_rates"), gold)
    ceiling = int(document.get("max_redundancy") or document.get("redundancy") or need)
    weighed = weigh(
        board, project_id, task_id, parsed, policy.get("agreement"), prior, quality,
        final=closed or need >= ceiling,
    )  # fmt: skip
    decision_id = f"{task_id}:{answers}"
    rate = float(policy.get("spot_check_rate") or 0.0)
    step = plan(
        weighed.verdict,
        need=need,
        ceiling=ceiling,
        closed=closed,
        sampled=spot_checked(rate, project_id, decision_id),
    )
    if step is not Outcome.EXTENDED:
        # Credit first: a crash after the step would leave the task decided and a second run
        # with nothing to do. The credit names the decision, so a second run adds nothing.
        _credit_agreement(board, project_id, task_id, decision_id, parsed, weighed)
        verdict = weighed.verdict
        raw = verdict.details.get("raw_confidence", verdict.confidence)
        pk = board.keys.project(project_id)
        # A task sent to review keeps the best guess meanwhile (core.quality.provisional).
        guess = (
            provisional.encode(verdict.answer, verdict.confidence, "aggregation")
            if step is Outcome.REVIEW and verdict.answer is not None
            else ""
        )
        reviewed = step is Outcome.REVIEW
        recording = record_decision(
            pk, board.clock, task_id, answers, float(raw), provisional=guess, reviewed=reviewed
        )
        recorded = board.run(recording)
        return Decision(step, weighed, decision_id, ceiling, recorded.refit_due)
    return Decision(step, weighed, decision_id, ceiling)


def _credit_agreement(
    board: Board,
    project_id: str,
    task_id: str,
    decision_id: str,
    parsed: ParsedTask,
    weighed: Weighed,
) -> int:
    updates = agreement_updates(
        weighed.kind,
        project_id,
        task_id,
        decision_id,
        parsed.payload,
        weighed.answers,
        weighed.reliabilities,
        weighed.volunteers,
    )
    return apply_updates(
        board, {volunteer: u for volunteer, u in updates.items() if VOLUNTEER_ID.match(volunteer)}
    )


def _review(
    board: Board,
    project_id: str,
    task: Mapping[str, Any],
    task_id: str,
    reason: str,
    decision_id: str,
    confidence: float | None = None,
) -> Aggregated:
    outcome = Outcome.SPOT_CHECK if reason == "spot_check" else Outcome.REVIEW
    try:
        opened = board.open_review(
            project_id, task_id, reason, priority=int(task.get("priority", 0))
        )
    except TaskClosed as closed:
        return Aggregated(Outcome.NOTHING, task_id, False, decision_id, reason=str(closed))
    return Aggregated(outcome, task_id, opened, decision_id, confidence, reason)


def _contributors(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """The pseudonymous volunteer ids behind the answers, in the order they answered."""
    return [str(entry["volunteer_id"]) for entry in entries if entry.get("volunteer_id")]
