"""Errors raised by task types and their registry.

::

    ValueError
    └── TaskTypeError              a payload, answer or argument a task type cannot accept
        ├── InvalidAnswer          an answer that breaks the payload's rules (carries problems)
        └── DuplicateTaskType      a second, different task type under a taken name
    KeyError
    └── UnknownTaskType            no task type registered under that name

Schema-level refusals (wrong JSON shape, missing keys, bounds) surface as
``pydantic.ValidationError``, itself a ``ValueError``; callers can catch ``ValueError`` to get
both. ``InvalidAnswer.details`` mirrors the ``loc``/``msg``/``type`` keys of pydantic's
``errors()`` so the API can put either into the ``details`` of its error body unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["DuplicateTaskType", "InvalidAnswer", "Problem", "TaskTypeError", "UnknownTaskType"]


class TaskTypeError(ValueError):
    """Base of every refusal that comes from a task type's own rules."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an answer: where (``loc``, as in pydantic) and why, for people."""

    loc: tuple[str | int, ...]
    msg: str

    def as_error(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.msg, "type": "invalid_answer"}


class InvalidAnswer(TaskTypeError):
    """An answer that is well-formed JSON but does not fit the task it answers."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("InvalidAnswer needs at least one problem")
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("; ".join(_describe(problem) for problem in self.problems))

    @property
    def details(self) -> list[dict[str, Any]]:
        return [problem.as_error() for problem in self.problems]


def _describe(problem: Problem) -> str:
    where = ".".join(str(part) for part in problem.loc)
    return f"{where}: {problem.msg}" if where else problem.msg


class DuplicateTaskType(TaskTypeError):
    """Registering a different task type under a name already taken."""


class UnknownTaskType(KeyError):
    """No task type is registered under the requested name."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        self.known = tuple(known)
        super().__init__(name)

    def __str__(self) -> str:
        # KeyError's own __str__ shows only repr(name); say what exists instead.
        return f"unknown task type {self.name!r} (known: {', '.join(self.known) or 'none'})"
