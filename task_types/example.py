"""A sample task of a type, as the API documentation (``/docs``) shows it.

Every route whose body depends on the task type (a project, a task, an assignment, an answer, a
result, a review) shows one example per type that declares a :class:`TaskExample`
(``TaskType.example``), built from it when the document is rendered: a plugin type's sample
appears beside the built-ins' with nothing else to edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["TaskExample"]


@dataclass(frozen=True)
class TaskExample:
    """One task of the type, two volunteers' answers to it, and the project it belongs to.

    The payload and both answers must pass the type's own checks (the class definition checks
    them against its models; the documentation against the type's answer rules too).
    """

    #: What the task is, in a few words ("A forum post to moderate").
    summary: str
    #: A project of this type an NGO might run ("Neighbourhood forum").
    project_name: str
    #: The NGO's own id for the task.
    external_id: str
    payload: dict[str, Any]
    #: A volunteer's answer: the one the examples show accepted.
    answer: dict[str, Any]
    #: Another volunteer's, different: what a reviewer sees beside the first.
    other_answer: dict[str, Any]
    #: The languages the example project lists (BCP-47 tags); none by default.
    languages: tuple[str, ...] = field(default=())
