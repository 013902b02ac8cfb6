"""A project's learnt quality state: its calibration, its chosen threshold, its recent decisions.

Kept small, in the project's own keys (one slot):

- the ``quality`` field of the project hash: JSON ``{"calibration": .., "threshold": ..,
  "refit": ..}`` written by the refit (:mod:`core.quality.refit`), read with each decision
  (:meth:`core.quality.outcomes.PipelineOps.aggregation_context`) and shown in the project's
  API view (``quality``);
- ``quality:recent``: a sorted set of the project's latest final decisions (resolved,
  spot-checked or sent to review), member ``<task>|<answers>|<confidence>`` scored by time,
  trimmed to :data:`RECENT_KEPT`: the tasks the refit reads, and the confidences a threshold is
  chosen from. A decision recorded twice (a redelivered message) is one member;
- ``quality_since``, a counter in the project hash: every :data:`REFIT_EVERY` final decisions,
  a refit is due (:attr:`Recorded.refit_due`).

:func:`settle` is what a decision does with the state: its confidence through the calibration,
compared with the threshold in force (the NGO's ``review.agreement`` when set, else the one
chosen from gold, else the type's default).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.board.script_calls import Commands, text
from core.quality.calibration import IDENTITY, Calibration
from core.redis.keys import ProjectKeys
from task_types import Verdict
from task_types.base import THRESHOLD_TOLERANCE

__all__ = [
    "QUALITY_FIELD",
    "RECENT_KEPT",
    "REFIT_EVERY",
    "ProjectQuality",
    "parse_recent",
    "recent_key",
    "record_decision",
    "settle",
]

QUALITY_FIELD = "quality"
_SINCE_FIELD = "quality_since"
#: Final decisions kept for the refit: the project's recent past, bounded.
RECENT_KEPT = 5_000
#: A refit every this many final decisions of a project.
REFIT_EVERY = 200
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

    @classmethod
    def from_json(cls, raw: Any) -> ProjectQuality:
        document = raw if isinstance(raw, Mapping) else _loads(raw)
        chosen = (document.get("threshold") or {}) if isinstance(document, Mapping) else {}
        threshold = chosen.get("threshold") if isinstance(chosen, Mapping) else None
        if chosen.get("reason") == "default":
            threshold = None
        return cls(
            Calibration.from_json(document.get("calibration")),
            float(threshold) if isinstance(threshold, int | float) else None,
        )


def _loads(raw: Any) -> dict[str, Any]:
    if raw in (None, "", b""):
        return {}
    try:
        parsed = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def settle(verdict: Verdict, quality: ProjectQuality, explicit: float | None) -> Verdict:
    """The verdict with its confidence calibrated and agreed against the threshold in force:
    ``explicit`` (the NGO's ``review.agreement``) when set, else the project's chosen one,
    else the type's own (the verdict's). A verdict refused for another reason than its
    confidence (no quorum, close rivals) stays refused."""
    if verdict.answer is None or (quality.calibration.checks == 0 and quality.threshold is None):
        return verdict
    raw = verdict.confidence
    calibrated = min(1.0, max(0.0, quality.calibration(raw)))
    own = verdict.details.get("threshold")
    if explicit is not None:
        bar = float(explicit)
    elif quality.threshold is not None:
        bar = quality.threshold
    else:
        bar = float(own) if isinstance(own, int | float) else raw
    reason = str(verdict.details.get("reason", ""))
    on_confidence = reason in _CONFIDENCE_REASONS and not verdict.details.get("without_quorum")
    agreed = on_confidence and calibrated >= bar - THRESHOLD_TOLERANCE
    details = dict(verdict.details, raw_confidence=round(raw, 6), threshold=round(bar, 6))
    if on_confidence:
        details["reason"] = "agreed" if agreed else "low_confidence"
    return verdict.model_copy(
        update={"confidence": calibrated, "agreed": agreed, "details": details}
    )


@dataclass(frozen=True, slots=True)
class Recorded:
    refit_due: bool  # this decision completes a batch of REFIT_EVERY: time for a refit


def record_decision(
    pk: ProjectKeys, task_id: str, answers: int, confidence: float, now_ms: int
) -> Commands[Recorded]:
    """Remember a final decision (one pipeline on the project's slot)."""
    member = f"{task_id}|{int(answers)}|{confidence:.6f}"
    key = recent_key(pk)

    def parse(replies: list[Any]) -> Recorded:
        added, since = int(replies[0]), int(replies[2])
        return Recorded(refit_due=bool(added) and since % REFIT_EVERY == 0)

    commands: list[tuple[str | int, ...]] = [
        ("ZADD", key, now_ms, member),
        ("ZREMRANGEBYRANK", key, 0, -RECENT_KEPT - 1),
        ("HINCRBY", pk.project, _SINCE_FIELD, 1),
    ]
    return Commands(commands, parse)


def parse_recent(members: list[Any]) -> list[tuple[str, int, float]]:
    """``(task, answers, confidence)`` of each readable member of ``quality:recent``."""
    found = []
    for raw in members:
        task, _, rest = text(raw).partition("|")
        answers, _, confidence = rest.partition("|")
        try:
            found.append((task, int(answers), float(confidence)))
        except ValueError:
            continue
    return found
