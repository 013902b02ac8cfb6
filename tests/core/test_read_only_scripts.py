"""``core.redis.scripts.READ_ONLY`` names scripts that write nothing: on a cluster their batches
skip the bulk writes' connections and their ``WAIT`` (``AsyncBoard._run_batch``). Checked from
the Lua itself: every Redis command a script sends, itself or through a helper of the prelude or
of its libraries, is one that only reads (``core.redis.cluster_mux.READ_COMMANDS``)."""

from __future__ import annotations

import itertools
import re

import pytest

from core.redis.cluster_mux import READ_COMMANDS
from core.redis.scripts import LIBRARIES, READ_ONLY, ScriptName, lua_source

_CALL = re.compile(r"redis\.p?call\(\s*'([A-Za-z]+)'")
_FUNCTION = re.compile(r"^local function (\w+)\(", re.MULTILINE)


def _helpers(script: ScriptName) -> dict[str, str]:
    """Each helper function the script can call (the prelude's, its libraries'): its body."""
    bodies: dict[str, str] = {}
    for part in ("_prelude", *LIBRARIES.get(script, ())):
        source = lua_source(part)
        starts = [match.start() for match in _FUNCTION.finditer(source)] + [len(source)]
        for start, end in itertools.pairwise(starts):
            name = _FUNCTION.match(source, start)
            assert name is not None
            bodies[name.group(1)] = source[start:end]
    return bodies


def _commands(script: ScriptName) -> set[str]:
    """Every Redis command the script may send, through helpers too."""
    helpers = _helpers(script)
    seen: set[str] = set()
    pending = [lua_source(script.value)]
    commands: set[str] = set()
    while pending:
        body = pending.pop()
        commands |= {command.upper() for command in _CALL.findall(body)}
        for name, helper in helpers.items():
            if name not in seen and re.search(rf"\b{name}\(", body):
                seen.add(name)
                pending.append(helper)
    return commands


@pytest.mark.parametrize("script", sorted(READ_ONLY))
def test_a_read_only_script_sends_only_reads(script: ScriptName) -> None:
    assert _commands(script) <= READ_COMMANDS, _commands(script) - READ_COMMANDS


@pytest.mark.parametrize("script", [ScriptName.CLAIM, ScriptName.RELEASE, ScriptName.RESOLVE_TASK])
def test_the_check_sees_the_writes_of_a_script_that_writes(script: ScriptName) -> None:
    assert _commands(script) - READ_COMMANDS
