"""What an NGO sends for a translation task, and what a volunteer sends back."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from task_types.languages import LanguageTag
from task_types.text import clean_text

__all__ = ["TranslationAnswer", "TranslationPayload"]

MAX_SOURCE_CHARS = 10_000
# Translations run longer than their source (up to ~3x for short phrases into verbose
# languages); the plausibility filter judges the ratio, this only bounds the request size.
MAX_ANSWER_CHARS = 3 * MAX_SOURCE_CHARS
MAX_CONTEXT_CHARS = 2_000
MAX_GLOSSARY_TERMS = 200
MAX_TERM_CHARS = 200

GlossaryTerm = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TERM_CHARS)
]


class TranslationPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source_text: str = Field(min_length=1, max_length=MAX_SOURCE_CHARS)
    source_lang: LanguageTag
    target_lang: LanguageTag
    context: str | None = Field(
        default=None,
        max_length=MAX_CONTEXT_CHARS,
        description="Where the text appears, to help the translator (never logged)",
    )
    glossary: dict[GlossaryTerm, GlossaryTerm] | None = Field(
        default=None,
        max_length=MAX_GLOSSARY_TERMS,
        description="Imposed translations: {source term: target term}",
    )

    @field_validator("source_text")
    @classmethod
    def _source_not_blank(cls, value: str) -> str:
        if not clean_text(value):
            raise ValueError("source_text must contain some text, not only whitespace")
        return value


class TranslationAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1, max_length=MAX_ANSWER_CHARS)

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        if not clean_text(value):
            raise ValueError("the translation must contain some text, not only whitespace")
        return value
