"""What a project's review policy will do with newcomers' answers, said when the project is made.

A task is accepted once its answers' confidence reaches the project's threshold
(``review.agreement``, else the type's ``default_confidence``); below it, another answer is asked
for up to ``max_redundancy`` (by default ``redundancy``), then a reviewer decides. Volunteers
nobody knows yet (no gold answers, no reviews) are weighed at the prior: one moderation answer
scores 0.7, under the default 0.9. A project with ``redundancy: 1`` and no room for a second
answer therefore sends every task to review until its volunteers have a record: 10,000 of
10,000 tasks in issue 15's run, without the NGO being told. :func:`policy_warnings` says so in
the project itself (``Project.warnings``), with what would change it.

The measure is the task type's own: its aggregation of agreeing answers from newcomers on its
documented example task (``TaskType.example``); a type without one gets no warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import structlog
from pydantic import ValidationError

from task_types import InvalidAnswer, UnknownTaskType
from task_types import get as get_task_type
from task_types.base import THRESHOLD_TOLERANCE
from task_types.reliability import NEUTRAL

__all__ = ["newcomer_confidence", "policy_warnings"]

log = structlog.get_logger(__name__)


@lru_cache(maxsize=256)  # read with every project shown: the same few policies, over and over
def newcomer_confidence(task_type: str, answers: int, threshold: float | None) -> float | None:
    """The confidence ``answers`` agreeing answers from newcomers reach on the type's example
    task (None: the type is unknown or has no example)."""
    try:
        kind = get_task_type(task_type)
    except UnknownTaskType:
        return None
    example = kind.example
    if example is None or answers < 1:
        return None
    try:
        payload = kind.parse_payload(example.payload)
        answer = kind.normalise(payload, kind.parse_answer(payload, example.answer))
    except (ValidationError, InvalidAnswer):
        return None
    try:
        verdict = kind.aggregate(
            payload, [answer] * answers, [NEUTRAL] * answers, threshold=threshold
        )
    except Exception as error:  # a plugin's bug must not refuse the project
        # Said without the example's content or the message (it may quote it); the same bug
        # shows again, where it belongs, when real answers are aggregated.
        log.warning(
            "policy.newcomer_confidence_failed", task_type=task_type, error=type(error).__name__
        )
        return None
    return verdict.confidence


def policy_warnings(document: Mapping[str, Any]) -> list[str]:
    """What the NGO should know about its project's policy before the tasks come in: for now,
    that newcomers' agreeing answers cannot reach the threshold within the answers allowed."""
    task_type = str(document.get("task_type") or "")
    redundancy = int(document.get("redundancy") or 1)
    ceiling = max(redundancy, int(document.get("max_redundancy") or redundancy))
    review: Mapping[str, Any] = document.get("review") or {}
    threshold = review.get("agreement")
    try:
        bar = (
            float(threshold)
            if threshold is not None
            else get_task_type(task_type).default_confidence
        )
    except UnknownTaskType:
        return []
    reached = newcomer_confidence(task_type, ceiling, threshold)
    if reached is None or reached >= bar - THRESHOLD_TOLERANCE:
        return []
    enough = next(
        (
            n
            for n in range(ceiling + 1, ceiling + 10)
            if (newcomer_confidence(task_type, n, threshold) or 0.0) >= bar - THRESHOLD_TOLERANCE
        ),
        None,
    )
    answers = "answer" if ceiling == 1 else f"{ceiling} agreeing answers"
    fixes = [f"lower review.agreement to {reached:.2f}"]
    if enough is not None:
        fixes.insert(0, f"set max_redundancy to {enough}")
    return [
        f"every task will go to review until volunteers have a record (gold answers, reviews): "
        f"a newcomer's {answers} reach a confidence of {reached:.2f}, under the threshold "
        f"{bar:.2f}, and no more answers are allowed; {' or '.join(fixes)} to have results "
        f"decided without a reviewer"
    ]
