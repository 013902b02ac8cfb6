"""Translation's confidence is calibrated on the project's gold checks too, and a refit's guess
for a task waiting for a reviewer carries a calibrated confidence (issue 15).

A translation gold check is right when the decision means what the gold wording means (the
rule that puts two volunteers' translations in one camp): a paraphrase of the gold is right,
a close wording with another number is not. Before, translation's confidence was never
calibrated, and the refit's guesses showed the raw posterior of its EM.

On the real Redis and the real scripts where reputations and provisional answers are kept."""

from __future__ import annotations

import json

from core.ids import new_volunteer_id
from core.quality import provisional, refit
from core.quality.calibration import MIN_CHECKS, Calibration
from core.quality.project_quality import QUALITY_FIELD
from core.quality.refit import refit_project
from task_types import get as get_task_type
from tests.support.board import TestBoard
from tests.support.quality import (
    ceiling_project,
    moderation_project,
    store_decided,
    store_gold_task,
)

PAYLOAD = {
    "source_text": "Merci de vérifier le formulaire 12 avant la réunion.",
    "source_lang": "fr",
    "target_lang": "en",
}
GOLD = "Please check form 12 before the meeting."
PARAPHRASES = ["Remember to check form 12 before the meeting.", "Check form 12 before the meeting."]
WRONG_NUMBER = "Please check form 13 before the meeting."


def test_translation_gold_checks_judge_meaning_and_calibrate_the_confidence(
    board: TestBoard,
) -> None:
    project, document = ceiling_project(board, "translation")
    # Three volunteers agree on each gold task: on a paraphrase of the gold wording for two
    # thirds of them, on a wording with another number for the rest.
    for n in range(60):
        written = WRONG_NUMBER if n % 3 == 2 else PARAPHRASES[n % 2]
        store_gold_task(board, project, n, PAYLOAD, {"text": GOLD}, [{"text": written}] * 3)
    kind = get_task_type("translation")
    pk = board.keys.project(project)
    gold = {f"g{n:010d}": {"text": GOLD} for n in range(60)}
    tasks = refit._read_tasks(board, project, document, list(gold))

    for task_id, found in tasks.items():
        checks, checked = refit.gold_checks(
            board, project, kind, document, {task_id: found}, gold, {}
        )  # fmt: skip
        assert checked == 1 and checks
        expected = int(task_id[1:]) % 3 != 2  # a paraphrase is right, another number is not
        assert all(check.right is expected for check in checks), task_id

    assert refit_project(board, project, "r1") is not None
    state = json.loads(str(board.client.hget(pk.project, QUALITY_FIELD)))
    calibration = Calibration.from_json(state["calibration"])
    # Fitted (it was the identity for translation before): agreeing newcomers look near
    # certain, and a third of these decisions were wrong, so the fit pulls them in.
    assert calibration.checks >= MIN_CHECKS
    assert calibration(0.99) < 0.9


def test_a_refit_s_guess_carries_the_calibrated_confidence(board: TestBoard) -> None:
    project = moderation_project(board)
    waiting = store_decided(
        board, project, 0, [(new_volunteer_id(), "ok")] * 3,
        guess=provisional.encode({"label": "ok"}, 0.55, "aggregation"), confidence=0.6,
    )  # fmt: skip
    overconfident = Calibration(a=0.5, b=0.0, checks=MIN_CHECKS)

    replaced = refit._replace_provisional(
        board, project, "r1", ["ok", "spam"], [waiting], [[0.2, 0.8]], overconfident
    )

    assert replaced == 1
    shown = provisional.parse(board.client.hget(board.keys.project(project).provisional, waiting))
    assert shown is not None and shown.by == "refit"
    assert shown.answer == {"label": "spam"}
    assert abs(shown.confidence - overconfident(0.8)) < 1e-6 and shown.confidence < 0.7
