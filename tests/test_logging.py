"""configure_logging: JSON lines, redaction of sensitive fields at any depth, stdlib routed through.

The tests read what the handler really writes to a stream, so every processor takes part.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import structlog

from core.logging import REDACTED, current_request_id
from tests.support.logs import json_lines as lines
from tests.support.logs import log_to_stream, restored_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    with restored_logging():
        yield


def capture(**settings: Any) -> tuple[Any, structlog.stdlib.BoundLogger]:
    return log_to_stream(**settings), structlog.get_logger("tests.logging")


def test_json_lines_carry_event_level_logger_and_iso_timestamp() -> None:
    stream, log = capture()
    log.info("task.created", task_id="t1", count=3)

    [line] = lines(stream)
    assert line["event"] == "task.created"
    assert line["level"] == "info"
    assert line["logger"] == "tests.logging"
    assert (line["task_id"], line["count"]) == ("t1", 3)
    stamp = datetime.fromisoformat(line["timestamp"])
    assert stamp.utcoffset() == timedelta(0)


def test_tokens_and_secret_parameters_are_cut_out_of_any_text() -> None:
    stream, log = capture()
    log.info(
        "webhook.failed",
        url="https://ngo.example/hook?signature=abc123&attempt=2",
        note=["sent rk_org_ABCdef0123 by mistake", {"deep": "whsec_c2VjcmV0+/="}],
    )
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5",
        "GET",
        "/v1/org?key=rk_admin_x&after=c1",
        "1.1",
        401,
    )

    first, access = lines(stream)
    assert first["url"] == f"https://ngo.example/hook?signature={REDACTED}&attempt=2"
    assert first["note"] == [f"sent {REDACTED} by mistake", {"deep": REDACTED}]
    assert access["event"] == f'127.0.0.1:5 - "GET /v1/org?key={REDACTED}&after=c1 HTTP/1.1" 401'


def test_sensitive_values_are_redacted_at_any_depth() -> None:
    stream, log = capture()
    log.info(
        "submission.received",
        payload={"source_text": "Ma fille est malade"},
        task={"id": "t1", "payload": {"document": {"text": "ID 123"}}, "state": "open"},
        submissions=[{"answer": {"text": "My daughter is ill"}, "id": "s1"}],
        headers={"Authorization": "Bearer rk_vol_abc"},
        api_key="rk_org_abc",
    )

    [line] = lines(stream)
    assert line["payload"] == REDACTED
    assert line["task"] == {"id": "t1", "payload": REDACTED, "state": "open"}
    assert line["submissions"] == [{"answer": REDACTED, "id": "s1"}]
    assert line["headers"] == {"Authorization": REDACTED}
    assert line["api_key"] == REDACTED
    for secret in ("malade", "ID 123", "daughter", "rk_vol_abc", "rk_org_abc"):
        assert secret not in stream.getvalue()


def test_callers_can_declare_more_sensitive_fields() -> None:
    stream, log = capture(sensitive_fields={"glossary", "Phone"})
    log.info("task.checked", glossary={"malade": "ill"}, nested={"phone": "+33 6"}, lang="fr")

    [line] = lines(stream)
    assert line["glossary"] == REDACTED
    assert line["nested"] == {"phone": REDACTED}
    assert line["lang"] == "fr"


def test_stdlib_logging_goes_through_the_same_pipeline() -> None:
    stream, _ = capture()
    structlog.contextvars.bind_contextvars(request_id="r-1")
    logging.getLogger("some.library").warning("connected to %s", "redis")

    [line] = lines(stream)
    assert line["event"] == "connected to redis"
    assert line["logger"] == "some.library"
    assert line["level"] == "warning"
    assert line["request_id"] == "r-1"
    assert "timestamp" in line


def test_bound_context_comes_first_and_explicit_values_win() -> None:
    stream, log = capture()
    structlog.contextvars.bind_contextvars(request_id="r-2", volunteer="v-1")
    log.info("assignment.claimed", volunteer="v-2")

    [line] = lines(stream)
    assert line["request_id"] == "r-2"
    assert line["volunteer"] == "v-2"


def test_lines_below_the_level_are_dropped() -> None:
    stream, log = capture(log_level="warning")
    log.info("quiet")
    logging.getLogger("lib").info("quiet too")
    log.warning("loud")

    assert [line["event"] for line in lines(stream)] == ["loud"]


def test_exceptions_are_structured_without_local_variables() -> None:
    stream, log = capture()
    try:
        payload = {"source_text": "secret words"}
        raise ValueError(f"bad task of {len(payload)} fields")
    except ValueError:
        log.exception("task.failed")

    [line] = lines(stream)
    assert line["level"] == "error"
    assert line["exception"][0]["exc_type"] == "ValueError"
    assert "secret words" not in stream.getvalue()


def test_configuring_again_replaces_the_handler() -> None:
    first, _ = capture()
    second, log = capture()
    log.info("once")

    assert first.getvalue() == ""
    assert [line["event"] for line in lines(second)] == ["once"]


def test_console_format_renders_readable_lines() -> None:
    stream, log = capture(log_format="console")
    log.info("task.created", task_id="t1", payload={"content": "x"})

    text = stream.getvalue()
    assert "task.created" in text
    assert "task_id=t1" in text
    assert REDACTED in text
    assert not text.lstrip().startswith("{")
    assert "\x1b[" not in text  # no colour codes when the stream is not a terminal


def test_auto_format_is_json_off_a_terminal() -> None:
    stream, log = capture(log_format="auto")
    log.info("hello")
    assert lines(stream)[0]["event"] == "hello"


def test_the_kernel_modules_load_without_fastapi_or_dramatiq() -> None:
    probe = (
        "import sys, core.logging, core.settings; "
        "sys.exit(sorted({'fastapi', 'dramatiq', 'uvicorn'} & set(sys.modules)) != [])"
    )
    assert subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0


_FAILING_PROCESS = """
import logging, sys
import structlog
from pydantic import TypeAdapter, ValidationError
from core.logging import configure_logging
from core.settings import Settings

configure_logging(Settings(log_format=sys.argv[1]))


def translate(payload):
    held = payload["source_text"]  # a local variable holding the sensitive text
    return TypeAdapter(int).validate_python(held)  # its error message quotes its input


try:
    try:
        translate({"source_text": sys.argv[2]})
    except ValidationError as error:
        raise RuntimeError("translation failed") from error
except RuntimeError:
    structlog.get_logger("probe").exception("task.failed")
    logging.getLogger("some.library").error("it broke", exc_info=True)
"""


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_a_real_process_logs_tracebacks_without_locals_or_input_values(log_format: str) -> None:
    canary = "CANARY-" + uuid.uuid4().hex
    done = subprocess.run(
        [sys.executable, "-c", _FAILING_PROCESS, log_format, canary],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    output = done.stderr
    assert canary not in output
    assert output.count("RuntimeError") >= 2 and "int_parsing" in output  # both tracebacks
    if log_format == "json":
        for line in lines_of(output):
            [runtime, validation] = line["exception"]
            assert (runtime["exc_type"], validation["exc_type"]) == (
                "RuntimeError",
                "ValidationError",
            )
            frames = runtime["frames"] + validation["frames"]
            assert "translate" in [frame["name"] for frame in frames]
            assert all("locals" not in frame for frame in frames)
    else:
        assert output.count("Traceback (most recent call last)") == 4  # 2 chained, twice
        assert "held = " not in output


def lines_of(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_the_task_types_sensitive_fields_are_redacted_too() -> None:
    stream, log = capture()
    log.info("task.checked", context="where the text appears", glossary={"a": "b"})

    [line] = lines(stream)
    assert line["context"] == REDACTED  # translation declares it sensitive
    assert line["glossary"] == {"a": "b"}  # it does not declare this one


def test_the_bound_request_id_can_be_read_back() -> None:
    assert current_request_id() == ""
    with structlog.contextvars.bound_contextvars(request_id="req-7"):
        assert current_request_id() == "req-7"
    assert current_request_id() == ""


def test_the_default_stream_is_stderr_as_it_is_at_each_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A command run inside a test configures logging while sys.stderr is the test's captured
    stream, closed afterwards: later lines must go to the stderr of their own time, not fail
    with "I/O operation on closed file" (which then pollutes every later test's stderr)."""
    from core.logging import configure_logging
    from core.settings import Settings

    with restored_logging():
        first = io.StringIO()
        monkeypatch.setattr(sys, "stderr", first)
        configure_logging(Settings(log_format="json"))
        logging.getLogger("one").warning("first line")
        first.close()
        second = io.StringIO()
        monkeypatch.setattr(sys, "stderr", second)
        logging.getLogger("two").warning("second line")
        assert [line["event"] for line in lines(second)] == ["second line"]
