"""The join and profile forms, read and checked: the API's own profile rules
(``core.volunteers.profile``, which ``POST /v1/volunteers`` and ``PATCH /v1/me`` apply), with each
error said next to its field in the person's words."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Self

from pydantic import ValidationError
from starlette.datastructures import FormData

from core.accounts.emails import normalise_email
from core.volunteers.profile import NewVolunteer
from web.i18n import N_, language_name

__all__ = ["COMMON_LANGUAGES", "EMAIL_ERROR", "JoinForm", "ProfileForm", "language_choices"]

#: The languages offered as checkboxes (others go in "Other languages"): those most asked of
#: NGOs' volunteers, named in the UI language on the page.
COMMON_LANGUAGES = (
    "en", "fr", "es", "ar", "pt", "sw", "ha", "am", "so", "fa", "ps", "ur", "hi", "bn",
    "ru", "uk", "tr", "de", "it", "zh",
)  # fmt: skip
EMAIL_ERROR = N_("Please give an e-mail address such as name@example.org, or leave it empty.")
_SEPARATORS = re.compile(r"[,;\s]+")


def language_choices(chosen: list[str], ui_language: str) -> list[dict[str, object]]:
    """The languages' checkboxes, named in the UI language, those in ``chosen`` ticked."""
    return [
        {"code": code, "name": language_name(code, ui_language), "checked": code in chosen}
        for code in COMMON_LANGUAGES
    ]


def _split(text: str) -> list[str]:
    return [part for part in _SEPARATORS.split(text.strip()) if part]


def _skills(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;\n]+", text) if part.strip()]


@dataclass
class ProfileForm:
    """Display name, languages (checkboxes plus "Other languages") and skills: the fields the
    join page and "My profile" share."""

    display_name: str = ""
    languages: list[str] = field(default_factory=list)
    other_languages: str = ""
    skills: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, display_name: str, languages: list[str], skills: list[str]) -> ProfileForm:
        """The form filled with a saved profile: the common languages ticked, the others
        written out."""
        ticked = [tag for tag in languages if tag in COMMON_LANGUAGES]
        others = [tag for tag in languages if tag not in COMMON_LANGUAGES]
        return cls(
            display_name=display_name,
            languages=ticked,
            other_languages=", ".join(others),
            skills=", ".join(skills),
        )

    @staticmethod
    def _fields(form: FormData) -> dict[str, Any]:
        def text(name: str) -> str:
            value = form.get(name, "")
            return value[:2000] if isinstance(value, str) else ""

        return {
            "display_name": text("display_name"),
            "languages": [v for v in form.getlist("languages") if isinstance(v, str)][:40],
            "other_languages": text("other_languages"),
            "skills": text("skills"),
        }

    @classmethod
    def read(cls, form: FormData) -> Self:
        return cls(**cls._fields(form))

    def checked(self) -> NewVolunteer | None:
        """The profile, or None with :attr:`errors` filled (field -> message id)."""
        languages = [*self.languages, *_split(self.other_languages)]
        try:
            new = NewVolunteer(
                display_name=self.display_name,
                languages=languages,
                skills=_skills(self.skills),
            )
        except ValidationError as invalid:
            for error in invalid.errors():
                where = str(error["loc"][0]) if error["loc"] else ""
                if where == "display_name":
                    self.errors["display_name"] = N_(
                        "Please give a name to show, of at most 80 characters, on one line."
                    )
                elif where == "languages" and error["type"] == "too_short":
                    self.errors["languages"] = N_("Please choose at least one language.")
                elif where == "languages":
                    self.errors["languages"] = N_(
                        "Please write other languages as short codes such as ‘fr’, ‘pt-BR’ or "
                        "‘sr-Latn’, separated by commas (at most 20 languages)."
                    )
                elif where == "skills":
                    self.errors["skills"] = N_(
                        "Please give at most 20 skills, each of at most 64 characters, "
                        "separated by commas."
                    )
            return None
        return None if self.errors else new


@dataclass
class JoinForm(ProfileForm):
    #: Optional; ignored where e-mail sign-in is off (the field is not shown then).
    email: str = ""
    #: The invitation code, carried from ``/join?invite=…`` in a hidden field.
    invite: str = ""

    @classmethod
    def read(cls, form: FormData) -> Self:
        fields = cls._fields(form)
        email, invite = form.get("email", ""), form.get("invite", "")
        return cls(
            **fields,
            email=email[:300].strip() if isinstance(email, str) else "",
            invite=invite[:100].strip() if isinstance(invite, str) else "",
        )

    @property
    def normalised_email(self) -> str | None:
        return normalise_email(self.email) if self.email else None

    def checked(self) -> NewVolunteer | None:
        """The new volunteer, or None with :attr:`errors` filled (field -> message id)."""
        if self.email and self.normalised_email is None:
            self.errors["email"] = EMAIL_ERROR
        new = super().checked()
        return None if self.errors else new
