"""The documentation cannot drift from the code: the configuration page is generated from
``Settings`` (by ``docs/hooks/settings_table.py`` at build time), so every field needs a
description; the error tree drawn in ``core/errors.py`` is the tree of classes; and the README
stays a short front page whose links lead somewhere.

``mkdocs build --strict`` (``make docs``, in CI) checks the site's own links and anchors.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
HOOK = ROOT / "docs" / "hooks" / "settings_table.py"
README_MAX_LINES = 150


@pytest.fixture(scope="module")
def hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("settings_table_hook", HOOK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_has_a_description(name: str) -> None:
    description = Settings.model_fields[name].description
    assert description is not None
    assert description.strip(), f"Settings.{name} has an empty description"


def test_the_configuration_table_has_one_row_per_setting(hook: ModuleType) -> None:
    table: str = hook.settings_table()
    rows = [line for line in table.splitlines() if line.startswith("| `RUCHE_")]
    variables = [row.split("`")[1] for row in rows]
    assert variables == [f"RUCHE_{name.upper()}" for name in Settings.model_fields]
    for row, (name, field) in zip(rows, Settings.model_fields.items(), strict=True):
        assert field.description is not None
        assert " ".join(field.description.split()) in row.replace("\\|", "|"), name


def test_the_configuration_table_shows_defaults_and_bounds(hook: ModuleType) -> None:
    rows = {
        row.split("`")[1]: row
        for row in hook.settings_table().splitlines()
        if row.startswith("| `RUCHE_")
    }
    assert "| `8000` | 1 ≤ value ≤ 65535 |" in rows["RUCHE_PORT"]
    assert "| unset |" in rows["RUCHE_REDIS_URL"]
    assert "`development` or `production`" in rows["RUCHE_ENV"]
    assert "| `false` |" in rows["RUCHE_WEBHOOK_ALLOW_PRIVATE"]


def test_the_hook_fills_in_only_the_marked_page(hook: ModuleType) -> None:
    page = (ROOT / "docs" / "configuration.md").read_text()
    assert hook.MARKER in page
    rendered: str = hook.on_page_markdown(page)
    assert hook.MARKER not in rendered
    assert "| `RUCHE_REDIS_URL` |" in rendered
    other = "# Elsewhere\n\nNo table here.\n"
    assert hook.on_page_markdown(other) == other


def test_the_readme_is_a_short_front_page_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= README_MAX_LINES
    assert re.search(r"^make up\s+#", readme, re.MULTILINE)
    assert re.search(r"^make test\s+#", readme, re.MULTILINE)


def test_the_readme_links_lead_to_files_that_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    local = [target for target in targets if "://" not in target]
    assert local, "the README links to its documentation"
    for target in local:
        assert (ROOT / target).exists(), target


def test_every_docs_page_is_in_the_site_navigation() -> None:
    mkdocs = (ROOT / "mkdocs.yml").read_text()
    listed = set(re.findall(r":\s*([\w/.-]+\.md)\s*$", mkdocs, re.MULTILINE))
    pages = {str(path.relative_to(ROOT / "docs")) for path in (ROOT / "docs").rglob("*.md")}
    assert pages == listed


def _drawn_error_tree() -> dict[str, tuple[str | None, int, str]]:
    """``core/errors.py``'s drawing: each class's parent, status and code, as drawn."""
    import core.errors

    drawn: dict[str, tuple[str | None, int, str]] = {}
    parents: list[str] = []
    for line in (core.errors.__doc__ or "").splitlines():
        match = re.match(r"^ {4}((?:[│ ] {3})*)(?:[├└]── )?(\w+)\s+(\d{3}) (\w+)", line)
        if match is None:
            continue
        depth = len(match.group(1)) // 4 + (1 if re.search(r"[├└]── ", line) else 0)
        name = match.group(2)
        del parents[depth:]
        drawn[name] = (parents[-1] if parents else None, int(match.group(3)), match.group(4))
        parents.append(name)
    return drawn


def test_the_error_tree_drawing_shows_every_class_with_its_status_and_code() -> None:
    import api.deps  # noqa: F401 - defines the authentication refusals
    import core.quality.outcomes  # noqa: F401 - defines the aggregation's own signals
    from core.errors import RucheError

    actual: dict[str, tuple[str | None, int, str]] = {}
    pending: list[type[RucheError]] = [RucheError]
    while pending:
        cls = pending.pop()
        parent = cls.__bases__[0].__name__ if cls is not RucheError else None
        actual[cls.__name__] = (parent, cls.status, cls.code)
        pending.extend(cls.__subclasses__())
    assert _drawn_error_tree() == actual
