"""Which projects fit a volunteer, best first: what a claim tries, in that order.

A project fits a volunteer when:

- it is active (the claim index lists only those) and of a task type the volunteer asked for,
  if they asked;
- languages, compared by their primary subtag (``pt-BR`` and ``pt`` are the same language): a
  project of a type that ``needs_every_language`` (translation: the volunteer reads the source and
  writes the target) needs *every* language it lists among the volunteer's; any other project
  needs *one* of its languages (the content is in one of them). A project that lists no language
  fits everybody;
- every skill the project lists is among the volunteer's (ignoring case);
- the volunteer is not below the project's reputation floor for its task type, if it sets one
  (one read of their reputation, only when a candidate project sets a floor).

Projects are tried by priority, highest first (ties in random order, to spread the volunteers),
at most :data:`MAX_PROJECTS_TRIED` of them (:mod:`core.board.claims` makes each try).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

import redis.asyncio

from core.board.runner import AsyncBoard
from core.errors import CharterNotAccepted, ProjectNotFound
from core.projects.catalogue import ProjectCatalogue
from core.quality.reputation import ReputationOps
from core.quality.reputation_model import TypeReputation, below_floor
from core.redis.keys import Keys
from task_types import UnknownTaskType
from task_types import get as get_task_type
from task_types.languages import primary_language

__all__ = [
    "MAX_PROJECTS_TRIED",
    "Matcher",
    "ProjectCard",
    "ProjectSource",
    "VolunteerLike",
    "by_priority",
    "fits",
    "needs_every_language",
    "require_charter",
    "speaks",
]

MAX_PROJECTS_TRIED = 8


class ProjectCard(Protocol):
    """What choosing a project needs to know (``core.projects.store.ProjectSummary`` fits)."""

    @property
    def id(self) -> str: ...

    @property
    def task_type(self) -> str: ...

    @property
    def languages(self) -> Sequence[str]: ...

    @property
    def skills(self) -> Sequence[str]: ...

    @property
    def priority(self) -> int: ...

    @property
    def state(self) -> str: ...

    @property
    def reputation_floor(self) -> float | None: ...

    @property
    def org_id(self) -> str: ...

    @property
    def invitation_only(self) -> bool: ...


T = TypeVar("T", bound=ProjectCard)

ProjectSource = Callable[[redis.asyncio.Redis, Keys], Awaitable[Sequence[ProjectCard]]]


class VolunteerLike(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def languages(self) -> Sequence[str]: ...

    @property
    def skills(self) -> Sequence[str]: ...

    @property
    def charter_accepted_at_ms(self) -> int | None: ...


def require_charter(volunteer: VolunteerLike) -> None:
    """Nothing fits a volunteer who has not accepted the confidentiality charter."""
    if volunteer.charter_accepted_at_ms is None:
        raise CharterNotAccepted("accept the confidentiality charter first (POST /v1/me/charter)")


def fits(card: ProjectCard, volunteer: VolunteerLike) -> bool:
    """The project's language and skill requirements are met (see the module docstring)."""
    return _fits(card, *_abilities(volunteer), needs_every_language(card.task_type))


def speaks(card: ProjectCard, volunteer: VolunteerLike) -> bool:
    """The project's language requirement alone is met (skills aside): what a reviewer needs to
    read the items of a project they were given rights on."""
    known = {primary_language(tag) for tag in volunteer.languages}
    return _fits(card, known, set(), needs_every_language(card.task_type), skills_too=False)


def needs_every_language(task_type: str) -> bool:
    """The type's own rule (``TaskType.needs_every_language``); one language is enough for a
    type not installed on this server."""
    try:
        return get_task_type(task_type).needs_every_language
    except UnknownTaskType:
        return False


def by_priority(cards: Sequence[ProjectCard]) -> list[ProjectCard]:
    """Highest priority first; equal priorities shuffled so volunteers spread across them."""
    shuffled = list(cards)
    random.shuffle(shuffled)  # spreading load, not security
    return sorted(shuffled, key=lambda card: -card.priority)


def _abilities(volunteer: VolunteerLike) -> tuple[set[str], set[str]]:
    """The volunteer's primary languages and folded skills, worked out once per claim."""
    return (
        {primary_language(tag) for tag in volunteer.languages},
        {skill.casefold() for skill in volunteer.skills},
    )


def _fits(
    card: ProjectCard,
    known: set[str],
    skills: set[str],
    every_language: bool,
    *,
    skills_too: bool = True,
) -> bool:
    if card.languages:
        wanted = {primary_language(tag) for tag in card.languages}
        if every_language:
            if not wanted <= known:
                return False
        elif not wanted & known:
            return False
    return not skills_too or all(skill.casefold() in skills for skill in card.skills)


class Matcher:
    """The projects a volunteer may claim from, read from the API process's catalogue."""

    def __init__(self, board: AsyncBoard, keys: Keys, catalogue: ProjectCatalogue) -> None:
        self.board = board
        self.keys = keys
        self.catalogue = catalogue

    async def candidates(
        self,
        volunteer: VolunteerLike,
        *,
        task_types: Sequence[str] | None = None,
        project_id: str | None = None,
        limit: int = MAX_PROJECTS_TRIED,
    ) -> list[ProjectCard]:
        """Projects to try for this volunteer, best first, at most ``limit``. An explicit project
        the volunteer cannot see (unknown, paused, or not for them) is ``ProjectNotFound``."""
        known, skills = _abilities(volunteer)
        cards = await self.catalogue.claimable()
        # Each type asked once per claim, not once per project.
        every = {name: needs_every_language(name) for name in {card.task_type for card in cards}}
        visible = [
            card
            for card in cards
            if card.state == "active" and _fits(card, known, skills, every[card.task_type])
        ]
        visible = await self._admitted(visible, volunteer.id)
        if project_id is not None:
            visible = [card for card in visible if card.id == project_id]
            if not visible:
                raise ProjectNotFound("no such project")
        if task_types:
            wanted = set(task_types)
            visible = [card for card in visible if card.task_type in wanted]
        visible = await self._above_floors(visible, volunteer.id)
        return by_priority(visible)[:limit]

    async def _admitted(self, cards: Sequence[T], volunteer_id: str) -> list[T]:
        """The cards open to the volunteer: an invitation-only project needs an invitation of
        it or of its organisation (``G:vol:<id>:admitted``). One SMISMEMBER, only when a
        candidate project is invitation-only."""
        closed = [card for card in cards if card.invitation_only]
        if not closed:
            return list(cards)
        scopes = sorted({scope for card in closed for scope in (card.id, card.org_id) if scope})
        found = await self.board.client.smismember(
            self.keys.volunteer_admitted(volunteer_id), scopes
        )
        admitted = {scope for scope, member in zip(scopes, found, strict=True) if member}
        return [
            card
            for card in cards
            if not card.invitation_only or card.id in admitted or card.org_id in admitted
        ]

    async def _above_floors(self, cards: Sequence[T], volunteer_id: str) -> list[T]:
        """The cards whose reputation floor (if any) the volunteer is not below: one read of
        their reputation, only when a candidate project sets a floor."""
        floored = {card.task_type for card in cards if card.reputation_floor}
        if not floored:
            return list(cards)
        ops = ReputationOps(self.keys, self.board.clock)
        standings = await self.board.run(ops.standings(volunteer_id, sorted(floored)))
        return [
            card
            for card in cards
            if not below_floor(
                standings.get(card.task_type) or TypeReputation(card.task_type),
                card.reputation_floor,
            )
        ]
