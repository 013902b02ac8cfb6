"""The ``ruche`` command: ``up`` runs everything; ``api``, ``worker`` and ``scheduler`` one piece.

Settings come from ``RUCHE_*`` environment variables; the few flags here override them. The
NGO-side commands (``project``, ``submit``, ``results``, in :mod:`ruche.ngo_commands`) need no
settings: they only talk HTTP to a server.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import version
from typing import Any

from pydantic import ValidationError

from core.logging import configure_logging
from core.settings import Settings, load_settings
from ruche.ngo_commands import add_ngo_commands
from ruche.operator_commands import add_operator_commands
from ruche.org_commands import add_org_commands
from ruche.privacy_commands import add_privacy_commands

__all__ = ["main"]

EXIT_USAGE = 2
# dramatiq waits this long for running messages on shutdown; `ruche up` waits a little longer.
WORKER_SHUTDOWN_TIMEOUT_MS = 10_000

Command = Callable[[Settings], int]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    ngo_command = getattr(args, "ngo_command", None)
    if ngo_command is not None:  # NGO side, and the operator's HTTP commands: no settings
        return int(ngo_command(args))
    overrides = {
        field: value
        for field, value in (
            ("host", getattr(args, "host", None)),
            ("port", getattr(args, "port", None)),
            ("worker_processes", getattr(args, "processes", None)),
            ("worker_threads", getattr(args, "threads", None)),
        )
        if value is not None
    }
    try:
        settings = load_settings(**overrides)
    except ValidationError as error:
        _fail("invalid settings:\n" + _describe(error))
        return EXIT_USAGE
    configure_logging(settings)
    privacy_action = getattr(args, "privacy_action", None)
    if privacy_action is not None:  # operator's personal-data commands (ruche.privacy_commands)
        if not _has_redis(settings, "privacy"):
            return EXIT_USAGE
        return int(privacy_action(settings, args))
    org_action = getattr(args, "org_action", None)
    if org_action is not None:  # the operator's organisation commands (ruche.org_commands)
        if not _has_redis(settings, "org"):
            return EXIT_USAGE
        return int(org_action(settings, args))
    command: Command = args.command
    if getattr(args, "demo", False) or getattr(args, "demo_answers", False):
        return _up(settings, demo=True, demo_answers=args.demo_answers)
    return command(settings)


def _migrate(settings: Settings) -> int:
    """Safe to repeat; run it with the API and the workers stopped (core.redis.migrations)."""
    if not _has_redis(settings, "migrate"):
        return EXIT_USAGE
    from core.redis.clients import redis_client
    from core.redis.keys import Keys
    from core.redis.migrations import migrate_volunteer_keys

    client = redis_client(settings, "ruche migrate", connect_timeout_s=5, timeout_s=30)
    try:
        done = migrate_volunteer_keys(client, Keys(settings.key_prefix))
    finally:
        client.close()
    print(
        f"volunteer keys: {done.moved} moved, {done.merged} merged, "
        f"{done.conflicts} left in place (both names hold data that cannot merge)"
    )
    return 0 if done.conflicts == 0 else 1


def _up(settings: Settings, *, demo: bool = False, demo_answers: bool = False) -> int:
    from ruche.supervisor import run_up

    return run_up(settings, demo=demo, demo_answers=demo_answers)


def _api(settings: Settings) -> int:
    if not _has_redis(settings, "api"):
        return EXIT_USAGE
    # Imported here so that `ruche worker` and `ruche --version` do not load FastAPI.
    import uvicorn

    from api.main import create_app

    app = create_app(settings)
    # What exists by now (modules, the app, its models and schemas) lives as long as the
    # process: frozen out of the collector's sight, so that a full collection no longer walks it
    # all while every request in flight waits (bench/api.py: claim p99 60 ms -> 11 ms).
    gc.collect()
    gc.freeze()
    # log_config=None: uvicorn's loggers propagate to the root handler of core.logging.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        # X-Forwarded-For is read by api.client_address, from RUCHE_TRUSTED_PROXIES only
        # (uvicorn's own default would believe it from any local peer).
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=WORKER_SHUTDOWN_TIMEOUT_MS // 1000,
    )
    return 0


def _worker(settings: Settings) -> int:
    if not _has_redis(settings, "worker"):
        return EXIT_USAGE
    from workers.broker import IDLE_POLL_MS

    argv = [
        sys.executable,
        "-m",
        "dramatiq",
        "workers.app:setup",
        "--processes",
        str(settings.worker_processes),
        "--threads",
        str(settings.worker_threads),
        "--worker-shutdown-timeout",
        str(WORKER_SHUTDOWN_TIMEOUT_MS),
        "--skip-logging",  # workers.app.setup configures logging itself
    ]
    # Before dramatiq starts: its metrics server and prometheus_client read these at import.
    from workers.metrics import environment

    os.environ.update(environment(settings))
    # An idle consumer's longest wait between polls (workers.broker; dramatiq reads it at import).
    os.environ.setdefault("dramatiq_worker_timeout", str(IDLE_POLL_MS))
    sys.stdout.flush()
    sys.stderr.flush()
    # Become the dramatiq process, so signals from `ruche up` or a supervisor reach it directly.
    os.execv(sys.executable, argv)  # noqa: S606 - fixed argv, our own interpreter


def _scheduler(settings: Settings) -> int:
    if not _has_redis(settings, "scheduler"):
        return EXIT_USAGE
    from workers.scheduler import serve

    serve(settings)
    return 0


def _relay(settings: Settings) -> int:
    if not _has_redis(settings, "relay"):
        return EXIT_USAGE
    from workers.relay import serve

    serve(settings)
    return 0


def _has_redis(settings: Settings, piece: str) -> bool:
    if settings.redis_url is not None:
        return True
    _fail(
        f"`ruche {piece}` needs RUCHE_REDIS_URL (e.g. redis://127.0.0.1:6379/0). "
        "`ruche up` runs every piece with an embedded Redis and needs nothing."
    )
    return False


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ruche",
        description="Ruche: a micro-task crowdsourcing queue for NGOs. "
        "Settings come from RUCHE_* environment variables (see README).",
    )
    parser.add_argument("--version", action="version", version=f"ruche {version('ruche')}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    up = _command(
        commands,
        "up",
        _up,
        "run everything: Redis (embedded unless RUCHE_REDIS_URL is set), the API, the "
        "workers, the scheduler and the event relay",
    )
    _listen_flags(up)
    up.add_argument(
        "--workers",
        dest="processes",
        type=int,
        metavar="N",
        help="worker processes (RUCHE_WORKER_PROCESSES)",
    )
    up.add_argument(
        "--demo",
        action="store_true",
        help="seed a demo NGO, volunteers and three projects, and print their tokens "
        "(again on every run; nothing is duplicated)",
    )
    up.add_argument(
        "--demo-answers",
        action="store_true",
        help="like --demo, and simulated volunteers answer about half of the tasks",
    )

    _listen_flags(_command(commands, "api", _api, "run the HTTP API"))

    worker = _command(commands, "worker", _worker, "run dramatiq worker processes")
    worker.add_argument(
        "--processes", type=int, metavar="N", help="worker processes (RUCHE_WORKER_PROCESSES)"
    )
    worker.add_argument(
        "--threads", type=int, metavar="N", help="threads per process (RUCHE_WORKER_THREADS)"
    )

    _command(
        commands,
        "scheduler",
        _scheduler,
        "run the scheduler: expired task and review leases, project deadlines, webhook "
        "retries due, retention sweeps, deletion and erasure jobs",
    )
    _command(
        commands, "relay", _relay, "run the event relay (project event streams -> worker messages)"
    )
    _command(commands, "migrate", _migrate, "move data of older key layouts to the current one")
    add_ngo_commands(commands)
    add_privacy_commands(commands)
    add_org_commands(commands)
    add_operator_commands(commands)
    return parser


def _command(commands: Any, name: str, run: Command, help_text: str) -> argparse.ArgumentParser:
    sub: argparse.ArgumentParser = commands.add_parser(name, help=help_text, description=help_text)
    sub.set_defaults(command=run)
    return sub


def _listen_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="interface the API listens on (RUCHE_HOST)")
    parser.add_argument("--port", type=int, help="port the API listens on (RUCHE_PORT)")


def _describe(error: ValidationError) -> str:
    # Not str(error): that echoes the input values, and one of them may be the admin token.
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        field = "_".join(str(part) for part in problem["loc"])
        where = f"RUCHE_{field.upper()}" if field else "settings"
        lines.append(f"  {where}: {problem['msg']}")
    return "\n".join(lines)


def _fail(message: str) -> None:
    print(f"ruche: {message}", file=sys.stderr)
