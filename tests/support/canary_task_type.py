"""A third-party task type for the canary test whose aggregation always fails.

Installed the way any plugin is (an entry point in the ``ruche.task_types`` group: the test
writes a ``.dist-info`` naming ``TASK_TYPE`` into a directory on the processes' PYTHONPATH), so
no production code knows about it. Its aggregation fails the way a real bug would: with the
task's sensitive content in local variables of the failing frames, and a pydantic
``ValidationError`` (whose message quotes its input: the content) as the cause. A traceback that
showed locals or quoted that input would put the content in the worker's log.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import TypeAdapter, ValidationError

from task_types.base import Verdict, Weights
from task_types.moderation import ModerationAnswer, ModerationPayload, ModerationType

__all__ = ["NAME", "TASK_TYPE"]

NAME = "canary_boom"


class ExplodingModeration(ModerationType):
    name = NAME
    description = "Moderation whose aggregation always fails (tests only)."

    def aggregate(
        self,
        payload: ModerationPayload,
        answers: Sequence[ModerationAnswer],
        weights: Weights = None,
        *,
        threshold: float | None = None,
    ) -> Verdict:
        held = [payload.content, *(reason for answer in answers for reason in answer.reasons)]
        try:
            TypeAdapter(int).validate_python(held[0])
        except ValidationError as error:
            raise RuntimeError(f"forced failure while aggregating {len(held)} texts") from error
        raise AssertionError("the content is never an integer")  # pragma: no cover


TASK_TYPE = ExplodingModeration()
