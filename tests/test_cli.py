"""The ``ruche`` command, end to end: real processes, a real Redis, real HTTP.

``ruche up`` is started as a subprocess and driven the way a person or an init system would:
wait for the API to answer, then Ctrl-C or SIGTERM, and check that nothing is left running.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from core.redis.server import RedisServer, free_port
from ruche.supervisor import MAX_REDIS_RESTARTS, restart_redis
from tests.support.processes import wait_until
from tests.support.ruche_up import (
    EXIT_TIMEOUT,
    READY_TIMEOUT,
    command_line,
    descendants,
    embedded_redis_port,
    is_running,
    port_is_open,
    ruche_env,
    ruche_up,
    wait_until_ready,
)


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(lambda p: p.send_signal(signal.SIGTERM), id="sigterm"),
        # Ctrl-C on a terminal: SIGINT to the whole foreground process group.
        pytest.param(lambda p: os.killpg(p.pid, signal.SIGINT), id="ctrl-c"),
    ],
)
def test_up_runs_everything_on_an_embedded_redis_and_stops_cleanly(
    tmp_path: Path, stop: Callable[[subprocess.Popen[bytes]], None]
) -> None:
    with ruche_up(tmp_path, ruche_env(tmp_path)) as up:
        wait_until_ready(up)
        banner = up.stdout.read_text()
        for url in (up.base_url, f"{up.base_url}/docs", f"{up.base_url}/healthz"):
            assert url in banner
        redis_port = embedded_redis_port(up)
        redis_dir = up.data_dir / "redis"
        assert any(redis_dir.glob("appendonly*")), "the embedded Redis keeps an AOF"
        # The worker is consuming from the embedded Redis.
        client = redis.Redis(port=redis_port, decode_responses=True)
        # Full, it refuses writes (507 storage_full) rather than evicting: the default 1 GiB.
        assert client.config_get("maxmemory")["maxmemory"] == str(1024**3)
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        deadline = time.monotonic() + READY_TIMEOUT
        while not client.exists("ruche:dramatiq:__heartbeats__"):
            assert time.monotonic() < deadline, up.output()
            time.sleep(0.1)
        client.close()
        processes = descendants(up.process.pid)
        names = " ".join(command_line(pid) for pid in processes)
        for piece in ("redis-server", "ruche api", "dramatiq", "ruche scheduler", "ruche relay"):
            assert piece in names

        stop(up.process)

        assert up.process.wait(timeout=EXIT_TIMEOUT) == 0, up.output()
        assert not port_is_open(redis_port)
        assert not port_is_open(up.port)
        assert not [pid for pid in processes if is_running(pid)], up.output()
        assert '"up.redis_stopped"' in up.stderr.read_text()


def test_up_uses_the_configured_redis_instead_of_starting_one(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis
) -> None:
    with ruche_up(tmp_path, ruche_env(tmp_path, RUCHE_REDIS_URL=redis_url)) as up:
        wait_until_ready(up)
        processes = descendants(up.process.pid)
        assert not any("redis-server" in command_line(pid) for pid in processes)
        assert not (up.data_dir / "redis").exists()
        assert "from RUCHE_REDIS_URL" in up.stdout.read_text()
        # No RUCHE_ADMIN_TOKEN was set: `up` made one for this run and showed it once.
        banner = up.stdout.read_text()
        token = re.search(r"Operator token \(this run only\): (\S+)", banner)
        assert token, up.output()
        # Log lines scroll the banner away: the token is also in a file only its owner reads.
        kept = up.data_dir / "admin-token"
        assert kept.read_text() == token.group(1) + "\n"
        assert kept.stat().st_mode & 0o777 == 0o600
        created = httpx.post(
            f"{up.base_url}/v1/orgs",
            json={"name": "First NGO", "contact_email": "a@example.org"},
            headers={"Authorization": f"Bearer {token.group(1)}"},
        )
        assert created.status_code == 201, created.text
        assert token.group(1) not in up.stderr.read_text()  # never logged
        deadline = time.monotonic() + READY_TIMEOUT
        while not redis_client.exists("ruche:dramatiq:__heartbeats__"):
            assert time.monotonic() < deadline, up.output()
            time.sleep(0.1)

        up.process.send_signal(signal.SIGTERM)

        assert up.process.wait(timeout=EXIT_TIMEOUT) == 0, up.output()
        assert not [pid for pid in processes if is_running(pid)]
        assert not kept.exists()  # this run only
    assert redis_client.ping()  # someone else's Redis is left alone


def test_up_stops_everything_and_fails_when_a_piece_dies(tmp_path: Path) -> None:
    with ruche_up(tmp_path, ruche_env(tmp_path)) as up:
        wait_until_ready(up)
        redis_port = embedded_redis_port(up)
        processes = descendants(up.process.pid)
        [scheduler] = [pid for pid in processes if "ruche scheduler" in command_line(pid)]

        os.kill(scheduler, signal.SIGKILL)

        assert up.process.wait(timeout=EXIT_TIMEOUT) == 1
        assert '"up.process_died"' in up.stderr.read_text()
        assert not port_is_open(redis_port)
        assert not [pid for pid in processes if is_running(pid)]


def test_a_second_up_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    env = ruche_env(tmp_path)
    with ruche_up(tmp_path, env) as up:
        wait_until_ready(up)
        second = subprocess.run(
            [sys.executable, "-m", "ruche", "up", "--port", str(free_port())],
            env=env,
            capture_output=True,
            text=True,
            timeout=EXIT_TIMEOUT,
            check=False,
        )
        assert second.returncode == 1
        assert "another `ruche up` is running" in second.stderr
        assert up.process.poll() is None  # the first one is untouched
        up.process.send_signal(signal.SIGTERM)
        assert up.process.wait(timeout=EXIT_TIMEOUT) == 0


def test_after_a_killed_up_the_next_one_recovers_the_data(tmp_path: Path) -> None:
    env = ruche_env(tmp_path)
    with ruche_up(tmp_path, env, name="first") as first:
        wait_until_ready(first)
        orphan_port = embedded_redis_port(first)
        orphan = redis.Redis(port=orphan_port, decode_responses=True)
        orphan.set("ruche:test:survivor", "still here")
        orphan.close()
        apps = [
            pid for pid in descendants(first.process.pid) if "redis-server" not in command_line(pid)
        ]

        first.process.kill()  # no chance to clean up
        first.process.wait()

        deadline = time.monotonic() + EXIT_TIMEOUT
        while [pid for pid in apps if is_running(pid)]:  # told to stop by the kernel
            assert time.monotonic() < deadline, "app processes outlived their supervisor"
            time.sleep(0.1)
        assert port_is_open(orphan_port)  # Redis, on its own, is left behind

    with ruche_up(tmp_path, env, name="second") as second:
        wait_until_ready(second)
        assert not port_is_open(orphan_port)
        assert '"up.leftover_redis"' in second.stderr.read_text()
        fresh = redis.Redis(port=embedded_redis_port(second), decode_responses=True)
        assert fresh.get("ruche:test:survivor") == "still here"  # flushed, then replayed
        fresh.close()
        second.process.send_signal(signal.SIGTERM)
        assert second.process.wait(timeout=EXIT_TIMEOUT) == 0


def test_up_on_a_taken_port_says_so_in_one_line_with_a_free_one(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        env = ruche_env(tmp_path, RUCHE_PORT=str(taken))
        process = subprocess.run(
            [sys.executable, "-m", "ruche", "up"],
            env=env,
            capture_output=True,
            timeout=EXIT_TIMEOUT,
            check=False,
        )
    assert process.returncode == 1
    # One line naming the port and a free one, before anything was started.
    [line] = process.stderr.decode().splitlines()
    match = re.fullmatch(rf"ruche: port {taken} is in use; try --port (\d+)", line)
    assert match is not None, line
    suggested = int(match.group(1))
    assert suggested > taken
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", suggested))  # the suggestion is free to listen on
    assert not (tmp_path / "data" / "redis").exists()


@pytest.mark.parametrize("piece", ["api", "worker", "scheduler", "relay"])
def test_single_pieces_need_a_redis_url(tmp_path: Path, piece: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruche", piece],
        env=ruche_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT,
        check=False,
    )
    assert result.returncode == 2
    assert f"`ruche {piece}` needs RUCHE_REDIS_URL" in result.stderr


def test_invalid_settings_are_reported_without_echoing_secrets(tmp_path: Path) -> None:
    weak_token = "rk_admin_hunter2"  # noqa: S105 - a deliberately bad token
    env = ruche_env(tmp_path, RUCHE_PORT="0", RUCHE_ADMIN_TOKEN=weak_token)
    result = subprocess.run(
        [sys.executable, "-m", "ruche", "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT,
        check=False,
    )
    assert result.returncode == 2
    assert "RUCHE_PORT" in result.stderr
    assert "RUCHE_ADMIN_TOKEN" in result.stderr
    assert "hunter2" not in result.stderr


def test_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruche", "--version"],
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT,
        check=True,
    )
    assert re.fullmatch(r"ruche \d+\.\d+\.\d+\S*\n", result.stdout)


def modes_under(root: Path) -> dict[str, int]:
    """Permission bits of ``root`` and of everything below it, by path relative to ``root``."""
    found = {".": root.stat().st_mode & 0o777}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = path.stat().st_mode & 0o777
    return found


def test_the_data_folder_is_private_to_its_owner(tmp_path: Path) -> None:
    # An older Ruche left a world-readable folder and files: they are closed up too.
    data_dir = tmp_path / "data"
    (data_dir / "redis").mkdir(parents=True, mode=0o755)
    data_dir.chmod(0o755)
    (data_dir / "redis").chmod(0o755)
    (data_dir / "redis" / "old-notes.txt").write_text("from an earlier run")
    (data_dir / "redis" / "old-notes.txt").chmod(0o644)
    old_umask = os.umask(0o022)  # what most shells run with
    try:
        with ruche_up(tmp_path, ruche_env(tmp_path), "--demo") as up:
            wait_until_ready(up)
            client = redis.Redis(port=embedded_redis_port(up))
            client.bgrewriteaof()  # an AOF rewrite writes new files (base, increments)
            deadline = time.monotonic() + READY_TIMEOUT
            while client.info("persistence")["aof_rewrite_in_progress"]:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            client.close()
            modes = modes_under(data_dir)
            up.process.send_signal(signal.SIGTERM)
            assert up.process.wait(timeout=EXIT_TIMEOUT) == 0, up.output()
    finally:
        os.umask(old_umask)
    assert any("appendonly" in name for name in modes), modes
    assert any("token" in name for name in modes), modes  # the demo's tokens file
    for name, mode in modes_under(data_dir).items():  # after the stop too
        modes.setdefault(name, mode)
    wrong = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (data_dir / name).is_dir() else 0o600)
    }
    assert wrong == {}, modes


def test_up_restarts_a_dead_embedded_redis_and_everything_carries_on(tmp_path: Path) -> None:
    admin = {"Authorization": "Bearer rk_admin_" + "r" * 40}
    env = ruche_env(tmp_path, RUCHE_ADMIN_TOKEN=admin["Authorization"].removeprefix("Bearer "))
    with ruche_up(tmp_path, env) as up, httpx.Client(base_url=up.base_url, timeout=5) as http:
        wait_until_ready(up)
        org = http.post(
            "/v1/orgs", json={"name": "Before", "contact_email": "a@b.org"}, headers=admin
        )
        assert org.status_code == 201, org.text
        ngo = {"Authorization": f"Bearer {org.json()['api_key']}"}
        project = http.post(
            "/v1/projects",
            json={
                "name": "Posts",
                "task_type": "moderation",
                "redundancy": 1,
                "instructions": "Label",
                "review": {"agreement": 0.5},  # one answer is enough for a result
            },
            headers=ngo,
        )
        assert project.status_code == 201, project.text
        project_id = project.json()["id"]
        redis_port = embedded_redis_port(up)
        [redis_pid] = [
            pid for pid in descendants(up.process.pid) if "redis-server" in command_line(pid)
        ]

        os.kill(redis_pid, signal.SIGKILL)

        def org_created() -> bool:
            with suppress(httpx.TransportError):
                again = http.post(
                    "/v1/orgs", json={"name": "After", "contact_email": "c@d.org"}, headers=admin
                )
                assert again.status_code in (201, 503), again.text  # 503 while it restarts
                return again.status_code == 201
            return False

        wait_until(org_created, "a write through the API after Redis was killed", 60, poll=0.2)
        assert up.process.poll() is None, up.output()
        assert '"up.redis_restarted"' in up.stderr.read_text()
        assert embedded_redis_port(up) == redis_port  # the same address, the same data
        assert http.get("/v1/org", headers=ngo).json()["name"] == "Before"

        # The workers and the relay carry on too: an answer still becomes a result.
        tasks = http.post(
            f"/v1/projects/{project_id}/tasks",
            json={"tasks": [{"payload": {"content": "Hello", "labels": ["ok", "spam"]}}]},
            headers=ngo,
        )
        assert tasks.status_code == 200, tasks.text
        signed_up = http.post("/v1/volunteers", json={"display_name": "Ada", "languages": ["en"]})
        volunteer = {"Authorization": f"Bearer {signed_up.json()['token']}"}
        assert http.post("/v1/me/charter", json={"accept": True}, headers=volunteer).is_success
        claim = http.post("/v1/assignments", json={"project_id": project_id}, headers=volunteer)
        assert claim.status_code == 201, claim.text
        submitted = http.post(
            f"/v1/assignments/{claim.json()['id']}/submit",
            json={"answer": {"label": "ok"}},
            headers=volunteer,
        )
        assert submitted.status_code == 202, submitted.text

        def published() -> bool:
            page = http.get(f"/v1/projects/{project_id}/results", headers=ngo)
            return len(page.json()["items"]) == 1

        wait_until(published, "the answer's result, after the restart", 60, poll=0.2)
        assert '"up.process_died"' not in up.stderr.read_text()
        up.process.send_signal(signal.SIGTERM)
        assert up.process.wait(timeout=EXIT_TIMEOUT) == 0, up.output()


def test_a_redis_that_keeps_dying_is_not_restarted_forever(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis", appendonly=True)
    server.start()
    restarts: deque[float] = deque(maxlen=MAX_REDIS_RESTARTS)

    def kill() -> None:
        client = redis.Redis(port=server.port)
        pid = int(client.info("server")["process_id"])
        client.close()
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not server.running, "redis-server to die", EXIT_TIMEOUT)

    try:
        for _ in range(MAX_REDIS_RESTARTS):
            kill()
            assert restart_redis(server, restarts)
            assert server.running
        kill()
        assert not restart_redis(server, restarts)  # five deaths within the minute: give up
        assert not server.running
    finally:
        server.stop()


def _parsers(parser: argparse.ArgumentParser, name: str = "ruche") -> Iterator[tuple[str, Any]]:
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_every_argument_of_every_command_says_what_it_is() -> None:
    from ruche.cli import _parser

    missing = [
        f"{name}: {action.dest}"
        for name, parser in _parsers(_parser())
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction | argparse._HelpAction)
        and not action.help
    ]
    assert missing == []
    helps = {name: parser.description or "" for name, parser in _parsers(_parser())}
    assert "relay" in helps["ruche up"]
    assert "deadlines" in helps["ruche scheduler"] and "retention" in helps["ruche scheduler"]
    management = [
        "ruche project edit", "ruche project pause", "ruche project resume",
        "ruche project close", "ruche reviewers grant", "ruche reviewers revoke",
        "ruche webhook set", "ruche webhook deliveries", "ruche webhook redeliver",
    ]  # fmt: skip
    assert set(management) <= set(helps)
