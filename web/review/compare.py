"""What a reviewer compares: a review item's candidate answers read by their task type, and
what sets them apart.

- translation: each answer after the first as a word-level diff against the first
  (:func:`word_diff`: ``difflib`` on word, space and punctuation tokens);
- data entry: one row per field, each answer's value, and whether they disagree;
- moderation: how many answers chose each label.

For every type, the confidence the answers give the leading one: the task type's own verdict,
with the authors' reputations as the aggregation weighed them (one round trip), so the page says
what the aggregation said.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError

from core.board.runner import AsyncBoard
from core.ids import VOLUNTEER_ID
from core.quality.reputation import ReputationOps
from core.review.reviewers import ReviewItem
from task_types import InvalidAnswer, TaskType, Verdict
from task_types import get as get_task_type
from task_types.reliability import NEUTRAL, Reliability

__all__ = [
    "Candidate",
    "Comparison",
    "FieldRow",
    "Segment",
    "Tally",
    "compare",
    "word_diff",
]

log = structlog.get_logger(__name__)

AnyType = TaskType[Any, Any]
_TOKENS = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of text in a diff: ``kind`` is ``same``, ``added`` (in this answer only) or
    ``removed`` (in the first answer only)."""

    kind: str
    text: str


def word_diff(reference: str, other: str) -> list[Segment]:
    """``other`` against ``reference``, word by word (spaces and punctuation are tokens too)."""
    before, after = _TOKENS.findall(reference), _TOKENS.findall(other)
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    segments: list[Segment] = []

    def add(kind: str, tokens: Sequence[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if segments and segments[-1].kind == kind:
            segments[-1] = Segment(kind, segments[-1].text + text)
        else:
            segments.append(Segment(kind, text))

    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            add("same", after[b0:b1])
        else:
            add("removed", before[a0:a1])
            add("added", after[b0:b1])
    return segments


@dataclass(frozen=True, slots=True)
class Candidate:
    number: int  # 1, 2… as the page names them ("Answer 1")
    submission_id: str
    raw: dict[str, Any] = field(repr=False)
    #: The answer in its type's canonical form (None when it no longer parses).
    normalised: dict[str, Any] | None = field(repr=False)
    diff: list[Segment] = field(default_factory=list, repr=False)  # translation, from #2 on


@dataclass(frozen=True, slots=True)
class FieldRow:
    name: str
    label: str
    values: list[str]  # per candidate, as shown ("" when left empty)
    differs: bool


@dataclass(frozen=True, slots=True)
class Tally:
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class Comparison:
    task_type: str
    payload: dict[str, Any] = field(repr=False)
    candidates: list[Candidate] = field(repr=False)
    confidence: float | None = None
    #: Numbers of the candidates behind the leading answer (the verdict's support).
    leading: list[int] = field(default_factory=list)
    rows: list[FieldRow] = field(default_factory=list, repr=False)  # data entry
    tallies: list[Tally] = field(default_factory=list)  # moderation

    @property
    def differing_fields(self) -> int:
        return sum(row.differs for row in self.rows)


def _shown(value: Any) -> str:
    return "" if value is None else str(value)


async def compare(
    board: AsyncBoard, item: ReviewItem, agreement: float | None = None
) -> Comparison:
    """The item's candidates side by side, and the confidence the answers give (with
    ``agreement``, the project's ``review.agreement``, as the aggregation used it)."""
    kind: AnyType = get_task_type(item.task_type)
    payload = kind.parse_payload(item.payload)
    candidates: list[Candidate] = []
    parsed: list[BaseModel | None] = []
    for number, entry in enumerate(item.candidates, 1):
        raw = dict(entry.get("answer") or {})
        try:
            answer = kind.normalise(payload, kind.parse_answer(payload, raw))
        except (ValidationError, InvalidAnswer):
            log.warning("review.candidate_unreadable", submission=entry.get("submission_id"))
            answer = None
        parsed.append(answer)
        candidates.append(
            Candidate(
                number,
                str(entry.get("submission_id", "")),
                raw,
                None if answer is None else answer.model_dump(mode="json"),
            )
        )
    verdict = await _verdict(board, item, kind, payload, parsed, agreement)
    leading = [index + 1 for index in verdict.support] if verdict else []
    comparison = Comparison(
        item.task_type,
        payload.model_dump(mode="json"),  # every field present, defaults included
        candidates,
        confidence=verdict.confidence if verdict else None,
        leading=leading,
    )
    if item.task_type == "translation":
        return _with_diffs(comparison)
    if item.task_type == "data_entry":
        return _with_rows(comparison)
    if item.task_type == "moderation":
        return _with_tallies(comparison)
    return comparison


async def _verdict(
    board: AsyncBoard,
    item: ReviewItem,
    kind: AnyType,
    payload: BaseModel,
    parsed: list[BaseModel | None],
    agreement: float | None,
) -> Verdict | None:
    readable = [(i, a) for i, a in enumerate(parsed) if a is not None]
    if not readable:
        return None
    authors = [item.authors[i] if i < len(item.authors) else "" for i, _ in readable]
    known = [author for author in authors if VOLUNTEER_ID.match(author)]
    ops = ReputationOps(board.keys, board.clock)
    read = await board.run(
        ops.reliabilities(item.project_id, kind.name, known, deciding=item.task_id)
    )
    found: Mapping[str, Reliability] = dict(zip(known, read, strict=True))
    weights = [found.get(author, NEUTRAL) for author in authors]
    try:
        verdict = kind.aggregate(payload, [a for _, a in readable], weights, threshold=agreement)
    except ValueError:
        return None
    # The verdict's indexes are into the readable answers: back to the candidates' own.
    return verdict.model_copy(update={"support": [readable[i][0] for i in verdict.support]})


def _with_diffs(comparison: Comparison) -> Comparison:
    first = comparison.candidates[0] if comparison.candidates else None
    reference = _shown(first.raw.get("text")) if first else ""
    candidates = [
        candidate
        if candidate.number == 1
        else Candidate(
            candidate.number,
            candidate.submission_id,
            candidate.raw,
            candidate.normalised,
            word_diff(reference, _shown(candidate.raw.get("text"))),
        )
        for candidate in comparison.candidates
    ]
    return replace(comparison, candidates=candidates)


def _with_rows(comparison: Comparison) -> Comparison:
    rows = []
    for spec in comparison.payload.get("fields", []):
        name = str(spec.get("name", ""))
        shown, keys = [], set()
        for candidate in comparison.candidates:
            values = (candidate.normalised or candidate.raw).get("values") or {}
            shown.append(_shown(values.get(name)))
            keys.add(_shown(values.get(name)).casefold())
        rows.append(FieldRow(name, str(spec.get("label") or name), shown, len(keys) > 1))
    return replace(comparison, rows=rows)


def _with_tallies(comparison: Comparison) -> Comparison:
    counts = {str(label): 0 for label in comparison.payload.get("labels", [])}
    for candidate in comparison.candidates:
        label = _shown((candidate.normalised or candidate.raw).get("label"))
        if label in counts:
            counts[label] += 1
    tallies = [Tally(label, count) for label, count in counts.items()]
    return replace(comparison, tallies=tallies)
