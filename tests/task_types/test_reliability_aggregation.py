"""Aggregation weighted by reliabilities: every built-in type's posterior model, the evidence
it returns about each answer's author, and its calibration on simulated crowds."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from task_types.data_entry import TASK_TYPE as DATA_ENTRY
from task_types.data_entry import DataEntryAnswer
from task_types.moderation import TASK_TYPE as MODERATION
from task_types.moderation import ModerationAnswer
from task_types.reliability import NEUTRAL, Evidence, Reliability
from task_types.translation import TASK_TYPE as TRANSLATION
from task_types.translation import TranslationAnswer

LABELS = ["ok", "spam", "abuse"]
POST = MODERATION.parse_payload({"content": "Win a phone!!!", "labels": LABELS})
FORM = DATA_ENTRY.parse_payload(
    {
        "document": {"text": "register page"},
        "fields": [
            {"name": "name", "type": "string"},
            {"name": "born", "type": "date"},
            {"name": "village", "type": "string", "required": False},
        ],
    }
)
SENTENCE = TRANSLATION.parse_payload(
    {
        "source_text": "Merci de vérifier vos réponses avant de les envoyer.",
        "source_lang": "fr",
        "target_lang": "en",
    }
)
GOOD = [
    "Please check your answers before sending them.",
    "Please check your answers before you send them.",
    "Please verify your answers before sending them.",
]
BAD = ["The weather is lovely in the mountains today.", "My cat sleeps all afternoon."]


def labels(*names: str) -> list[ModerationAnswer]:
    return [ModerationAnswer(label=name) for name in names]


def rows(*values: dict[str, Any]) -> list[DataEntryAnswer]:
    return [DataEntryAnswer(values=value) for value in values]


def texts(*chosen: str) -> list[TranslationAnswer]:
    return [TranslationAnswer(text=text) for text in chosen]


def skilled(accuracy: float) -> Reliability:
    return Reliability(accuracy=accuracy, evidence=50.0)


AWA = {"name": "Awa Diallo", "born": "1990-03-05"}
AMI = {"name": "Aminata Ndiaye", "born": "1990-03-05"}


# -- neutral reliabilities --------------------------------------------------------------------


def test_neutral_reliabilities_reproduce_the_default_moderation_vote() -> None:
    answers = labels("spam", "spam", "ok")
    plain = MODERATION.aggregate(POST, answers)
    weighed = MODERATION.aggregate(POST, answers, [NEUTRAL] * 3)
    assert weighed.confidence == pytest.approx(plain.confidence)
    assert weighed.answer == plain.answer


@pytest.mark.parametrize(
    ("kind", "payload", "agreeing"),
    [
        (MODERATION, POST, labels("spam", "spam", "spam")),
        (DATA_ENTRY, FORM, rows(AWA, AWA, AWA)),
        (TRANSLATION, SENTENCE, texts(*GOOD)),
    ],
)
def test_three_neutral_agreeing_answers_are_accepted(
    kind: Any, payload: Any, agreeing: Any
) -> None:
    verdict = kind.aggregate(payload, agreeing, [NEUTRAL] * 3)
    assert verdict.agreed
    assert kind.default_confidence <= verdict.confidence < 1.0


@pytest.mark.parametrize(
    ("kind", "payload", "alone"),
    [
        (MODERATION, POST, labels("spam")),
        (DATA_ENTRY, FORM, rows({"name": "Awa Diallo", "born": None})),
        (TRANSLATION, SENTENCE, texts(GOOD[0])),
    ],
)
def test_one_answer_alone_is_as_likely_right_as_its_author(
    kind: Any, payload: Any, alone: Any
) -> None:
    verdict = kind.aggregate(payload, alone, [skilled(0.8)])
    if kind is DATA_ENTRY:  # the unread required date field makes the record unknown
        assert verdict.details["fields"]["name"]["probability"] == pytest.approx(0.8)
    else:
        assert verdict.confidence == pytest.approx(0.8)
    assert not verdict.agreed


# -- reliable minorities ----------------------------------------------------------------------


def test_moderation_a_reliable_pair_outweighs_an_unreliable_majority() -> None:
    answers = labels("spam", "spam", "ok", "ok", "ok")
    weights = [skilled(0.95), skilled(0.95), skilled(0.4), skilled(0.4), skilled(0.4)]
    verdict = MODERATION.aggregate(POST, answers, weights)
    assert verdict.answer == {"label": "spam", "reasons": []}
    assert verdict.agreed
    assert MODERATION.aggregate(POST, answers, [NEUTRAL] * 5).answer == {
        "label": "ok",
        "reasons": [],
    }


def test_moderation_a_constant_answerer_carries_no_evidence_whatever_their_accuracy() -> None:
    # Answered "ok" 30 times whatever the truth: right on the 'ok' items, so a scalar
    # accuracy would look decent, but the confusion column says "ok" tells nothing.
    constant = Reliability(
        accuracy=0.6,
        evidence=30,
        confusion={"ok": {"ok": 18}, "spam": {"ok": 8}, "abuse": {"ok": 4}},
    )
    reliable = skilled(0.9)
    verdict = MODERATION.aggregate(POST, labels("spam", "ok"), [reliable, constant])
    assert verdict.answer == {"label": "spam", "reasons": []}
    alone = MODERATION.aggregate(POST, labels("spam"), [reliable])
    assert verdict.confidence == pytest.approx(alone.confidence, abs=0.05)


def test_data_entry_a_reliable_pair_outweighs_an_unreliable_majority() -> None:
    answers = rows(AWA, AWA, AMI, AMI, AMI)
    weights = [skilled(0.95)] * 2 + [skilled(0.3)] * 3
    verdict = DATA_ENTRY.aggregate(FORM, answers, weights)
    assert verdict.answer is not None
    assert verdict.answer["values"]["name"] == "Awa Diallo"
    assert verdict.support == [0, 1]
    plain = DATA_ENTRY.aggregate(FORM, answers, [NEUTRAL] * 5)
    assert plain.answer is not None and plain.answer["values"]["name"] == "Aminata Ndiaye"


def test_data_entry_per_field_counts_weigh_each_field_separately() -> None:
    # Good on names, bad on dates: their name reading wins, their date reading does not.
    careful = Reliability(accuracy=0.7, fields={"name": (40.0, 1.0), "born": (5.0, 30.0)})
    other = Reliability(accuracy=0.7, fields={"name": (5.0, 30.0), "born": (40.0, 1.0)})
    verdict = DATA_ENTRY.aggregate(
        FORM,
        rows(
            {"name": "Awa Diallo", "born": "1990-03-05"},
            {"name": "Awa Dialo", "born": "1991-03-05"},
        ),
        [careful, other],
    )
    assert verdict.answer is not None
    assert verdict.answer["values"] == {
        "name": "Awa Diallo",
        "born": "1991-03-05",
        "village": None,
    }
    assert verdict.details["fields"]["name"]["backers"] == [0]
    assert verdict.details["fields"]["born"]["backers"] == [1]
    assert not verdict.agreed  # one reader behind each field is never a quorum of two


def test_translation_a_reliable_pair_outweighs_an_unreliable_majority() -> None:
    answers = texts(GOOD[0], GOOD[1], BAD[0], BAD[0], BAD[0])
    weights = [skilled(0.95)] * 2 + [skilled(0.15)] * 3
    verdict = TRANSLATION.aggregate(SENTENCE, answers, weights)
    assert verdict.answer is not None
    assert verdict.answer["text"] in GOOD[:2]
    plain = TRANSLATION.aggregate(SENTENCE, answers, [NEUTRAL] * 5)
    assert plain.answer == {"text": BAD[0]}


def test_translation_camps_split_votes_by_meaning_not_by_string() -> None:
    verdict = TRANSLATION.aggregate(SENTENCE, texts(*GOOD, BAD[0]), [NEUTRAL] * 4)
    assert verdict.agreed
    best, other = verdict.details["camps"]
    assert (sorted(best["members"]), other["members"]) == ([0, 1, 2], [3])
    assert verdict.support == [0, 1, 2]


def test_the_project_threshold_is_the_confidence_required() -> None:
    answers = labels("spam", "spam")
    assert MODERATION.aggregate(POST, answers, [NEUTRAL] * 2).agreed  # 0.92 >= 0.9
    assert not MODERATION.aggregate(POST, answers, [NEUTRAL] * 2, threshold=0.95).agreed


def test_floats_and_reliabilities_cannot_be_mixed() -> None:
    mixed: list[object] = [0.7, NEUTRAL]  # what the types refuse, checked again at run time
    with pytest.raises(TypeError, match="not a mix"):
        MODERATION.aggregate(POST, labels("spam", "ok"), mixed)  # type: ignore[arg-type]


# -- evidence about the authors ---------------------------------------------------------------


def test_moderation_evidence_is_the_posterior_of_each_vote() -> None:
    answers = labels("spam", "spam", "ok")
    spam, _, ok = MODERATION.answer_evidence(POST, answers, [NEUTRAL] * 3)
    verdict = MODERATION.aggregate(POST, answers, [NEUTRAL] * 3)
    assert spam is not None and ok is not None
    assert spam.right == pytest.approx(verdict.confidence)
    assert ok.right == pytest.approx(verdict.details["posterior"]["ok"], abs=1e-6)
    assert spam.label == "spam" and ok.label == "ok"
    # Both are credited in the decided label's row only, with its posterior (a row nobody
    # decided is not filled with the answers that decided against it: issue 15's drift).
    assert spam.truth is not None and ok.truth is not None
    assert dict(spam.truth) == dict(ok.truth) == pytest.approx({"spam": verdict.confidence})
    # Alone, a vote's posterior only echoes its author's accuracy: no evidence.
    assert MODERATION.answer_evidence(POST, labels("spam"), [NEUTRAL]) == [None]


def test_hard_evidence_judges_each_answer_against_the_truth() -> None:
    found = MODERATION.hard_evidence(POST, labels("spam", "ok"), ModerationAnswer(label="Spam"))
    assert [e.right if e else None for e in found] == [1.0, 0.0]
    judged = DATA_ENTRY.hard_evidence(
        FORM,
        rows(AWA, {"name": "Awa Diallo", "born": "N/A"}, AMI),
        DataEntryAnswer(values={**AWA, "village": None}),
    )
    assert [e.fields if e else None for e in judged] == [
        {"name": 1.0, "born": 1.0},
        {"name": 1.0},  # the abstention says nothing
        {"name": 0.0, "born": 1.0},
    ]
    assert TRANSLATION.hard_evidence(SENTENCE, texts(GOOD[1], BAD[0]), texts(GOOD[0])[0]) == [
        Evidence(right=1.0),
        Evidence(right=0.0),
    ]


def test_translation_evidence_marks_a_copy_of_the_source_wrong() -> None:
    copy = texts("Merci de vérifier vos réponses avant de les envoyer.")
    found = TRANSLATION.answer_evidence(SENTENCE, [*texts(*GOOD[:2]), *copy], [NEUTRAL] * 3)
    assert found[2] == Evidence(right=0.0)
    assert found[0] is not None and found[0].right > 0.9
    assert TRANSLATION.answer_evidence(SENTENCE, texts(GOOD[0]), [NEUTRAL]) == [None]


# -- calibration ------------------------------------------------------------------------------


def calibration_gaps(pairs: list[tuple[float, bool]], bins: int = 5) -> list[float]:
    """Per bin of predicted confidence holding at least 80 decisions: observed accuracy minus
    mean confidence."""
    gaps = []
    edges = [i / bins for i in range(bins + 1)]
    for low, high in itertools.pairwise(edges):
        inside = [(c, ok) for c, ok in pairs if low <= c < high or (high == 1.0 and c == 1.0)]
        if len(inside) >= 80:
            mean = sum(c for c, _ in inside) / len(inside)
            observed = sum(ok for _, ok in inside) / len(inside)
            gaps.append(observed - mean)
    return gaps


def test_moderation_confidence_is_calibrated_on_a_simulated_crowd() -> None:
    rng = random.Random(7)
    pairs: list[tuple[float, bool]] = []
    for _ in range(4000):
        truth = rng.choice(LABELS)
        crowd = [rng.choice([0.9, 0.65, 1 / 3]) for _ in range(rng.choice([2, 3, 4]))]
        answers = [
            truth if rng.random() < s else rng.choice([x for x in LABELS if x != truth])
            for s in crowd
        ]
        verdict = MODERATION.aggregate(POST, labels(*answers), [skilled(s) for s in crowd])
        assert verdict.answer is not None
        pairs.append((verdict.confidence, verdict.answer["label"] == truth))
    gaps = calibration_gaps(pairs)
    assert len(gaps) >= 3
    assert all(abs(gap) < 0.05 for gap in gaps), gaps


def typo(rng: random.Random, text: str) -> str:
    """One slip of the keyboard: a letter dropped, doubled or replaced."""
    at = rng.randrange(len(text))
    slip = rng.choice(["drop", "double", "replace"])
    if slip == "drop":
        return text[:at] + text[at + 1 :]
    if slip == "double":
        return text[:at] + text[at] + text[at:]
    return text[:at] + rng.choice("abcdefghijklmnopqrstuvwxyz") + text[at + 1 :]


def test_data_entry_confidence_is_calibrated_on_a_simulated_crowd() -> None:
    rng = random.Random(11)
    pairs: list[tuple[float, bool]] = []
    for _ in range(3000):
        name = rng.choice(["Awa Diallo", "Moussa Sow", "Fatou Ba", "Ibrahima Ndiaye"])
        crowd = [rng.choice([0.9, 0.65, 0.4]) for _ in range(rng.choice([2, 3, 4]))]
        answers = [
            {"name": name if rng.random() < s else typo(rng, name), "born": "2000-01-01"}
            for s in crowd
        ]
        verdict = DATA_ENTRY.aggregate(FORM, rows(*answers), [skilled(s) for s in crowd])
        assert verdict.answer is not None
        pairs.append((verdict.confidence, verdict.answer["values"]["name"] == name))
    gaps = calibration_gaps(pairs)
    assert len(gaps) >= 3
    # Never more than 6 points overconfident. Every misreading here is a slip, which the model
    # counts to choose among the typed readings (posterior.NEAR_SUPPORT), never to trust them
    # more: its picks are right more often than it says where readings split (9.7 points in
    # one bin of this crowd), the cautious side, which a project's calibration lifts.
    assert all(-0.06 < gap < 0.12 for gap in gaps), gaps


@pytest.mark.parametrize(
    ("kind", "payload", "answers"),
    [
        (MODERATION, POST, labels("spam", "ok", "spam", "abuse")),
        (DATA_ENTRY, FORM, rows(AWA, AMI, AWA, {"name": "Awa Dialo", "born": "N/A"})),
        (TRANSLATION, SENTENCE, texts(GOOD[0], BAD[0], GOOD[1], BAD[1])),
    ],
)
def test_the_verdict_does_not_depend_on_arrival_order(
    kind: Any, payload: Any, answers: list[Any]
) -> None:
    weights = [skilled(0.9), skilled(0.6), skilled(0.75), NEUTRAL]
    straight = kind.aggregate(payload, answers, weights)
    order = [2, 0, 3, 1]
    shuffled = kind.aggregate(payload, [answers[i] for i in order], [weights[i] for i in order])
    assert shuffled.answer == straight.answer
    assert shuffled.confidence == pytest.approx(straight.confidence, abs=1e-12)
    assert sorted(order[i] for i in shuffled.support) == straight.support
