"""The pages' languages: which one a request gets, and its translations.

The UI language is chosen by ``?lang=`` (remembered in a cookie), then that cookie, then
``Accept-Language``, then English. Translations are gettext catalogues (Babel): one ``.po``
file per area of the site (``web/locale/<lang>/LC_MESSAGES/<area>.po``, extracted from that
area's templates and modules by ``make messages``), merged into one catalogue per language at
start-up. Reading the ``.po`` files themselves (compiled in memory) means a fresh checkout needs
no compiled ``.mo`` file and no build step.

Python code marks a string for extraction with :func:`N_` and leaves translating it to the
template that shows it (``{{ _(message) }}``), where the request's language is known.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from markupsafe import Markup

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGE_COOKIE",
    "N_",
    "UI_LANGUAGES",
    "Language",
    "catalogued_languages",
    "choose_language",
    "is_rtl",
    "language",
    "language_name",
]

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "ruche_lang"


def catalogued_languages(locale_dir: Path) -> tuple[str, ...]:
    """English (the source language: no catalogue) and every language with catalogues in
    ``locale_dir/<code>/LC_MESSAGES/*.po``. A new UI language is its folder of catalogues (add
    its code to ``WEB_LANGUAGES`` in the Makefile and run ``make messages`` to start them), and
    nothing else: its pages get ``lang`` and ``dir`` from its code (``dir="rtl"`` for Arabic,
    Persian, Hebrew, Urdu…, which flips the layout: the CSS uses logical properties only)."""
    found = sorted(
        folder.parent.name
        for folder in locale_dir.glob("*/LC_MESSAGES")
        if folder.parent.name != DEFAULT_LANGUAGE and any(folder.glob("*.po"))
    )
    return (DEFAULT_LANGUAGE, *found)


#: The UI languages: English and French today (``web/locale/fr``).
UI_LANGUAGES: tuple[str, ...] = catalogued_languages(LOCALE_DIR)


def N_(message: str) -> str:
    """Marks ``message`` for extraction; the template translates it when it shows it."""
    return message


@cache
def _translations(lang: str) -> NullTranslations:
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    if not folder.is_dir():
        return NullTranslations()
    merged = Catalog(locale=lang, domain="ruche")
    for po_file in sorted(folder.glob("*.po")):
        with po_file.open("rb") as handle:
            for message in read_po(handle, locale=lang):
                # Untranslated and fuzzy entries fall back to English (and fail a test).
                if message.id and message.string and not message.fuzzy:
                    merged[message.id] = message
    compiled = io.BytesIO()
    write_mo(compiled, merged)
    compiled.seek(0)
    return Translations(fp=compiled, domain="ruche")


def is_rtl(tag: str) -> bool:
    """True for a language written right to left (ar, fa, he, ur…), by CLDR's data."""
    try:
        return Locale.parse(tag.replace("-", "_")).character_order == "right-to-left"
    except (ValueError, UnknownLocaleError):
        return False


@cache
def language_name(tag: str, in_language: str) -> str:
    """``tag``'s name in ``in_language`` ("fr" in French: "français"), capitalised; the tag
    itself when CLDR does not know it."""
    try:
        name = Locale.parse(tag.replace("-", "_")).get_display_name(in_language)
    except (ValueError, UnknownLocaleError):
        return tag
    return name[:1].upper() + name[1:] if name else tag


@dataclass(frozen=True, slots=True)
class Language:
    """A request's UI language and the callables its templates translate with."""

    code: str

    @property
    def rtl(self) -> bool:
        return is_rtl(self.code)

    @property
    def direction(self) -> str:
        return "rtl" if self.rtl else "ltr"

    def gettext(self, message: str, **variables: Any) -> str:
        translated = _translations(self.code).gettext(message)
        return translated % variables if variables else translated

    def ngettext(self, singular: str, plural: str, n: int, **variables: Any) -> str:
        translated = _translations(self.code).ngettext(singular, plural, n)
        return translated % {"num": n, **variables}

    def template_callables(self) -> dict[str, Callable[..., Any]]:
        """``_``, ``gettext`` and ``ngettext`` for templates: Jinja's "new style" (arguments by
        name, ``%(name)s``) with the arguments escaped, as autoescaping wants."""

        def gettext(message: str, **variables: Any) -> Markup:
            translated = Markup(_translations(self.code).gettext(message))  # noqa: S704
            # Markup's % escapes each argument.
            return translated % variables if variables else translated

        def ngettext(singular: str, plural: str, n: int, **variables: Any) -> Markup:
            translated = Markup(_translations(self.code).ngettext(singular, plural, n))  # noqa: S704
            return translated % {"num": n, **variables}

        return {"_": gettext, "gettext": gettext, "ngettext": ngettext}


def language(code: str) -> Language:
    return Language(code if code in UI_LANGUAGES else DEFAULT_LANGUAGE)


def choose_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """``?lang=``, then the cookie, then the best of ``Accept-Language``, then English."""
    for explicit in (query, cookie):
        if explicit in UI_LANGUAGES:
            return explicit
    if accept_language:
        weighted: list[tuple[float, int, str]] = []
        for position, part in enumerate(accept_language.split(",")[:20]):
            tag, _, params = part.strip().partition(";")
            quality = 1.0
            if params.strip().startswith("q="):
                try:
                    quality = float(params.strip()[2:])
                except ValueError:
                    quality = 0.0
            primary = tag.strip().split("-")[0].lower()
            if primary in UI_LANGUAGES and quality > 0:
                weighted.append((-quality, position, primary))
        if weighted:
            return min(weighted)[2]
    return DEFAULT_LANGUAGE
