"""What a volunteer's profile may hold, as both the API and the pages validate it."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from core.text import ONE_LINE
from task_types.languages import LanguageTag

__all__ = [
    "MAX_LANGUAGES",
    "MAX_SKILLS",
    "DisplayName",
    "Languages",
    "NewVolunteer",
    "Skill",
    "Skills",
    "unique",
]

MAX_LANGUAGES = 20
MAX_SKILLS = 20

DisplayName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80), ONE_LINE
]
Skill = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), ONE_LINE
]
Languages = Annotated[list[LanguageTag], Field(min_length=1, max_length=MAX_LANGUAGES)]
Skills = Annotated[list[Skill], Field(max_length=MAX_SKILLS)]


def unique(values: list[str]) -> list[str]:
    """Duplicates dropped, ignoring case; the first spelling and the order kept."""
    seen: dict[str, str] = {}
    for value in values:
        seen.setdefault(value.casefold(), value)
    return list(seen.values())


class NewVolunteer(BaseModel):
    """A new volunteer's profile (``POST /v1/volunteers``, the join page)."""

    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName
    languages: Languages = Field(description="BCP-47 tags of the languages you read and write.")
    skills: Skills = Field(default_factory=list)

    @field_validator("languages", "skills")
    @classmethod
    def _dedupe(cls, values: list[str]) -> list[str]:
        return unique(values)
