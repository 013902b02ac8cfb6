"""The registry: built-ins and plugins from entry points, broken plugins tolerated."""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

import task_types
from task_types import DuplicateTaskType, UnknownTaskType
from task_types.data_entry import TASK_TYPE as DATA_ENTRY
from task_types.moderation import TASK_TYPE as MODERATION
from task_types.moderation import ModerationType
from task_types.registry import ENTRY_POINT_GROUP, TaskTypeRegistry
from task_types.translation import TASK_TYPE as TRANSLATION

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
#: The built-ins: the task types Ruche's own pyproject.toml advertises, and nothing else.
BUILTIN_NAMES = sorted(
    tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"][ENTRY_POINT_GROUP]
)
RUCHE = SimpleNamespace(name="ruche")


@dataclass
class FakeEntryPoint:
    """Stands in for importlib.metadata.EntryPoint: ``load`` returns or raises ``target``."""

    name: str
    target: object
    value: str = field(default="fake.module:TASK_TYPE")
    dist: object = None  # the distribution advertising it (RUCHE: a built-in)

    def load(self) -> object:
        if isinstance(self.target, BaseException):
            raise self.target
        return self.target


class Classification(ModerationType):
    """A well-behaved third-party type (reusing moderation's rules under another name)."""

    name = "classification"


class TranslationImpostor(ModerationType):
    name = "translation"


@pytest.fixture
def registry() -> TaskTypeRegistry:
    fresh = TaskTypeRegistry()
    fresh.register_builtins()
    return fresh


def test_builtins_are_available_by_name_from_the_package() -> None:
    assert {"data_entry", "moderation", "translation"} <= set(BUILTIN_NAMES)
    assert set(BUILTIN_NAMES) <= set(task_types.names())
    task_types.register(TRANSLATION)  # the same object again: a no-op, not a conflict
    assert task_types.get("translation") is TRANSLATION
    assert task_types.get("data_entry") is DATA_ENTRY
    assert task_types.get("moderation") is MODERATION
    assert set(BUILTIN_NAMES) <= {t.name for t in task_types.all_types()}


def test_getting_an_unknown_type_raises_a_key_error_naming_the_known_ones(
    registry: TaskTypeRegistry,
) -> None:
    with pytest.raises(UnknownTaskType) as caught:
        registry.get("transcription")
    assert isinstance(caught.value, KeyError)
    assert "unknown task type 'transcription'" in str(caught.value)
    assert ", ".join(BUILTIN_NAMES) in str(caught.value)


def test_installed_entry_points_advertise_the_builtins() -> None:
    from importlib.metadata import entry_points

    advertised = {ep.name: ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert advertised["translation"] is TRANSLATION
    assert advertised["data_entry"] is DATA_ENTRY
    assert advertised["moderation"] is MODERATION


def test_loading_installed_entry_points_into_an_empty_registry_gives_the_builtins() -> None:
    empty = TaskTypeRegistry()
    added = empty.load_entry_points()
    assert set(BUILTIN_NAMES) <= set(added)
    assert empty.get("moderation") is MODERATION


def test_a_builtin_advertised_again_by_entry_point_is_not_a_conflict(
    registry: TaskTypeRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    added = registry.load_entry_points([FakeEntryPoint("translation", TRANSLATION)])
    assert added == []
    assert caplog.records == []


def test_a_third_party_type_is_registered_from_its_entry_point(
    registry: TaskTypeRegistry,
) -> None:
    plugin = Classification()
    assert registry.load_entry_points([FakeEntryPoint("classification", plugin)]) == [
        "classification"
    ]
    assert registry.get("classification") is plugin
    assert registry.names() == sorted(["classification", *BUILTIN_NAMES])
    assert not registry.is_builtin("classification")
    assert all(registry.is_builtin(name) for name in BUILTIN_NAMES)


def test_the_builtins_are_the_entry_points_of_ruche_s_own_distribution() -> None:
    registry = TaskTypeRegistry()
    own, plugin = Classification(), TranslationImpostor()
    registry.register_builtins(
        [
            FakeEntryPoint("classification", own, dist=RUCHE),
            FakeEntryPoint("translation", plugin, dist=SimpleNamespace(name="ngo-tasks")),
        ]
    )
    assert registry.names() == ["classification"]
    assert registry.is_builtin("classification")


def test_a_builtin_that_is_not_a_task_type_of_its_name_is_an_error() -> None:
    with pytest.raises(TypeError, match="built-in task type classification"):
        TaskTypeRegistry().register_builtins(
            [FakeEntryPoint("classification", TranslationImpostor(), dist=RUCHE)]
        )


@pytest.mark.parametrize(
    ("entry_point", "logged"),
    [
        (FakeEntryPoint("crashy", ImportError("No module named 'crashy'")), "failed to load"),
        (FakeEntryPoint("crashy", RuntimeError("boom at import")), "failed to load"),
        (FakeEntryPoint("crashy", object()), "expected a TaskType instance, got object"),
        (FakeEntryPoint("crashy", Classification), "expected a TaskType instance, got"),
        (FakeEntryPoint("crashy", Classification()), "declares the name 'classification'"),
    ],
    ids=["import-error", "runtime-error", "not-a-task-type", "a-class", "name-mismatch"],
)
def test_a_broken_plugin_is_skipped_with_a_warning_and_the_rest_still_load(
    registry: TaskTypeRegistry,
    caplog: pytest.LogCaptureFixture,
    entry_point: FakeEntryPoint,
    logged: str,
) -> None:
    good = Classification()
    with caplog.at_level(logging.WARNING, logger="task_types.registry"):
        added = registry.load_entry_points([entry_point, FakeEntryPoint("classification", good)])
    assert added == ["classification"]
    assert "crashy" not in registry.names()
    assert any(logged in record.getMessage() for record in caplog.records)
    assert all(record.levelno == logging.WARNING for record in caplog.records)


def test_a_plugin_never_replaces_a_builtin(
    registry: TaskTypeRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="task_types.registry"):
        added = registry.load_entry_points([FakeEntryPoint("translation", TranslationImpostor())])
    assert added == []
    assert registry.get("translation") is TRANSLATION
    assert "built-in task type 'translation' is already taken" in caplog.text


def test_two_plugins_under_one_name_keep_the_first(
    registry: TaskTypeRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = Classification(), Classification()
    with caplog.at_level(logging.WARNING, logger="task_types.registry"):
        registry.load_entry_points(
            [FakeEntryPoint("classification", first), FakeEntryPoint("classification", second)]
        )
    assert registry.get("classification") is first
    assert "already taken" in caplog.text


def test_registering_directly_is_idempotent_but_refuses_a_different_type_under_a_taken_name(
    registry: TaskTypeRegistry,
) -> None:
    registry.register(TRANSLATION)
    assert registry.get("translation") is TRANSLATION
    with pytest.raises(DuplicateTaskType, match="built-in task type 'translation'"):
        registry.register(TranslationImpostor())


def test_registering_something_that_is_not_a_task_type_is_a_type_error(
    registry: TaskTypeRegistry,
) -> None:
    with pytest.raises(TypeError, match="expected a TaskType instance"):
        registry.register("translation")  # type: ignore[arg-type]  # the run-time check under test
