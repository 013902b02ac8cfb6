"""The contract every task type fulfils, and the verdict its aggregation returns.

A task type is stateless and pure: it validates an NGO's payload and a volunteer's answer,
normalises answers, turns redundant answers into a ``Verdict``, scores an answer against a gold
answer and counts the volunteer-facing contribution. No I/O: the kernel stores, routes and logs.

``aggregate`` takes two kinds of weights. Plain floats are vote weights (each type documents
their scale) and keep the type's historic measure of agreement. :class:`Reliability` values
(what the kernel's reputation store knows about each volunteer) switch to the type's posterior
model: ``confidence`` is then the probability that the chosen answer is right, given those
reliabilities, and ``threshold`` (default ``default_confidence``) is the probability required.
``answer_evidence`` and ``hard_evidence`` say what each answer tells about its author, for the
kernel to update reputations with.

Everything the rest of Ruche needs to know about one type is on its class, so a new type (built-in
or plugin) is its module and its entry point, nothing else: which volunteers a project of the type
fits (``needs_every_language``), which translation-catalog files its tasks come from and its
results go to (``catalog_formats``), and the sample the API documentation shows (``example``).
"""

from __future__ import annotations

import inspect
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from task_types.errors import InvalidAnswer, Problem
from task_types.example import TaskExample
from task_types.reliability import Evidence, Reliability

__all__ = ["CATALOG_FORMATS", "AnyTaskType", "TaskExample", "TaskType", "Verdict", "Weights"]

P = TypeVar("P", bound=BaseModel)
A = TypeVar("A", bound=BaseModel)

REDACTED = "[redacted]"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Shares and posteriors are sums of floats; an exact tie with the threshold must not be lost to
# the last bit of rounding (3 of 5 equal weights is a 0.6 share, whatever the summation order).
THRESHOLD_TOLERANCE = 1e-9
# Posterior probability an answer needs to be accepted without a reviewer, when the weights are
# reliabilities and the project sets no threshold of its own.
DEFAULT_CONFIDENCE = 0.9
#: The translation-catalog file formats a type may list in ``catalog_formats``.
CATALOG_FORMATS = frozenset({"po", "xliff"})

#: Per-answer vote weights (floats) or reliabilities (see the module docstring); None: neutral.
Weights = Sequence[float] | Sequence[Reliability] | None


class Verdict(BaseModel):
    """What redundant answers add up to.

    ``answer`` is the chosen answer as JSON-able data, or ``None`` when nothing can be chosen.
    ``agreed`` means it may be accepted without a human reviewer. ``support`` lists the indexes
    (into the answers given to ``aggregate``) of the answers that back the chosen one, and
    ``details`` explains the decision for reviewers and audits: JSON-able, with indexes,
    measures and reasons but never answer text or sensitive payload fields, so it can be logged.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    answer: dict[str, Any] | None
    confidence: float = Field(ge=0.0, le=1.0)
    agreed: bool
    support: list[int] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _agreement_needs_an_answer(self) -> Self:
        if self.agreed and self.answer is None:
            raise ValueError("a verdict cannot be agreed without an answer")
        return self

    @classmethod
    def undecided(cls, reason: str, **details: Any) -> Verdict:
        """No answer could be chosen (no answers, all filtered out, nobody voted)."""
        return cls(answer=None, confidence=0.0, agreed=False, details={"reason": reason, **details})


class TaskType(ABC, Generic[P, A]):
    """One kind of micro-task. Subclasses set the class attributes and the abstract methods.

    ``P`` is the payload model the NGO submits, ``A`` the answer model a volunteer submits.
    """

    name: ClassVar[str]
    payload_model: type[P]
    answer_model: type[A]
    #: Payload fields that must never reach a log line (see ``redact``).
    sensitive_fields: ClassVar[frozenset[str]] = frozenset()
    #: What ``contribution`` counts, as shown to volunteers ("words translated").
    contribution_unit: ClassVar[str]
    #: Agreement threshold used when ``aggregate`` gets no ``threshold`` (float weights).
    default_threshold: ClassVar[float]
    #: Posterior probability required when the weights are reliabilities and no threshold.
    default_confidence: ClassVar[float] = DEFAULT_CONFIDENCE
    description: ClassVar[str] = ""
    #: Languages: a project of this type fits a volunteer who reads *every* language it lists
    #: (translation: they read the source and write the target), instead of *one* of them (the
    #: content is in one). Languages are compared by their primary subtag; a project listing no
    #: language fits everybody.
    needs_every_language: ClassVar[bool] = False
    #: Translation-catalog formats (among ``CATALOG_FORMATS``: ``po``, ``xliff``) whose units are
    #: this type's tasks: such a file is submitted as tasks (payload ``source_text``,
    #: ``source_lang``, ``target_lang``, ``context``: ``ruche submit``) and the results are
    #: exported as one (answer ``text``: ``GET …/export?format=po``, ``ruche results``).
    catalog_formats: ClassVar[frozenset[str]] = frozenset()
    #: The sample task the API documentation shows for this type; a type without one is listed
    #: (``GET /v1/task-types``) but shows no per-type example.
    example: ClassVar[TaskExample | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not inspect.isabstract(cls):
            _check_declaration(cls)

    # -- validation -------------------------------------------------------------------------

    def parse_payload(self, raw: Mapping[str, Any]) -> P:
        """Validate an NGO's payload; raises ``pydantic.ValidationError``."""
        return self.payload_model.model_validate(raw)

    def parse_answer(self, payload: P, raw: Mapping[str, Any]) -> A:
        """Validate an answer against its schema, then against the payload it answers.

        Raises ``pydantic.ValidationError`` for a wrong shape and ``InvalidAnswer`` (listing
        every problem at once) for an answer that does not fit this payload.
        """
        answer = self.answer_model.model_validate(raw)
        problems = self.check_answer(payload, answer)
        if problems:
            raise InvalidAnswer(problems)
        return answer

    @abstractmethod
    def check_answer(self, payload: P, answer: A) -> list[Problem]:
        """Everything wrong with a schema-valid answer for this payload (empty when fine)."""

    # -- agreement --------------------------------------------------------------------------

    def with_prior(self, counts: Mapping[str, float]) -> Self:
        """This type deciding from a class prior: ``counts`` are pseudo-counts of the true
        label per label (the NGO's stated base rates, gold answers). Types whose answers are
        not labels from a set ignore it (this default)."""
        return self

    @abstractmethod
    def normalise(self, payload: P, answer: A) -> A:
        """The answer in canonical form, so equal meanings compare equal. Idempotent."""

    @abstractmethod
    def aggregate(
        self,
        payload: P,
        answers: Sequence[A],
        weights: Weights = None,
        *,
        threshold: float | None = None,
    ) -> Verdict:
        """Decide what the answers say. ``weights`` are per-answer vote weights (default 1.0
        each, unless the type documents otherwise) or reliabilities (the posterior model, see
        the module docstring); ``threshold`` overrides the default bar."""

    def answer_evidence(
        self, payload: P, answers: Sequence[A], reliabilities: Sequence[Reliability]
    ) -> list[Evidence | None]:
        """What each answer says about its author, given all the answers and the authors'
        reliabilities (soft evidence: the posterior stands in for the unknown truth); None for
        an answer that says nothing (it did not vote).

        This default works for any type: the answers backing the chosen one are right with
        the verdict's confidence; the others are wrong, with the confidence as the mass (a
        wrong chosen answer says nothing about them). Types with a posterior model do better.
        """
        verdict = self.aggregate(payload, answers, reliabilities)
        if verdict.answer is None:
            return [None] * len(answers)
        backing = set(verdict.support)
        return [
            Evidence(right=verdict.confidence)
            if index in backing
            else Evidence(right=0.0, mass=verdict.confidence)
            for index in range(len(answers))
        ]

    def hard_evidence(self, payload: P, answers: Sequence[A], truth: A) -> list[Evidence | None]:
        """What each answer says about its author once the truth is known (a gold answer, a
        reviewer's decision): right when its score against the truth reaches the type's
        default agreement threshold."""
        bar = self.default_threshold - THRESHOLD_TOLERANCE
        return [
            Evidence(right=1.0 if self.score(payload, answer, truth) >= bar else 0.0)
            for answer in answers
        ]

    def gold_check(self, payload: P, decided: A, gold: A) -> bool:
        """Whether a decision on a gold task was right, as strictly as a result is judged: the
        project's gold checks calibrate the confidence with it (:mod:`core.quality.refit`).
        By default its score against the gold is 1 (a label; a data-entry record whose every
        field reads like the gold's); a type where a gold answer is one wording among the
        right ones says what "the same" means instead (translation)."""
        return self.score(payload, decided, gold) >= 1.0 - THRESHOLD_TOLERANCE

    @abstractmethod
    def score(self, payload: P, answer: A, gold: A) -> float:
        """How well ``answer`` matches the gold answer, in [0, 1] (1 = matches)."""

    @abstractmethod
    def contribution(self, payload: P, answer: A) -> int:
        """The volunteer-facing amount of work this answer represents."""

    # -- description ------------------------------------------------------------------------

    def payload_schema(self) -> dict[str, Any]:
        return self.payload_model.model_json_schema()

    def answer_schema(self) -> dict[str, Any]:
        return self.answer_model.model_json_schema()

    def describe(self) -> dict[str, Any]:
        """Everything ``GET /v1/task-types`` lists about this type."""
        return {
            "name": self.name,
            "description": self.description,
            "contribution_unit": self.contribution_unit,
            "default_threshold": self.default_threshold,
            "sensitive_fields": sorted(self.sensitive_fields),
            "payload_schema": self.payload_schema(),
            "answer_schema": self.answer_schema(),
        }

    def redact(self, raw_payload: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of a payload safe to log: sensitive fields replaced by a marker."""
        return {
            key: REDACTED if key in self.sensitive_fields else value
            for key, value in raw_payload.items()
        }

    # -- helpers for subclasses -------------------------------------------------------------

    def resolve_threshold(self, threshold: float | None) -> float:
        chosen = self.default_threshold if threshold is None else threshold
        if not (math.isfinite(chosen) and 0.0 <= chosen <= 1.0):
            raise ValueError(f"threshold must be between 0 and 1, got {chosen!r}")
        return chosen

    def resolve_confidence(self, threshold: float | None) -> float:
        """The posterior bar of the reliability model: ``threshold`` or ``default_confidence``."""
        chosen = self.default_confidence if threshold is None else threshold
        if not (math.isfinite(chosen) and 0.0 <= chosen <= 1.0):
            raise ValueError(f"threshold must be between 0 and 1, got {chosen!r}")
        return chosen

    @staticmethod
    def resolve_reliabilities(count: int, weights: Weights) -> list[Reliability] | None:
        """The weights as reliabilities, or None when they are plain floats (or absent)."""
        if not weights or not any(isinstance(weight, Reliability) for weight in weights):
            return None
        if len(weights) != count:
            raise ValueError(f"got {count} answers but {len(weights)} weights")
        if not all(isinstance(weight, Reliability) for weight in weights):
            raise TypeError("weights must be all floats or all reliabilities, not a mix")
        return [weight for weight in weights if isinstance(weight, Reliability)]

    @staticmethod
    def resolve_weights(count: int, weights: Weights, *, default: float = 1.0) -> list[float]:
        """One finite, non-negative weight per answer; ``default`` for each when none given.

        A reliability counts as its accuracy, so a type without a posterior model of its own
        still weighs volunteers by their reputation."""
        if weights is None:
            return [default] * count
        if len(weights) != count:
            raise ValueError(f"got {count} answers but {len(weights)} weights")
        resolved = [
            weight.accuracy if isinstance(weight, Reliability) else float(weight)
            for weight in weights
        ]
        for index, weight in enumerate(resolved):
            if not (math.isfinite(weight) and weight >= 0.0):
                raise ValueError(f"weight {index} must be finite and >= 0, got {weight!r}")
        return resolved


AnyTaskType = TaskType[Any, Any]


def _check_declaration(cls: type[TaskType[Any, Any]]) -> None:
    """Catch a third-party type's declaration mistakes when its class is defined."""
    where = f"task type class {cls.__qualname__}"
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        raise TypeError(f"{where}: name must match {_NAME.pattern}, got {name!r}")
    for attribute in ("payload_model", "answer_model"):
        model = getattr(cls, attribute, None)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"{where}: {attribute} must be a pydantic model class")
    unit = getattr(cls, "contribution_unit", None)
    if not isinstance(unit, str) or not unit:
        raise TypeError(f"{where}: contribution_unit must be a non-empty string")
    threshold = getattr(cls, "default_threshold", None)
    if not isinstance(threshold, int | float) or not 0.0 <= threshold <= 1.0:
        raise TypeError(f"{where}: default_threshold must be between 0 and 1")
    unknown = set(cls.sensitive_fields) - set(cls.payload_model.model_fields)
    if unknown:
        raise TypeError(f"{where}: sensitive_fields not in the payload: {sorted(unknown)}")
    formats = getattr(cls, "catalog_formats", None)
    if not isinstance(formats, frozenset) or not formats <= CATALOG_FORMATS:
        allowed = ", ".join(sorted(CATALOG_FORMATS))
        raise TypeError(f"{where}: catalog_formats must be a frozenset of {allowed}")
    if cls.example is not None:
        _check_example(cls, where)


def _check_example(cls: type[TaskType[Any, Any]], where: str) -> None:
    """The example fits the type's models (its answer rules are checked where it is shown)."""
    example = cls.example
    if not isinstance(example, TaskExample):
        raise TypeError(f"{where}: example must be a TaskExample")
    try:
        cls.payload_model.model_validate(example.payload)
        for answer in (example.answer, example.other_answer):
            cls.answer_model.model_validate(answer)
    except ValidationError as error:
        raise TypeError(f"{where}: its example does not fit its models: {error}") from None
