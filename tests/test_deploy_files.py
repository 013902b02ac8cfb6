"""docker-compose.yml, the Dockerfile and the CI script say what the README says they do.

No Docker engine runs here, so the files are checked as data.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

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
