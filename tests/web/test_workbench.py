"""The translation workbench's logic (web/work/workbench.py): glossary marking, the checks before
submit, and the translation memory on results the real pipeline published (tasks answered by
volunteers on the board, then aggregated as the ``tasks.aggregate`` actor does)."""

from __future__ import annotations

import asyncio
import unicodedata
import uuid
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
import redis
import redis.asyncio
from hypothesis import given, settings
from hypothesis import strategies as st

from core.board.runner import NewTask
from core.quality.aggregation import Outcome, aggregate_task
from core.redis.keys import Keys
from tests.support.board import TestBoard
from tests.support.pipeline import answer, make_project
from web.work.workbench import (
    CHECK_MESSAGES,
    Match,
    Segment,
    TranslationMemory,
    glossary_entries,
    mark_glossary,
    similar_results,
    translation_checks,
    workbench,
)

T = TypeVar("T")

# -- glossary marking ----------------------------------------------------------------------------


def terms(segments: Sequence[Segment]) -> list[tuple[str, str | None]]:
    return [(s.text, s.term) for s in segments if s.is_term]


def test_terms_are_marked_case_blind_on_word_boundaries_with_their_translation() -> None:
    source = "Santé publique : la SANTÉ de tous. Insanté n'est pas un mot, santés non plus."
    segments = mark_glossary(source, {"santé": "health", "santé publique": "public health"})
    assert terms(segments) == [("Santé publique", "santé publique"), ("SANTÉ", "santé")]
    assert [s.translation for s in segments if s.is_term] == ["public health", "health"]
    assert "".join(s.text for s in segments) == source


def test_overlapping_terms_the_longest_wins_even_when_a_shorter_one_starts_earlier() -> None:
    source = "a primary health care worker"
    glossary = {"primary health": "soins", "health care worker": "agent de santé", "care": "x"}
    assert terms(mark_glossary(source, glossary)) == [("health care worker", "health care worker")]
    # Same length: the earlier one, then what is left free still matches.
    same = mark_glossary("abc def ghi", {"def ghi": "2", "abc def": "1", "ghi": "3"})
    assert terms(same) == [("abc def", "abc def"), ("ghi", "ghi")]


def test_accents_count_and_either_unicode_form_matches() -> None:
    decomposed = unicodedata.normalize("NFD", "Le café est prêt; un cafe aussi.")
    segments = mark_glossary(decomposed, {"café": "coffee"})
    assert terms(segments) == [(unicodedata.normalize("NFD", "café"), "café")]
    # "cafe" must not match the start of a decomposed "café" (its accent is part of the word).
    assert terms(mark_glossary(decomposed, {"cafe": "plain"})) == [("cafe", "cafe")]
    assert "".join(s.text for s in segments) == decomposed


def test_right_to_left_text_and_arabic_vowel_marks_are_part_of_the_word() -> None:
    source = "منظمة الصحة العالمية تدعم الصحةَ في كل مكان"
    segments = mark_glossary(source, {"الصحة": "health", "منظمة الصحة العالمية": "WHO"})
    assert terms(segments) == [("منظمة الصحة العالمية", "منظمة الصحة العالمية")]
    assert "".join(s.text for s in segments) == source
    # With its vowel mark (fatha) the second "الصحةَ" is another word form: not the bare term.
    assert terms(mark_glossary(source, {"الصحة": "health"})) == [("الصحة", "الصحة")]


def test_unspaced_scripts_match_inside_a_run_of_text() -> None:
    source = "世界卫生组织支持卫生工作"
    assert terms(mark_glossary(source, {"卫生": "health"})) == [("卫生", "卫生"), ("卫生", "卫生")]


def test_spaces_in_a_term_match_any_run_of_spaces_and_punctuated_terms_match() -> None:
    source = "Call the health\n  care line, or e-mail (UNHCR) today."
    glossary = {"health care": "santé", "e-mail": "courriel", "(UNHCR)": "(HCR)"}
    assert terms(mark_glossary(source, glossary)) == [
        ("health\n  care", "health care"),
        ("e-mail", "e-mail"),
        ("(UNHCR)", "(UNHCR)"),
    ]


def test_no_glossary_or_no_match_is_one_plain_segment_and_the_note_travels() -> None:
    assert mark_glossary("Hello", None) == [Segment("Hello")]
    assert mark_glossary("Hello", {"bye": "adieu"}) == [Segment("Hello")]
    assert mark_glossary("", {"bye": "adieu"}) == []
    noted = mark_glossary("Bye, bye", {"bye": {"translation": "adieu", "note": "formal"}})
    assert [s.note for s in noted if s.is_term] == ["formal", "formal"]
    assert [(e.term, e.translation) for e in glossary_entries(noted)] == [("bye", "adieu")]


_TEXT = st.lists(
    st.sampled_from([*"aAbéeE\u0301 .,-\n(ßİ", "الصحة", "卫生", " "]), max_size=30
).map("".join)


@settings(max_examples=300, deadline=None)
@given(source=_TEXT, glossary=st.dictionaries(_TEXT, st.text(max_size=5), max_size=6))
def test_segments_always_join_back_to_the_exact_source(
    source: str, glossary: dict[str, str]
) -> None:
    segments = mark_glossary(source, glossary)
    assert "".join(s.text for s in segments) == source
    assert all(s.text for s in segments)
    for segment in segments:
        if segment.term is not None:
            assert segment.term in glossary
            assert segment.translation == glossary[segment.term]


# -- checks before submit ------------------------------------------------------------------------


def codes(
    source: str, translation: str, source_lang: str = "en", target_lang: str = "fr"
) -> list[tuple[str, dict[str, str]]]:
    found = translation_checks(
        source, translation, source_lang=source_lang, target_lang=target_lang
    )
    for check in found:
        assert check.code in CHECK_MESSAGES
        assert check.message == CHECK_MESSAGES[check.code]
    return [(c.code, dict(c.params)) for c in found]


def test_a_copy_of_the_source_is_flagged_across_languages_only() -> None:
    assert codes("Wash your hands.", "  wash YOUR hands. ") == [("copy_of_source", {})]
    assert codes("Wash your hands.", "Lavez-vous les mains.") == []
    assert codes("Colour", "colour", "en-GB", "en-US") == []  # one language: not a copy
    assert codes("12/05/2024", "12/05/2024") == []  # nothing to translate


def test_length_out_of_the_plausible_band() -> None:
    source = "Please wash your hands with soap before every meal."
    assert codes(source, "Lavez.") == [("too_short", {})]
    assert codes(source, "Lavez-vous les mains avec du savon " * 6) == [("too_long", {})]
    assert codes(source, "Lavez-vous les mains au savon avant chaque repas.") == []
    # A short source: only a ceiling (OK -> D'accord is x4 and fine).
    assert codes("OK", "D'accord") == []
    assert codes("OK", "D'accord " * 10) == [("too_long", {})]
    # Chinese characters weigh three: a faithful translation is not "too short".
    assert codes(source, "请在每顿饭前用肥皂洗手。", target_lang="zh") == []


def test_numbers_must_be_kept_in_any_grouping_or_digits() -> None:
    source = "Send 1,000 kits and 2.5 litres by 12 May."
    assert codes(source, "Envoyez 1 000 kits et 2,5 litres avant le 12 mai.") == []
    assert codes(source, "Envoyez 1.000 kits et 2,5 litres avant le 12 mai.") == []
    assert codes(source, "Envoyez mille kits et 2,5 litres avant le 12 mai.") == [
        ("numbers_missing", {"items": "1,000"})
    ]
    assert (
        codes(
            "Room 5 has 100 beds.", "La salle \u0665 a \u0661\u0660\u0660 lits.", target_lang="ar"
        )
        == []
    )
    # "5 100-page books" in French is 5 then 100: the grouping did not hide them.
    assert codes("Print 5 100-page books.", "Imprimez 5 livres de 100 pages.") == []


def test_placeholders_must_be_kept_and_not_invented() -> None:
    source = "Hello %s, you have %(count)d messages from {sender} in {{inbox}} (%1$s)."
    good = "Bonjour %s, vous avez %(count)d messages de {sender} dans {{ inbox }} (%1$s)."
    assert codes(source, good) == []
    assert codes(source, "Bonjour, vous avez %(count)d messages de {sender} ({{inbox}} %1$s).") == [
        ("placeholders_missing", {"items": "%s"})
    ]
    assert codes("Hello {name}", "Bonjour {nom}") == [
        ("placeholders_missing", {"items": "{name}"}),
        ("placeholders_extra", {"items": "{nom}"}),
    ]
    # A French "50 %" and a literal %% are not placeholders.
    assert codes("50% of 100%% sure", "50 % de 100%% sûr") == []


def test_markup_tags_are_compared_by_name_and_kind() -> None:
    source = 'Click <b>Save</b> then <a href="/x" title="Go">next</a>.<br/>'
    good = 'Cliquez sur <b>Enregistrer</b> puis <a href="/x" title="Aller">suivant</a>.<br>'
    assert codes(source, good) == []
    assert codes(source, 'Cliquez sur Enregistrer puis <a href="/x">suivant</a>.<br><i>!</i>') == [
        ("tags_missing", {"items": "</b>, <b>"}),
        ("tags_extra", {"items": "</i>, <i>"}),
    ]


def test_line_breaks_are_counted() -> None:
    assert codes("One.\nTwo.", "Un.\r\nDeux.") == []
    assert codes("One.\nTwo.", "Un. Deux.") == [("line_breaks", {"expected": "1", "found": "0"})]


def test_an_empty_translation_is_the_form_s_business() -> None:
    assert codes("Hello", "   ") == []


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_a_text_checked_against_itself_in_one_language_raises_nothing(text: str) -> None:
    assert translation_checks(text, text, source_lang="fr", target_lang="fr-CA") == []


# -- translation memory on real results ----------------------------------------------------------


def payload(source: str, target_lang: str = "en", **more: Any) -> dict[str, Any]:
    return {"source_text": source, "source_lang": "fr", "target_lang": target_lang, **more}


def resolve(board: TestBoard, project: str, task: dict[str, Any], translation: str) -> str:
    """One task, answered by three volunteers who agree, aggregated into a published result."""
    [created] = board.create_tasks(project, [NewTask(task, external_id=uuid.uuid4().hex)])
    answers = [{"text": translation}, {"text": translation + " "}, {"text": translation}]
    answer(board, project, answers)
    done = aggregate_task(board, project, created.task_id)
    assert done.outcome == Outcome.RESOLVED, done
    return created.task_id


def in_own_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` in a thread of its own: a browser test earlier in this pytest worker
    leaves Playwright's event loop running in the main thread, where asyncio.run refuses."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def similar(redis_url: str, project: str, source: str, **options: Any) -> list[Match]:
    async def run() -> list[Match]:
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        try:
            return await similar_results(client, Keys(), project, source, **options)
        finally:
            await client.aclose()

    return in_own_loop(run())


@pytest.fixture
def board(redis_client: redis.Redis) -> TestBoard:
    return TestBoard(redis_client)


def test_memory_offers_the_closest_past_results_of_the_same_project_only(
    redis_url: str, board: TestBoard
) -> None:
    ours, theirs = make_project(board, "translation"), make_project(board, "translation")
    resolve(board, ours, payload("Lavez-vous les mains avant de manger."), "Wash your hands.")
    resolve(board, ours, payload("Lavez-vous les mains après manger."), "Wash after eating.")
    resolve(board, ours, payload("La clinique ouvre à neuf heures."), "The clinic opens at 9.")
    resolve(board, ours, payload("Lavez-vous les mains.", "es"), "Lávese las manos.")
    resolve(board, theirs, payload("Lavez-vous les mains avant de manger !"), "THEIR SECRET")

    query = "Lavez-vous bien les mains avant de manger."
    found = similar(redis_url, ours, query, source_lang="fr", target_lang="en")
    assert [m.translation for m in found] == ["Wash your hands.", "Wash after eating."]
    assert found[0].source == "Lavez-vous les mains avant de manger."
    assert 90 <= found[0].score <= 100 and found[0].score > found[1].score >= 60
    # The other organisation's project, with a closer source, is never drawn from.
    assert all("THEIR" not in m.translation for m in found)
    [mine] = similar(redis_url, theirs, query, source_lang="fr", target_lang="en")
    assert mine.translation == "THEIR SECRET"
    # Without languages, every pair; an unrelated source, nothing.
    assert "Lávese las manos." in [m.translation for m in similar(redis_url, ours, query)]
    assert similar(redis_url, ours, "Le rapport annuel est publié en juin.") == []


def test_memory_sees_new_results_at_once_and_leaves_out_the_current_task(
    redis_url: str, board: TestBoard
) -> None:
    project = make_project(board, "translation")
    query = "Apportez votre carte de vaccination."
    assert similar(redis_url, project, query) == []  # no result yet (and now cached)
    first = resolve(
        board, project, payload("Apportez votre carte de vaccination !"), "Bring your card!"
    )
    assert [m.translation for m in similar(redis_url, project, query)] == ["Bring your card!"]
    resolve(board, project, payload("Apportez votre carte de vaccinations."), "Bring your cards.")
    found = similar(redis_url, project, query, exclude_task_id=first)
    assert [m.translation for m in found] == ["Bring your cards."]
    assert len(similar(redis_url, project, query, limit=1)) == 1


def test_memory_reads_a_bounded_window_and_a_replaced_stream_starts_over(
    redis_url: str, board: TestBoard
) -> None:
    project = make_project(board, "translation")
    for n in range(4):
        resolve(board, project, payload(f"Distribution de riz numéro {n}."), f"Rice run {n}.")
    memory = TranslationMemory(window=2)

    def found() -> list[str]:
        return sorted(
            m.translation
            for m in similar(redis_url, project, "Distribution de riz numéro 9.", memory=memory)
        )

    assert found() == ["Rice run 2.", "Rice run 3."]  # the two newest only
    board.client.delete(board.keys.project(project).results)
    assert found() == []


def test_memory_reads_through_a_bytes_client_too(redis_url: str, board: TestBoard) -> None:
    project = make_project(board, "translation")
    resolve(board, project, payload("Bonjour à toutes et à tous."), "Hello everyone.")

    async def run() -> list[Match]:
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            return await similar_results(
                client, Keys(), project, "Bonjour à tous.", memory=TranslationMemory()
            )
        finally:
            await client.aclose()

    [match] = in_own_loop(run())
    assert (match.source, match.translation) == ("Bonjour à toutes et à tous.", "Hello everyone.")


def test_workbench_gathers_glossary_memory_and_directions(redis_url: str, board: TestBoard) -> None:
    project = make_project(board, "translation")
    closes = "يغلق المركز الصحي عند الظهر."
    resolve(board, project, payload("Le centre de santé ferme à midi.", "ar"), closes)
    resolve(board, project, payload("Le centre de santé ferme à midi.", "en"), "It closes.")
    task = payload(
        "Le centre de santé ouvre à midi.", "ar", glossary={"centre de santé": "مركز صحي"}
    )

    async def run(use_memory: bool = True) -> Any:
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        try:
            return await workbench(client, Keys(), project, task, use_memory=use_memory)
        finally:
            await client.aclose()

    assert in_own_loop(run(use_memory=False)).memory == []
    wb = in_own_loop(run())
    assert (wb.source_dir, wb.target_dir) == ("ltr", "rtl")
    assert [(g.term, g.translation) for g in wb.glossary] == [("centre de santé", "مركز صحي")]
    assert terms(wb.segments) == [("centre de santé", "centre de santé")]
    assert [m.translation for m in wb.memory] == [closes]  # fr->ar only
    assert set(wb.check_messages) == set(CHECK_MESSAGES)
