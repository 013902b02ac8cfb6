"""Every string of the pages is translated into French, in the catalogue of its area, keeping
its placeholders: what `make messages` extracts, extracted here the same way (no Makefile
needed), so a string added without its translation fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import web

WEB = Path(web.__file__).parent
LANGUAGES = ["fr"]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
METHODS = [("**.html", "jinja2"), ("**.py", "python")]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _areas() -> list[str]:
    return ["ruche", *sorted(p.parent.name for p in WEB.glob("*/routes.py"))]


def _extracted(area: str) -> Iterator[str]:
    if area == "ruche":  # web/*.py and web/templates, not the areas' folders
        sources = [(WEB, "*.py"), (WEB / "templates", "**.html")]
        for folder, pattern in sources:
            method = "python" if pattern.endswith(".py") else "jinja2"
            for found in extract_from_dir(
                folder, [(pattern, method)], keywords=KEYWORDS, comment_tags=()
            ):
                if folder == WEB and "/" in found[0]:
                    continue
                yield _msgid(found[2])
        return
    for found in extract_from_dir(WEB / area, METHODS, keywords=KEYWORDS):
        yield _msgid(found[2])


def _msgid(message: str | tuple[str, ...]) -> str:
    return message if isinstance(message, str) else message[0]


def _catalogue(area: str, language: str) -> Catalog:
    path = WEB / "locale" / language / "LC_MESSAGES" / f"{area}.po"
    assert path.exists(), f"{path.relative_to(WEB.parent)} is missing: run `make messages`"
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("area", _areas())
def test_every_string_of_the_area_is_translated(area: str, language: str) -> None:
    catalogue = _catalogue(area, language)
    problems = []
    for msgid in sorted(set(_extracted(area))):
        message = catalogue.get(msgid)
        if message is None:
            problems.append(f"not in the catalogue (run `make messages`): {msgid!r}")
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated or fuzzy: {msgid!r}")
            continue
        for translated in strings:
            if set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(str(translated))):
                problems.append(f"placeholders differ: {msgid!r} -> {translated!r}")
    assert not problems, "\n".join(problems)


def test_the_layout_is_right_to_left_only_for_a_right_to_left_language() -> None:
    from web.i18n import is_rtl, language

    assert [is_rtl(tag) for tag in ("ar", "fa", "he", "ur", "fr", "en", "sw")] == [
        True, True, True, True, False, False, False,
    ]  # fmt: skip
    assert language("fr").direction == "ltr"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_string_found_in_two_areas_is_translated_the_same_in_both(language: str) -> None:
    """The catalogues are merged into one at start-up, so two translations of one string would
    leave one area with the other's words (a label the tests and screen readers look for)."""
    translations: dict[str, dict[str, str]] = {}
    for area in _areas():
        for message in _catalogue(area, language):
            if message.id and isinstance(message.id, str):
                translations.setdefault(message.id, {})[area] = str(message.string)
    differing = {
        msgid: by_area for msgid, by_area in translations.items() if len(set(by_area.values())) > 1
    }
    assert not differing, differing
