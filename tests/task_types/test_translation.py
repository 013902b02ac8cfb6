"""Translation: validation, hard filters, medoid agreement, score and contribution."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from task_types.translation import TASK_TYPE as TRANSLATION
from task_types.translation import TranslationAnswer, TranslationPayload

SOURCE = "Please wash your hands with soap before preparing food."
GOOD = [
    "Veuillez vous laver les mains avec du savon avant de préparer la nourriture.",
    "Merci de vous laver les mains avec du savon avant de préparer les repas.",
    "Lavez-vous les mains au savon avant de préparer la nourriture.",
]
UNRELATED = [
    "La clinique ouvre à neuf heures chaque matin, sauf le dimanche.",
    "N'oubliez pas votre carte de vaccination lors de la prochaine visite.",
]


def payload(**overrides: Any) -> TranslationPayload:
    raw = {"source_text": SOURCE, "source_lang": "en", "target_lang": "fr", **overrides}
    return TRANSLATION.parse_payload(raw)


def answers(*texts: str) -> list[TranslationAnswer]:
    return [TranslationAnswer(text=text) for text in texts]


# -- payload and answer validation ---------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"source_lang": "French"}, "source_lang"),
        ({"target_lang": "fr_FR"}, "target_lang"),
        ({"source_text": "   \n "}, "source_text must contain some text"),
        ({"source_text": "x" * 10_001}, "at most 10000 characters"),
        ({"glossary": {"soap": "  "}}, "glossary"),
        ({"context": "y" * 2_001}, "context"),
        ({"notes": "typo'd field"}, "Extra inputs are not permitted"),
    ],
)
def test_payload_refusals_name_the_problem(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        payload(**overrides)


def test_payload_requires_the_api_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        TRANSLATION.parse_payload({"source_text": SOURCE})
    missing = {error["loc"][0] for error in caught.value.errors() if error["type"] == "missing"}
    assert missing == {"source_lang", "target_lang"}


@pytest.mark.parametrize("tag", ["fr", "pt-BR", "sr-Latn", "es-419", "zh-Hant-TW", "yue"])
def test_bcp47_language_tags_are_accepted(tag: str) -> None:
    assert payload(target_lang=tag).target_lang == tag


def test_context_and_glossary_are_optional_and_kept() -> None:
    parsed = payload(context="Poster in a clinic", glossary={"soap": "savon"})
    assert parsed.glossary == {"soap": "savon"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"text": ""}, "at least 1 character"),
        ({"text": " \u200b\n "}, "the translation must contain some text"),
        ({}, "Field required"),
        ({"text": "Bonjour", "lang": "fr"}, "Extra inputs are not permitted"),
    ],
)
def test_answer_refusals_name_the_problem(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TRANSLATION.parse_answer(payload(), raw)


def test_normalise_unifies_unicode_and_spacing_but_keeps_paragraphs() -> None:
    raw = TranslationAnswer(text="  Lave\u0301  les mains.\r\n\r\n\r\nMerci ")
    assert TRANSLATION.normalise(payload(), raw).text == "Lavé les mains.\n\nMerci"


# -- hard filters --------------------------------------------------------------------------


def _rejections(verdict_details: dict[str, Any]) -> dict[int, str]:
    return {item["index"]: item["reason"] for item in verdict_details["rejected"]}


def test_a_copy_of_the_source_is_rejected_before_voting() -> None:
    verdict = TRANSLATION.aggregate(payload(), answers(GOOD[0], SOURCE, GOOD[1]))
    assert _rejections(verdict.details) == {1: "copy_of_source"}
    assert 1 not in verdict.support
    assert verdict.agreed


def test_a_lightly_edited_copy_is_rejected_across_languages() -> None:
    near_copy = SOURCE.replace("Please", "please").replace(".", " !")
    verdict = TRANSLATION.aggregate(payload(), answers(GOOD[0], near_copy, GOOD[1]))
    assert _rejections(verdict.details) == {1: "copy_of_source"}


def test_within_one_language_only_an_unchanged_text_counts_as_a_copy() -> None:
    american = payload(
        source_lang="en-GB", target_lang="en-US", source_text="The colour of the centre."
    )
    edited = "The color of the center."
    verdict = TRANSLATION.aggregate(american, answers(edited, edited, "The colour of the centre."))
    assert _rejections(verdict.details) == {2: "copy_of_source"}
    assert verdict.agreed
    assert verdict.answer == {"text": edited}


@pytest.mark.parametrize(
    "text",
    ["Lavez-vous.", " ".join([GOOD[0]] * 4)],
    ids=["truncated", "padded"],
)
def test_an_implausible_length_is_rejected(text: str) -> None:
    verdict = TRANSLATION.aggregate(payload(), answers(GOOD[0], text, GOOD[1]))
    assert _rejections(verdict.details) == {1: "implausible_length"}


def test_short_sources_get_a_looser_length_band() -> None:
    hello = payload(source_text="OK")
    verdict = TRANSLATION.aggregate(hello, answers("D'accord", "D'accord"))
    assert verdict.details["rejected"] == []
    assert verdict.agreed
    rambling = TRANSLATION.aggregate(hello, answers("D'accord " * 10, "D'accord"))
    assert _rejections(rambling.details) == {0: "implausible_length"}


def test_length_ratio_is_script_aware_for_chinese_targets() -> None:
    chinese = payload(source_text="The meeting will take place tomorrow at noon.", target_lang="zh")
    verdict = TRANSLATION.aggregate(
        chinese, answers("会议将于明天中午举行。", "会议明天中午举行。")
    )
    assert verdict.details["rejected"] == []


def test_an_answer_in_the_wrong_script_is_rejected() -> None:
    arabic = payload(source_text="Wash your hands before eating.", target_lang="ar")
    latin = "Ighsil yadayk qabl al-akl."
    verdict = TRANSLATION.aggregate(arabic, answers("اغسل يديك قبل الأكل.", latin))
    assert _rejections(verdict.details) == {1: "wrong_script"}


def test_names_in_latin_letters_inside_a_target_script_are_fine() -> None:
    arabic = payload(source_text="Call UNICEF Kenya today.", target_lang="ar")
    verdict = TRANSLATION.aggregate(arabic, answers("اتصل بمنظمة UNICEF في كينيا اليوم."))
    assert verdict.details["rejected"] == []


def test_when_every_answer_is_filtered_out_nothing_is_chosen() -> None:
    verdict = TRANSLATION.aggregate(payload(), answers(SOURCE, SOURCE))
    assert verdict.answer is None
    assert not verdict.agreed
    assert verdict.details["reason"] == "no_candidates"


# -- agreement -----------------------------------------------------------------------------


def test_unanimous_answers_agree_with_full_confidence() -> None:
    verdict = TRANSLATION.aggregate(payload(), answers(GOOD[0], GOOD[0], GOOD[0]))
    assert verdict.agreed
    assert verdict.confidence == 1.0
    assert verdict.support == [0, 1, 2]


def test_near_paraphrases_agree_and_the_medoid_is_chosen() -> None:
    verdict = TRANSLATION.aggregate(payload(), answers(*GOOD))
    assert verdict.agreed
    assert verdict.confidence >= TRANSLATION.default_threshold
    assert verdict.answer == {"text": GOOD[0]}  # the one closest to both others
    assert verdict.support == [0, 1, 2]


def test_very_different_answers_do_not_agree() -> None:
    verdict = TRANSLATION.aggregate(payload(), answers(GOOD[0], *UNRELATED))
    assert not verdict.agreed
    assert verdict.details["reason"] == "low_agreement"
    assert verdict.confidence < TRANSLATION.default_threshold


def test_a_close_pair_outvotes_one_stray_answer() -> None:
    verdict = TRANSLATION.aggregate(payload(), answers(GOOD[0], GOOD[1], UNRELATED[0]))
    assert verdict.agreed
    assert verdict.answer == {"text": GOOD[0]}
    assert verdict.support == [0, 1]


LOOSE_PAIR_AND_STRAY = [
    "Lavez-vous les mains avant de manger.",
    "Veuillez vous laver les mains avant les repas.",
    "La clinique ouvre à neuf heures chaque matin.",
]


def test_a_loose_pair_with_one_stray_answer_goes_to_review() -> None:
    short = payload(source_text="Wash your hands before eating.")
    verdict = TRANSLATION.aggregate(short, answers(*LOOSE_PAIR_AND_STRAY))
    assert not verdict.agreed
    assert verdict.details["reason"] == "low_agreement"
    assert verdict.answer == {"text": LOOSE_PAIR_AND_STRAY[0]}
    assert 2 not in verdict.support


def test_two_camps_of_equal_strength_are_close_rivals() -> None:
    verdict = TRANSLATION.aggregate(
        payload(), answers(GOOD[0], GOOD[0], UNRELATED[0], UNRELATED[0])
    )
    assert verdict.confidence >= TRANSLATION.default_threshold
    assert not verdict.agreed
    assert verdict.details["reason"] == "close_rivals"


def test_weights_break_a_tie_between_unlike_answers() -> None:
    texts = answers(GOOD[0], UNRELATED[0])
    assert TRANSLATION.aggregate(payload(), texts, [0.5, 1.0]).answer == {"text": UNRELATED[0]}
    assert TRANSLATION.aggregate(payload(), texts, [1.0, 0.5]).answer == {"text": GOOD[0]}


def test_an_exact_tie_does_not_depend_on_arrival_order() -> None:
    forward = TRANSLATION.aggregate(payload(), answers(GOOD[0], UNRELATED[0]))
    backward = TRANSLATION.aggregate(payload(), answers(UNRELATED[0], GOOD[0]))
    assert forward.answer == backward.answer


def test_a_reliable_outlier_can_win_the_ranking_but_not_be_accepted() -> None:
    verdict = TRANSLATION.aggregate(
        payload(), answers(GOOD[0], GOOD[1], UNRELATED[0]), [1.0, 1.0, 5.0]
    )
    assert verdict.answer == {"text": UNRELATED[0]}
    assert not verdict.agreed  # confidence is what the *others* say about it
    assert verdict.confidence < 0.5


def test_a_zero_weight_answer_is_ignored() -> None:
    verdict = TRANSLATION.aggregate(payload(), answers(GOOD[0], GOOD[0], UNRELATED[0]), [1, 1, 0])
    assert verdict.agreed
    assert _rejections(verdict.details) == {2: "zero_weight"}


def test_a_single_candidate_has_nobody_to_agree_with() -> None:
    verdict = TRANSLATION.aggregate(payload(), answers(GOOD[0], SOURCE))
    assert verdict.answer == {"text": GOOD[0]}
    assert (verdict.agreed, verdict.confidence) == (False, 0.0)
    assert verdict.details["reason"] == "single_candidate"


def test_a_lower_threshold_from_the_project_policy_accepts_looser_agreement() -> None:
    short = payload(source_text="Wash your hands before eating.")
    mixed = answers(*LOOSE_PAIR_AND_STRAY)
    assert not TRANSLATION.aggregate(short, mixed).agreed
    assert TRANSLATION.aggregate(short, mixed, threshold=0.5).agreed


def test_the_chosen_text_is_one_a_volunteer_wrote_never_a_blend() -> None:
    verdict = TRANSLATION.aggregate(payload(), answers(*GOOD, *UNRELATED))
    assert verdict.answer is not None
    assert verdict.answer["text"] in GOOD + UNRELATED


def test_glossary_misses_are_reported_without_quoting_the_terms() -> None:
    with_glossary = payload(glossary={"soap": "savon", "food": "nourriture"})
    verdict = TRANSLATION.aggregate(with_glossary, answers(*GOOD))
    assert verdict.details["glossary_misses"] == [{"index": 1, "missed": 1}]


def test_verdict_details_are_json_and_never_quote_texts() -> None:
    verdict = TRANSLATION.aggregate(payload(), answers(*GOOD, SOURCE))
    dumped = json.dumps(verdict.details)
    assert "savon" not in dumped
    assert "wash" not in dumped


# -- score and contribution ----------------------------------------------------------------


def test_score_against_gold_is_the_similarity() -> None:
    gold = TranslationAnswer(text=GOOD[0])
    assert TRANSLATION.score(payload(), TranslationAnswer(text=GOOD[0]), gold) == 1.0
    assert TRANSLATION.score(payload(), TranslationAnswer(text=GOOD[1]), gold) > 0.7
    assert TRANSLATION.score(payload(), TranslationAnswer(text=UNRELATED[0]), gold) < 0.5


def test_contribution_is_the_number_of_source_words() -> None:
    assert TRANSLATION.contribution(payload(), TranslationAnswer(text=GOOD[0])) == 9
    assert TRANSLATION.contribution_unit == "words translated"


def test_source_text_and_context_are_sensitive() -> None:
    assert TRANSLATION.sensitive_fields == {"source_text", "context"}


# -- refused at submission -------------------------------------------------------------------


def test_the_source_sentence_unchanged_is_refused_when_submitted() -> None:
    [problem] = TRANSLATION.check_answer(payload(), TranslationAnswer(text=f"  {SOURCE.lower()}"))
    assert problem.loc == ("text",)
    assert "source text unchanged" in problem.msg


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"source_text": "Médecins Sans Frontières"}, "Médecins Sans Frontières"),  # a name
        ({"source_lang": "en-GB", "target_lang": "en-US"}, SOURCE),  # one language
        ({}, SOURCE.replace("food", "meals")),  # a near-copy: screened out at aggregation
    ],
    ids=["short-name", "same-language", "near-copy"],
)
def test_names_same_language_rewrites_and_near_copies_are_not_refused(
    overrides: dict[str, Any], text: str
) -> None:
    assert TRANSLATION.check_answer(payload(**overrides), TranslationAnswer(text=text)) == []
