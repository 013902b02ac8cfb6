"""Language tags, as projects, volunteers and payloads carry them (BCP-47 in practice)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

__all__ = ["LANGUAGE_TAG_PATTERN", "LanguageTag", "primary_language"]

# BCP-47 in practice: a 2-3 letter language, then optional subtags (script "Latn", region
# "CD" or "419", variants). Enough to catch "French" or "fr_FR " without a full registry.
LANGUAGE_TAG_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"
LanguageTag = Annotated[
    str,
    StringConstraints(pattern=LANGUAGE_TAG_PATTERN, max_length=35),
    Field(description="BCP-47 language tag such as 'fr', 'pt-BR' or 'sr-Latn'", examples=["fr"]),
]


def primary_language(tag: str) -> str:
    """The language subtag of a BCP-47 tag, lower-cased ('pt-BR' -> 'pt')."""
    return tag.split("-", 1)[0].lower()
