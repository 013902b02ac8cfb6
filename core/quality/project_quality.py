"""A project's learnt quality state: its calibration, its chosen threshold, its recent decisions.

Kept small, in the project's own keys (one slot):

- the ``quality`` field of the project hash: JSON ``{"calibration": .., "threshold": ..,
  "newcomers": .., "refit": ..}`` written by the refit (:mod:`core.quality.refit`), read with
  each decision (:meth:`core.quality.outcomes.PipelineOps.aggregation_context`) and shown in
  the project's API view (``quality``);
- ``quality:recent``: a sorted set of the project's latest final decisions (resolved,
  spot-checked or sent to review), member ``<task>|<answers>|<confidence>`` scored by time,
  trimmed to :data:`RECENT_KEPT`: the tasks the refit reads, and the confidences a threshold is
  chosen from. A decision recorded twice (a redelivered message) is one member;
- ``quality_since``, a counter in the project hash: after 10, 25, 50 and 100 final decisions,
  every :data:`REFIT_YOUNG_EVERY` up to :data:`REFIT_YOUNG_UNTIL`, then every
  :data:`REFIT_EVERY`, a refit is due (:func:`refit_due`).

:func:`settle` is what a decision does with the state: its confidence through the calibration,
compared with the threshold in force: the NGO's ``review.agreement`` (else the type's default)
while more answers may come, and at the ceiling the one chosen for the review share.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.board.script_calls import ScriptCall, text
from core.clock import Clock
from core.quality.calibration import IDENTITY, Calibration
from core.redis.keys import ProjectKeys
from core.redis.scripts import ScriptName
from task_types import Verdict
from task_types.base import THRESHOLD_TOLERANCE

__all__ = [
    "QUALITY_FIELD",
    "RECENT_KEPT",
    "REFIT_EARLY",
    "REFIT_EVERY",
    "REFIT_YOUNG_EVERY",
    "REFIT_YOUNG_UNTIL",
    "ProjectQuality",
    "RecentMember",
    "parse_recent",
    "recent_key",
    "record_decision",
    "refit_due",
    "settle",
]

QUALITY_FIELD = "quality"
#: Final decisions kept for the refit: the project's recent past, bounded.
RECENT_KEPT = 5_000
#: A refit every this many final decisions of a project...
REFIT_EVERY = 200
#: ...and sooner at first, when the estimates have the most early mistakes to correct (the
#: first one mostly learns the newcomer prior from the first gold answers).
REFIT_EARLY = frozenset({10, 25, 50, 100})
#: ...and every this many while the project is young (up to :data:`REFIT_YOUNG_UNTIL`
#: decisions): then volunteers have short records, and an EM over everything seen so far
#: judges them better than the one-pass counts (on the benchmark's half-poor crowd the
#: online decisions lost their gap to batch Dawid-Skene on the first 200 tasks).
REFIT_YOUNG_EVERY = 20
REFIT_YOUNG_UNTIL = 200
# Reasons a type gives for a verdict refused on its confidence alone (so a calibrated
# confidence and another threshold may accept it); any other reason stands.
_CONFIDENCE_REASONS = frozenset({"agreed", "low_confidence", "low_agreement"})


def recent_key(pk: ProjectKeys) -> str:
    return pk.quality_recent


@dataclass(frozen=True, slots=True)
class ProjectQuality:
    """The ``quality`` field as decisions read it."""

    calibration: Calibration = IDENTITY
    threshold: float | None = None  # chosen from gold (None: none chosen yet)
    #: The accuracy a volunteer without a record starts from in this project, learnt from its
    #: gold answers (None: the global prior, ``PRIOR_ACCURACY``).
    newcomer_accuracy: float | None = None

    @classmethod
    def from_json(cls, raw: Any) -> ProjectQuality:
        document = raw if isinstance(raw, Mapping) else _loads(raw)
        chosen = (document.get("threshold") or {}) if isinstance(document, Mapping) else {}
        threshold = chosen.get("threshold") if isinstance(chosen, Mapping) else None
        if chosen.get("reason") == "default":
            threshold = None
        newcomers = document.get("newcomers") if isinstance(document, Mapping) else None
        accuracy = newcomers.get("accuracy") if isinstance(newcomers, Mapping) else None
        return cls(
            Calibration.from_json(document.get("calibration")),
            float(threshold) if isinstance(threshold, int | float) else None,
            float(accuracy)
            if isinstance(accuracy, int | float) and 0.0 < float(accuracy) < 1.0
            else None,
        )


def _loads(raw: Any) -> dict[str, Any]:
    if raw in (None, "", b""):
        return {}
    try:
        parsed = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def settle(
    verdict: Verdict, quality: ProjectQuality, explicit: float | None, *, final: bool = False
) -> Verdict:
    """The verdict with its confidence calibrated and agreed against the threshold in force.

    Two thresholds: while more answers may come, a task is accepted at the NGO's
    ``review.agreement`` (``explicit``) or the type's default, and short of it gets one more
    answer; once none may come (``final``: at the ceiling, or the project closed) the
    threshold chosen for the review share (:attr:`ProjectQuality.threshold`) decides between
    accepting it and a reviewer. Lowering the one threshold would stop asking for answers
    where they help most; the chosen one only decides where the reviewers' time goes. A
    verdict refused for another reason than its confidence (close rivals, a plain vote's
    quorum) stays refused. A data-entry field read by one volunteer only (``without_quorum``)
    waits for more answers while they may come; at the ceiling its posterior, in the
    record's calibrated confidence, meets the chosen threshold like any other: two agreeing
    volunteers were a proxy for evidence that the posterior now measures, and insisting on
    them sent 14 % of records to review on the benchmark's typical crowd (52 % with half the
    crowd poor) whatever their confidence."""
    if verdict.answer is None or (quality.calibration.checks == 0 and quality.threshold is None):
        return verdict
    raw = verdict.confidence
    calibrated = min(1.0, max(0.0, quality.calibration(raw)))
    own = verdict.details.get("threshold")
    if explicit is not None:
        bar = float(explicit)
    else:
        bar = float(own) if isinstance(own, int | float) else raw
    if final and explicit is None and quality.threshold is not None:
        bar = quality.threshold
    reason = str(verdict.details.get("reason", ""))
    on_confidence = reason in _CONFIDENCE_REASONS and (
        final or not verdict.details.get("without_quorum")
    )
    agreed = on_confidence and calibrated >= bar - THRESHOLD_TOLERANCE
    details = dict(verdict.details, raw_confidence=round(raw, 6), threshold=round(bar, 6))
    if on_confidence:
        details["reason"] = "agreed" if agreed else "low_confidence"
    return verdict.model_copy(
        update={"confidence": calibrated, "agreed": agreed, "details": details}
    )


def refit_due(since: int) -> bool:
    """Whether the ``since``-th final decision of a project makes its refit due."""
    if since <= 0:
        return False
    young = since <= REFIT_YOUNG_UNTIL and since % REFIT_YOUNG_EVERY == 0
    return young or since in REFIT_EARLY or since % REFIT_EVERY == 0


@dataclass(frozen=True, slots=True)
class Recorded:
    refit_due: bool  # this decision makes the project's refit due (:func:`refit_due`)


@dataclass(frozen=True, slots=True)
class RecentMember:
    """A final decision as ``quality:recent`` remembers it."""

    task_id: str
    answers: int
    confidence: float  # raw, as the aggregation weighed it
    reviewed: bool  # it sent the task to a reviewer


def record_decision(
    pk: ProjectKeys,
    clock: Clock,
    task_id: str,
    answers: int,
    confidence: float,
    provisional: str = "",
    *,
    reviewed: bool = False,
) -> ScriptCall[Recorded]:
    """Remember a final decision (``record_decision.lua``, on the project's slot): once, so a
    redelivered decision neither moves nor counts it again. ``reviewed``: it sent the task to
    a reviewer (the member ends ``|r``: the refit measures the share that went). ``provisional``
    (encoded by :func:`core.quality.provisional.encode`) is stored with it for such a task."""
    member = f"{task_id}|{int(answers)}|{confidence:.6f}" + ("|r" if reviewed else "")

    def parse(reply: Any) -> Recorded:
        return Recorded(refit_due=refit_due(int(reply)))

    keys = [recent_key(pk), pk.project, pk.provisional]
    args: list[str | int] = [clock.script_now(), member, RECENT_KEPT, task_id, provisional]
    return ScriptCall(ScriptName.RECORD_DECISION, keys, args, parse)


def parse_recent(members: list[Any]) -> list[RecentMember]:
    """Each readable member of ``quality:recent`` (a member written before the review flag
    existed reads as not reviewed)."""
    found = []
    for raw in members:
        try:
            task, answers, confidence, *flag = text(raw).split("|")
            found.append(RecentMember(task, int(answers), float(confidence), flag == ["r"]))
        except ValueError:
            continue
    return found
