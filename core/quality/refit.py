"""The periodic per-project refit, off the hot path (the ``quality.refit`` actor).

Every :data:`~core.quality.project_quality.REFIT_EVERY` final decisions of a project, the
``tasks.aggregate`` actor asks for one. It reads, bounded, the project's recent decided tasks
(the newest ``max_tasks`` of ``quality:recent``) with their answers, and a sample of its gold
tasks with the answers volunteers gave them, and:

1. **label types**: runs Dawid-Skene EM over them (:mod:`core.quality.dawid_skene`, from the
   fixed class prior, the online model's smoothing, gold as hard evidence) and puts each
   volunteer's expected confusion counts in place of their online ones for the project
   (``replace_reputation``), so a volunteer misjudged on their first answers, against decisions
   taken with everyone's early estimates, is judged again on everything the project saw;
2. **calibration**: decides each gold task from its volunteers' answers (the first
   ``redundancy``, then one more at a time up to the ceiling, as the policy asks, in
   :data:`GOLD_ORDERS` orders), each author's own gold evidence on it left out of their
   reliability, and fits a calibration of the confidence on whether those decisions were right
   (:mod:`core.quality.calibration`; one group's decisions weigh one check together);
3. **threshold**: chooses the one that keeps the review share near the project's
   ``review.target_share`` while the accepted tasks meet ``review.target_accuracy``, from the
   newest :data:`SHARE_WINDOW` decisions' calibrated confidences, and stores it with the
   calibration and what the refit did (the ``quality`` field of the project hash, shown in the
   project's API view);
4. **provisional answers**: gives each task of its window still waiting for a reviewer the
   label of its Dawid-Skene posterior, at that posterior calibrated by step 2's fit
   (:mod:`core.quality.provisional`); for a type without labels, the answer its own
   aggregation gives with the volunteers' reliabilities of now, calibrated the same way.

Decisions stay online: a task is decided with the estimates of its moment, and the refit never
touches a task, a result or a recorded decision: it writes reputations, the ``quality`` field
and the provisional answers of tasks waiting for a reviewer only. Idempotent: the reputation
writes name the refit (``refit:<project>:<refit>``), so a redelivered message writes none of
them again, and the ``quality`` field is recomputed from the same kind of reads. Bounded:
``max_tasks`` tasks (and :data:`~core.quality.prior.GOLD_SAMPLE` gold tasks) read, EM stopped
at ``max_seconds``.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError

from core.board.runner import Board
from core.board.script_calls import Batch, Commands, ScriptCall, dumps, json_or_none, text
from core.ids import VOLUNTEER_ID
from core.quality import dawid_skene, provisional
from core.quality.aggregation import parse_task
from core.quality.calibration import (
    Calibration,
    Check,
    RecentDecision,
    ThresholdChoice,
    choose_threshold,
    fit_calibration,
)
from core.quality.outcomes import AggregationContext
from core.quality.prior import GOLD_SAMPLE, class_counts
from core.quality.project_quality import QUALITY_FIELD, RecentMember, parse_recent, recent_key
from core.quality.reputation import REPUTATION_RETENTION_MS, ReputationOps
from core.quality.reputation_model import (
    PRIOR_ACCURACY,
    PRIOR_STRENGTH,
    project_field,
    reprior,
)
from core.redis.keys import ProjectKeys
from core.redis.scripts import ScriptName
from task_types import InvalidAnswer, TaskType
from task_types import get as get_task_type
from task_types.reliability import NEUTRAL, Evidence, Reliability

__all__ = [
    "DEFAULT_TARGET_ACCURACY",
    "DEFAULT_TARGET_SHARE",
    "GOLD_ORDERS",
    "NEWCOMER_BOUNDS",
    "NEWCOMER_PRIOR_ANSWERS",
    "REFIT_SECONDS",
    "REFIT_TASKS",
    "SHARE_WINDOW",
    "Refitted",
    "gold_checks",
    "newcomer_accuracy",
    "refit_project",
    "replacement",
]

log = structlog.get_logger(__name__)

AnyType = TaskType[Any, Any]

#: Recent decided tasks a refit reads (their answers: a few per task).
REFIT_TASKS = 2_000
#: Seconds the EM may take; it stops with its last complete estimate.
REFIT_SECONDS = 20.0
#: The newest decisions the threshold for the review share is chosen on. Confidences rise as
#: volunteers' records grow, so a threshold chosen on older ones sends fewer tasks to review
#: than it aims at (on the benchmark's long-tail crowd, 7.7 % for a 10 % target on the whole
#: window of up to 2,000; 8.5 % on the newest 200, and the other crowds nearer 10 % too).
SHARE_WINDOW = 200
#: The review share an NGO gets unless it sets ``review.target_share``.
DEFAULT_TARGET_SHARE = 0.10
#: The accuracy accepted tasks must reach unless it sets ``review.target_accuracy``.
DEFAULT_TARGET_ACCURACY = 0.90
#: Gold answers' worth of belief the global prior keeps in the newcomer prior (a project's
#: first few gold answers nudge it; a few hundred decide it)...
NEWCOMER_PRIOR_ANSWERS = 20.0
#: ...and the bounds it stays within: never below a coin's worth of trust in a newcomer (a
#: crowd of spammers and adversaries must not make strangers' answers count against what they
#: say), never above a reliable volunteer's.
NEWCOMER_BOUNDS = (0.5, 0.9)
_WRITE_BATCH = 500
#: Tasks waiting for review whose authors' reliabilities one pipeline reads.
_REJUDGE_BATCH = 100
_DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class Refitted:
    tasks: int  # decided tasks read
    answers: int  # their answers read
    gold_tasks: int
    volunteers: int  # reputations replaced now (0 when a previous run did it)
    iterations: int
    converged: bool
    checks: int  # gold decisions the calibration was fitted on
    choice: ThresholdChoice


@dataclass(frozen=True, slots=True)
class _Task:
    payload: BaseModel
    volunteers: list[str]
    answers: list[BaseModel]


def refit_project(
    board: Board,
    project_id: str,
    refit_id: str,
    *,
    max_tasks: int = REFIT_TASKS,
    max_seconds: float = REFIT_SECONDS,
) -> Refitted | None:
    """Refit one project (see the module docstring); None when it has no document."""
    pk = board.keys.project(project_id)
    document, recent, gold_records = board.run(
        Commands(
            [
                ("HGET", pk.project, "doc"),
                ("ZREVRANGE", recent_key(pk), 0, max(0, max_tasks - 1)),
                ("HRANDFIELD", pk.gold, GOLD_SAMPLE, "WITHVALUES"),
            ],
            lambda r: (json_or_none(r[0]), parse_recent(r[1] or []), _pairs(r[2])),
        )
    )
    if not document:
        return None
    kind: AnyType = get_task_type(str(document["task_type"]))
    decided: dict[str, RecentMember] = {}
    for member in recent:  # newest first: a task decided again (reopened) counts as it is now
        decided.setdefault(member.task_id, member)
    gold = {task: record["answer"] for task, record in gold_records.items()}
    tasks = _read_tasks(board, project_id, document, list(decided))
    gold_tasks = _read_tasks(board, project_id, document, list(gold))
    prior = class_counts(document.get("base_rates"), gold.values())
    newcomers, gold_answers = newcomer_accuracy(kind, gold_tasks, gold)
    started = time.monotonic()

    fitted: dawid_skene.Fit | None = None
    replaced = guessed = 0
    labels = _label_set([*tasks.values(), *gold_tasks.values()])
    if labels:
        truths = {task: _label(gold[task]) for task in gold_tasks}
        gold_votes = [
            (volunteer, str(getattr(answer, "label", "")), truths[task])
            for task, found in gold_tasks.items()
            for volunteer, answer in zip(found.volunteers, found.answers, strict=True)
            if truths[task]
        ]
        task_votes = [
            [
                (v, str(getattr(a, "label", "")))
                for v, a in zip(t.volunteers, t.answers, strict=True)
            ]
            for t in tasks.values()
        ]
        volunteers = sorted(
            {v for votes in task_votes for v, _ in votes} | {v for v, _, _ in gold_votes}
        )
        current = _reliabilities(board, project_id, kind, volunteers, newcomers)
        fitted = dawid_skene.fit(
            labels, task_votes, gold_votes, prior=prior,
            accuracy={v: r.accuracy for v, r in current.items()},
            deadline=started + max_seconds,
        )  # fmt: skip
        replaced = _replace_counts(board, project_id, kind, refit_id, fitted.counts)

    checks, checked = gold_checks(
        board, project_id, kind, document, gold_tasks, gold, prior, newcomers
    )
    calibration = fit_calibration(checks, checked)
    policy: Mapping[str, Any] = document.get("review") or {}
    explicit = policy.get("agreement")
    if fitted is not None:
        # The refit's guesses carry a calibrated confidence, as the aggregation's do.
        guessed = _replace_provisional(
            board, project_id, refit_id, labels, list(tasks), fitted.posteriors, calibration
        )
    elif not labels:
        guessed = _rejudge_provisional(
            board, project_id, refit_id, kind, tasks, calibration, newcomers, explicit,
            deadline=started + max_seconds,
        )  # fmt: skip
    newest = list(decided.values())[:SHARE_WINDOW]
    choice = choose_threshold(
        [RecentDecision(member.confidence, member.answers) for member in newest],
        calibration,
        ceiling=max(
            int(document.get("redundancy") or 1),
            int(document.get("max_redundancy") or document.get("redundancy") or 1),
        ),
        default=float(explicit) if explicit is not None else kind.default_confidence,
        target_share=float(policy.get("target_share") or DEFAULT_TARGET_SHARE),
        target_accuracy=float(policy.get("target_accuracy") or DEFAULT_TARGET_ACCURACY),
        recent_share=sum(m.reviewed for m in newest) / len(newest) if newest else None,
    )
    if explicit is not None:
        choice = replace(
            choice, threshold=float(explicit), reason="set",
            note=f"The project's review.agreement ({float(explicit):.2f}) applies; the "
            "calibration still makes the confidence it is compared with mean what it says.",
        )  # fmt: skip
    state = {
        "calibration": calibration.to_json(),
        "threshold": choice.to_json(),
        "newcomers": {"accuracy": round(newcomers, 4), "gold_answers": gold_answers},
        "refit": {
            "id": refit_id,
            "at_ms": int(board.clock.script_now() or time.time() * 1000),
            "tasks": len(tasks),
            "answers": sum(len(t.answers) for t in tasks.values()),
            "gold_tasks": len(gold_tasks),
            "iterations": fitted.iterations if fitted else 0,
            "converged": bool(fitted and fitted.converged),
            "provisional": guessed,
        },
    }
    board.run(Commands([("HSET", pk.project, QUALITY_FIELD, dumps(state))], lambda _: None))
    done = Refitted(
        len(tasks), state["refit"]["answers"], len(gold_tasks), replaced,
        fitted.iterations if fitted else 0, bool(fitted and fitted.converged),
        calibration.checks, choice,
    )  # fmt: skip
    log.info("quality.refit", project_id=project_id, refit_id=refit_id, tasks=done.tasks,
             volunteers=done.volunteers, checks=done.checks, threshold=choice.threshold,
             reason=choice.reason)  # fmt: skip
    return done


def _pairs(reply: Any) -> dict[str, dict[str, Any]]:
    """``HRANDFIELD … WITHVALUES`` as task -> gold record (readable ones with an answer)."""
    items = list(reply or [])
    pairs = (
        [(p[0], p[1]) for p in items]
        if items and isinstance(items[0], list | tuple)
        else list(zip(items[0::2], items[1::2], strict=True))
    )
    found = {}
    for task, raw in pairs:
        try:
            record = json.loads(raw)
        except (TypeError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(record.get("answer"), dict):
            found[text(task)] = record
    return found


def _read_tasks(
    board: Board, project_id: str, document: Mapping[str, Any], task_ids: Sequence[str]
) -> dict[str, _Task]:
    """The tasks' payloads and readable answers (one pipeline)."""
    if not task_ids:
        return {}
    pk = board.keys.project(project_id)
    payloads, answers = board.run(
        Commands(
            [("HMGET", pk.payloads, *task_ids), ("HMGET", pk.answers, *task_ids)],
            lambda r: (r[0], r[1]),
        )
    )
    found: dict[str, _Task] = {}
    for task, payload, entries in zip(task_ids, payloads, answers, strict=True):
        if payload is None or entries is None:
            continue
        context = AggregationContext(
            task=None, payload=json.loads(payload), answers=list(json.loads(entries) or []),
            document=dict(document),
        )  # fmt: skip
        try:
            parsed = parse_task(context)
        except (ValidationError, InvalidAnswer):
            continue
        pairs = [
            (str(entry.get("volunteer_id") or ""), answer)
            for entry, answer in zip(parsed.entries, parsed.answers, strict=True)
            if answer is not None
        ]
        found[task] = _Task(parsed.payload, [v for v, _ in pairs], [a for _, a in pairs])
    return found


def _label(answer: Mapping[str, Any]) -> str:
    label = answer.get("label")
    return label if isinstance(label, str) else ""


def _label_set(tasks: Sequence[_Task]) -> list[str]:
    """The labels most of the project's tasks list (a label type's), or [] for other types."""
    sets = Counter(
        tuple(labels)
        for task in tasks
        if isinstance(labels := getattr(task.payload, "labels", None), list)
    )
    return list(sets.most_common(1)[0][0]) if sets else []


def newcomer_accuracy(
    kind: AnyType, gold_tasks: Mapping[str, _Task], gold: Mapping[str, Mapping[str, Any]]
) -> tuple[float, int]:
    """The accuracy a volunteer without a record starts from in this project, and the gold
    answers it was learnt from: the share of the project's gold answers that were right (the
    type's own hard evidence, so a data-entry answer counts its fields), shrunk towards the
    global prior by :data:`NEWCOMER_PRIOR_ANSWERS` and kept within :data:`NEWCOMER_BOUNDS`.

    Empirical Bayes: the prior every reputation starts from (0.7) is a guess about crowds in
    general. A project where half the crowd answers at random has newcomers right about 0.57
    of the time; weighed at 0.7, three of them agreeing looked near certain, so the first
    tasks (decided before anyone had a record) were accepted on three answers where a fourth
    or a fifth was needed. Gold answers are the one unbiased sample of how right this
    project's volunteers are: a lone volunteer's record says little about them, the pooled
    record a lot."""
    right, answers = 0.0, 0
    for task_id, task in gold_tasks.items():
        try:
            expected = kind.normalise(task.payload, kind.answer_model.model_validate(gold[task_id]))
        except (ValidationError, InvalidAnswer):
            continue
        for found in kind.hard_evidence(task.payload, task.answers, expected):
            if found is not None:
                right += found.right
                answers += 1
    low, high = NEWCOMER_BOUNDS
    shrunk = (PRIOR_ACCURACY * NEWCOMER_PRIOR_ANSWERS + right) / (NEWCOMER_PRIOR_ANSWERS + answers)
    return min(high, max(low, shrunk)), answers


def _reliabilities(
    board: Board,
    project_id: str,
    kind: AnyType,
    volunteers: Sequence[str],
    newcomers: float | None = None,
) -> dict[str, Reliability]:
    """The volunteers' reliabilities as decisions read them (with the newcomer prior)."""
    known = [v for v in volunteers if VOLUNTEER_ID.match(v)]
    ops = ReputationOps(board.keys, board.clock)
    read = board.run(ops.reliabilities(project_id, kind.name, known)) if known else []
    return {v: reprior(r, newcomers) for v, r in zip(known, read, strict=True)}


def replacement(
    board: Board,
    volunteer: str,
    event_id: str,
    name: str,
    counts: Mapping[str, Mapping[str, float]],
) -> ScriptCall[bool]:
    """``replace_reputation``: the confusion counts ``counts`` in place of the volunteer's in
    document ``name`` (``p:<type>:<project>``), once per ``event_id``; True when written now."""
    return ScriptCall(
        ScriptName.REPLACE_REPUTATION,
        [board.keys.reputation(volunteer)],
        [
            board.clock.script_now(), event_id, REPUTATION_RETENTION_MS, name,
            dumps({t: {a: round(c, 6) for a, c in row.items()} for t, row in counts.items()}),
            round(board.reputation_half_life_days * _DAY_MS),
        ],
        lambda r: int(r) == 1,
    )  # fmt: skip


def _replace_counts(
    board: Board,
    project_id: str,
    kind: AnyType,
    refit_id: str,
    counts: Mapping[str, Mapping[str, Mapping[str, float]]],
) -> int:
    """Each volunteer's confusion counts for the project replaced by the refit's (pipelines
    of :data:`_WRITE_BATCH`); how many were replaced now."""
    name = project_field(kind.name, project_id)
    event = f"refit:{project_id}:{refit_id}"
    calls = [
        replacement(board, volunteer, event, name, rows)
        for volunteer, rows in sorted(counts.items())
        if VOLUNTEER_ID.match(volunteer)
    ]
    replaced = 0
    for start in range(0, len(calls), _WRITE_BATCH):
        chunk = calls[start : start + _WRITE_BATCH]
        replaced += board.run(Batch(chunk, lambda done: sum(1 for d in done if d)))
    return replaced


def _replace_provisional(
    board: Board,
    project_id: str,
    refit_id: str,
    labels: Sequence[str],
    task_ids: Sequence[str],
    posteriors: Sequence[Sequence[float]],
    calibration: Calibration,
) -> int:
    """The refit's guess in place of the provisional answer of each task of its window still
    waiting for a reviewer (:mod:`core.quality.provisional`); how many were replaced.

    The label the posterior puts first, at that posterior through ``calibration`` (the
    refit's fit, as the aggregation's confidence goes through it). When it is the label the task
    already shows, the answer keeps its other fields (a moderation's reasons)."""
    pk = board.keys.project(project_id)
    held = task_ids[: len(posteriors)]
    if not held:
        return 0
    stored = _provisional_answers(board, pk, held)
    guesses: dict[str, str] = {}
    for task_id, posterior, current in zip(held, posteriors, stored, strict=True):
        if current is None:
            continue
        best = max(range(len(labels)), key=lambda z: (posterior[z], -z))
        answer = (
            current.answer
            if current.answer.get("label") == labels[best]
            else {"label": labels[best]}
        )
        confidence = min(1.0, max(0.0, calibration(posterior[best])))
        guesses[task_id] = provisional.encode(answer, confidence, "refit", refit_id)
    return board.run(provisional.replacements(pk, guesses)) if guesses else 0


def _provisional_answers(
    board: Board, pk: ProjectKeys, task_ids: Sequence[str]
) -> list[provisional.Provisional | None]:
    """The provisional answers stored for ``task_ids``, in order (None: not waiting for a
    reviewer), in one round trip."""
    return board.run(
        Commands(
            [("HMGET", pk.provisional, *task_ids)],
            lambda r: [provisional.parse(v) for v in r[0]],
        )
    )


def _rejudge_provisional(
    board: Board,
    project_id: str,
    refit_id: str,
    kind: AnyType,
    tasks: Mapping[str, _Task],
    calibration: Calibration,
    newcomers: float | None,
    threshold: float | None,
    *,
    deadline: float,
) -> int:
    """For a type without labels (data entry, translation), which has no EM: each task of the
    window still waiting for a reviewer decided again by the type's own aggregation, with its
    volunteers' reliabilities as they are now (their agreement on that very task left out, as
    when it was decided), at that confidence through ``calibration``; how many were replaced.
    Past ``deadline`` (monotonic seconds) the tasks not reached keep the guess they had.

    A task sent to review among a project's first, when nobody had a record, was weighed with
    everyone at the prior: on the benchmark's data entry at three answers a task, more than a
    third of the tasks Wawa (batch, with the whole run's skills) got right and Ruche's first
    guess did not were among the first hundred of 600."""
    pk = board.keys.project(project_id)
    held = list(tasks)
    if not held:
        return 0
    stored = _provisional_answers(board, pk, held)
    waiting = [task_id for task_id, current in zip(held, stored, strict=True) if current]
    ops = ReputationOps(board.keys, board.clock)
    guesses: dict[str, str] = {}
    for start in range(0, len(waiting), _REJUDGE_BATCH):
        if time.monotonic() > deadline:
            break
        chunk = waiting[start : start + _REJUDGE_BATCH]
        known = {t: [v for v in tasks[t].volunteers if VOLUNTEER_ID.match(v)] for t in chunk}
        reads = {t: ops.reliabilities(project_id, kind.name, known[t], deciding=t) for t in chunk}
        calls = [call for read in reads.values() for call in read.calls]
        replies = board.run(Batch(calls, list)) if calls else []
        at = 0
        for task_id in chunk:
            read, task = reads[task_id], tasks[task_id]
            found = dict(
                zip(known[task_id], read.combine(replies[at : at + len(read.calls)]), strict=True)
            )
            at += len(read.calls)
            reliabilities = [reprior(found.get(v, NEUTRAL), newcomers) for v in task.volunteers]
            verdict = kind.aggregate(task.payload, task.answers, reliabilities, threshold=threshold)
            if verdict.answer is None:
                continue
            confidence = min(1.0, max(0.0, calibration(verdict.confidence)))
            guesses[task_id] = provisional.encode(verdict.answer, confidence, "refit", refit_id)
    return board.run(provisional.replacements(pk, guesses)) if guesses else 0


#: The orders each gold task's answers are grouped in, as the policy would take them (the order
#: they came in and its rotations), each group weighing its share: every answer takes part, not
#: only those that fill whole groups, and no one grouping decides the fit. On the benchmark's
#: data entry with half the crowd poor, four took the ECE from 4.7 to 3.8 points.
GOLD_ORDERS = 4


def gold_checks(
    board: Board,
    project_id: str,
    kind: AnyType,
    document: Mapping[str, Any],
    gold_tasks: Mapping[str, _Task],
    gold: Mapping[str, Mapping[str, Any]],
    prior: Mapping[str, float],
    newcomers: float | None = None,
) -> tuple[list[Check], int]:
    """Decisions on gold tasks from their volunteers' answers, as the policy would take them:
    from ``redundancy`` answers one more at a time up to the ceiling, in consecutive groups, in
    :data:`GOLD_ORDERS` orders; each author's own gold evidence on the task left out of their
    reliability. The decisions of one group weigh as one check together, shared among the
    orders. Also how many distinct gold tasks gave one."""
    start = int(document.get("redundancy") or 3)
    ceiling = max(start, int(document.get("max_redundancy") or start))
    explicit = (document.get("review") or {}).get("agreement")
    deciding = kind.with_prior(prior) if prior else kind
    volunteers = sorted({v for task in gold_tasks.values() for v in task.volunteers})
    known = _reliabilities(board, project_id, kind, volunteers)  # the global prior: _without
    checks: list[Check] = []
    checked: set[str] = set()
    for task_id, task in gold_tasks.items():
        truth = gold[task_id]
        try:
            expected = kind.normalise(task.payload, kind.answer_model.model_validate(truth))
        except (ValidationError, InvalidAnswer):
            continue
        own = kind.hard_evidence(task.payload, task.answers, expected)
        left_out = [
            reprior(_without(known.get(v, NEUTRAL), evidence), newcomers)
            for v, evidence in zip(task.volunteers, own, strict=True)
        ]
        n = len(task.answers)
        orders = min(GOLD_ORDERS, n)
        for order in range(orders):
            shift = order * n // orders
            answers = task.answers[shift:] + task.answers[:shift]
            reliabilities = left_out[shift:] + left_out[:shift]
            for first in range(0, n - start + 1, ceiling):
                group = slice(first, min(n, first + ceiling))
                chain = _chain(
                    kind, deciding, task.payload, answers[group], reliabilities[group], truth,
                    start=start, threshold=explicit,
                )  # fmt: skip
                if not chain:
                    continue
                # One group's decisions share their answers: together they weigh as one check.
                weight = 1.0 / (orders * len(chain))
                checks.extend(Check(confidence, right, weight) for confidence, right in chain)
                checked.add(task_id)
    return checks, len(checked)


def _chain(
    kind: AnyType,
    deciding: AnyType,
    payload: BaseModel,
    answers: Sequence[BaseModel],
    reliabilities: Sequence[Reliability],
    truth: Any,
    *,
    start: int,
    threshold: float | None,
) -> list[tuple[float, bool]]:
    """One group's decisions as the policy would take them, from its first ``start`` answers one
    more at a time until one is agreed: (confidence, whether it was right) each."""
    chain: list[tuple[float, bool]] = []
    for size in range(start, len(answers) + 1):
        verdict = deciding.aggregate(
            payload, answers[:size], reliabilities[:size], threshold=threshold
        )
        if verdict.answer is None:
            continue
        chain.append((verdict.confidence, _agrees(kind, payload, verdict.answer, truth)))
        if verdict.agreed:
            break  # the policy would stop here
    return chain


def _agrees(kind: AnyType, payload: BaseModel, answer: Mapping[str, Any], truth: Any) -> bool:
    """Whether a gold check's decision was right, by the type's ``gold_check``: the whole
    answer (a data-entry record with one field wrong is wrong); for translation, the same
    meaning as the gold wording."""
    try:
        decided = kind.normalise(payload, kind.answer_model.model_validate(answer))
        expected = kind.normalise(payload, kind.answer_model.model_validate(truth))
    except (ValidationError, InvalidAnswer):
        return False
    return bool(kind.gold_check(payload, decided, expected))


def _without(reliability: Reliability, evidence: Evidence | None) -> Reliability:
    """``reliability`` without one gold answer's evidence (its counts taken back), so a gold
    decision is not weighed with what its own answers taught: a leave-one-out."""
    if evidence is None:
        return reliability
    prior = PRIOR_ACCURACY * PRIOR_STRENGTH
    right = max(0.0, reliability.accuracy * (PRIOR_STRENGTH + reliability.evidence) - prior)
    wrong = max(0.0, reliability.evidence - right)
    mass = evidence.mass
    if evidence.fields:
        right -= mass * math.fsum(evidence.fields.values())
        wrong -= mass * math.fsum(1.0 - p for p in evidence.fields.values())
    else:
        right -= mass * evidence.right
        wrong -= mass * (1.0 - evidence.right)
    right, wrong = max(0.0, right), max(0.0, wrong)
    confusion = {true: dict(row) for true, row in reliability.confusion.items()}
    if evidence.label is not None and evidence.truth:
        for true, p in evidence.truth.items():
            row = confusion.setdefault(true, {})
            row[evidence.label] = max(0.0, row.get(evidence.label, 0.0) - mass * p)
    fields = dict(reliability.fields)
    for name, p in (evidence.fields or {}).items():
        r, w = fields.get(name, (0.0, 0.0))
        fields[name] = (max(0.0, r - mass * p), max(0.0, w - mass * (1.0 - p)))
    return replace(
        reliability,
        accuracy=(prior + right) / (PRIOR_STRENGTH + right + wrong),
        evidence=right + wrong,
        confusion=confusion,
        fields=fields,
    )
