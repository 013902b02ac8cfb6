"""The workbench's partials and script in a real Chromium, outside the task page (which the task
pages' branch builds; the lead tests them together): the partials rendered by the pages' own
Jinja environment in a bare form with ruche.css and ruche.js, in English and French.

- the live checks of 30-workbench.js give the same codes and details as translation_checks()
  on the same cases;
- typing shows the (translated) warnings in the polite region; "Use this translation" fills the
  field; Ctrl+Enter and Cmd+Enter submit with the form's Submit button;
- axe finds no WCAG 2.2 A/AA violation, at a phone's size, in both languages.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.web import PHONE, assert_accessible
from web.i18n import language
from web.pages import environment
from web.static import Assets
from web.work.translation_checks import CHECK_LIMITS
from web.work.workbench import Match, Workbench, glossary_entries, mark_glossary, translation_checks

SOURCE = "Send 1,000 <b>kits</b> to the health centre for %(name)s.\nThank you!"
GLOSSARY: dict[str, str | dict[str, str]] = {
    "health centre": "centre de santé",
    "kits": {"translation": "trousses", "note": "pl."},
}
ASSETS = Assets()


def bench(source: str = SOURCE, source_lang: str = "en", target_lang: str = "fr") -> Workbench:
    segments = mark_glossary(source, GLOSSARY)
    return Workbench(
        source=source,
        source_lang=source_lang,
        target_lang=target_lang,
        source_dir="ltr",
        target_dir="rtl" if target_lang == "ar" else "ltr",
        context=None,
        segments=segments,
        glossary=glossary_entries(segments),
        memory=[
            Match("Send 500 kits to the health centre.", "Envoyez 500 trousses au centre.", 81),
            Match("Send kits to the centre.", "Envoyez des trousses.", 64),
        ],
    )


def render(ui: str, wb: Workbench, checks: list[Any], submitted: bool) -> str:
    context = {**language(ui).template_callables(), "wb": wb, "checks": checks}
    context["checks_submitted"] = submitted

    def part(name: str) -> str:
        return environment.get_template(f"work/workbench_{name}.html").render(**context)

    label = "Votre traduction" if ui == "fr" else "Your translation"
    return f"""<!doctype html><html lang="{ui}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Workbench</title>
<style>{ASSETS.css.body.decode()}</style></head><body><main id="main"><h1>Task</h1>
{part("source")}{part("memory")}
<form method="post" action="/nowhere" data-workbench>
<label for="text">{label}</label>
<textarea id="text" name="text" lang="{wb.target_lang}" aria-describedby="wb-checks"></textarea>
{part("checks")}
<div class="actions"><button type="submit" data-workbench-submit>Submit</button>
<button type="submit" name="skip" value="1" class="secondary">Skip</button></div>
</form>{part("shortcuts")}</main>
<div id="live" class="visually-hidden" role="status" aria-live="polite"></div>
<script>{ASSETS.js.body.decode()}</script></body></html>"""


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    yield page
    context.close()


def open_bench(page: Page, ui: str = "en", submitted: bool = False, **wb: Any) -> Workbench:
    workbench = bench(**wb)
    checks = translation_checks(
        workbench.source,
        "Envoyez des kits.",
        source_lang=workbench.source_lang,
        target_lang=workbench.target_lang,
    )
    page.set_content(render(ui, workbench, checks if submitted else [], submitted))
    # A submit is recorded, not sent (the page has no server).
    page.evaluate(
        """() => document.querySelector("form").addEventListener("submit", (e) => {
             e.preventDefault();
             window.submittedWith = (e.submitter && e.submitter.textContent) || "?";
           })"""
    )
    return workbench


CASES = [
    ("Wash your hands.", "  wash YOUR hands. ", "en", "fr"),
    ("Colour", "colour", "en-GB", "en-US"),
    ("12/05/2024", "12/05/2024", "en", "fr"),
    ("Please wash your hands with soap before every meal.", "Lavez.", "en", "fr"),
    ("Please wash your hands with soap before every meal.", "Lavez-vous " * 20, "en", "fr"),
    ("OK", "D'accord " * 10, "en", "fr"),
    ("Please wash your hands with soap before every meal.", "请在每顿饭前用肥皂洗手。", "en", "zh"),
    (
        "Send 1,000 kits and 2.5 litres by 12 May.",
        "1 000 kits, 2,5 l, le 12 mai.",
        "en",
        "fr",
    ),
    ("Send 1,000 kits and 2.5 litres by 12 May.", "Envoyez mille kits et 2,5 l.", "en", "fr"),
    ("Room 5 has 100 beds.", "La salle \u0665 a \u0661\u0660\u0660 lits.", "en", "ar"),
    ("Print 5 100-page books.", "Imprimez 5 livres de 100 pages.", "en", "fr"),
    ("Hello %s, %(count)d from {sender} in {{inbox}} (%1$s).", "Bonjour {{ inbox }}", "en", "fr"),
    ("Hello {name}", "Bonjour {nom} %d", "en", "fr"),
    ("50% of 100%% sure", "50 % de 100%% sûr", "en", "fr"),
    ('Click <b>Save</b> then <a href="/x">next</a>.<br/>', "Cliquez <a>x</a><i>!</i>", "en", "fr"),
    ("One.\nTwo.", "Un. Deux.", "en", "fr"),
    ("One.\nTwo.", "Un.\r\nDeux.", "en", "fr"),
    ("Hello", "   ", "en", "fr"),
]


def test_the_live_checks_are_the_python_checks(phone: Page) -> None:
    open_bench(phone)
    for source, translation, source_lang, target_lang in CASES:
        expected = [
            [c.code, dict(c.params)]
            for c in translation_checks(
                source, translation, source_lang=source_lang, target_lang=target_lang
            )
        ]
        dataset = {
            "source": source,
            "sourceLang": source_lang,
            "targetLang": target_lang,
            **{f"limit{name.title()}": str(value) for name, value in CHECK_LIMITS.items()},
        }
        found = phone.evaluate("([d, t]) => Ruche.translationChecks(d, t)", [dataset, translation])
        assert found == expected, (source, translation)


def test_typing_shows_translated_warnings_and_the_memory_fills_the_field(phone: Page) -> None:
    open_bench(phone, ui="fr")
    shortcuts = phone.get_by_role("heading", name="Raccourcis clavier")
    expect(shortcuts).to_be_visible()  # shown once the script runs
    field = phone.get_by_label("Votre traduction")
    field.fill("Envoyez des trousses au centre de santé pour %(name)s. Merci !")
    warnings = phone.locator("#wb-checks li")
    expect(warnings).to_have_text(
        [
            "Nombres du texte source absents de votre traduction : 1,000",
            "Balises du texte source absentes de votre traduction : </b>, <b>",
            "Retours à la ligne : 1 dans le texte source, 0 dans votre traduction.",
        ]
    )
    use = phone.get_by_role("button", name="Utiliser cette traduction")
    expect(use).to_have_count(2)
    use.first.click()
    expect(field).to_have_value("Envoyez 500 trousses au centre.")
    expect(field).to_be_focused()
    expect(phone.locator("#live")).to_have_text(
        "La traduction est dans le champ : adaptez-la à ce texte."
    )
    field.fill("Envoyez 1 000 <b>trousses</b> au centre de santé pour %(name)s.\nMerci !")
    expect(phone.locator(".wb-checks-box")).to_be_hidden()


@pytest.mark.parametrize("modifier", ["Control", "Meta"])
def test_ctrl_or_cmd_enter_submits_with_the_submit_button(phone: Page, modifier: str) -> None:
    open_bench(phone)
    phone.get_by_label("Your translation").fill("Envoyez 1 000 trousses.")
    phone.keyboard.press(f"{modifier}+Enter")
    phone.wait_for_function("window.submittedWith !== undefined")
    assert phone.evaluate("window.submittedWith") == "Submit"


def test_the_glossary_marks_and_the_warnings_after_a_submit(phone: Page) -> None:
    open_bench(phone, submitted=True, target_lang="ar")
    marks = phone.locator(".wb-source-text mark")
    expect(marks).to_have_text(["kits", "health centre"])
    glossary = phone.locator(".wb-glossary")
    expect(glossary.locator("dt")).to_have_text(["kits", "health centre"])
    expect(glossary.locator("dd").first).to_have_text("trousses pl.")
    expect(glossary.locator("dd span[lang=ar][dir=rtl]")).to_have_count(2)
    alert = phone.get_by_role("alert")
    expect(alert).to_contain_text("Numbers of the source missing from your translation: 1,000")
    expect(alert.get_by_role("button", name="Submit anyway")).to_be_visible()


@pytest.mark.parametrize("ui", ["en", "fr"])
def test_the_workbench_is_accessible(phone: Page, ui: str, tmp_path: Path) -> None:
    open_bench(phone, ui=ui, submitted=True)
    phone.get_by_role("textbox").fill("Envoyez des kits.")
    assert_accessible(phone)
    phone.screenshot(path=str(tmp_path / f"workbench-{ui}.png"), full_page=True)
