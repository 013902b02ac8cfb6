"""The shapes of a project: what an NGO sends to create or edit one, and what it reads back.

Bounds come from the board (:mod:`core.board.models`) and from what a volunteer can use:
redundancy 1..99, leases of 30 s to 24 h, priority within ±999, at most 20 languages (BCP-47
tags) and 20 skills, bounded free text without control or bidi-override characters
(:mod:`core.text`). Every model forbids unknown fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    model_validator,
)

from core.board.models import MAX_PRIORITY, MAX_REDUNDANCY
from core.text import ONE_LINE, PARAGRAPHS
from task_types.languages import LANGUAGE_TAG_PATTERN

__all__ = [
    "DEFAULT_MAX_LEASE_SECONDS",
    "MAX_LANGUAGES",
    "MAX_LEASE_SECONDS",
    "MAX_SKILLS",
    "MIN_LEASE_SECONDS",
    "REQUIRED_ON_PATCH",
    "TASK_STATES",
    "Project",
    "ProjectCreate",
    "ProjectPatch",
    "ProjectState",
    "ProjectStatus",
    "ProjectSummary",
    "ReviewPolicy",
]

MIN_LEASE_SECONDS = 30
MAX_LEASE_SECONDS = 86_400
# Total time heartbeats may keep one lease alive: two hours, or the lease itself if longer.
DEFAULT_MAX_LEASE_SECONDS = 7_200
MAX_LANGUAGES = 20
MAX_SKILLS = 20
MAX_NAME_CHARS = 200
MAX_INSTRUCTIONS_CHARS = 20_000
MAX_IMPACT_NOTE_CHARS = 2_000
#: Every task state, so ``counts`` always lists them all (zero when empty).
TASK_STATES = (
    "open", "collecting", "aggregating", "in_review", "resolved", "stalled", "expired",
)  # fmt: skip

ProjectState = Literal["active", "paused"]
#: What a project shows: ``closed`` once its deadline passed (see ``core.projects.deadlines``);
#: final.
ProjectStatus = Literal["active", "paused", "closed"]
LanguageCode = Annotated[
    str,
    StringConstraints(pattern=LANGUAGE_TAG_PATTERN, max_length=35),
    Field(description="BCP-47 language tag a volunteer needs, e.g. 'fr' or 'pt-BR'"),
]
Skill = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), ONE_LINE
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_CHARS),
    ONE_LINE,
]
Instructions = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_INSTRUCTIONS_CHARS),
    PARAGRAPHS,
]
ImpactNote = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_IMPACT_NOTE_CHARS), PARAGRAPHS
]
# Strict: a boolean is not a number (lax mode took `true` for 1), nor is a numeric string; a
# rate (a float) still takes an integer such as 0 or 1.
Count = Annotated[int, Strict()]
Redundancy = Annotated[int, Strict(), Field(ge=1, le=MAX_REDUNDANCY)]
LeaseSeconds = Annotated[int, Strict(), Field(ge=MIN_LEASE_SECONDS, le=MAX_LEASE_SECONDS)]
Priority = Annotated[int, Strict(), Field(ge=-MAX_PRIORITY, le=MAX_PRIORITY)]
Rate = Annotated[float, Strict(), Field(ge=0.0, le=1.0)]
MAX_RETENTION_DAYS = 3650
MAX_BASE_RATES = 50  # as many labels as a moderation payload may list
BaseRates = dict[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                   max_length=100)], Rate]  # fmt: skip
_BASE_RATES_HELP = (
    'The share of tasks you expect in each label, e.g. {"ok": 0.8, "spam": 0.2} '
    "(label types; normalised, worth 50 tasks of evidence): the prior the decisions start "
    "from, refined by your gold answers. Default: none (gold answers alone, else uniform)."
)
RetentionDays = Annotated[int, Strict(), Field(ge=0, le=MAX_RETENTION_DAYS)]


class ReviewPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agreement: Rate | None = Field(
        default=None,
        description="Agreement an answer needs to be accepted without a reviewer "
        "(0..1; default: the task type's own threshold).",
    )
    spot_check_rate: Rate = Field(
        default=0.0, description="Share of agreed results still sent to a reviewer (0..1)."
    )
    target_share: Rate = Field(
        default=0.1,
        description="Share of tasks the organisation is ready to review: without `agreement`, "
        "the threshold is chosen from gold to stay near it (see the project's `quality`).",
    )
    target_accuracy: Rate = Field(
        default=0.9, description="Accuracy the tasks accepted without a reviewer must reach."
    )


MAX_GOLD_SCHEDULE_TASKS = 10_000
MAX_QUALIFICATION_TASKS = 100
MAX_COOLDOWN_SECONDS = 30 * 86_400


class GoldSchedule(BaseModel):
    """How the share of gold (control) tasks decays with a volunteer's experience."""

    model_config = ConfigDict(extra="forbid")

    initial_rate: Rate | None = Field(
        default=None,
        description="Share of gold tasks in a newcomer's first `warmup_tasks` tasks (default: "
        "four times `gold_rate`, at most 0.4, never below `gold_rate`).",
    )
    warmup_tasks: Count = Field(default=20, ge=0, le=MAX_GOLD_SCHEDULE_TASKS)
    settle_tasks: Count = Field(
        default=60,
        ge=0,
        le=MAX_GOLD_SCHEDULE_TASKS,
        description="From this many tasks on, the share is `gold_rate`; in between it decays "
        "linearly.",
    )

    @model_validator(mode="after")
    def _settle_after_warmup(self) -> Self:
        if self.settle_tasks < self.warmup_tasks:
            raise ValueError("settle_tasks must be at least warmup_tasks")
        return self


class Qualification(BaseModel):
    """Gold tasks a volunteer must pass before the project serves them real tasks."""

    model_config = ConfigDict(extra="forbid")

    gold_tasks: Count = Field(ge=1, le=MAX_QUALIFICATION_TASKS, description="Gold tasks per round.")
    pass_rate: Rate = Field(default=0.8, description="Share of them to get right to pass.")
    cooldown_seconds: Count = Field(
        default=3600, ge=0, le=MAX_COOLDOWN_SECONDS, description="Wait after a failed round."
    )


class ProjectCreate(BaseModel):
    """What an NGO sends to create a project."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    task_type: str = Field(min_length=1, max_length=64, description="See GET /v1/task-types.")
    redundancy: Redundancy = Field(default=3, description="Answers wanted per task.")
    lease_seconds: LeaseSeconds = Field(
        default=600, description="How long a volunteer holds a task before it is given back."
    )
    priority: Priority = Field(default=0, description="Higher projects are served first.")
    deadline: AwareDatetime | None = Field(default=None, description="ISO 8601, with a zone.")
    languages: list[LanguageCode] = Field(default_factory=list, max_length=MAX_LANGUAGES)
    skills: list[Skill] = Field(default_factory=list, max_length=MAX_SKILLS)
    instructions: Instructions
    impact_note: ImpactNote | None = Field(
        default=None, description="What the work achieves, shown to volunteers."
    )
    review: ReviewPolicy = Field(default_factory=ReviewPolicy)
    gold_rate: Rate = Field(
        default=0.0, description="Share of served tasks that are gold tasks, once settled."
    )
    gold: GoldSchedule = Field(default_factory=GoldSchedule)
    qualification: Qualification | None = None
    max_redundancy: Redundancy | None = Field(
        default=None, description="Ceiling when disagreement asks for more answers."
    )
    base_rates: BaseRates | None = Field(
        default=None, max_length=MAX_BASE_RATES, description=_BASE_RATES_HELP
    )
    reputation_floor: Rate | None = Field(
        default=None,
        description="Estimated accuracy (0..1) below which a volunteer stops receiving this "
        "project's task type, once enough evidence is in (see core.quality.reputation_model); "
        "default: none.",
    )
    max_tasks_per_volunteer: Annotated[int, Strict()] | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="Most tasks of this project one volunteer may claim (released ones count: "
        "each claim shows a payload); default: no cap. Past it, the volunteer is served other "
        "projects' tasks.",
    )
    retention_days: RetentionDays | None = Field(
        default=None,
        description="Days after the project closes (its deadline passed) when its answers, "
        "results and payloads are removed; default: kept until the project is deleted.",
    )
    invitation_only: Annotated[bool, Strict()] = Field(
        default=False,
        description="Only volunteers who joined with an invitation of this project (or of its "
        "organisation) are served its tasks.",
    )
    translation_memory: Annotated[bool, Strict()] = Field(
        default=True,
        description="Translation projects: show volunteers up to three similar past results "
        "of this project beside a new task (sources and translations of tasks they never "
        "held). Turn it off for confidential texts.",
    )

    @model_validator(mode="after")
    def _ceiling_above_redundancy(self) -> Self:
        if self.max_redundancy is not None and self.max_redundancy < self.redundancy:
            raise ValueError("max_redundancy must be at least redundancy")
        return self


class ProjectPatch(BaseModel):
    """An edit: only the fields sent change; ``null`` clears an optional field."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    state: ProjectState | None = Field(default=None, description="Pause or resume the project.")
    redundancy: Redundancy | None = Field(default=None, description="Applies to new tasks.")
    lease_seconds: LeaseSeconds | None = None
    priority: Priority | None = None
    deadline: AwareDatetime | None = None
    languages: list[LanguageCode] | None = Field(default=None, max_length=MAX_LANGUAGES)
    skills: list[Skill] | None = Field(default=None, max_length=MAX_SKILLS)
    instructions: Instructions | None = None
    impact_note: ImpactNote | None = None
    review: ReviewPolicy | None = None
    gold_rate: Rate | None = None
    gold: GoldSchedule | None = None
    qualification: Qualification | None = None
    max_redundancy: Redundancy | None = None
    base_rates: BaseRates | None = Field(default=None, max_length=MAX_BASE_RATES)
    reputation_floor: Rate | None = None
    max_tasks_per_volunteer: Annotated[int, Strict()] | None = Field(
        default=None, ge=1, le=1_000_000
    )
    retention_days: RetentionDays | None = None
    invitation_only: Annotated[bool, Strict()] | None = None
    translation_memory: Annotated[bool, Strict()] | None = None


# Fields that cannot be cleared with null (a project always has them).
REQUIRED_ON_PATCH = frozenset(
    {
        "name",
        "state",
        "redundancy",
        "lease_seconds",
        "priority",
        "languages",
        "skills",
        "instructions",
        "review",
        "gold_rate",
        "gold",
        "invitation_only",
        "translation_memory",
    }
)


class Project(BaseModel):
    """A project as the API shows it to its organisation."""

    id: str
    name: str
    task_type: str
    redundancy: int
    lease_seconds: int
    priority: int
    deadline: datetime | None
    languages: list[str]
    skills: list[str]
    instructions: str
    impact_note: str | None
    review: ReviewPolicy
    gold_rate: float
    gold: GoldSchedule
    qualification: Qualification | None
    max_redundancy: int | None
    base_rates: dict[str, float] | None = None
    reputation_floor: float | None = None
    max_tasks_per_volunteer: int | None = None
    retention_days: int | None = Field(
        default=None, description="Days after closing when answers and results are removed."
    )
    invitation_only: bool = Field(
        default=False, description="Served only to volunteers invited to it."
    )
    translation_memory: bool = Field(
        default=True, description="Similar past results shown to translators (see create)."
    )
    purged_at: datetime | None = Field(
        default=None, description="When retention removed the answers and results, if it did."
    )
    state: ProjectStatus = Field(
        description="active, paused, or closed (the deadline passed: unfinished tasks expired)."
    )
    counts: dict[str, int] = Field(description="Number of tasks in each state.")
    gold_tasks: int = Field(default=0, description="Gold tasks (never in `counts`).")
    quality: dict[str, Any] | None = Field(
        default=None,
        description="What the last quality refit learnt: the confidence calibration, the "
        "threshold chosen (`threshold.reason`: share_target, accuracy_target, set or default; "
        "`note` says why) and what it read.",
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="What the policy will do that the organisation may not expect (e.g. with "
        "`redundancy: 1`, every task goes to review until volunteers have a record), and how "
        "to change it.",
    )
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ProjectSummary:
    """What a volunteer claim needs to know to choose a project (the claim index entry)."""

    id: str
    task_type: str
    languages: list[str]
    skills: list[str]
    priority: int
    state: str
    deadline_ms: int | None = None
    org_id: str = ""
    reputation_floor: float | None = None  # volunteers below it on this type are not served
    invitation_only: bool = False  # served only to volunteers admitted by an invitation
