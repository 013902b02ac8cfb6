"""Settings come from RUCHE_* variables, are bounded, and refuse unsafe production values."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from core.settings import Settings, load_settings

GOOD_TOKEN = "rk_admin_" + "x" * 40


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Each test starts from an environment without RUCHE_* variables."""
    for name in [n for n in os.environ if n.startswith("RUCHE_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def test_defaults_need_no_environment() -> None:
    settings = load_settings()
    assert settings.redis_url is None
    assert settings.effective_broker_url is None
    assert settings.data_dir == Path(".ruche")
    assert settings.key_prefix == "ruche:"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.env == "development"
    assert settings.admin_token is None
    assert settings.webhook_allow_private is False


def test_values_are_read_from_ruche_prefixed_variables(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("RUCHE_REDIS_URL", "redis://db:6379/2")
    clean_env.setenv("RUCHE_PORT", "9001")
    clean_env.setenv("RUCHE_DATA_DIR", "/var/lib/ruche")
    clean_env.setenv("RUCHE_LOG_LEVEL", "debug")
    clean_env.setenv("RUCHE_LOG_FORMAT", "json")
    clean_env.setenv("RUCHE_WORKER_THREADS", "16")
    clean_env.setenv("RUCHE_SCHEDULER_INTERVAL_SECONDS", "0.5")
    clean_env.setenv("RUCHE_WEBHOOK_ALLOW_PRIVATE", "1")
    clean_env.setenv("PORT", "1")  # unprefixed variables are not ours

    settings = load_settings()

    assert settings.redis_url == "redis://db:6379/2"
    assert settings.port == 9001
    assert settings.data_dir == Path("/var/lib/ruche")
    assert settings.log_level == "DEBUG"
    assert settings.log_format == "json"
    assert settings.worker_threads == 16
    assert settings.scheduler_interval_seconds == 0.5
    assert settings.webhook_allow_private is True


def test_an_empty_variable_means_unset(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("RUCHE_REDIS_URL", "")
    assert load_settings().redis_url is None


def test_broker_url_falls_back_to_redis_url() -> None:
    assert Settings(redis_url="redis://a/0").effective_broker_url == "redis://a/0"
    both = Settings(redis_url="redis://a/0", broker_url="redis://b/0")
    assert both.effective_broker_url == "redis://b/0"


def test_overrides_win_over_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("RUCHE_PORT", "9001")
    assert load_settings(port=9002).port == 9002


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("port", 0),
        ("port", 65536),
        ("worker_processes", 0),
        ("worker_threads", 0),
        ("scheduler_interval_seconds", 0),
        ("key_prefix", ""),
        ("key_prefix", "has space"),
        ("redis_url", "http://example.org"),
        ("broker_url", "localhost:6379"),
        ("log_level", "LOUD"),
        ("log_format", "xml"),
        ("reputation_half_life_days", -1),
    ],
)
def test_out_of_bounds_values_are_refused(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(**{field: value})
    assert caught.value.errors()[0]["loc"] == (field,)


def test_a_short_admin_token_is_refused_without_echoing_it() -> None:
    short = "rk_admin_tooshort"
    with pytest.raises(ValidationError) as caught:
        Settings(admin_token=short)
    assert "at least 32" in str(caught.value.errors(include_input=False)[0]["msg"])
    assert short not in str(caught.value.errors(include_input=False))


def test_an_admin_token_needs_the_admin_prefix() -> None:
    with pytest.raises(ValidationError):
        Settings(admin_token="y" * 64)


def test_a_strong_admin_token_is_kept_secret() -> None:
    settings = Settings(admin_token=GOOD_TOKEN)
    assert settings.admin_token is not None
    assert settings.admin_token.get_secret_value() == GOOD_TOKEN
    assert GOOD_TOKEN not in repr(settings)


def test_production_refuses_private_webhook_targets() -> None:
    with pytest.raises(ValidationError, match="WEBHOOK_ALLOW_PRIVATE"):
        Settings(env="production", webhook_allow_private=True, admin_token=GOOD_TOKEN)
    # The same value is fine while developing.
    assert Settings(webhook_allow_private=True).webhook_allow_private


def test_production_refuses_a_public_listener_without_admin_token() -> None:
    with pytest.raises(ValidationError, match="ADMIN_TOKEN"):
        Settings(env="production", host="0.0.0.0")  # noqa: S104


def test_production_accepts_safe_values() -> None:
    public = Settings(env="production", host="0.0.0.0", admin_token=GOOD_TOKEN)  # noqa: S104
    assert public.env == "production"
    assert Settings(env="production").host == "127.0.0.1"


def test_settings_are_immutable() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.port = 1  # type: ignore[misc]  # frozen: the refusal under test
