"""The workers' metrics set-up: nothing unless a port is set; else a fresh directory and the
variables dramatiq and prometheus_client read (the figures themselves: tests/e2e/test_canaries.py).
"""

from __future__ import annotations

from pathlib import Path

from core.settings import Settings
from workers.metrics import environment, metrics_directory


def test_no_port_no_metrics(tmp_path: Path) -> None:
    assert environment(Settings(data_dir=tmp_path)) == {}
    assert not (tmp_path / "worker-metrics").exists()


def test_a_port_gets_an_emptied_directory_of_its_own(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, worker_metrics_port=9555, host="127.0.0.1")
    directory = metrics_directory(settings)
    directory.mkdir(parents=True)
    (directory / "counter_123.db").write_bytes(b"figures of a previous run")

    variables = environment(settings)

    assert variables == {
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "dramatiq_prom_db": str(directory),
        "dramatiq_prom_host": "127.0.0.1",
        "dramatiq_prom_port": "9555",
    }
    assert directory.is_dir() and list(directory.iterdir()) == []
    assert directory == (tmp_path / "worker-metrics" / "9555").resolve()
