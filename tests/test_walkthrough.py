"""The getting-started walkthrough (docs/getting-started.md, "A first project, by hand"), run as
printed against a real ``ruche up``: every ``curl`` line by bash, exactly as written, so the page
cannot drift from the API again.

A line ``NAME=value`` sets a shell variable as written, except ``RUCHE`` (the address of this
test's server) and a placeholder (``NAME=rk_org_…  # its "api_key"``), which takes the quoted
key's value from the answer just above it (``the first candidate's "submission_id"``: the first
found, outer keys before inner ones); ``ADMIN``'s comment says it comes from the banner. A command
whose answer is empty (204) or lists no items yet is run again until the workers have caught up.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from tests.support.api.client import ADMIN_TOKEN
from tests.support.ruche_up import ruche_env, ruche_up, wait_until_ready

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "getting-started.md"
CATCH_UP_SECONDS = 60.0
_ASSIGNMENT = re.compile(r"^([A-Z_]+)=(\S*)\s*(?:#\s*(.*))?$")


def walkthrough() -> list[str]:
    """The section's sh block: one entry per shell line (continuations joined), no comments."""
    page = PAGE.read_text()
    section = page[page.index("## A first project, by hand") :]
    start = section.index("```sh\n") + len("```sh\n")
    block = section[start : section.index("\n```", start)]
    lines: list[str] = []
    pending = ""
    for raw in block.splitlines():
        if raw.endswith("\\"):
            pending += raw[:-1]
            continue
        line = (pending + raw).strip()
        pending = ""
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def find(answer: Any, key: str) -> str:
    """The first value of ``key`` in the answer, outer objects before inner ones."""
    queue: deque[Any] = deque([answer])
    while queue:
        node = queue.popleft()
        if isinstance(node, dict):
            if key in node:
                return str(node[key])
            queue.extend(node.values())
        elif isinstance(node, list):
            queue.extend(node)
    raise AssertionError(f"no {key!r} in {answer!r}")


def not_yet(output: str) -> bool:
    if not output.strip():
        return True
    answer = json.loads(output)
    return isinstance(answer, dict) and answer.get("items") == []


def run(line: str, env: dict[str, str]) -> str:
    deadline = time.monotonic() + CATCH_UP_SECONDS
    while True:
        done = subprocess.run(
            ["bash", "-c", line], env=env, capture_output=True, text=True, timeout=30, check=True
        )
        if not not_yet(done.stdout) or time.monotonic() > deadline:
            return done.stdout
        time.sleep(0.3)


@pytest.mark.timeout(240)
def test_the_getting_started_walkthrough_runs_as_printed(tmp_path: Path) -> None:
    lines = walkthrough()
    assert any("/v1/me/charter" in line for line in lines)
    assert any("/decision" in line for line in lines)
    env = ruche_env(tmp_path, RUCHE_ADMIN_TOKEN=ADMIN_TOKEN)
    with ruche_up(tmp_path, env) as up:
        wait_until_ready(up)
        shell = {"PATH": env["PATH"]}
        answer: Any = None
        for line in lines:
            assignment = _ASSIGNMENT.match(line)
            if assignment:
                name, value, comment = assignment.groups()
                if name == "RUCHE":
                    shell[name] = up.base_url
                elif "…" not in value:
                    shell[name] = value
                elif "banner" in (comment or ""):
                    shell[name] = ADMIN_TOKEN
                else:
                    key = re.search(r'"(\w+)"', comment or "")
                    assert key, f"{line}: say which key of the answer it takes"
                    shell[name] = find(answer, key.group(1))
                    prefix = value.split("…")[0]
                    assert shell[name].startswith(prefix), (line, shell[name])
                continue
            assert line.startswith("curl "), line
            output = run(line, shell)
            answer = json.loads(output) if output.strip() else None
            assert not (isinstance(answer, dict) and "error" in answer), (line, output)
        # The last answer: the NGO's result, as the reviewer decided it.
        [result] = answer["items"]
        assert result["method"] == "review"
        assert result["answer"]["label"] in {"spam", "ok"}
        # The volunteers hear of it, with the task and their own answer.
        me = subprocess.run(
            ["bash", "-c", 'curl -s $RUCHE/v1/me -H "Authorization: Bearer $ADA"'],
            env=shell, capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        deadline = time.monotonic() + CATCH_UP_SECONDS
        feedback = json.loads(me.stdout)["feedback"]
        while not feedback and time.monotonic() < deadline:
            time.sleep(0.3)
            me = subprocess.run(
                ["bash", "-c", 'curl -s $RUCHE/v1/me -H "Authorization: Bearer $ADA"'],
                env=shell, capture_output=True, text=True, timeout=30, check=True,
            )  # fmt: skip
            feedback = json.loads(me.stdout)["feedback"]
        [item] = feedback
        assert item["comment"] == "Thanks, both of you."
        assert item["your_answer"]["label"] == "spam"
        assert item["task"]["content"] == "Win a free phone!"
