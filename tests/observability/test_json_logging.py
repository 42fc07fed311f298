"""The JSON log formatter: one object per line, context fields, and no secrets."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime

import pytest
from pydantic import SecretStr
from temporalio import activity
from temporalio.testing import ActivityEnvironment

from observability.json_logs import JsonFormatter, configure_json_logging, trace_id_from_traceparent, trace_id_var
from settings import Settings


def record(msg: str, *args: object, level: int = logging.INFO, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("qualitrail.test", level, __file__, 1, msg, args, None)
    rec.__dict__.update(extra)
    return rec


def fmt(rec: logging.LogRecord) -> dict[str, object]:
    line = JsonFormatter().format(rec)
    assert "\n" not in line  # one object per line, even for multi-line messages
    out = json.loads(line)
    assert isinstance(out, dict)
    return out


def test_basic_fields() -> None:
    out = fmt(record("hello %s", "world", level=logging.WARNING))
    assert out["message"] == "hello world"
    assert out["level"] == "WARNING"
    assert out["logger"] == "qualitrail.test"
    assert isinstance(out["time"], str) and out["time"].endswith("Z")
    assert abs(datetime.fromisoformat(out["time"].replace("Z", "+00:00")).timestamp()
               - datetime.now().timestamp()) < 60
    assert "ticket_id" not in out and "workflow_id" not in out and "trace_id" not in out


def test_context_from_extra() -> None:
    out = fmt(record("x", ticket_id="T-1", workflow_id="T-1", trace_id="abc"))
    assert (out["ticket_id"], out["workflow_id"], out["trace_id"]) == ("T-1", "T-1", "abc")


def test_multiline_message_and_exception_stay_on_one_line() -> None:
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        rec = logging.LogRecord("q", logging.ERROR, __file__, 1, "a\nb", None, sys.exc_info())
    out = fmt(rec)
    assert out["message"] == "a\nb"
    assert "ValueError: boom" in str(out["exception"])


def test_trace_id_from_contextvar_and_traceparent() -> None:
    tid = trace_id_from_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")
    assert tid == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert trace_id_from_traceparent("garbage") is None
    assert trace_id_from_traceparent("00-" + "0" * 32 + "-00f067aa0ba902b7-01") is None
    token = trace_id_var.set(tid)
    try:
        assert fmt(record("x"))["trace_id"] == tid
        assert fmt(record("x", trace_id="explicit"))["trace_id"] == "explicit"  # extra= wins
    finally:
        trace_id_var.reset(token)


def test_temporal_logger_adapter_context() -> None:
    # What workflow.logger attaches (sdk's LoggerAdapter puts the info dict on the record).
    info = {"workflow_id": "T-9", "run_id": "r1", "workflow_type": "TicketWorkflow", "task_queue": "q"}
    out = fmt(record("x", temporal_workflow=info))
    assert (out["workflow_id"], out["ticket_id"], out["run_id"]) == ("T-9", "T-9", "r1")
    other = fmt(record("x", temporal_workflow={**info, "workflow_type": "SupplierWorkflow"}))
    assert "ticket_id" not in other  # only ticket workflows are named after their ticket


def test_context_from_running_activity() -> None:
    plain = logging.getLogger("qualitrail.plain")
    captured: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, rec: logging.LogRecord) -> None:
            # Formatted here, in the activity's context, as a real handler would.
            rec.formatted = JsonFormatter().format(rec)  # type: ignore[attr-defined]
            captured.append(rec)

    handler = Keep()
    plain.addHandler(handler)
    try:
        @activity.defn
        def act() -> None:
            plain.warning("inside")

        env = ActivityEnvironment()
        env.info = activity.Info(**{**env.info.__dict__, "workflow_id": "T-42", "workflow_type": "TicketWorkflow",
                                    "workflow_run_id": "run-42", "attempt": 3})
        env.run(act)
    finally:
        plain.removeHandler(handler)
    out = json.loads(captured[0].formatted)  # type: ignore[attr-defined]
    assert out["workflow_id"] == "T-42" and out["ticket_id"] == "T-42"
    assert out["run_id"] == "run-42" and out["attempt"] == 3


@pytest.mark.parametrize("spec", ["%s", "%r"])
def test_settings_in_args_do_not_reveal_secrets(spec: str) -> None:
    secret = "s3cr3t-value-that-must-not-leak"
    settings = Settings(secret_key=SecretStr(secret), api_keys=SecretStr("k-9f8e7d:admin"),
                        anchor_key=SecretStr("0x" + "ab" * 32))
    rec = record(f"settings {spec}", settings, settings=settings)
    line = JsonFormatter().format(rec)
    assert "settings" in json.loads(line)["message"]
    for value in (secret, "k-9f8e7d", "ab" * 32):
        assert value not in line


def test_secret_in_extra_is_masked() -> None:
    out = fmt(record("x", trace_id=SecretStr("hidden-trace")))
    assert out["trace_id"] == "**********"


def test_configure_json_logging_replaces_handlers(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_json_logging(logging.INFO)
        assert len(root.handlers) == 1
        logging.getLogger("qualitrail.x").info("one %d", 1, extra={"ticket_id": "T-7"})
        err = capsys.readouterr().err.strip().splitlines()
        assert json.loads(err[-1])["ticket_id"] == "T-7"
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])

